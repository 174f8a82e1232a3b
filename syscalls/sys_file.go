package syscalls

import (
	"encoding/binary"
	"sync"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/inet"
	"github.com/rumpgo/rumpgo/posix/tty"
	"github.com/rumpgo/rumpgo/posix/vfs"
	"golang.org/x/sys/unix"
)

func init() {
	register(unix.SYS_READ, Entry{Name: "read", fn: sysRead, args: []argKind{aFD, aBufOut, aUint}})
	register(unix.SYS_WRITE, Entry{Name: "write", fn: sysWrite, args: []argKind{aFD, aBufIn, aUint}})
	register(unix.SYS_READV, Entry{Name: "readv", fn: sysReadv, args: []argKind{aFD, aPtr, aInt}})
	register(unix.SYS_WRITEV, Entry{Name: "writev", fn: sysWritev, args: []argKind{aFD, aPtr, aInt}})
	register(unix.SYS_CLOSE, Entry{Name: "close", fn: sysClose, args: []argKind{aFD}})
	register(unix.SYS_FCNTL, Entry{Name: "fcntl", Support: Partial, Note: "F_GETFD, F_SETFD, F_GETFL, F_SETFL (O_APPEND, O_NONBLOCK), F_DUPFD, F_DUPFD_CLOEXEC, F_GETPIPE_SZ, F_SETPIPE_SZ, F_GETLK, F_SETLK, F_SETLKW, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW, F_GETOWN, F_SETOWN, F_GETOWN_EX, F_SETOWN_EX, F_GETSIG, F_SETSIG (O_ASYNC signals on input; no POLL_OUT); others (leases, seals, notify) EINVAL",
		fn: sysFcntl, args: []argKind{aFD, aFcntlCmd, aHex}})
	register(unix.SYS_DUP, Entry{Name: "dup", fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		fd, e := t.Task.Group.FDs.Dup(a.Int(0), 0, false, t.fdLimit())
		return uint64(fd), e
	}, args: []argKind{aFD}})
	register(unix.SYS_DUP2, Entry{Name: "dup2", fn: sysDup2, args: []argKind{aFD, aFD}})
	register(unix.SYS_DUP3, Entry{Name: "dup3", fn: sysDup3, args: []argKind{aFD, aFD, aOpenFlags}})
	register(unix.SYS_IOCTL, Entry{Name: "ioctl", Support: Partial, Note: "FIONREAD, FIONBIO, FIOASYNC, FIOCLEX, FIONCLEX on every file; TCGETS and TIOCGWINSZ on host terminals; pseudo-terminals' termios (TCGETS/TCSETS*, termios2), window size, TIOCSCTTY/TIOCNOTTY/TIOCGPGRP/TIOCSPGRP/TIOCGSID, TIOCGPTN/TIOCSPTLCK/TIOCGPTLCK/TIOCGPTPEER, TCFLSH, TCXONC, TCSBRK, TIOCOUTQ (no TIOCPKT, TIOCSTI); files' own commands (sockets); others ENOTTY",
		fn: sysIoctl, args: []argKind{aFD, aHex, aHex}})
}

// ioChunk bounds one host-side buffer: larger requests become short reads
// or several writes, so a guest cannot make the monitor allocate its size.
const ioChunk = 1 << 20

func (t *Thread) fdLimit() uint64 { return t.Task.Group.Limits.Get(unix.RLIMIT_NOFILE).Cur }

// file returns the open file at fd, held until the system call returns
// (dispatch puts it): a close of fd by another thread while this call
// blocks on the file does not close it under the call, as on Linux.
func (t *Thread) file(fd int) (*posix.OpenFile, unix.Errno) {
	f, e := t.Task.Group.FDs.Hold(fd)
	if e == 0 {
		t.held = append(t.held, f)
	}
	return f, e
}

// putHeld drops the references file took during the call.
func (t *Thread) putHeld() {
	for i, f := range t.held {
		f.Put()
		t.held[i] = nil
	}
	t.held = t.held[:0]
}

func readable(f posix.File) bool { return f.Flags()&unix.O_ACCMODE != unix.O_WRONLY }
func writable(f posix.File) bool { return f.Flags()&unix.O_ACCMODE != unix.O_RDONLY }

func sysRead(t *Thread, a Args) (uint64, unix.Errno) {
	f, e := t.file(a.Int(0))
	if e != 0 {
		return 0, e
	}
	if !readable(f) {
		return 0, unix.EBADF
	}
	bp := getChunk(min(a[2], ioChunk))
	defer putChunk(bp)
	buf := (*bp)[:min(a[2], ioChunk)]
	n, e := t.readFile(f.File, buf)
	if e != 0 {
		return 0, e
	}
	if e := t.mm().CopyOut(a[1], buf[:n]); e != 0 {
		return 0, e
	}
	return uint64(n), 0
}

