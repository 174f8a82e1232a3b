// Package kernel is the guest kernel's machine (stage 2,
// docs/design/guest-kernel.md): the rumpgo binary runs inside the VM at
// CPL 0, in PVM's native supervisor mode, and serves an unmodified app at
// CPL 3 in the KPTI user root with the same syscalls and posix packages the
// monitor uses. This package is what those packages run on there: a
// rumpglue.Machine whose threads switch to user mode on their own vCPU
// (switch.go, entry_amd64.s) and come back on the app's SYSCALL or
// exception without a VM exit, and an mm.Pager writing the user root
// through the physmap. The kernel's own Go runtime is served by the
// monitor, as stage 1 serves any Go guest; launch.GuestKernel wires it up.
package kernel
