// Touches N fresh pages of its stack (argv[1], default 1024: 4 MiB, inside
// Linux's 8 MiB stack limit), top down as a stack grows, timed with
// clock_gettime, and prints "ns_per_page X.Y": the page-fault path,
// measured the same way natively, on the monitor path and on the
// guest-kernel path (tests/bench). No libc, so the guest kernel prototype
// runs it.
#include "../nolibc.h"

void cmain(long *sp) {
	long n = argn(sp);
	if (n <= 0 || n > 1536)
		n = 1024;
	// 512 KiB below the initial stack first: what the loader mapped (and
	// the kernel's initial stack) is out of the way.
	volatile char *base = __builtin_alloca((n + 128) * 4096L);
	long t0 = now();
	for (long i = n - 1; i >= 0; i--)
		base[i * 4096L] = 1;
	report("ns_per_page", now() - t0, n);
	sys3(231, 0, 0, 0);
}
