package syscalls

import (
	"strconv"

	"github.com/rumpgo/rumpgo/posix/tty"
	"github.com/rumpgo/rumpgo/posix/vfs"
	"golang.org/x/sys/unix"
)

// This file is the calls' side of pseudo-terminals (posix/tty): their
// ioctls with the caller, TIOCGPTPEER's new descriptor, and the job
// control checks of reads and writes.

// ioctlTerminal runs a terminal ioctl on a pty end opened through /dev.
func (t *Thread) ioctlTerminal(vf *vfs.File, term tty.Terminal, cmd uint32, arg uint64) (uint64, unix.Errno) {
	if cmd == tty.TIOCGPTPEER {
		m, ok := term.(*tty.Master)
		if !ok {
			return 0, unix.ENOTTY
		}
		// ptm_open_peer: the slave of the master's own devpts, with
		// open's flags (O_NOCTTY, O_CLOEXEC, O_NONBLOCK) from arg.
		if arg&^uint64(unix.O_ACCMODE|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC) != 0 {
			return 0, unix.EINVAL
		}
		v, fsc, e := t.vfs()
		if e != 0 {
			return 0, e
		}
		flags := int(arg) | O_LARGEFILE
		f, e := v.Open(t.vctx(), fsc, vfs.Path{}, "/dev/pts/"+strconv.Itoa(m.Pty().Index), vfs.OpenHow{Flags: flags})
		if e != 0 {
			return 0, e
		}
		fd, e := t.Task.Group.FDs.Install(f, 0, flags&unix.O_CLOEXEC != 0, t.fdLimit())
		if e != 0 {
			f.Close()
			return 0, e
		}
		return uint64(fd), 0
	}
	return term.IoctlAs(tty.Caller{Task: t.Task, Cred: t.cred()}, t.mm(), cmd, arg)
}

// jobCheck is a terminal's SIGTTIN/SIGTTOU check before a read or write
// of f by a background process group: ERESTARTSYS once the signal is on
// its way, EIO for a read that may not have it.
func (t *Thread) jobCheck(f *vfs.File, write bool) unix.Errno {
	s, ok := f.Impl().(*tty.Slave)
	if !ok {
		return 0
	}
	e, restart := s.Pty().JobCheck(t.Task, write, false)
	if restart {
		return ERESTARTSYS
	}
	return e
}
