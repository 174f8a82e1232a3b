// Times N getpid calls (argv[1], default 100000) with clock_gettime and
// prints "getpid_ns X.Y", as testdata/getpid does, then exits 0: the system
// call round trip, measured the same way natively, on the monitor path and
// on the guest-kernel path (tests/bench). No libc, so the guest kernel
// prototype can run it: only getpid, clock_gettime, write and exit_group.
#include "../nolibc.h"

void cmain(long *sp) {
	long n = argn(sp);
	if (n <= 0)
		n = 100000;
	long t0 = now();
	for (long i = 0; i < n; i++)
		sys3(39, 0, 0, 0);
	report("getpid_ns", now() - t0, n);
	sys3(231, 0, 0, 0);
}
