// Touches N fresh pages of its stack (argv[1], default 1024: 4 MiB, inside
// Linux's 8 MiB stack limit), top down as a stack grows, timed with
// clock_gettime, and prints "ns_per_page X.Y": the page-fault path,
// measured the same way natively, on the monitor path and on the
// guest-kernel path (tests/bench). No libc, so the guest kernel prototype
// runs it.
static long sys3(long nr, long a, long b, long c) {
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
	return r;
}

struct timespec { long sec, nsec; };

static long now(void) {
	struct timespec ts;
	sys3(228, 1, (long)&ts, 0);
	return ts.sec * 1000000000L + ts.nsec;
}

static char *put(char *p, unsigned long v) {
	char d[24];
	int n = 0;
	do d[n++] = '0' + v % 10; while (v /= 10);
	while (n) *p++ = d[--n];
	return p;
}

void cmain(long *sp) {
	long n = 0;
	if (sp[0] > 1)
		for (const char *a = (const char *)sp[2]; *a >= '0' && *a <= '9'; a++)
			n = n * 10 + *a - '0';
	if (n <= 0 || n > 1536)
		n = 1024;
	// 512 KiB below the initial stack first: what the loader mapped (and
	// the kernel's initial stack) is out of the way.
	volatile char *base = __builtin_alloca((n + 128) * 4096L);
	long t0 = now();
	for (long i = n - 1; i >= 0; i--)
		base[i * 4096L] = 1;
	long t1 = now();
	unsigned long tenths = (unsigned long)(t1 - t0) * 10 / n;
	char buf[64], *p = buf;
	const char *s = "ns_per_page ";
	while (*s) *p++ = *s++;
	p = put(p, tenths / 10);
	*p++ = '.';
	p = put(p, tenths % 10);
	*p++ = '\n';
	sys3(1, 1, (long)buf, p - buf);
	sys3(231, 0, 0, 0);
}

__asm__(".globl _start\n_start:\n\tmov %rsp, %rdi\n\tand $-16, %rsp\n\tcall cmain\n\tud2\n");
