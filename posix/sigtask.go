package posix

import (
	"github.com/rumpgo/rumpgo/posix/waiter"
	"golang.org/x/sys/unix"
)

// This file is the per-task half of signals: masks, pending sets, and how
// a sent signal finds the thread that will take it.

// Mask is the task's blocked set.
func (t *Task) Mask() uint64 {
	s := t.Group.Signals
	s.mu.Lock()
	defer s.mu.Unlock()
	return t.mask
}

// SetMask replaces the blocked set (SIGKILL and SIGSTOP stay unblocked)
// and wakes the task if that unblocked a pending signal.
func (t *Task) SetMask(mask uint64) {
	s := t.Group.Signals
	s.mu.Lock()
	defer s.mu.Unlock()
	t.mask = mask &^ UnblockableMask
	if t.deliverableLocked() {
		t.wakeLocked()
	}
}

// UnblockForWait lets the signals in set through for rt_sigtimedwait, and
// returns the function that puts the mask back. Meanwhile the old mask
// still counts as blocking when a sender decides whether an ignored signal
// is discarded (Linux's real_blocked): a SIGCHLD whose default is to be
// ignored must still reach a thread waiting for it.
func (t *Task) UnblockForWait(set uint64) (restore func()) {
	s := t.Group.Signals
	s.mu.Lock()
	old := t.mask
	t.realBlocked = old
	t.mask = old &^ set
	if t.deliverableLocked() {
		t.wakeLocked()
	}
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		t.mask, t.realBlocked = old, 0
		s.mu.Unlock()
	}
}

// SetTempMask installs mask for the duration of a call such as
// rt_sigsuspend or ppoll; the old mask comes back when a handler returns
// (through the signal frame) or with RestoreTempMask.
func (t *Task) SetTempMask(mask uint64) {
	old := t.Mask()
	t.savedMask, t.hasSavedMask = old, true
	t.SetMask(mask)
}

// RestoreTempMask undoes SetTempMask if no signal handler took the saved
// mask over.
func (t *Task) RestoreTempMask() {
	if t.hasSavedMask {
		t.hasSavedMask = false
		t.SetMask(t.savedMask)
	}
}

// TakeSavedMask returns the mask a signal frame must restore: the one
// saved by SetTempMask if any (which it consumes), else the current one.
func (t *Task) TakeSavedMask() uint64 {
	if t.hasSavedMask {
		t.hasSavedMask = false
		return t.savedMask
	}
	return t.Mask()
}

// SetKick sets how to make the task's CPU leave guest code promptly.
func (t *Task) SetKick(kick func()) {
	s := t.Group.Signals
	s.mu.Lock()
	t.kick = kick
	s.mu.Unlock()
}

func (t *Task) deliverableLocked() bool {
	return (t.pending.set|t.Group.Signals.shared.set)&^t.mask != 0
}

// wakeLocked interrupts a blocking call of the task and kicks its CPU.
func (t *Task) wakeLocked() {
	select {
	case t.interrupt <- struct{}{}:
	default:
	}
	if t.kick != nil {
		t.kick()
	}
}

// SignalPending reports whether a signal the task does not block is pending.
func (t *Task) SignalPending() bool {
	s := t.Group.Signals
	s.mu.Lock()
	defer s.mu.Unlock()
	return t.deliverableLocked()
}

// Pending is rt_sigpending's answer: pending signals the task blocks.
func (t *Task) Pending() uint64 {
	s := t.Group.Signals
	s.mu.Lock()
	defer s.mu.Unlock()
	return (t.pending.set | s.shared.set) & t.mask
}

