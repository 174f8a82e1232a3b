// Package boot builds a machine: it opens /dev/kvm, maps guest RAM, writes
// page tables, descriptor tables and the ring-0 stub, creates vCPUs in 64-bit
// ring 0, and loads ELF executables with their initial stack.
//
// boot knows nothing of what a system call means; rumpglue drives the vCPUs
// it creates and posix decides what memory the guest has.
package boot
