package syscalls

import (
	"encoding/binary"
	"math"
	"sync"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/vfs"
	"github.com/rumpgo/rumpgo/posix/waiter"
	"golang.org/x/sys/unix"
)

// File owners and O_ASYNC (Linux's fs/fcntl.c f_setown, fasync_helper,
// send_sigio): fcntl F_SETOWN, F_SETOWN_EX and F_SETSIG on an open file
// description say who gets a signal when the file becomes readable while
// O_ASYNC is set (by F_SETFL or ioctl FIOASYNC). nginx's master sets its
// channel to each worker so; Linux sends SIGIO (si_code SI_KERNEL) or
// the F_SETSIG signal with POLL_IN, the band and the descriptor.
//
// What is not done: the POLL_OUT signal once a full socket's buffer
// drains (Linux sends it only after a write found no room), and the
// sigio_perm credential check (every process of a guest is one user's).

// Linux's f_owner_ex types and POLL_* codes.
const (
	fOwnerTID  = 0
	fOwnerPID  = 1
	fOwnerPGRP = 2

	pollIn  = 1 // POLL_IN
	pollErr = 4 // POLL_ERR
	pollHup = 6 // POLL_HUP
)

// fasync is one open file description's owner and async state.
type fasync struct {
	mu        sync.Mutex
	ownerType int // fOwner*
	owner     int // 0: nobody
	sig       int // F_SETSIG; 0 is SIGIO without siginfo
	fd        int // the descriptor O_ASYNC was set through (si_fd)
	entry     *waiter.Entry
	target    waiter.Waitable
}

// fasyncs maps open files to their state.
type fasyncs struct {
	mu sync.Mutex
	m  map[*posix.OpenFile]*fasync
}

func (k *Kernel) fasyncOf(f *posix.OpenFile, create bool) *fasync {
	k.fasync.mu.Lock()
	defer k.fasync.mu.Unlock()
	a := k.fasync.m[f]
	if a == nil && create {
		if k.fasync.m == nil {
			k.fasync.m = map[*posix.OpenFile]*fasync{}
		}
		a = &fasync{}
		if !f.OnLastClose(a, func() { k.fasyncDrop(f) }) {
			return a // closed under us: state that nothing keeps
		}
		k.fasync.m[f] = a
	}
	return a
}

func (k *Kernel) fasyncDrop(f *posix.OpenFile) {
	k.fasync.mu.Lock()
	a := k.fasync.m[f]
	delete(k.fasync.m, f)
	k.fasync.mu.Unlock()
	if a != nil {
		a.mu.Lock()
		a.disarmLocked()
		a.mu.Unlock()
	}
}

func (a *fasync) disarmLocked() {
	if a.entry != nil {
		a.target.EventUnregister(a.entry)
		a.entry, a.target = nil, nil
	}
}

// fcntlOwner answers F_GETOWN, F_SETOWN, F_GETOWN_EX, F_SETOWN_EX,
// F_GETSIG and F_SETSIG; ok is false for other commands.
func (t *Thread) fcntlOwner(fd int, a Args) (uint64, unix.Errno, bool) {
	cmd := a.Int(1)
	switch cmd {
	case unix.F_GETOWN, unix.F_SETOWN, unix.F_GETOWN_EX, unix.F_SETOWN_EX, unix.F_GETSIG, unix.F_SETSIG:
	default:
		return 0, 0, false
	}
	f, e := t.file(fd)
	if e != 0 {
		return 0, e, true
	}
	if vf, ok := f.File.(*vfs.File); ok && vf.PathOnly() {
		return 0, unix.EBADF, true // an O_PATH descriptor has no owner (fcntl's FMODE_PATH check)
	}
	switch cmd {
	case unix.F_GETOWN:
		st := t.K.fasyncOf(f, false)
		if st == nil {
			return 0, 0, true
		}
		st.mu.Lock()
		defer st.mu.Unlock()
		if st.ownerType == fOwnerPGRP {
			return uint64(int64(-st.owner)), 0, true
		}
		return uint64(int64(st.owner)), 0, true
	case unix.F_SETOWN:
		who := int(int32(a[2]))
		typ := fOwnerPID
		if who < 0 {
			if who == math.MinInt32 {
				return 0, unix.EINVAL, true
			}
			typ, who = fOwnerPGRP, -who
		}
		return 0, t.setOwner(f, typ, who), true
	case unix.F_GETOWN_EX:
		typ, who := fOwnerPID, 0
		if st := t.K.fasyncOf(f, false); st != nil {
			st.mu.Lock()
			typ, who = st.ownerType, st.owner
			st.mu.Unlock()
			if who == 0 {
				typ = fOwnerPID
			}
		}
		var b [8]byte
		binary.LittleEndian.PutUint32(b[0:], uint32(typ))
		binary.LittleEndian.PutUint32(b[4:], uint32(who))
		return 0, t.mm().CopyOut(a[2], b[:]), true
	case unix.F_SETOWN_EX:
		var b [8]byte
		if e := t.mm().CopyIn(a[2], b[:]); e != 0 {
			return 0, e, true
		}
		typ, who := int(int32(binary.LittleEndian.Uint32(b[0:]))), int(int32(binary.LittleEndian.Uint32(b[4:])))
		if typ != fOwnerTID && typ != fOwnerPID && typ != fOwnerPGRP {
			return 0, unix.EINVAL, true
		}
		if who < 0 {
			return 0, unix.EINVAL, true
		}
		return 0, t.setOwner(f, typ, who), true
	case unix.F_GETSIG:
		if st := t.K.fasyncOf(f, false); st != nil {
			st.mu.Lock()
			defer st.mu.Unlock()
			return uint64(st.sig), 0, true
		}
		return 0, 0, true
	default: // F_SETSIG
		sig := a[2]
		if sig > 64 { // an unsigned long: -1 is huge, as valid_signal sees it
			return 0, unix.EINVAL, true
		}
		st := t.K.fasyncOf(f, true)
		st.mu.Lock()
		st.sig = int(sig)
		st.mu.Unlock()
		return 0, 0, true
	}
}

