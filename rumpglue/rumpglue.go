// Package rumpglue is the contract between the emulation layer (syscalls,
// posix) and a machine that runs guest code: register access, thread start
// and stop, TLB shootdown. Its kvm subpackage implements it on /dev/kvm;
// stage 2 will implement it inside the guest.
package rumpglue

import (
	"errors"
	"sync"
	"time"

	"github.com/rumpgo/rumpgo/posix/mm"
	"golang.org/x/sys/unix"
)

// ErrThreadLimit is what Machine.Start returns when no CPU is left.
var ErrThreadLimit = errors.New("thread limit reached")

// Regs are a guest thread's general registers, laid out as struct kvm_regs.
type Regs struct {
	RAX, RBX, RCX, RDX, RSI, RDI, RSP, RBP uint64
	R8, R9, R10, R11, R12, R13, R14, R15   uint64
	RIP, RFLAGS                            uint64
}

// CPU is the processor a guest thread is running on, as a handler sees it
// while the thread is stopped in a syscall or fault.
type CPU interface {
	// Regs are the live registers. For a syscall they already hold the
	// completed state (RIP and RFLAGS as after SYSRET); a handler sets RAX,
	// or everything when it redirects the thread.
	Regs() *Regs
	// SetFSBase sets the thread's FS base when it resumes.
	SetFSBase(base uint64)
	// FSBase is the thread's FS base.
	FSBase() uint64
	// SetSpace moves the thread to another address space (execve); the
	// registers and FS base stay as the handler sets them.
	SetSpace(space Space) error
	// Kick makes the CPU leave guest code soon, so that the thread's
	// Interrupted runs; any goroutine may call it.
	Kick()
	// CPUTime is how much processor time the thread has used, in the guest
	// and in its syscalls; any goroutine may call it.
	CPUTime() time.Duration
	// ExtendedState reads the FPU/SSE/AVX state in XSAVE format into buf
	// (at least boot.XsaveSize bytes) and returns the size of the image the
	// guest's enabled features use; SetExtendedState loads it.
	ExtendedState(buf []byte) (int, error)
	SetExtendedState(buf []byte) error
}

// Resume says whether a thread continues after a handler returns.
type Resume int

const (
	Continue Resume = iota
	Stop            // the thread is gone: its vCPU is released
)

// Fault is an exception the guest took, with registers already rewound
// to the faulting instruction.
type Fault struct {
	Vector    int    // x86 exception vector (14 = #PF, 13 = #GP, ...)
	ErrorCode uint64 // as pushed by the CPU, 0 when it pushes none
	Addr      uint64 // CR2 for #PF
}

// Thread is a guest thread as the machine drives it.
type Thread interface {
	// Attach runs on the thread's CPU before it first enters the guest.
	Attach(cpu CPU)
	Syscall(cpu CPU) Resume
	// Interrupted runs when a kick made the CPU leave guest code at a user
	// instruction boundary: the place to deliver asynchronous signals.
	Interrupted(cpu CPU) Resume
	Fault(cpu CPU, f Fault) Resume
	// Crash reports a failure of the machine itself while running this thread
	// (a triple fault, an internal KVM error); the thread is gone.
	Crash(cpu CPU, err error)
}

// AwayThread is a Thread whose syscalls can also run away from its vCPU:
// a monitor thread polling the vCPU's syscall mailbox runs them while the
// guest waits in the stub, with no VM exit at all.
type AwayThread interface {
	Thread
	// SyscallAway runs the call in cpu.Regs(), a copy of the registers at
	// SYSCALL, if it can complete without the vCPU; handled=false means it
	// ran nothing. When handled, RAX holds the result, and finish says the
	// call must still return through Finish on the vCPU: it changed other
	// registers, a signal is due, it restarts, or the thread ended.
	SyscallAway(cpu CPU) (handled, finish bool)
	// Finish completes, on the vCPU, a call SyscallAway ran; cpu's
	// registers are the ones SyscallAway left.
	Finish(cpu CPU) Resume
}

// Space is one address space's page table on the machine, made by
// NewSpace: an address space (posix/mm) maps pages through it, and the
// machine's CPUs translate through it. Its Retire hands it back once the
// address space has unmapped everything; the machine reuses it when no CPU
// runs on it any more.
type Space = mm.Pager

// Machine runs guest threads.
type Machine interface {
	// Start runs th on a CPU of its own in space, from regs with the
	// given FS base.
	Start(th Thread, space Space, regs Regs, fsBase uint64) error
	// NewSpace makes an empty address space (fork, execve).
	NewSpace() (Space, error)
	// Stop makes every CPU leave the guest and every thread end soon. It
	// does not wait, so a thread's own handler may call it.
	Stop()
}

// ThreadCPUTime reads the CPU clock of thread tid of this process, 0 when
// it cannot: both machines run a guest thread on one host (or kernel)
// thread, which is charged for its guest code and its syscalls alike.
func ThreadCPUTime(tid int32) time.Duration {
	if tid == 0 {
		return 0
	}
	// MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED) from linux/posix-timers.h.
	const cpuclockPerThread, cpuclockSched = 4, 2
	id := int32(^uint32(tid)<<3) | cpuclockPerThread | cpuclockSched
	var ts unix.Timespec
	if unix.ClockGettime(id, &ts) != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// SpaceUsers counts the CPUs that run on a Space's page table, for both
// machines' Spaces: a retired table goes back to its machine's pool only
// once none does. The zero value is ready.
type SpaceUsers struct {
	mu      sync.Mutex
	n       int
	retired bool
}

// Use counts one more CPU on the table.
func (u *SpaceUsers) Use() { u.change(1, false, nil) }

// Unuse counts one CPU less, and calls pool if that was the last of a
// retired table's.
func (u *SpaceUsers) Unuse(pool func()) { u.change(-1, false, pool) }

// Retire marks the address space gone (mm.Pager.Retire), and calls pool
// now if no CPU runs on it.
func (u *SpaceUsers) Retire(pool func()) { u.change(0, true, pool) }

func (u *SpaceUsers) change(d int, retire bool, pool func()) {
	u.mu.Lock()
	u.n += d
	u.retired = u.retired || retire
	free := u.n == 0 && u.retired
	if free {
		u.retired = false // a pooled table serves the next space afresh
	}
	u.mu.Unlock()
	if free {
		pool()
	}
}
