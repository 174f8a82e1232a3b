// Package posix holds the kernel objects a guest sees: thread groups and
// tasks, file descriptor tables and open files, futexes, signal state and
// resource limits. Address spaces live in posix/mm.
//
// posix never touches the machine directly; it is driven by package
// syscalls and reaches guest memory only through mm.
package posix
