package vdso

// callC calls the System V function at fn with three integer arguments.
// Only tests use it: they run the image in this process, as a guest would.
func callC(fn, a0, a1, a2 uintptr) uintptr
