package syscalls

import (
	"fmt"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/rumpglue"
	"golang.org/x/sys/unix"
)

// syscallInsnLen is the length of SYSCALL (0f 05): a restarted call
// resumes that far before the return address.
const syscallInsnLen = 2

// deliverSignals runs on the way back to guest code, as Linux's
// exit_to_user_mode does: it settles an interrupted syscall (errno is one
// of the ERESTART* codes) and builds a frame for every pending signal the
// thread does not block, the last one's handler running first.
func (t *Thread) deliverSignals(nr uint64, errno unix.Errno) rumpglue.Resume {
	if t.Task.Group.Exiting() || t.Task.Doomed() {
		t.leave(0) // exit_group, a fatal signal, or another thread's execve
		return rumpglue.Stop
	}
	r := t.cpu.Regs()
	restart := errno == ERESTARTSYS || errno == ERESTARTNOINTR || errno == ERESTARTNOHAND || errno == ERESTART_RESTARTBLOCK
	handled := false
	for {
		if !t.parkWhileStopped() {
			t.leave(0) // killed while stopped
			return rumpglue.Stop
		}
		info, act, ok := t.Task.Dequeue()
		if !ok {
			break
		}
		if !t.debugSignal(info.Signo) {
			continue // the debugger took it away (get_signal's ptrace_signal comes first)
		}
		if act.Handler == posix.SIG_DFL && t.Task.Group.Unkillable() && info.Signo != int32(unix.SIGKILL) && info.Signo != int32(unix.SIGSTOP) {
			continue // get_signal: an init takes no default action but SIGKILL's and SIGSTOP's
		}
		if act.Handler == posix.SIG_DFL && posix.DefaultAction(int(info.Signo)) == posix.ActStop {
			if parent, notice := t.Task.Group.Stop(int(info.Signo)); parent != nil {
				parent.Send(notice)
			}
			continue // and park at the top, with every other thread
		}
		if act.Handler == posix.SIG_DFL {
			t.die(info)
			return rumpglue.Stop
		}
		if restart {
			restart = false
			if errno == ERESTARTNOINTR || (errno == ERESTARTSYS && act.Flags&posix.SA_RESTART != 0) {
				r.RAX, r.RIP = nr, r.RIP-syscallInsnLen
			} else {
				r.RAX = negErrno(unix.EINTR)
			}
		}
		if e := t.setupFrame(info, act); e != 0 {
			// Linux's answer to a stack it cannot write a frame on
			// (force_sigsegv): SIGSEGV, which a handler of its own may
			// catch (on an alternate stack), unless the frame that failed
			// was SIGSEGV's: then its default, death.
			t.faultDesc = fmt.Sprintf("no room for the %s frame below rsp %#x", signalName(int(info.Signo)), r.RSP)
			if info.Signo == int32(unix.SIGSEGV) {
				t.Task.Group.Signals.Swap(int(unix.SIGSEGV), &posix.SigAction{})
			}
			t.Task.Force(posix.SigInfo{Signo: int32(unix.SIGSEGV), Code: posix.SI_KERNEL})
			continue
		}
		if info.Signo == int32(unix.SIGSEGV) && info.Code == posix.SI_KERNEL {
			t.faultDesc = "" // its handler runs: no death to describe
		}
		handled = true
	}
	if restart {
		// Nothing ran a handler (the signal went to another thread, or was
		// ignored): the call starts again, as if never interrupted.
		r.RAX, r.RIP = nr, r.RIP-syscallInsnLen
	}
	if !handled {
		t.Task.RestoreTempMask()
	}
	return rumpglue.Continue
}

// parkWhileStopped keeps the thread out of guest code while its process
// is stopped (job control), until SIGCONT; false when the process died
// meanwhile.
func (t *Thread) parkWhileStopped() bool {
	g := t.Task.Group
	for {
		cont, stopped := g.Stopped()
		if !stopped {
			return true
		}
		select {
		case <-cont:
		case <-g.Dying():
			return false
		}
	}
}

// die ends the process by a signal's default action, with a one-line
// report saying what happened. A child process is its parent's business,
// as on Linux, unless it crashed: then the report names its pid.
func (t *Thread) die(info posix.SigInfo) {
	sig := int(info.Signo)
	r := t.cpu.Regs()
	g := t.Task.Group
	if g.PID != 1 && posix.DefaultAction(sig) != posix.ActCore {
		g.ExitGroup(posix.ExitStatus{Signal: sig})
		t.leave(0)
		return
	}
	dump, other := t.startCore(sig) // --core: stop the other threads first (core_dump.go)
	if other {
		t.leave(0) // another thread dumps the process: this one is in it
		return
	}
	if g.PID != 1 {
		t.crashReport("rumpgo: process %d of the guest:", g.PID)
	}
	switch {
	case t.faultDesc != "":
		t.crashReport("rumpgo: guest killed by %s: %s at rip %#x (rsp %#x)", signalName(sig), t.faultDesc, r.RIP, r.RSP)
	case info.Code == posix.SI_USER || info.Code == posix.SI_TKILL:
		t.crashReport("rumpgo: guest killed by %s (sent by pid %d)", signalName(sig), info.PID)
	default:
		t.crashReport("rumpgo: guest killed by %s", signalName(sig))
	}
	t.crashDetails(sig, r)        // registers and a symbolized backtrace (crash_report.go)
	t.writeCore(info, r, dump)    // --core (core_dump.go)
	cored := t.guestCore(info, r) // the guest's own core file: the wait status says so
	t.Task.Group.ExitGroup(posix.ExitStatus{Signal: sig, Core: cored})
	t.leave(0)
}

// negErrno is how a syscall returns errno in RAX.
func negErrno(e unix.Errno) uint64 { return uint64(-int64(e)) }
