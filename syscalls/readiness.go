package syscalls

import (
	"time"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/vfs"
	"github.com/rumpgo/rumpgo/posix/waiter"
	"golang.org/x/sys/unix"
)

// This file is how calls wait for files: posix objects never block (they
// answer EAGAIN), and the calls here wait for their readiness through
// t.block, so every wait is interruptible by signals and process exit.

// waitFor blocks until w reports one of mask, the deadline passes (zero:
// never) or the thread is interrupted; it returns block's errno.
func (t *Thread) waitFor(w waiter.Waitable, mask uint32, deadline time.Time) unix.Errno {
	entry, ch := waiter.NewChannelEntry(mask)
	w.EventRegister(entry)
	defer w.EventUnregister(entry)
	// Asked after registering, so a change in between still wakes us.
	if w.Readiness(mask)&mask != 0 {
		// Ready, yet the caller's try just said EAGAIN: an eventfd write
		// that does not fit is both. The caller will loop, so a signal
		// or the process's death must still end the wait here.
		if t.Task.SignalPending() {
			return ERESTARTSYS
		}
		select {
		case <-t.Task.Group.Dying():
			return unix.EINTR
		default:
		}
		return 0
	}
	return t.block(ch, deadline)
}

// blocks reports whether an EAGAIN from f should wait: f is in blocking
// mode and can be waited on.
func blocks(f posix.File) waiter.Waitable {
	if f.Flags()&unix.O_NONBLOCK != 0 {
		return nil
	}
	return waiter.Of(fileOf(f))
}

// fileOf is the file itself behind a descriptor's OpenFile, whose method
// set hides the optional interfaces (waiter.Waitable, posix.FlagSetter).
func fileOf(f posix.File) posix.File {
	if of, ok := f.(*posix.OpenFile); ok {
		return of.File
	}
	return f
}

// ioTimeout is how long a blocking read (or write) of f may wait: a
// socket's SO_RCVTIMEO (SO_SNDTIMEO); zero, forever.
func ioTimeout(f posix.File, write bool) time.Duration {
	s, ok := fileOf(f).(posix.Socket)
	if !ok {
		return 0
	}
	rcv, snd := s.Timeouts()
	if write {
		return snd
	}
	return rcv
}

// readFile reads into buf, waiting for data when f is in blocking mode.
// An interrupted wait is ERESTARTSYS (read restarts under SA_RESTART); on
// a socket with SO_RCVTIMEO the wait ends in EAGAIN, and an interruption
// is EINTR, as sock_intr_errno.
func (t *Thread) readFile(f posix.File, buf []byte) (int, unix.Errno) {
	if sfd, ok := fileOf(f).(*posix.SignalFD); ok {
		f = sfd.As(t.Task) // the reader's signals, not its maker's
	}
	timeout := ioTimeout(f, false)
	dl := deadline(timeout)
	vf, _ := fileOf(f).(*vfs.File)
	for {
		if vf != nil {
			if e := t.jobCheck(vf, false); e != 0 {
				return 0, e
			}
		}
		n, e := f.Read(buf)
		if e != unix.EAGAIN {
			return n, e
		}
		w := blocks(f)
		if w == nil {
			return n, e
		}
		if e := t.waitFor(w, waiter.ReadEvents, dl); e != 0 {
			return 0, timeoutErr(e, timeout)
		}
	}
}

// timeoutErr is a socket wait's errno: the timeout is EAGAIN, and an
// interruption EINTR when there was a timeout (Linux's sock_intr_errno).
func timeoutErr(e unix.Errno, timeout time.Duration) unix.Errno {
	switch {
	case e == unix.ETIMEDOUT:
		return unix.EAGAIN
	case e == ERESTARTSYS && timeout > 0:
		return unix.EINTR
	}
	return e
}

// writeFile writes all of buf, waiting for room when f is in blocking
// mode. It returns what was written; an error only when nothing was.
// EPIPE raises SIGPIPE, as Linux's pipe and socket writes do; a socket's
// SO_SNDTIMEO bounds the wait as readFile's SO_RCVTIMEO.
func (t *Thread) writeFile(f posix.File, buf []byte) (int, unix.Errno) {
	inner := f
	if of, ok := f.(*posix.OpenFile); ok {
		inner = of.File
	}
	if vf, ok := inner.(*vfs.File); ok && !vf.PathOnly() {
		if e := t.jobCheck(vf, true); e != 0 {
			return 0, e
		}
		n, e := t.fsizeWrite(vf, vf.Offset(), len(buf))
		if e != 0 {
			return 0, e
		}
		buf = buf[:n]
	}
	timeout := ioTimeout(f, true)
	dl := deadline(timeout)
	done := 0
	for {
		n, e := f.Write(buf[done:])
		done += n
		if done == len(buf) {
			return done, 0
		}
		if e == 0 || e == unix.EAGAIN {
			w := blocks(f)
			if w == nil {
				// Non-blocking: the short count is the answer.
				if done > 0 {
					return done, 0
				}
				return 0, unix.EAGAIN
			}
			if e := t.waitFor(w, waiter.WriteEvents, dl); e != 0 {
				if done > 0 {
					return done, 0
				}
				return 0, timeoutErr(e, timeout)
			}
			continue
		}
		if e == unix.EPIPE {
			t.raiseSIGPIPE()
		}
		if done > 0 {
			return done, 0
		}
		return 0, e
	}
}

// raiseSIGPIPE sends SIGPIPE to the writing thread after a write to a pipe
// with no reader failed with EPIPE; like Linux's send_sig(SIGPIPE,
// current, 0) it carries SI_USER and the writer as sender.
func (t *Thread) raiseSIGPIPE() {
	t.Task.Send(t.sender(int(unix.SIGPIPE), posix.SI_USER))
}

// sigmaskArg installs the temporary signal mask that ppoll, pselect6 and
// epoll_pwait take (nil addr: none), as Linux's set_user_sigmask. The
// returned function puts the old mask back unless the call was interrupted,
// in which case signal delivery restores it after running the handler.
func (t *Thread) sigmaskArg(addr, size uint64) (func(unix.Errno), unix.Errno) {
	if addr == 0 {
		return func(unix.Errno) {}, 0
	}
	if size != sigsetSize {
		return nil, unix.EINVAL
	}
	mask, e := t.sigset(addr)
	if e != 0 {
		return nil, e
	}
	t.Task.SetTempMask(mask)
	return func(e unix.Errno) {
		switch e {
		case unix.EINTR, ERESTARTSYS, ERESTARTNOHAND, ERESTARTNOINTR, ERESTART_RESTARTBLOCK:
		default:
			t.Task.RestoreTempMask()
		}
	}, 0
}