// setOwner checks that who names a thread, process or process group
// (Linux's find_vpid; 0 is nobody) and makes it f's owner.
func (t *Thread) setOwner(f *posix.OpenFile, typ, who int) unix.Errno {
	if who != 0 && !t.K.idExists(who) {
		return unix.ESRCH
	}
	st := t.K.fasyncOf(f, true)
	st.mu.Lock()
	st.ownerType, st.owner = typ, who
	st.mu.Unlock()
	return 0
}

// idExists reports whether some task, process or process group has id.
func (k *Kernel) idExists(id int) bool {
	if k.Procs.Group(id) != nil || k.Procs.Task(id) != nil {
		return true
	}
	return len(k.Procs.Select(func(g *posix.ThreadGroup) bool { return g.PGID() == id })) > 0
}

// fasyncFlags arms or disarms f's signals after its O_ASYNC flag may
// have changed through descriptor fd (F_SETFL, FIOASYNC).
func (t *Thread) fasyncFlags(fd int, f *posix.OpenFile) {
	on := f.Flags()&unix.O_ASYNC != 0
	st := t.K.fasyncOf(f, on)
	if st == nil {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if !on {
		st.disarmLocked()
		return
	}
	st.fd = fd
	if st.entry != nil {
		return
	}
	w := waiter.Of(f.File)
	if w == nil {
		return // a file that never becomes ready sends nothing, as on Linux
	}
	k := t.K
	st.target = w
	st.entry = waiter.NewEntry(waiter.EPOLLIN|waiter.EPOLLRDNORM|waiter.EPOLLERR|waiter.EPOLLHUP, func(ev uint32) {
		k.sendSigio(st, ev)
	})
	w.EventRegister(st.entry)
}

// sendSigio is Linux's send_sigio for the events ev of a file with state st.
func (k *Kernel) sendSigio(st *fasync, ev uint32) {
	st.mu.Lock()
	typ, who, sig, fd := st.ownerType, st.owner, st.sig, st.fd
	armed := st.entry != nil
	st.mu.Unlock()
	if !armed || who == 0 {
		return
	}
	info := posix.SigInfo{Signo: int32(unix.SIGIO), Code: siKernel}
	if sig != 0 {
		// Linux's band_table for the reason.
		code, band := int32(pollIn), int64(waiter.EPOLLIN|waiter.EPOLLRDNORM)
		switch {
		case ev&waiter.EPOLLERR != 0:
			code, band = pollErr, waiter.EPOLLERR
		case ev&waiter.EPOLLHUP != 0 && ev&(waiter.EPOLLIN|waiter.EPOLLRDNORM) == 0:
			code, band = pollHup, waiter.EPOLLHUP|waiter.EPOLLERR
		}
		info = posix.SigInfo{Signo: int32(sig), Code: code, Poll: true, Band: band, FD: int32(fd)}
	}
	switch typ {
	case fOwnerTID:
		if task := k.Procs.Task(who); task != nil {
			task.Send(info)
		}
	case fOwnerPID:
		if g := k.Procs.Group(who); g != nil {
			g.Send(info)
		} else if task := k.Procs.Task(who); task != nil {
			task.Group.Send(info)
		}
	case fOwnerPGRP:
		for _, g := range k.Procs.Select(func(g *posix.ThreadGroup) bool { return g.PGID() == who }) {
			g.Send(info)
		}
	}
}

// siKernel is SI_KERNEL, the code of a plain SIGIO.
const siKernel = 0x80
