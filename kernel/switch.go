package kernel

import (
	_ "unsafe" // go:linkname

	"github.com/rumpgo/rumpgo/boot"
	"github.com/rumpgo/rumpgo/rumpglue"
)

// userState is what entry_amd64.s saves and loads: the app's registers as
// rumpglue.Regs (struct kvm_regs), then its FS base.
type userState struct {
	rumpglue.Regs
	FSBase uint64
}

// Why switchToUser returned.
const reasonSyscall = 1

// stubSyscall is where the kernel's own SYSCALLs go on to: the stage-1
// stub, which hands them to the monitor.
var stubSyscall uint64 = boot.StubSyscall

func switchToUser(s *userState) uint64
func syscallEntry()
func syscallEntryAddr() uintptr
func wrmsr(msr uint32, value uint64)

// The runtime's syscall bracket: while the app runs, this M is "in a
// system call", so the kernel's GC and scheduler never wait for it.
//
//go:linkname entersyscall runtime.entersyscall
func entersyscall()

//go:linkname exitsyscall runtime.exitsyscall
func exitsyscall()

// runUser runs the app until its next system call. It must not split the
// stack between entersyscall and exitsyscall.
//
//go:nosplit
func runUser(s *userState) uint64 {
	entersyscall()
	r := switchToUser(s)
	exitsyscall()
	return r
}
