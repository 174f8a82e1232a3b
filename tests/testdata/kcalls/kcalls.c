// Without libc: makes the calls the guest-kernel tests check and prints
// what each returned, then exits with the status argv[1] names (0 if none).
// "enosys" asks for a call the prototype kernel does not serve; "fault"
// writes through a null pointer; "hypercall" tries PVM's hypercall gate
// (HALT) from user mode; "spin" never returns to the kernel.
#include "../nolibc.h"

static int eq(const char *a, const char *b) {
	while (*a && *a == *b) a++, b++;
	return *a == *b;
}

static void say(const char *s, long v) {
	char buf[64], *p = buf;
	while (*s) *p++ = *s++;
	*p++ = ' ';
	if (v < 0) *p++ = '-', v = -v;
	p = put(p, v);
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

// regsKept reports whether every register a system call must keep
// (all but RAX, RCX and R11) survives getpid.
long regsKept(void);
__asm__("regsKept:\n\tpush %rbx\n\tpush %rbp\n\tpush %r12\n\tpush %r13\n\tpush %r14\n\tpush %r15\n"
	"\tmov $1, %rbx\n\tmov $2, %rbp\n\tmov $3, %rdx\n\tmov $4, %rsi\n\tmov $5, %rdi\n\tmov $6, %r8\n\tmov $7, %r9\n\tmov $8, %r10\n\tmov $9, %r12\n\tmov $10, %r13\n\tmov $11, %r14\n\tmov $12, %r15\n"
	"\tmov $39, %eax\n\tsyscall\n\txor %eax, %eax\n"
	"\tcmp $1, %rbx\n\tjne 1f\n\tcmp $2, %rbp\n\tjne 1f\n\tcmp $3, %rdx\n\tjne 1f\n\tcmp $4, %rsi\n\tjne 1f\n\tcmp $5, %rdi\n\tjne 1f\n\tcmp $6, %r8\n\tjne 1f\n\tcmp $7, %r9\n\tjne 1f\n\tcmp $8, %r10\n\tjne 1f\n\tcmp $9, %r12\n\tjne 1f\n\tcmp $10, %r13\n\tjne 1f\n\tcmp $11, %r14\n\tjne 1f\n\tcmp $12, %r15\n\tjne 1f\n"
	"\tmov $1, %eax\n1:\tpop %r15\n\tpop %r14\n\tpop %r13\n\tpop %r12\n\tpop %rbp\n\tpop %rbx\n\tret\n");

void cmain(long *sp) {
	long argc = sp[0];
	char **argv = (char **)(sp + 1);
	say("argc", argc);
	say("getpid > 0", sys3(39, 0, 0, 0) > 0);
	say("write to fd 9", sys3(1, 9, (long)"x", 1));
	say("write from a bad pointer", sys3(1, 1, 16, 1));
	say("xmm kept across a call", xmmKept());
	say("registers kept across a call", regsKept());
	if (argc > 1 && eq(argv[1], "enosys"))
		say("sched_yield", sys3(24, 0, 0, 0));
	if (argc > 1 && eq(argv[1], "fault"))
		*(volatile int *)0 = 1;
	if (argc > 1 && eq(argv[1], "hypercall")) // PVM's hypercall gate, from user mode
		__asm__ volatile("mov $0x1009, %%eax\n\tint $0x1b" ::: "rax", "memory");
	if (argc > 1 && eq(argv[1], "spin"))
		for (;;)
			__asm__ volatile("");
	sys3(231, argc > 2 ? argv[2][0] - '0' : 0, 0, 0);
}