// chunkPool keeps read buffers: a fresh zeroed megabyte per read(2) cost
// more than the copy itself (only the bytes read are copied out, so a
// reused buffer's old contents never reach the guest).
var chunkPool = sync.Pool{New: func() any { b := make([]byte, ioChunk); return &b }}

// getChunk returns a pooled buffer for n bytes; small reads keep their
// own allocation.
func getChunk(n uint64) *[]byte {
	if n < 64<<10 {
		b := make([]byte, n)
		return &b
	}
	return chunkPool.Get().(*[]byte)
}

func putChunk(b *[]byte) {
	if cap(*b) == ioChunk {
		chunkPool.Put(b)
	}
}

func sysWrite(t *Thread, a Args) (uint64, unix.Errno) {
	f, e := t.file(a.Int(0))
	if e != 0 {
		return 0, e
	}
	if !writable(f) {
		return 0, unix.EBADF
	}
	if a[2] == 0 {
		if n, e, ok := t.emptyMessage(f); ok {
			return n, e
		}
	}
	return t.writeFrom(f, a[1], a[2])
}

// emptyMessage sends the zero-length message a write of nothing is on a
// datagram or seqpacket socket (Linux's sock_write_iter hands it to
// sendmsg, which queues it); ok is false for any other file, where a
// write of nothing does nothing.
func (t *Thread) emptyMessage(f *posix.OpenFile) (n uint64, e unix.Errno, ok bool) {
	s, isSock := f.File.(posix.Socket)
	if !isSock || s.Type() == unix.SOCK_STREAM {
		return 0, 0, false
	}
	_, e = t.sendData(s, f, nil, nil, nil, 0)
	return 0, e, true
}

// writeFrom writes n guest bytes at addr to f in bounded chunks.
func (t *Thread) writeFrom(f posix.File, addr, n uint64) (uint64, unix.Errno) {
	buf := make([]byte, min(n, ioChunk))
	done := uint64(0)
	for done < n {
		chunk := buf[:min(uint64(len(buf)), n-done)]
		if e := t.mm().CopyIn(addr+done, chunk); e != 0 {
			if done > 0 {
				return done, 0
			}
			return 0, e
		}
		w, e := t.writeFile(f, chunk)
		done += uint64(w)
		if e != 0 || w < len(chunk) {
			if done > 0 {
				return done, 0
			}
			return 0, e
		}
	}
	return done, 0
}

const iovMax = 1024 // UIO_MAXIOV

type iovec struct{ base, len uint64 }

func (t *Thread) iovecs(addr uint64, n int) ([]iovec, unix.Errno) {
	if n < 0 || n > iovMax {
		return nil, unix.EINVAL
	}
	raw := make([]byte, 16*n)
	if e := t.mm().CopyIn(addr, raw); e != 0 {
		return nil, e
	}
	iov := make([]iovec, n)
	for i := range iov {
		iov[i] = iovec{binary.LittleEndian.Uint64(raw[16*i:]), binary.LittleEndian.Uint64(raw[16*i+8:])}
		if int64(iov[i].len) < 0 {
			return nil, unix.EINVAL
		}
	}
	// As Linux's __import_iovec: each buffer must lie below the top of
	// user space (access_ok, EFAULT), then the total is cut to
	// MAX_RW_COUNT, the most one call moves.
	total := uint64(0)
	for i := range iov {
		v := &iov[i]
		if v.len > taskSizeMax || v.base > taskSizeMax-v.len {
			return nil, unix.EFAULT
		}
		v.len = min(v.len, maxRWCount-total)
		total += v.len
	}
	return iov, 0
}

// taskSizeMax is x86-64's TASK_SIZE_MAX, the end of user space with
// 4-level paging; maxRWCount is MAX_RW_COUNT (INT_MAX rounded down to a
// page).
const (
	taskSizeMax = 1<<47 - 4096
	maxRWCount  = 0x7ffff000
)

func sysReadv(t *Thread, a Args) (uint64, unix.Errno) {
	f, e := t.file(a.Int(0))
	if e != 0 {
		return 0, e
	}
	iov, e := t.iovecs(a[1], a.Int(2))
	if e != 0 {
		return 0, e
	}
	if !readable(f) {
		return 0, unix.EBADF
	}
	// One read for all the buffers (a pipe's readv fills several), then
	// scattered; a short read is always allowed.
	total := uint64(0)
	for _, v := range iov {
		total += v.len
	}
	if total == 0 {
		return 0, 0
	}
	buf := make([]byte, min(total, ioChunk))
	n, e := t.readFile(f.File, buf)
	if e != 0 {
		return 0, e
	}
	done := 0
	for _, v := range iov {
		if done == n {
			break
		}
		c := min(uint64(n-done), v.len)
		if e := t.mm().CopyOut(v.base, buf[done:done+int(c)]); e != 0 {
			if done > 0 {
				break
			}
			return 0, e
		}
		done += int(c)
	}
	return uint64(done), 0
}

