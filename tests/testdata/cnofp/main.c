// Dies of a NULL write three calls deep in code built without frame
// pointers (-O2 -fomit-frame-pointer, Debian's default for libraries), or
// of abort() inside glibc, for tests/cxx_test.go's TestCrashReportNoFramePointer:
// only the call frame information (.eh_frame) finds the callers. Each
// function keeps a frame of its own (callee-saved registers, work after
// the call) so that neither inlining nor a tail call folds it away.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

volatile int sink;

__attribute__((noinline, noipa)) int nofp_level3(int *p, int v) {
	int a = sink + v, b = sink * v, c = sink - v;
	*p = a; // the NULL write
	return a * b + c;
}

__attribute__((noinline, noipa)) int nofp_level2(int *p, int v) {
	int x = sink + 1, y = sink + 2, z = sink + 3;
	int r = nofp_level3(p, v * x);
	return r + x * y * z;
}

__attribute__((noinline, noipa)) int nofp_level1(int *p) {
	int k = sink + 5, m = sink + 7;
	int r = nofp_level2(p, k);
	return r * m + k;
}

int main(int argc, char **argv) {
	printf("about to crash\n");
	fflush(stdout);
	if (argc > 1 && strcmp(argv[1], "abort") == 0)
		abort();
	int r = nofp_level1(argc > 5 ? &argc : NULL);
	printf("not reached %d\n", r);
	return 0;
}
