// Dies of a NULL write three calls deep, or of abort(), for the crash
// report test in tests/c_test.go: the report must name the functions and
// their source lines. Built -O0 -g -fno-omit-frame-pointer so every frame
// is on the frame-pointer chain.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) static void crash_level3(int *p, int v) {
	*p = v; // the NULL write
}

__attribute__((noinline)) static void crash_level2(int *p) { crash_level3(p, 42); }

__attribute__((noinline)) void crash_level1(void) { crash_level2(NULL); }

int main(int argc, char **argv) {
	printf("about to crash\n");
	fflush(stdout);
	if (argc > 1 && strcmp(argv[1], "abort") == 0)
		abort();
	crash_level1();
	return 0;
}
