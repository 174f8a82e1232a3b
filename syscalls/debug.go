package syscalls

import (
	"github.com/rumpgo/rumpgo/rumpglue"
	"golang.org/x/sys/unix"
)

// Debugger is a debugger outside the guest (package debug/gdbstub): it
// sees the guest's faults before they become signals, which is how a
// software breakpoint (int3, #BP) or a single step (RFLAGS.TF, #DB)
// reaches it, and how a crash stops in it before the program dies.
type Debugger interface {
	// Fault runs on the faulting thread's CPU, which stays stopped while
	// it runs (the debugger may read and change its registers), with the
	// signal the fault raises. It returns the signal to deliver: signo to
	// go on as without a debugger, 0 to deliver none (a breakpoint or a
	// step the debugger took), or another.
	Fault(t *Thread, cpu rumpglue.CPU, f rumpglue.Fault, signo int) int
	// ThreadStart runs on a new thread's CPU before its first
	// instruction (a debugger that has the guest stopped holds it).
	ThreadStart(t *Thread, cpu rumpglue.CPU)
	// Signal runs on a thread's CPU before a signal is delivered to it
	// (a handler or its default action; not SIGKILL), as ptrace's
	// signal-delivery-stop, and returns the signal to deliver: signo, or
	// 0 to discard it.
	Signal(t *Thread, cpu rumpglue.CPU, signo int) int
}

type debuggerBox struct{ d Debugger }

// SetDebugger gives the kernel a debugger, or takes it away (nil).
func (k *Kernel) SetDebugger(d Debugger) {
	if d == nil {
		k.debugger.Store(nil)
		return
	}
	k.debugger.Store(&debuggerBox{d})
}

// debugFault lets the debugger see a fault that raises signo, and returns
// the signal to deliver.
func (t *Thread) debugFault(cpu rumpglue.CPU, f rumpglue.Fault, signo int) int {
	b := t.K.debugger.Load()
	if b == nil {
		return signo
	}
	return b.d.Fault(t, cpu, f, signo)
}

// debugStart tells the debugger of a thread about to run.
func (t *Thread) debugStart(cpu rumpglue.CPU) {
	if b := t.K.debugger.Load(); b != nil {
		b.d.ThreadStart(t, cpu)
	}
}

// debugSignal lets the debugger see a signal about to be delivered and
// reports whether it still is. A fault's signal it saw in Fault already
// is not shown again.
func (t *Thread) debugSignal(signo int32) bool {
	b := t.K.debugger.Load()
	if b == nil || signo == int32(unix.SIGKILL) {
		return true
	}
	if t.debugSeen == signo {
		t.debugSeen = 0
		return true
	}
	return b.d.Signal(t, t.cpu, int(signo)) != 0
}

// TID is the thread's ID, as gettid answers it.
func (t *Thread) TID() int { return t.Task.TID }

// Auxv is the first program's auxiliary vector as it started (SaveAuxv),
// as /proc/PID/auxv shows it; nil before it is saved.
func (k *Kernel) Auxv() []byte { return k.auxv }