func sysWritev(t *Thread, a Args) (uint64, unix.Errno) {
	f, e := t.file(a.Int(0))
	if e != 0 {
		return 0, e
	}
	if !writable(f) {
		return 0, unix.EBADF
	}
	iov, e := t.iovecs(a[1], a.Int(2))
	if e != 0 {
		return 0, e
	}
	// The buffers are gathered into one write per ioChunk, so a writev
	// of at most PIPE_BUF bytes is as atomic as a write, and one packet
	// on a packet-mode pipe.
	total := uint64(0)
	for _, v := range iov {
		total += v.len
	}
	if total == 0 {
		if n, e, ok := t.emptyMessage(f); ok {
			return n, e
		}
	}
	buf := make([]byte, 0, min(total, ioChunk))
	done := uint64(0)
	// flush writes the gathered bytes; it reports whether all went.
	flush := func() (bool, unix.Errno) {
		if len(buf) == 0 {
			return true, 0
		}
		n, e := t.writeFile(f, buf)
		done += uint64(n)
		all := n == len(buf)
		buf = buf[:0]
		return all, e
	}
	result := func(e unix.Errno) (uint64, unix.Errno) {
		if done > 0 {
			return done, 0
		}
		return 0, e
	}
	for _, v := range iov {
		for off := uint64(0); off < v.len; {
			c := min(v.len-off, uint64(cap(buf)-len(buf)))
			start := len(buf)
			buf = buf[:start+int(c)]
			if e := t.mm().CopyIn(v.base+off, buf[start:]); e != 0 {
				buf = buf[:start]
				if _, we := flush(); we != 0 {
					return result(we)
				}
				return result(e)
			}
			off += c
			if len(buf) == cap(buf) {
				if all, e := flush(); !all {
					return result(e)
				}
			}
		}
	}
	_, e = flush()
	return result(e)
}

func sysClose(t *Thread, a Args) (uint64, unix.Errno) { return 0, t.closeFD(a.Int(0)) }

func sysFcntl(t *Thread, a Args) (uint64, unix.Errno) {
	fds := t.Task.Group.FDs
	fd := a.Int(0)
	switch a.Int(1) {
	case unix.F_GETFD:
		ce, e := fds.CloseOnExec(fd, nil)
		if ce {
			return unix.FD_CLOEXEC, e
		}
		return 0, e
	case unix.F_SETFD:
		ce := a[2]&unix.FD_CLOEXEC != 0
		_, e := fds.CloseOnExec(fd, &ce)
		return 0, e
	case unix.F_GETFL:
		f, e := t.file(fd)
		if e != 0 {
			return 0, e
		}
		return uint64(f.Flags()), 0
	case unix.F_SETFL:
		f, e := t.file(fd)
		if e != 0 {
			return 0, e
		}
		if vf, ok := f.File.(*vfs.File); ok && vf.PathOnly() {
			return 0, unix.EBADF // fcntl's O_PATH check (FMODE_PATH)
		}
		fs, ok := f.File.(posix.FlagSetter)
		if !ok {
			if (f.Flags()^a.Int(2))&posix.SetFlMask == 0 {
				return 0, 0
			}
			return 0, unix.EINVAL // a file that keeps fixed flags
		}
		fs.SetFlags(a.Int(2))
		t.fasyncFlags(fd, f)
		return 0, 0
	case unix.F_GETPIPE_SZ, unix.F_SETPIPE_SZ:
		f, e := t.file(fd)
		if e != 0 {
			return 0, e
		}
		end, ok := f.File.(*posix.PipeEnd)
		if vf, isv := f.File.(*vfs.File); isv && vf.PipeEnd() != nil {
			end, ok = vf.PipeEnd(), true
		}
		if !ok {
			return 0, unix.EBADF // Linux's pipe_fcntl for a file that is no pipe
		}
		if a.Int(1) == unix.F_GETPIPE_SZ {
			return uint64(end.Pipe().Size()), 0
		}
		// The size is an unsigned int; root (CAP_SYS_RESOURCE) may pass
		// pipe-max-size.
		n, e := end.Pipe().SetSize(uint32(a[2]), t.K.Info.UID == 0)
		return uint64(n), e
	case unix.F_DUPFD, unix.F_DUPFD_CLOEXEC:
		if a.Int(2) < 0 || uint64(a.Int(2)) >= t.fdLimit() {
			return 0, unix.EINVAL
		}
		n, e := fds.Dup(fd, a.Int(2), a.Int(1) == unix.F_DUPFD_CLOEXEC, t.fdLimit())
		return uint64(n), e
	}
	if r, e, ok := t.fcntlLock(fd, a); ok {
		return r, e
	}
	if r, e, ok := t.fcntlOwner(fd, a); ok {
		return r, e
	}
	if _, e := t.file(fd); e != 0 {
		return 0, e
	}
	return 0, unix.EINVAL
}

