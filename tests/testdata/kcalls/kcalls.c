// Without libc: makes the calls the guest-kernel tests check and prints
// what each returned, then exits with the status argv[1] names (0 if none).
// "enosys" asks for a call the prototype kernel does not serve; "fault"
// writes through a null pointer; "spin" never returns to the kernel.
static long sys3(long nr, long a, long b, long c) {
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
	return r;
}

static int eq(const char *a, const char *b) {
	while (*a && *a == *b) a++, b++;
	return *a == *b;
}

static void say(const char *s, long v) {
	char buf[64], *p = buf, d[24];
	int n = 0;
	while (*s) *p++ = *s++;
	*p++ = ' ';
	if (v < 0) *p++ = '-', v = -v;
	do d[n++] = '0' + v % 10; while (v /= 10);
	while (n) *p++ = d[--n];
	*p++ = '\n';
	sys3(1, 1, (long)buf, p - buf);
}

// xmmKept reports whether XMM7 and XMM15 survive a system call.
static long xmmKept(void) {
	long out;
	__asm__ volatile(
		"mov $0x1122334455667788, %%rax\n\tmovq %%rax, %%xmm7\n\tmovq %%rax, %%xmm15\n\t"
		"mov $39, %%eax\n\tsyscall\n\t"
		"movq %%xmm7, %%rax\n\tmovq %%xmm15, %%rdx\n\tmov $0, %0\n\t"
		"cmp %%rax, %%rdx\n\tjne 1f\n\tmov $0x1122334455667788, %%rdx\n\tcmp %%rax, %%rdx\n\tjne 1f\n\tmov $1, %0\n1:"
		: "=r"(out) : : "rax", "rcx", "rdx", "r11", "xmm7", "xmm15", "memory");
	return out;
}

void cmain(long *sp) {
	long argc = sp[0];
	char **argv = (char **)(sp + 1);
	say("argc", argc);
	say("getpid > 0", sys3(39, 0, 0, 0) > 0);
	say("write to fd 9", sys3(1, 9, (long)"x", 1));
	say("write from a bad pointer", sys3(1, 1, 16, 1));
	say("xmm kept across a call", xmmKept());
	if (argc > 1 && eq(argv[1], "enosys"))
		say("sched_yield", sys3(24, 0, 0, 0));
	if (argc > 1 && eq(argv[1], "fault"))
		*(volatile int *)0 = 1;
	if (argc > 1 && eq(argv[1], "spin"))
		for (;;)
			__asm__ volatile("");
	sys3(231, argc > 2 ? argv[2][0] - '0' : 0, 0, 0);
}

__asm__(".globl _start\n_start:\n\tmov %rsp, %rdi\n\tand $-16, %rsp\n\tcall cmain\n\tud2\n");