// Send queues a thread-directed signal (tgkill, a timer with
// SIGEV_THREAD_ID). Signals the process ignores are discarded at once.
func (t *Task) Send(info SigInfo) unix.Errno {
	s := t.Group.Signals
	sig := int(info.Signo)
	if sig == int(unix.SIGKILL) {
		if !t.Group.initIgnores(sig, SigAction{}, info) {
			t.Group.Kill(info)
		}
		return 0
	}
	if sig == int(unix.SIGCONT) {
		if parent, notice := t.Group.Continue(); parent != nil {
			defer parent.Send(notice)
		}
	}
	s.mu.Lock()
	t.Group.jobSignalLocked(sig)
	if (t.mask|t.realBlocked)&Bit(sig) == 0 && (ignored(sig, s.act[sig]) || t.Group.initIgnores(sig, s.act[sig], info)) {
		s.mu.Unlock()
		return 0
	}
	if !t.pending.add(info, &s.queued, t.Group.sigLimit()) {
		s.mu.Unlock()
		return unix.EAGAIN
	}
	if t.mask&Bit(sig) == 0 {
		t.wakeLocked()
	}
	s.mu.Unlock()
	s.q.Notify(waiter.EPOLLIN)
	return 0
}

// SetUnkillable makes the group its PID namespace's init, as a
// container's first process is (Linux's SIGNAL_UNKILLABLE): a signal it
// has no handler for is dropped — SIGKILL and SIGSTOP too unless they
// come from outside the machine or from the machine itself — until a
// fault of its own forces a default action (Force).
func (g *ThreadGroup) SetUnkillable(on bool) { g.unkillable.Store(on) }

// Unkillable reports SetUnkillable's state.
func (g *ThreadGroup) Unkillable() bool { return g.unkillable.Load() }

// initIgnores is Linux's sig_task_ignored for an init: true when sig,
// with the disposition act, is dropped. A signal is forced past it
// (force in __send_signal_locked) when no process of the machine sent
// it: the host (pid 0, a runtime's kill) or the kernel itself; only
// SIGKILL and SIGSTOP are then delivered anyway.
func (g *ThreadGroup) initIgnores(sig int, act SigAction, info SigInfo) bool {
	if !g.unkillable.Load() || act.Handler != SIG_DFL {
		return false
	}
	return !(sigKernelOnly(sig) && !fromInside(info))
}

// sigKernelOnly is Linux's sig_kernel_only: the signals no process can
// catch, block or ignore.
func sigKernelOnly(sig int) bool { return sig == int(unix.SIGKILL) || sig == int(unix.SIGSTOP) }

// fromInside reports whether a process of the machine sent info (kill,
// tgkill, sigqueue with its pid).
func fromInside(info SigInfo) bool {
	return (info.Code == SI_USER || info.Code == SI_TKILL || info.Code == SI_QUEUE) && info.PID > 0
}

// Force queues a signal raised by the task's own fault. A fault cannot be
// blocked or ignored: like Linux's force_sig, that resets the disposition
// to the default (which kills) and unblocks it.
func (t *Task) Force(info SigInfo) {
	s := t.Group.Signals
	sig := int(info.Signo)
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.mask&Bit(sig) != 0 || s.act[sig].Handler == SIG_IGN {
		s.act[sig].Handler = SIG_DFL
		t.mask &^= Bit(sig)
	}
	if s.act[sig].Handler == SIG_DFL {
		t.Group.unkillable.Store(false) // force_sig_info_to_task: an init's fault kills it
	}
	t.pending.add(info, &s.queued, t.Group.sigLimit())
}

// Send queues a process-directed signal (kill, a host signal, an
// interval timer) and wakes one thread that does not block it, preferring
// the main thread as Linux does.
func (g *ThreadGroup) Send(info SigInfo) unix.Errno {
	s := g.Signals
	sig := int(info.Signo)
	if sig == int(unix.SIGKILL) {
		if !g.initIgnores(sig, SigAction{}, info) {
			g.Kill(info)
		}
		return 0
	}
	if sig == int(unix.SIGCONT) {
		if parent, notice := g.Continue(); parent != nil {
			defer parent.Send(notice)
		}
	}
	s.mu.Lock()
	g.jobSignalLocked(sig)
	defer s.q.Notify(waiter.EPOLLIN) // runs after the unlock below
	defer s.mu.Unlock()
	if (ignored(sig, s.act[sig]) || g.initIgnores(sig, s.act[sig], info)) && !g.allBlockLocked(sig) {
		return 0
	}
	if !s.shared.add(info, &s.queued, g.sigLimit()) {
		return unix.EAGAIN
	}
	g.mu.Lock()
	var target *Task
	if main := g.tasks[g.PID]; main != nil && main.mask&Bit(sig) == 0 {
		target = main
	} else {
		for _, t := range g.tasks {
			if t.mask&Bit(sig) == 0 {
				target = t
				break
			}
		}
	}
	g.mu.Unlock()
	if target != nil {
		target.wakeLocked()
	}
	return 0
}