func sysDup2(t *Thread, a Args) (uint64, unix.Errno) {
	if a.Int(0) == a.Int(1) {
		_, e := t.file(a.Int(0))
		return uint64(a.Int(1)), e
	}
	return sysDup3(t, Args{a[0], a[1], 0})
}

func sysDup3(t *Thread, a Args) (uint64, unix.Errno) {
	oldfd, newfd, flags := a.Int(0), a.Int(1), a.Int(2)
	if oldfd == newfd || flags&^unix.O_CLOEXEC != 0 {
		return 0, unix.EINVAL
	}
	if newfd < 0 || uint64(newfd) >= t.fdLimit() {
		return 0, unix.EBADF
	}
	fds := t.Task.Group.FDs
	if _, e := fds.Get(oldfd); e != 0 {
		return 0, e
	}
	t.closeFD(newfd)
	n, e := fds.Dup(oldfd, newfd, flags&unix.O_CLOEXEC != 0, uint64(newfd)+1)
	return uint64(n), e
}

func sysIoctl(t *Thread, a Args) (uint64, unix.Errno) {
	f, e := t.file(a.Int(0))
	if e != 0 {
		return 0, e
	}
	if vf, ok := f.File.(*vfs.File); ok && vf.PathOnly() {
		return 0, unix.EBADF
	}
	if r, e, ok := t.ioctlGeneric(a.Int(0), f, uint32(a[1]), a[2]); ok {
		return r, e
	}
	if vf, ok := f.File.(*vfs.File); ok {
		if term, ok := vf.Impl().(tty.Terminal); ok {
			return t.ioctlTerminal(vf, term, uint32(a[1]), a[2])
		}
	}
	if io, ok := f.File.(posix.Ioctler); ok {
		r, e := io.Ioctl(t.mm(), uint32(a[1]), a[2])
		if e != unix.ENOTTY {
			return r, e
		}
		if _, ok := f.File.(posix.Socket); ok {
			if _, inetSock := f.File.(*inet.Socket); !inetSock {
				return t.K.network().Inet.IfIoctl(t.mm(), uint32(a[1]), a[2])
			}
		}
		if vf, ok := f.File.(*vfs.File); ok {
			// A terminal behind /dev/tty: its host's ioctls.
			if h, ok := vf.Impl().(interface{ Host() posix.File }); ok {
				f = &posix.OpenFile{File: h.Host()}
			}
		}
		if _, ok := f.File.(*posix.HostFile); !ok {
			return r, e
		}
	}
	h, ok := f.File.(*posix.HostFile)
	if !ok {
		return 0, unix.ENOTTY
	}
	switch a[1] {
	case unix.TCGETS:
		tio, err := unix.IoctlGetTermios(h.FD, unix.TCGETS)
		if err != nil {
			return 0, err.(unix.Errno)
		}
		var b [36]byte // the kernel's struct termios, without the speeds
		le := binary.LittleEndian
		le.PutUint32(b[0:], tio.Iflag)
		le.PutUint32(b[4:], tio.Oflag)
		le.PutUint32(b[8:], tio.Cflag)
		le.PutUint32(b[12:], tio.Lflag)
		b[16] = tio.Line
		copy(b[17:], tio.Cc[:19])
		return 0, t.mm().CopyOut(a[2], b[:])
	case unix.TIOCGWINSZ:
		ws, err := unix.IoctlGetWinsize(h.FD, unix.TIOCGWINSZ)
		if err != nil {
			return 0, err.(unix.Errno)
		}
		var b [8]byte
		le := binary.LittleEndian
		le.PutUint16(b[0:], ws.Row)
		le.PutUint16(b[2:], ws.Col)
		le.PutUint16(b[4:], ws.Xpixel)
		le.PutUint16(b[6:], ws.Ypixel)
		return 0, t.mm().CopyOut(a[2], b[:])
	}
	return 0, unix.ENOTTY
}
