package syscalls

import (
	"encoding/binary"
	"math"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/vfs"
	"golang.org/x/sys/unix"
)

func init() {
	register(unix.SYS_FLOCK, Entry{Name: "flock", fn: sysFlock, args: []argKind{aFD, aFlock}})
}

func sysFlock(t *Thread, a Args) (uint64, unix.Errno) {
	vf, _, e := t.vfile(a.Int(0))
	if e != 0 {
		return 0, e
	}
	if vf == nil || vf.PathOnly() {
		// Linux locks any file; files without a path have no one to
		// share the lock with, so taking it always succeeds.
		if vf != nil {
			return 0, unix.EBADF
		}
		return 0, 0
	}
	return 0, vf.Flock(t.vctx(), a.Int(1))
}

// fcntlLock handles the record-lock commands; ok is false for others.
func (t *Thread) fcntlLock(fd int, a Args) (uint64, unix.Errno, bool) {
	cmd := a.Int(1)
	ofd := false
	switch cmd {
	case unix.F_GETLK, unix.F_SETLK, unix.F_SETLKW:
	case unix.F_OFD_GETLK, unix.F_OFD_SETLK, unix.F_OFD_SETLKW:
		ofd = true
	default:
		return 0, 0, false
	}
	vf, f, e := t.vfile(fd)
	if e != 0 {
		return 0, e, true
	}
	var b [32]byte
	if e := t.mm().CopyIn(a[2], b[:]); e != 0 {
		return 0, e, true
	}
	if vf == nil || vf.PathOnly() {
		if vf != nil {
			return 0, unix.EBADF, true
		}
		return 0, unix.EINVAL, true
	}
	le := binary.LittleEndian
	typ := int16(le.Uint16(b[0:]))
	whence := int16(le.Uint16(b[2:]))
	start := int64(le.Uint64(b[8:]))
	length := int64(le.Uint64(b[16:]))
	pid := int32(le.Uint32(b[24:]))
	if ofd && pid != 0 {
		return 0, unix.EINVAL, true
	}
	var base int64
	switch whence {
	case unix.SEEK_SET:
	case unix.SEEK_CUR:
		base = vf.Offset()
	case unix.SEEK_END:
		st, e := vf.VFS().Stat(t.vctx(), vf.Path())
		if e != 0 {
			return 0, e, true
		}
		base = st.Size
	default:
		return 0, unix.EINVAL, true
	}
	l := vfs.Lock{Type: typ, Start: base + start}
	switch {
	case length > 0:
		l.End = l.Start + length - 1
		if l.End < l.Start {
			return 0, unix.EOVERFLOW, true
		}
	case length == 0:
		l.End = math.MaxInt64
	default:
		l.End = l.Start - 1
		l.Start += length
	}
	if l.Start < 0 {
		return 0, unix.EINVAL, true
	}
	switch typ {
	case unix.F_RDLCK, unix.F_WRLCK, unix.F_UNLCK:
	default:
		return 0, unix.EINVAL, true
	}
	owner := vfs.RecordOwner{PID: t.Task.Group.PID}
	if ofd {
		owner = vfs.RecordOwner{OFD: vf}
	}
	switch cmd {
	case unix.F_GETLK, unix.F_OFD_GETLK:
		if typ == unix.F_UNLCK {
			return 0, unix.EINVAL, true
		}
		r := vf.TestLock(owner, l)
		le.PutUint16(b[0:], uint16(r.Type))
		if r.Type != unix.F_UNLCK {
			le.PutUint16(b[2:], unix.SEEK_SET)
			le.PutUint64(b[8:], uint64(r.Start))
			if r.End == math.MaxInt64 {
				le.PutUint64(b[16:], 0)
			} else {
				le.PutUint64(b[16:], uint64(r.End-r.Start+1))
			}
			le.PutUint32(b[24:], uint32(r.PID))
		}
		return 0, t.mm().CopyOut(a[2], b[:]), true
	}
	if typ == unix.F_RDLCK && !readable(f) || typ == unix.F_WRLCK && !writable(f) {
		return 0, unix.EBADF, true
	}
	e = vf.SetLock(t.vctx(), owner, l, cmd == unix.F_SETLKW || cmd == unix.F_OFD_SETLKW)
	return 0, e, true
}