// retargetSignals wakes a thread for the process's pending signals after
// one exits: the exiting thread may have been the one chosen to take them.
func (g *ThreadGroup) retargetSignals() {
	s := g.Signals
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shared.set == 0 {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, t := range g.tasks {
		if s.shared.set&^t.mask != 0 {
			t.wakeLocked()
			return
		}
	}
}

// allBlockLocked reports whether every task blocks sig, in which case an
// ignored signal still queues: a handler may be installed before it is
// unblocked.
func (g *ThreadGroup) allBlockLocked(sig int) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, t := range g.tasks {
		if (t.mask|t.realBlocked)&Bit(sig) == 0 {
			return false
		}
	}
	return len(g.tasks) > 0
}

// Dequeue removes the next signal the task should act on, with the action
// to take. Signals whose disposition is now to ignore are dropped on the
// way; SA_RESETHAND resets the disposition as the signal is taken.
func (t *Task) Dequeue() (SigInfo, SigAction, bool) {
	return t.dequeue(^t.Mask(), true)
}

// DequeueSet removes a pending signal in set whatever the mask, for
// rt_sigtimedwait and signalfd.
func (t *Task) DequeueSet(set uint64) (SigInfo, bool) {
	info, _, ok := t.dequeue(set, false)
	return info, ok
}

func (t *Task) dequeue(allowed uint64, acting bool) (SigInfo, SigAction, bool) {
	s := t.Group.Signals
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		q := &t.pending
		sig := next(q.set & allowed)
		if sig == 0 {
			q = &s.shared
			sig = next(q.set & allowed)
		}
		if sig == 0 {
			return SigInfo{}, SigAction{}, false
		}
		info := q.take(sig, &s.queued)
		act := s.act[sig]
		if !acting {
			return info, act, true
		}
		if ignored(sig, act) {
			continue
		}
		if act.Flags&SA_RESETHAND != 0 && act.Handler != SIG_DFL {
			// Only the handler goes back to SIG_DFL: the flags and mask
			// stay, as sigaction shows inside the handler on Linux.
			s.act[sig].Handler = SIG_DFL
		}
		return info, act, true
	}
}

// SignalState is what /proc/PID/status shows of a task's signals: its
// own pending set, the process's shared one, its mask, and the real-time
// signals queued in the process.
func (t *Task) SignalState() (pending, shared, blocked uint64, queued int) {
	s := t.Group.Signals
	s.mu.Lock()
	defer s.mu.Unlock()
	return t.pending.set, s.shared.set, t.mask, s.queued
}

// Dispositions are the signals the process ignores (SIG_IGN) and catches
// (a handler), as bit sets.
func (s *SignalHandlers) Dispositions() (ignored, caught uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sig := 1; sig <= NSIG; sig++ {
		switch s.act[sig].Handler {
		case SIG_DFL:
		case SIG_IGN:
			ignored |= Bit(sig)
		default:
			caught |= Bit(sig)
		}
	}
	return ignored, caught
}

// sigLimit is the process's RLIMIT_SIGPENDING.
func (g *ThreadGroup) sigLimit() uint64 {
	if g.Limits == nil {
		return RLIM_INFINITY
	}
	return g.Limits.Get(unix.RLIMIT_SIGPENDING).Cur
}
