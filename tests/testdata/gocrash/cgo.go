//go:build cgo

package main

/*
#include <stddef.h>

__attribute__((noinline)) static void c_crash_inner(volatile int *p) { *p = 1; }
__attribute__((noinline)) void c_crash(void) { c_crash_inner(NULL); }
*/
import "C"

// cCrash dies of a NULL write in C: a signal the Go runtime does not
// recover from (SIGSEGV in non-Go code), so with GOTRACEBACK=crash the
// process ends by the signal.
func cCrash() { C.c_crash() }