// ioctl commands every file has (asm-generic/ioctls.h).
const (
	FIONREAD = 0x541B
	FIONBIO  = 0x5421
	FIONCLEX = 0x5450
	FIOCLEX  = 0x5451
	FIOASYNC = 0x5452

	// A socket's owner by ioctl (sock_ioctl): F_SETOWN and F_GETOWN.
	FIOSETOWN = 0x8901
	SIOCSPGRP = 0x8902
	FIOGETOWN = 0x8903
	SIOCGPGRP = 0x8904
)

// ioctlGeneric answers the commands Linux's do_vfs_ioctl handles for
// every file, and FIONREAD for regular files and pipes.
func (t *Thread) ioctlGeneric(fd int, f *posix.OpenFile, cmd uint32, arg uint64) (uint64, unix.Errno, bool) {
	fds := t.Task.Group.FDs
	switch cmd {
	case FIOCLEX, FIONCLEX:
		ce := cmd == FIOCLEX
		_, e := fds.CloseOnExec(fd, &ce)
		return 0, e, true
	case FIONBIO, FIOASYNC:
		var b [4]byte
		if e := t.mm().CopyIn(arg, b[:]); e != 0 {
			return 0, e, true
		}
		bit := unix.O_NONBLOCK
		if cmd == FIOASYNC {
			bit = unix.O_ASYNC
		}
		fl := f.Flags() &^ bit
		if binary.LittleEndian.Uint32(b[:]) != 0 {
			fl |= bit
		}
		if fs, ok := f.File.(posix.FlagSetter); ok {
			fs.SetFlags(fl)
			if cmd == FIOASYNC {
				t.fasyncFlags(fd, f)
			}
			return 0, 0, true
		}
		return 0, 0, true
	case FIOSETOWN, SIOCSPGRP, FIOGETOWN, SIOCGPGRP:
		if _, ok := f.File.(posix.Socket); !ok {
			return 0, 0, false // other files: ENOTTY, as Linux
		}
		var b [4]byte
		if cmd == FIOGETOWN || cmd == SIOCGPGRP {
			r, e, _ := t.fcntlOwner(fd, Args{uint64(fd), unix.F_GETOWN})
			if e != 0 {
				return 0, e, true
			}
			binary.LittleEndian.PutUint32(b[:], uint32(r))
			return 0, t.mm().CopyOut(arg, b[:]), true
		}
		if e := t.mm().CopyIn(arg, b[:]); e != 0 {
			return 0, e, true
		}
		r, e, _ := t.fcntlOwner(fd, Args{uint64(fd), unix.F_SETOWN, uint64(binary.LittleEndian.Uint32(b[:]))})
		return r, e, true
	case FIONREAD:
		n := -1
		switch x := f.File.(type) {
		case *posix.PipeEnd:
			n = x.Pipe().Buffered()
		case *vfs.File:
			if p := x.PipeEnd(); p != nil {
				n = p.Pipe().Buffered()
			} else if x.Type() == vfs.S_IFREG {
				st, e := x.VFS().Stat(t.vctx(), x.Path())
				if e != 0 {
					return 0, e, true
				}
				n = int(max(0, st.Size-x.Offset()))
			} else if x.Type() == vfs.S_IFDIR {
				return 0, unix.ENOTTY, true
			}
		}
		if n < 0 {
			return 0, 0, false // the file's own (sockets, terminals)
		}
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], uint32(n))
		return 0, t.mm().CopyOut(arg, b[:]), true
	}
	return 0, 0, false
}
