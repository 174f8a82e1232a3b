package syscalls

import (
	"encoding/binary"
	"time"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/waiter"
	"golang.org/x/sys/unix"
)

func init() {
	register(unix.SYS_EPOLL_CREATE, Entry{Name: "epoll_create", fn: sysEpollCreate, args: []argKind{aInt}})
	register(unix.SYS_EPOLL_CREATE1, Entry{Name: "epoll_create1", fn: sysEpollCreate1, args: []argKind{aHex}})
	register(unix.SYS_EPOLL_CTL, Entry{Name: "epoll_ctl", Support: Partial,
		Note: "EPOLLEXCLUSIVE is accepted but wakes every waiter (allowed: 'one or more'); EPOLLWAKEUP has no effect",
		fn:   sysEpollCtl, args: []argKind{aFD, aEpollOp, aFD, aPtr}})
	register(unix.SYS_EPOLL_WAIT, Entry{Name: "epoll_wait", fn: sysEpollWait, args: []argKind{aFD, aPtr, aInt, aInt}})
	register(unix.SYS_EPOLL_PWAIT, Entry{Name: "epoll_pwait", fn: sysEpollPwait, args: []argKind{aFD, aPtr, aInt, aInt, aPtr, aUint}})
	register(unix.SYS_EPOLL_PWAIT2, Entry{Name: "epoll_pwait2", fn: sysEpollPwait2, args: []argKind{aFD, aPtr, aInt, aPtr, aPtr, aUint}})
}

// epollEventSize is sizeof(struct epoll_event), packed on x86-64.
const epollEventSize = 12

// epMaxEvents bounds maxevents (EP_MAX_EVENTS: INT_MAX / sizeof event).
const epMaxEvents = (1<<31 - 1) / epollEventSize

func sysEpollCreate(t *Thread, a Args) (uint64, unix.Errno) {
	// The size is a hint since Linux 2.6.8, but must be positive.
	if a.Int(0) <= 0 {
		return 0, unix.EINVAL
	}
	return t.newEpoll(false)
}

func sysEpollCreate1(t *Thread, a Args) (uint64, unix.Errno) {
	if a.Int(0)&^unix.EPOLL_CLOEXEC != 0 {
		return 0, unix.EINVAL
	}
	return t.newEpoll(a.Int(0)&unix.EPOLL_CLOEXEC != 0)
}

func (t *Thread) newEpoll(cloexec bool) (uint64, unix.Errno) {
	fd, e := t.Task.Group.FDs.Install(posix.NewEpoll(), 0, cloexec, t.fdLimit())
	return uint64(fd), e
}

// sysEpollCtl follows the order of Linux's do_epoll_ctl checks: the event
// (EFAULT), both descriptors (EBADF), a target that cannot be polled
// (EPERM), an epfd that is no epoll or the target itself (EINVAL), then the
// operation's own rules.
func sysEpollCtl(t *Thread, a Args) (uint64, unix.Errno) {
	op, fd := a.Int(1), a.Int(2)
	var ev posix.EpollEvent
	if op != unix.EPOLL_CTL_DEL {
		var b [epollEventSize]byte
		if e := t.mm().CopyIn(a[3], b[:]); e != 0 {
			return 0, e
		}
		ev = posix.EpollEvent{Events: binary.LittleEndian.Uint32(b[0:]), Data: binary.LittleEndian.Uint64(b[4:])}
	}
	epf, e := t.file(a.Int(0))
	if e != 0 {
		return 0, e
	}
	tf, e := t.file(fd)
	if e != 0 {
		return 0, e
	}
	if waiter.Of(tf.File) == nil {
		return 0, unix.EPERM
	}
	ep, ok := epf.File.(*posix.Epoll)
	if !ok || epf == tf {
		return 0, unix.EINVAL
	}
	switch op {
	case unix.EPOLL_CTL_ADD:
		return 0, ep.Add(tf, fd, ev)
	case unix.EPOLL_CTL_MOD:
		return 0, ep.Modify(tf, fd, ev)
	case unix.EPOLL_CTL_DEL:
		return 0, ep.Delete(tf, fd)
	}
	return 0, unix.EINVAL
}

func sysEpollWait(t *Thread, a Args) (uint64, unix.Errno) {
	deadline, now := msDeadline(a.Int(3))
	return t.epollWait(a.Int(0), a[1], a.Int(2), deadline, now)
}

func sysEpollPwait(t *Thread, a Args) (uint64, unix.Errno) {
	deadline, now := msDeadline(a.Int(3))
	restore, e := t.sigmaskArg(a[4], a[5])
	if e != 0 {
		return 0, e
	}
	n, e := t.epollWait(a.Int(0), a[1], a.Int(2), deadline, now)
	restore(e)
	return n, e
}

func sysEpollPwait2(t *Thread, a Args) (uint64, unix.Errno) {
	var deadline time.Time
	now := false
	if a[3] != 0 {
		d, e := t.timespec(a[3])
		if e != 0 {
			return 0, e
		}
		deadline, now = time.Now().Add(d), d == 0
	}
	restore, e := t.sigmaskArg(a[4], a[5])
	if e != 0 {
		return 0, e
	}
	n, e := t.epollWait(a.Int(0), a[1], a.Int(2), deadline, now)
	restore(e)
	return n, e
}

// msDeadline turns a millisecond timeout (negative: none) into a deadline
// (zero: none) and whether the call must not wait at all.
func msDeadline(ms int) (time.Time, bool) {
	if ms < 0 {
		return time.Time{}, false
	}
	return time.Now().Add(time.Duration(ms) * time.Millisecond), ms == 0
}

// epollWait is epoll_wait's body: collect events, waiting for the epoll's
// own notification when there are none. An interruption is EINTR, never a
// restart, as on Linux.
func (t *Thread) epollWait(epfd int, addr uint64, maxEvents int, deadline time.Time, noWait bool) (uint64, unix.Errno) {
	if maxEvents <= 0 || maxEvents > epMaxEvents {
		return 0, unix.EINVAL
	}
	f, e := t.file(epfd)
	if e != 0 {
		return 0, e
	}
	ep, ok := f.File.(*posix.Epoll)
	if !ok {
		return 0, unix.EINVAL
	}
	entry, ch := waiter.NewChannelEntry(waiter.EPOLLIN)
	ep.EventRegister(entry)
	defer ep.EventUnregister(entry)
	for {
		if evs := ep.Wait(maxEvents); len(evs) > 0 {
			b := make([]byte, len(evs)*epollEventSize)
			for i, ev := range evs {
				binary.LittleEndian.PutUint32(b[i*epollEventSize:], ev.Events)
				binary.LittleEndian.PutUint64(b[i*epollEventSize+4:], ev.Data)
			}
			if e := t.mm().CopyOut(addr, b); e != 0 {
				return 0, e
			}
			return uint64(len(evs)), 0
		}
		if noWait {
			return 0, 0
		}
		switch e := t.block(ch, deadline); e {
		case 0:
		case unix.ETIMEDOUT:
			noWait = true // one last look, then 0
		default:
			return 0, unix.EINTR
		}
	}
}
