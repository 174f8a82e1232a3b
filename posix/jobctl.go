package posix

import "golang.org/x/sys/unix"

// This file is job control: a stop signal's default action stops every
// thread of the process until SIGCONT (or SIGKILL), and the parent hears
// of both (SIGCHLD with CLD_STOPPED/CLD_CONTINUED unless SA_NOCLDSTOP;
// wait with WUNTRACED/WCONTINUED).

// Child codes of SIGCHLD's and waitid's siginfo for job control.
const (
	CLD_STOPPED   = 5
	CLD_CONTINUED = 6
)

// stopMask are the signals whose default action stops the process.
const stopMask = 1<<(unix.SIGSTOP-1) | 1<<(unix.SIGTSTP-1) | 1<<(unix.SIGTTIN-1) | 1<<(unix.SIGTTOU-1)

// Stop stops the process with sig, as a stop signal's default action
// does: its tasks park at their next return to the guest (Stopped), and
// the parent is told. It returns the parent to send info to, if any.
func (g *ThreadGroup) Stop(sig int) (parent *ThreadGroup, info SigInfo) {
	p := g.procs
	p.mu.Lock()
	g.mu.Lock()
	if g.stopped.Load() || g.exiting {
		g.mu.Unlock()
		p.mu.Unlock()
		return nil, SigInfo{}
	}
	g.stopped.Store(true)
	g.stopReport, g.contReport = sig, false
	g.continued = make(chan struct{})
	tasks := make([]*Task, 0, len(g.tasks))
	for _, t := range g.tasks {
		tasks = append(tasks, t)
	}
	g.mu.Unlock()
	parent = g.parent
	if parent != nil {
		parent.notifyChildEventLocked()
	}
	p.mu.Unlock()
	g.Signals.mu.Lock()
	for _, t := range tasks {
		t.wakeLocked()
	}
	g.Signals.mu.Unlock()
	return g.jobNotice(parent, CLD_STOPPED, sig)
}

// cont resumes a stopped process (SIGCONT, whatever its disposition) and
// returns whom to tell.
func (g *ThreadGroup) cont() (parent *ThreadGroup, info SigInfo) {
	p := g.procs
	p.mu.Lock()
	g.mu.Lock()
	if !g.stopped.Load() {
		g.mu.Unlock()
		p.mu.Unlock()
		return nil, SigInfo{}
	}
	g.stopped.Store(false)
	g.stopReport, g.contReport = 0, true
	close(g.continued)
	g.mu.Unlock()
	parent = g.parent
	if parent != nil {
		parent.notifyChildEventLocked()
	}
	p.mu.Unlock()
	return g.jobNotice(parent, CLD_CONTINUED, int(unix.SIGCONT))
}

// jobNotice is the SIGCHLD a parent gets for a stop or a continue, unless
// it set SA_NOCLDSTOP.
func (g *ThreadGroup) jobNotice(parent *ThreadGroup, code int32, sig int) (*ThreadGroup, SigInfo) {
	if parent == nil || g.exitSignal != int(unix.SIGCHLD) {
		return nil, SigInfo{}
	}
	s := parent.Signals
	s.mu.Lock()
	quiet := s.act[unix.SIGCHLD].Flags&SA_NOCLDSTOP != 0
	s.mu.Unlock()
	if quiet {
		return nil, SigInfo{}
	}
	return parent, SigInfo{Signo: int32(unix.SIGCHLD), Code: code, PID: int32(g.PID), UID: int32(g.uid), Value: uint64(sig)}
}

// Stopped returns, while the process is stopped, a channel closed when it
// continues.
// It is on every syscall's way back to the guest: while the process runs,
// it takes no lock.
func (g *ThreadGroup) Stopped() (<-chan struct{}, bool) {
	if !g.stopped.Load() {
		return nil, false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.continued, g.stopped.Load()
}

// jobSignal applies what sending sig does at once, before it is queued:
// SIGCONT resumes the process and discards pending stop signals, a stop
// signal discards a pending SIGCONT (s.mu held).
func (g *ThreadGroup) jobSignalLocked(sig int) {
	s := g.Signals
	discard := func(mask uint64) {
		for _, q := range append([]*sigQueue{&s.shared}, g.pendingQueuesLocked()...) {
			for sg := 1; sg <= 64; sg++ {
				if mask&Bit(sg) != 0 {
					q.discard(sg, &s.queued)
				}
			}
		}
	}
	switch {
	case sig == int(unix.SIGCONT):
		discard(stopMask)
	case stopMask&Bit(sig) != 0:
		discard(Bit(int(unix.SIGCONT)))
	}
}

func (g *ThreadGroup) pendingQueuesLocked() []*sigQueue {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]*sigQueue, 0, len(g.tasks))
	for _, t := range g.tasks {
		out = append(out, &t.pending)
	}
	return out
}

// Continue is SIGCONT's effect on the process, whoever sends it; the
// caller sends the returned SIGCHLD notice to parent, if any.
func (g *ThreadGroup) Continue() (*ThreadGroup, SigInfo) {
	g.Signals.mu.Lock()
	g.jobSignalLocked(int(unix.SIGCONT))
	g.Signals.mu.Unlock()
	return g.cont()
}
