package syscalls

import (
	"time"

	"github.com/rumpgo/rumpgo/posix"
	"golang.org/x/sys/unix"
)

// Kernel-internal errnos that ask for a syscall restart, as in Linux's
// include/linux/errno.h. A handler interrupted by a signal returns one of
// them; signal delivery turns it into EINTR or re-executes the call,
// and the guest never sees these values.
const (
	ERESTARTSYS           = unix.Errno(512) // restart if the handler has SA_RESTART, else EINTR
	ERESTARTNOINTR        = unix.Errno(513) // always restart
	ERESTARTNOHAND        = unix.Errno(514) // restart only if no handler ran
	ERESTART_RESTARTBLOCK = unix.Errno(516) // restart with the time left (nanosleep)
)

// block waits until ready fires, the deadline passes (a zero deadline
// waits forever), a signal interrupts the thread, or its process dies.
// It returns 0, ETIMEDOUT, or ERESTARTSYS for an interruption; callers
// with other restart rules (poll: ERESTARTNOHAND) translate that.
func (t *Thread) block(ready <-chan struct{}, deadline time.Time) unix.Errno {
	intr := t.Task.Interrupt()
	if t.Task.SignalPending() || t.Task.Doomed() {
		// Doomed: another thread execs or dumps core, and its kick may
		// have been the token Interrupt just drained.
		return ERESTARTSYS
	}
	var timeout <-chan time.Time
	if !deadline.IsZero() {
		d := time.Until(deadline)
		if d <= 0 {
			return unix.ETIMEDOUT
		}
		tm := time.NewTimer(d)
		defer tm.Stop()
		timeout = tm.C
	}
	t.Task.SetSleeping(posix.TaskSleeping)
	defer t.Task.SetSleeping(0)
	select {
	case <-ready:
		return 0
	case <-timeout:
		return unix.ETIMEDOUT
	case <-intr:
		return ERESTARTSYS
	case <-t.Task.Group.Dying():
		return unix.EINTR
	}
}
