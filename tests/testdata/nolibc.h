// What the no-libc test programs (kcalls, kgetpid, ktouch) share: a raw
// system call, the monotonic clock, decimal output and _start, which calls
// cmain(sp) with sp at argc.
static long sys3(long nr, long a, long b, long c) {
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
	return r;
}

struct timespec { long sec, nsec; };

static long now(void) {
	struct timespec ts;
	sys3(228, 1, (long)&ts, 0); // clock_gettime(CLOCK_MONOTONIC)
	return ts.sec * 1000000000L + ts.nsec;
}

static char *put(char *p, unsigned long v) {
	char d[24];
	int n = 0;
	do d[n++] = '0' + v % 10; while (v /= 10);
	while (n) *p++ = d[--n];
	return p;
}

// argn is argv[1] as a decimal number, or 0.
static long argn(long *sp) {
	long n = 0;
	if (sp[0] > 1)
		for (const char *a = (const char *)sp[2]; *a >= '0' && *a <= '9'; a++)
			n = n * 10 + *a - '0';
	return n;
}

// report writes "KEY X.Y\n": total nanoseconds over n, to a tenth.
static void report(const char *key, long total, long n) {
	unsigned long tenths = (unsigned long)total * 10 / n;
	char buf[64], *p = buf;
	while (*key) *p++ = *key++;
	*p++ = ' ';
	p = put(p, tenths / 10);
	*p++ = '.';
	p = put(p, tenths % 10);
	*p++ = '\n';
	sys3(1, 1, (long)buf, p - buf);
}

__asm__(".globl _start\n_start:\n\tmov %rsp, %rdi\n\tand $-16, %rsp\n\tcall cmain\n\tud2\n");
