// Package kernel is the guest kernel (stage 2, docs/design/guest-kernel.md):
// the mode of the rumpgo binary that runs inside the VM at CPL 0, in PVM's
// native supervisor mode, while the app runs at CPL 3 in the KPTI user root.
// The app's system calls enter this package through the LSTAR entry
// (entry_amd64.s) and return with a mode switch, without a VM exit; the
// kernel's own Go runtime is served by the monitor, as stage 1 serves any
// Go guest.
//
// This is the prototype that measures the core path: it loads a static ELF
// into the user root and answers the calls in calls.go inside the VM; every
// other call answers ENOSYS and is reported. posix and syscalls move in
// behind it next.
package kernel
