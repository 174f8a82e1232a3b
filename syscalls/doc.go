// Package syscalls is the Linux x86-64 system call ABI: numbers, argument
// decoding, the dispatch table, errno results and --strace formatting.
//
// Each family has its file (sys_mm.go, sys_thread.go, ...) registering its
// entries; every entry says whether it is supported, partial (with a note),
// or deliberately answers an error. Numbers absent from the table return
// ENOSYS and are counted, so unsupported calls are visible, never faked.
// The package keeps no state of its own: state lives in posix objects held
// by a Kernel.
package syscalls
