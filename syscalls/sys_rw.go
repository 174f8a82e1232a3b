package syscalls

import (
	"encoding/binary"
	"time"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/vfs"
	"github.com/rumpgo/rumpgo/posix/waiter"
	"golang.org/x/sys/unix"
)

func init() {
	register(unix.SYS_PREAD64, Entry{Name: "pread64", fn: sysPread64, args: []argKind{aFD, aBufOut, aUint, aInt}})
	register(unix.SYS_PWRITE64, Entry{Name: "pwrite64", fn: sysPwrite64, args: []argKind{aFD, aBufIn, aUint, aInt}})
	register(unix.SYS_PREADV, Entry{Name: "preadv", fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		return preadv(t, a, 0, false)
	}, args: []argKind{aFD, aPtr, aInt, aInt}})
	register(unix.SYS_PWRITEV, Entry{Name: "pwritev", fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		return pwritev(t, a, 0, false)
	}, args: []argKind{aFD, aPtr, aInt, aInt}})
	register(unix.SYS_PREADV2, Entry{Name: "preadv2", Support: Partial, Note: "RWF_* flags accepted; they change nothing in memory",
		fn:   func(t *Thread, a Args) (uint64, unix.Errno) { return preadv(t, a, a.Int(5), true) },
		args: []argKind{aFD, aPtr, aInt, aInt, aInt, aHex}})
	register(unix.SYS_PWRITEV2, Entry{Name: "pwritev2", Support: Partial, Note: "RWF_APPEND and RWF_NOAPPEND honoured; the others change nothing in memory",
		fn:   func(t *Thread, a Args) (uint64, unix.Errno) { return pwritev(t, a, a.Int(5), true) },
		args: []argKind{aFD, aPtr, aInt, aInt, aInt, aHex}})
	register(unix.SYS_LSEEK, Entry{Name: "lseek", fn: sysLseek, args: []argKind{aFD, aInt, aWhence}})
	register(unix.SYS_TRUNCATE, Entry{Name: "truncate", fn: sysTruncate, args: []argKind{aPath, aInt}})
	register(unix.SYS_FTRUNCATE, Entry{Name: "ftruncate", fn: sysFtruncate, args: []argKind{aFD, aInt}})
	register(unix.SYS_FALLOCATE, Entry{Name: "fallocate", Support: Partial, Note: "allocation, KEEP_SIZE and PUNCH_HOLE; COLLAPSE/INSERT/ZERO_RANGE are EOPNOTSUPP as on tmpfs",
		fn: sysFallocate, args: []argKind{aFD, aHex, aInt, aInt}})
	register(unix.SYS_FSYNC, Entry{Name: "fsync", fn: func(t *Thread, a Args) (uint64, unix.Errno) { return fsync(t, a.Int(0), false) }, args: []argKind{aFD}})
	register(unix.SYS_FDATASYNC, Entry{Name: "fdatasync", fn: func(t *Thread, a Args) (uint64, unix.Errno) { return fsync(t, a.Int(0), true) }, args: []argKind{aFD}})
	register(unix.SYS_SYNC, Entry{Name: "sync", fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		if v, _, e := t.vfs(); e == 0 {
			v.Sync()
		}
		return 0, 0
	}})
	register(unix.SYS_SYNCFS, Entry{Name: "syncfs", fn: sysSyncfs, args: []argKind{aFD}})
	register(unix.SYS_SENDFILE, Entry{Name: "sendfile", fn: sysSendfile, args: []argKind{aFD, aFD, aPtr, aUint}})
	register(unix.SYS_COPY_FILE_RANGE, Entry{Name: "copy_file_range", fn: sysCopyFileRange, args: []argKind{aFD, aPtr, aFD, aPtr, aUint, aHex}})
	register(unix.SYS_SPLICE, Entry{Name: "splice", Support: Partial, Note: "copies through a buffer (no page moving); SPLICE_F_NONBLOCK honoured",
		fn: sysSplice, args: []argKind{aFD, aPtr, aFD, aPtr, aUint, aHex}})
	register(unix.SYS_TEE, Entry{Name: "tee", fn: sysTee, args: []argKind{aFD, aFD, aUint, aHex}})
	register(unix.SYS_VMSPLICE, Entry{Name: "vmsplice", Support: Partial, Note: "copies the buffers (SPLICE_F_GIFT moves no pages); SPLICE_F_NONBLOCK honoured",
		fn: sysVmsplice, args: []argKind{aFD, aPtr, aUint, aHex}})
}

// pfile is fd's file for positioned I/O: ESPIPE for files without
// offsets.
func (t *Thread) pfile(fd int) (*vfs.File, *posix.OpenFile, unix.Errno) {
	vf, f, e := t.vfile(fd)
	if e != 0 {
		return nil, nil, e
	}
	if vf == nil {
		return nil, f, unix.ESPIPE
	}
	if vf.PathOnly() {
		return nil, nil, unix.EBADF
	}
	return vf, f, 0
}

func sysPread64(t *Thread, a Args) (uint64, unix.Errno) {
	vf, f, e := t.pfile(a.Int(0))
	if f != nil && !readable(f) {
		return 0, unix.EBADF
	}
	if e != 0 {
		return 0, e
	}
	if int64(a[3]) < 0 {
		return 0, unix.EINVAL
	}
	buf := make([]byte, min(a[2], ioChunk))
	n, e := vf.Pread(t.vctx(), buf, int64(a[3]))
	if e != 0 {
		return 0, e
	}
	return uint64(n), t.mm().CopyOut(a[1], buf[:n])
}

func sysPwrite64(t *Thread, a Args) (uint64, unix.Errno) {
	vf, f, e := t.pfile(a.Int(0))
	if f != nil && !writable(f) {
		return 0, unix.EBADF
	}
	if e != 0 {
		return 0, e
	}
	if int64(a[3]) < 0 {
		return 0, unix.EINVAL
	}
	buf := make([]byte, min(a[2], ioChunk))
	if e := t.mm().CopyIn(a[1], buf); e != 0 {
		return 0, e
	}
	return t.pwriteChecked(vf, buf, int64(a[3]))
}

// pwriteChecked writes at off, honouring RLIMIT_FSIZE (EFBIG and SIGXFSZ
// past it, as Linux's generic_write_check_limits).
func (t *Thread) pwriteChecked(vf *vfs.File, buf []byte, off int64) (uint64, unix.Errno) {
	if off >= 0 {
		limited, e := t.fsizeWrite(vf, off, len(buf))
		if e != 0 {
			return 0, e
		}
		buf = buf[:limited]
	}
	n, e := vf.Pwrite(t.vctx(), buf, off)
	return uint64(n), e
}

// RWF_* flags of preadv2/pwritev2 (linux/fs.h).
const (
	RWF_HIPRI     = 0x01
	RWF_DSYNC     = 0x02
	RWF_SYNC      = 0x04
	RWF_NOWAIT    = 0x08
	RWF_APPEND    = 0x10
	RWF_NOAPPEND  = 0x20
	RWF_ATOMIC    = 0x40
	RWF_DONTCACHE = 0x80
	RWF_NOSIGNAL  = 0x100
	rwfAll        = 0x1ff
)

// rwfCheck is kiocb_set_rw_flags' verdict on preadv2/pwritev2 flags,
// which Linux reaches only after the descriptor, offset and iovec checks:
// unknown flags, and the ones memory files cannot honour (atomic and
// uncached writes) are EOPNOTSUPP, APPEND with NOAPPEND EINVAL.
func rwfCheck(flags int, write bool) unix.Errno {
	switch {
	case flags&^rwfAll != 0, flags&(RWF_ATOMIC|RWF_DONTCACHE) != 0:
		return unix.EOPNOTSUPP
	case flags&RWF_APPEND != 0 && flags&RWF_NOAPPEND != 0:
		return unix.EINVAL
	}
	return 0
}

// rwv2Stream checks a preadv2/pwritev2 at offset -1 (the file position)
// as vfs_readv/vfs_writev do before the flags, then hands it to readv or
// writev.
func rwv2Stream(t *Thread, a Args, flags int, write bool) (uint64, unix.Errno) {
	f, e := t.file(a.Int(0))
	if e != 0 {
		return 0, e
	}
	if (write && !writable(f)) || (!write && !readable(f)) {
		return 0, unix.EBADF
	}
	if _, e := t.iovecs(a[1], a.Int(2)); e != 0 {
		return 0, e
	}
	if e := rwfCheck(flags, write); e != 0 {
		return 0, e
	}
	if write {
		return sysWritev(t, a)
	}
	return sysReadv(t, a)
}

func preadv(t *Thread, a Args, flags int, v2 bool) (uint64, unix.Errno) {
	off := int64(a[3])
	if v2 && off == -1 {
		return rwv2Stream(t, a, flags, false)
	}
	if off < 0 {
		return 0, unix.EINVAL // do_preadv, before the descriptor
	}
	vf, f, e := t.pfile(a.Int(0))
	if f != nil && !readable(f) {
		return 0, unix.EBADF
	}
	if e != 0 {
		return 0, e
	}
	iov, e := t.iovecs(a[1], a.Int(2))
	if e != 0 {
		return 0, e
	}
	if e := rwfCheck(flags, false); e != 0 {
		return 0, e
	}
	total := uint64(0)
	for _, v := range iov {
		total += v.len
	}
	buf := make([]byte, min(total, ioChunk))
	n, e := vf.Pread(t.vctx(), buf, off)
	if e != 0 {
		return 0, e
	}
	return t.scatter(iov, buf[:n])
}

// scatter copies data out over iov; a fault after some bytes is a short
// count.
func (t *Thread) scatter(iov []iovec, data []byte) (uint64, unix.Errno) {
	done := 0
	for _, v := range iov {
		if done == len(data) {
			break
		}
		c := min(uint64(len(data)-done), v.len)
		if e := t.mm().CopyOut(v.base, data[done:done+int(c)]); e != 0 {
			if done > 0 {
				break
			}
			return 0, e
		}
		done += int(c)
	}
	return uint64(done), 0
}

// gather copies iov in, up to ioChunk bytes.
func (t *Thread) gather(iov []iovec) ([]byte, unix.Errno) {
	total := uint64(0)
	for _, v := range iov {
		total += v.len
	}
	buf := make([]byte, 0, min(total, ioChunk))
	for _, v := range iov {
		c := min(v.len, uint64(cap(buf)-len(buf)))
		start := len(buf)
		buf = buf[:start+int(c)]
		if e := t.mm().CopyIn(v.base, buf[start:]); e != 0 {
			if start > 0 {
				return buf[:start], 0
			}
			return nil, e
		}
		if len(buf) == cap(buf) {
			break
		}
	}
	return buf, 0
}

func pwritev(t *Thread, a Args, flags int, v2 bool) (uint64, unix.Errno) {
	off := int64(a[3])
	if v2 && off == -1 && flags&RWF_APPEND == 0 {
		return rwv2Stream(t, a, flags, true)
	}
	if off < 0 && !(v2 && off == -1) {
		return 0, unix.EINVAL // do_pwritev, before the descriptor
	}
	vf, f, e := t.pfile(a.Int(0))
	if f != nil && !writable(f) {
		return 0, unix.EBADF
	}
	if e != 0 {
		return 0, e
	}
	iov, e := t.iovecs(a[1], a.Int(2))
	if e != 0 {
		return 0, e
	}
	if e := rwfCheck(flags, true); e != 0 {
		return 0, e
	}
	buf, e := t.gather(iov)
	if e != 0 {
		return 0, e
	}
	if v2 && flags&RWF_APPEND != 0 {
		if off == -1 {
			n, e := vf.WriteCtx(t.vctx(), buf)
			return uint64(n), e
		}
		// RWF_APPEND appends whatever the offset says.
		n, e := vf.Impl().WriteAt(t.vctx(), buf, -1)
		return uint64(n), e
	}
	return t.pwriteChecked(vf, buf, off)
}

func sysLseek(t *Thread, a Args) (uint64, unix.Errno) {
	f, e := t.file(a.Int(0))
	if e != 0 {
		return 0, e
	}
	switch x := f.File.(type) {
	case *vfs.File:
		if x.PathOnly() {
			return 0, unix.EBADF
		}
		n, e := x.Seek(t.vctx(), int64(a[1]), a.Int(2))
		return uint64(n), e
	case *posix.HostFile:
		n, err := unix.Seek(x.FD, int64(a[1]), a.Int(2))
		if err != nil {
			return 0, err.(unix.Errno)
		}
		return uint64(n), 0
	}
	return 0, unix.ESPIPE
}

func sysTruncate(t *Thread, a Args) (uint64, unix.Errno) {
	p, e := t.lookupAt(unix.AT_FDCWD, a[0], 0, true)
	if e != 0 {
		return 0, e
	}
	if e := t.fsizeTruncate(p, int64(a[1])); e != 0 {
		return 0, e
	}
	return 0, t.K.FS().VFS.Truncate(t.vctx(), p, int64(a[1]), true)
}

func sysFtruncate(t *Thread, a Args) (uint64, unix.Errno) {
	vf, f, e := t.vfile(a.Int(0))
	if e != 0 {
		return 0, e
	}
	if vf != nil && vf.PathOnly() {
		return 0, unix.EBADF
	}
	if int64(a[1]) < 0 {
		return 0, unix.EINVAL
	}
	if vf == nil || vf.Type() != vfs.S_IFREG || !writable(f) {
		return 0, unix.EINVAL
	}
	if e := t.fsizeTruncate(vf.Path(), int64(a[1])); e != 0 {
		return 0, e
	}
	return 0, vf.VFS().Truncate(t.vctx(), vf.Path(), int64(a[1]), false)
}

func sysFallocate(t *Thread, a Args) (uint64, unix.Errno) {
	vf, f, e := t.vfile(a.Int(0))
	if e != 0 {
		return 0, e
	}
	mode, off, length := a.Int(1), int64(a[2]), int64(a[3])
	if off < 0 || length <= 0 {
		return 0, unix.EINVAL
	}
	if vf == nil {
		if _, ok := f.File.(*posix.PipeEnd); ok {
			return 0, unix.ESPIPE
		}
		return 0, unix.ENODEV
	}
	if vf.PathOnly() || !writable(f) {
		return 0, unix.EBADF
	}
	if vf.Type() == vfs.S_IFDIR {
		return 0, unix.EISDIR
	}
	if vf.Type() != vfs.S_IFREG {
		return 0, unix.ENODEV
	}
	if vf.Flags()&unix.O_APPEND != 0 && mode&^1 != 0 {
		return 0, unix.EPERM // only plain allocation on append-only files
	}
	al, ok := vf.Impl().(vfs.Allocator)
	if !ok {
		return 0, unix.EOPNOTSUPP
	}
	return 0, al.Allocate(t.vctx(), mode, off, length)
}

func fsync(t *Thread, fd int, dataOnly bool) (uint64, unix.Errno) {
	f, e := t.file(fd)
	if e != 0 {
		return 0, e
	}
	switch x := f.File.(type) {
	case *vfs.File:
		if x.PathOnly() {
			return 0, unix.EBADF
		}
		return 0, x.Sync(t.vctx(), dataOnly)
	case *posix.HostFile:
		if err := unix.Fsync(x.FD); err != nil {
			return 0, err.(unix.Errno)
		}
		return 0, 0
	}
	return 0, unix.EINVAL
}

func sysSyncfs(t *Thread, a Args) (uint64, unix.Errno) {
	vf, _, e := t.vfile(a.Int(0))
	if e != 0 {
		return 0, e
	}
	if vf != nil {
		return 0, vf.Path().Mnt.FS.Sync()
	}
	return 0, 0
}

// readAt reads from src at *off (advancing it) or at its own offset.
func (t *Thread) readAt(src *posix.OpenFile, buf []byte, off *int64) (int, unix.Errno) {
	if off != nil {
		vf, ok := src.File.(*vfs.File)
		if !ok {
			return 0, unix.ESPIPE
		}
		n, e := vf.Pread(t.vctx(), buf, *off)
		*off += int64(n)
		return n, e
	}
	return t.readFile(src.File, buf)
}

// offArg reads an loff_t* argument (nil for NULL).
func (t *Thread) offArg(addr uint64) (*int64, unix.Errno) {
	if addr == 0 {
		return nil, 0
	}
	var b [8]byte
	if e := t.mm().CopyIn(addr, b[:]); e != 0 {
		return nil, e
	}
	v := int64(binary.LittleEndian.Uint64(b[:]))
	if v < 0 {
		return nil, unix.EINVAL
	}
	return &v, 0
}

func (t *Thread) putOff(addr uint64, off *int64) unix.Errno {
	if addr == 0 || off == nil {
		return 0
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(*off))
	return t.mm().CopyOut(addr, b[:])
}

// copyData moves up to count bytes from src to dst through a buffer:
// sendfile, splice and copy_file_range's shared loop. It stops at end of
// input or a short write, and reports bytes moved (an error only when
// none were).
func (t *Thread) copyData(dst, src *posix.OpenFile, inOff, outOff *int64, count uint64) (uint64, unix.Errno) {
	buf := make([]byte, min(count, ioChunk))
	var done uint64
	for done < count {
		if done > 0 && t.Task.Group.Exiting() {
			return done, 0 // killed: a long copy ends, as Linux's at a fatal signal
		}
		chunk := buf[:min(uint64(len(buf)), count-done)]
		n, e := t.readAt(src, chunk, inOff)
		if e != 0 || n == 0 {
			if done > 0 {
				return done, 0
			}
			return 0, e
		}
		var w int
		if outOff != nil {
			vf, ok := dst.File.(*vfs.File)
			if !ok {
				return 0, unix.ESPIPE
			}
			w, e = vf.Pwrite(t.vctx(), chunk[:n], *outOff)
			*outOff += int64(w)
		} else {
			w, e = t.writeFile(dst.File, chunk[:n])
		}
		done += uint64(w)
		if e != 0 || w < n {
			t.unread(src, inOff, n-w)
			if done > 0 {
				return done, 0
			}
			return 0, e
		}
		if n < len(chunk) {
			break // a short read: what was there
		}
	}
	return done, 0
}

// unread gives back k bytes copyData read but could not write (a
// non-blocking socket or pipe took part of them): the input offset says
// what was sent, as Linux's sendfile reports it.
func (t *Thread) unread(src *posix.OpenFile, off *int64, k int) {
	if k <= 0 {
		return
	}
	if off != nil {
		*off -= int64(k)
	} else if vf, ok := src.File.(*vfs.File); ok {
		vf.Seek(t.vctx(), -int64(k), unix.SEEK_CUR)
	}
}

// spliceFromSocket moves what a socket has, up to count bytes, into a
// pipe, for splice and sendfile: it waits for room in the pipe, then for
// data (SO_RCVTIMEO), and consumes only what the pipe took, as Linux's
// sock_splice_read reads no more than the pipe holds. nonblock
// (SPLICE_F_NONBLOCK) makes the wait for room EAGAIN, and the wait for
// data on unix sockets only: TCP and UDP go by the socket's O_NONBLOCK
// (tcp_splice_read, copy_splice_read).
func (t *Thread) spliceFromSocket(s posix.Socket, in *posix.OpenFile, pout *posix.PipeEnd, count uint64, nonblock bool) (uint64, unix.Errno) {
	for pout.Readiness(waiter.WriteEvents)&(waiter.WriteEvents|waiter.EPOLLERR) == 0 {
		if nonblock || pout.Flags()&unix.O_NONBLOCK != 0 {
			return 0, unix.EAGAIN
		}
		if e := t.waitFor(pout, waiter.WriteEvents|waiter.EPOLLERR, time.Time{}); e != 0 {
			return 0, e
		}
	}
	flags := 0
	if nonblock && s.Domain() == unix.AF_UNIX {
		flags |= unix.MSG_DONTWAIT
	}
	stream := s.Type() == unix.SOCK_STREAM
	if stream {
		flags |= unix.MSG_PEEK // consumed below, once the pipe took it
	}
	buf := make([]byte, min(count, uint64(pout.Pipe().Size()), ioChunk))
	r, e := t.recvData(s, in, buf, flags)
	r.Control.CloseRights()
	if e != 0 || r.N == 0 {
		return 0, e
	}
	w, e := pout.Write(buf[:r.N])
	if e == unix.EPIPE {
		t.raiseSIGPIPE()
	}
	if w > 0 && stream {
		s.RecvMsg(buf[:w], unix.MSG_DONTWAIT)
	}
	if w == 0 {
		return 0, e
	}
	return uint64(w), 0
}

// socketOf is f's socket, or nil.
func socketOf(f *posix.OpenFile) posix.Socket {
	s, _ := f.File.(posix.Socket)
	return s
}

func sysSendfile(t *Thread, a Args) (uint64, unix.Errno) {
	out, e := t.file(a.Int(0))
	if e != 0 {
		return 0, e
	}
	in, e := t.file(a.Int(1))
	if e != 0 {
		return 0, e
	}
	if !readable(in) {
		return 0, unix.EBADF
	}
	off, e := t.offArg(a[2])
	if e != 0 {
		return 0, e
	}
	// rw_verify_area's checks of the input come before the output's:
	// a count past SSIZE_MAX is EINVAL, and one call moves at most
	// MAX_RW_COUNT (without that bound guestfuzz's count of 2^64-4096
	// copied a sparse file into itself without end).
	count := a[3]
	if int64(count) < 0 {
		return 0, unix.EINVAL
	}
	count = min(count, maxRWCount)
	if !writable(out) {
		return 0, unix.EBADF
	}
	if out.Flags()&unix.O_APPEND != 0 {
		return 0, unix.EINVAL
	}
	if vf, ok := in.File.(*vfs.File); ok && vfs.IsDir(vf.Type()) {
		return 0, unix.EINVAL
	}
	// Linux's sendfile reads only what can be read at an offset (files),
	// except into a pipe, which takes from a socket too; a socket or pipe
	// as the input is otherwise EINVAL (splice_direct_to_actor).
	pout := pipeOf(out)
	if s := socketOf(in); s != nil && pout != nil {
		if off != nil {
			return 0, unix.ESPIPE
		}
		return t.spliceFromSocket(s, in, pout, count, out.Flags()&unix.O_NONBLOCK != 0)
	}
	if off == nil && pout == nil && (socketOf(in) != nil || pipeOf(in) != nil) {
		return 0, unix.EINVAL
	}
	n, e := t.copyData(out, in, off, nil, count)
	if e2 := t.putOff(a[2], off); e2 != 0 && e == 0 {
		return 0, e2
	}
	return n, e
}

func sysCopyFileRange(t *Thread, a Args) (uint64, unix.Errno) {
	if a[5] != 0 {
		return 0, unix.EINVAL
	}
	in, ie := t.file(a.Int(0))
	out, oe := t.file(a.Int(2))
	if ie != 0 {
		return 0, ie
	}
	if oe != 0 {
		return 0, oe
	}
	vin, ok1 := in.File.(*vfs.File)
	vout, ok2 := out.File.(*vfs.File)
	if !readable(in) || !writable(out) || out.Flags()&unix.O_APPEND != 0 {
		return 0, unix.EBADF
	}
	if !ok1 || !ok2 {
		return 0, unix.EINVAL
	}
	if vfs.IsDir(vin.Type()) || vfs.IsDir(vout.Type()) {
		return 0, unix.EISDIR
	}
	if vin.Type() != vfs.S_IFREG || vout.Type() != vfs.S_IFREG {
		return 0, unix.EINVAL
	}
	inOff, e := t.offArg(a[1])
	if e != 0 {
		return 0, e
	}
	outOff, e := t.offArg(a[3])
	if e != 0 {
		return 0, e
	}
	var useIn, useOut int64
	if inOff == nil {
		useIn = vin.Offset()
		inOff = &useIn
	}
	if outOff == nil {
		useOut = vout.Offset()
		outOff = &useOut
	}
	n := min(a[4], maxRWCount) // one call moves at most MAX_RW_COUNT (generic_copy_file_checks)
	if vin.Path().Same(vout.Path()) && *inOff < *outOff+int64(n) && *outOff < *inOff+int64(n) {
		return 0, unix.EINVAL
	}
	// The copy stops at the input's end.
	st, e := vin.VFS().Stat(t.vctx(), vin.Path())
	if e != 0 {
		return 0, e
	}
	if *inOff >= st.Size {
		return 0, 0
	}
	n = min(n, uint64(st.Size-*inOff))
	startIn, startOut := *inOff, *outOff
	done, e := t.copyData(out, in, inOff, outOff, n)
	if a[1] == 0 {
		vin.Seek(t.vctx(), startIn+int64(done), unix.SEEK_SET)
	} else if e2 := t.putOff(a[1], inOff); e2 != 0 {
		return 0, e2
	}
	if a[3] == 0 {
		vout.Seek(t.vctx(), startOut+int64(done), unix.SEEK_SET)
	} else if e2 := t.putOff(a[3], outOff); e2 != 0 {
		return 0, e2
	}
	return done, e
}

// splice flags (linux/splice.h).
const (
	SPLICE_F_NONBLOCK = 0x02
	SPLICE_F_ALL      = 0x0f // MOVE, NONBLOCK, MORE, GIFT
)

// pipeOf returns f's pipe end, for splice and tee.
func pipeOf(f *posix.OpenFile) *posix.PipeEnd {
	switch x := f.File.(type) {
	case *posix.PipeEnd:
		return x
	case *vfs.File:
		return x.PipeEnd()
	}
	return nil
}

func sysSplice(t *Thread, a Args) (uint64, unix.Errno) {
	// Linux's order (splice(2), __do_splice, do_splice): a zero length
	// before anything, the flags, the descriptors, offsets given for a
	// pipe, copying the offsets in, the access modes, then what the
	// pair can do.
	if a[4] == 0 {
		return 0, 0
	}
	if a[5]&^SPLICE_F_ALL != 0 {
		return 0, unix.EINVAL
	}
	in, e := t.file(a.Int(0))
	if e != 0 {
		return 0, e
	}
	out, e := t.file(a.Int(2))
	if e != 0 {
		return 0, e
	}
	pin, pout := pipeOf(in), pipeOf(out)
	if (pin != nil && a[1] != 0) || (pout != nil && a[3] != 0) {
		return 0, unix.ESPIPE
	}
	outOff, e := t.offArg(a[3])
	if e != 0 {
		return 0, e
	}
	inOff, e := t.offArg(a[1])
	if e != 0 {
		return 0, e
	}
	if !readable(in) || !writable(out) {
		return 0, unix.EBADF
	}
	if pin == nil && pout == nil {
		return 0, unix.EINVAL
	}
	if pin != nil && pout != nil && pin.Pipe() == pout.Pipe() {
		return 0, unix.EINVAL // splice_pipe_to_pipe: a pipe into itself
	}
	// A socket has no offsets to give (do_splice: no FMODE_PREAD/PWRITE).
	if (socketOf(in) != nil && a[1] != 0) || (socketOf(out) != nil && a[3] != 0) {
		return 0, unix.EINVAL
	}
	if pin != nil && pout == nil && out.Flags()&unix.O_APPEND != 0 {
		return 0, unix.EINVAL // do_splice: no splicing into an O_APPEND file
	}
	nonblock := a[5]&SPLICE_F_NONBLOCK != 0
	if pin != nil {
		// Wait for data once; then move what is there.
		for {
			n, e := pin.Pipe().Peek(make([]byte, 1))
			if e == unix.EAGAIN && !nonblock && pin.Flags()&unix.O_NONBLOCK == 0 {
				if e := t.waitFor(pin, waiter.ReadEvents, time.Time{}); e != 0 {
					return 0, e
				}
				continue
			}
			if e != 0 {
				return 0, e
			}
			if n == 0 {
				return 0, 0
			}
			break
		}
		// Peeked, and consumed once written: what the output did not take
		// (a socket's SO_SNDTIMEO, a non-blocking output) stays in the pipe.
		buf := make([]byte, min(a[4], uint64(pin.Pipe().Buffered()), ioChunk))
		n, e := pin.Pipe().Peek(buf)
		if e != 0 {
			return 0, e
		}
		var w int
		if outOff != nil {
			vf, ok := out.File.(*vfs.File)
			if !ok {
				return 0, unix.ESPIPE
			}
			w, e = vf.Pwrite(t.vctx(), buf[:n], *outOff)
			*outOff += int64(w)
			t.putOff(a[3], outOff)
		} else if pout != nil {
			w, e = t.spliceIntoPipe(pout, buf[:n], nonblock || out.Flags()&unix.O_NONBLOCK != 0)
		} else {
			w, e = t.writeFile(out.File, buf[:n])
		}
		if w == 0 {
			return 0, e
		}
		pin.Read(buf[:w])
		return uint64(w), 0
	}
	if s := socketOf(in); s != nil {
		return t.spliceFromSocket(s, in, pout, a[4], nonblock)
	}
	// A file into a pipe: wait for room once, then move what fits (Linux
	// fills the free pipe buffers and returns short), never wait for room
	// for all of it.
	nb := nonblock || out.Flags()&unix.O_NONBLOCK != 0
	for pout.Readiness(waiter.WriteEvents)&(waiter.WriteEvents|waiter.EPOLLERR) == 0 {
		if nb {
			return 0, unix.EAGAIN
		}
		if e := t.waitFor(pout, waiter.WriteEvents, time.Time{}); e != 0 {
			return 0, e
		}
	}
	room := pout.Pipe().Size() - pout.Pipe().Buffered()
	n, e := t.copyData(out, in, inOff, nil, min(a[4], uint64(max(room, 1))))
	t.putOff(a[1], inOff)
	return n, e
}

// spliceIntoPipe is splice's write into a pipe, as Linux's
// splice_pipe_to_pipe: wait (unless non-blocking) until the pipe has some
// room, then move what fits and return that short count — never wait for
// room for all of it, which a pipe nobody reads yet never gets.
func (t *Thread) spliceIntoPipe(pout *posix.PipeEnd, buf []byte, nonblock bool) (int, unix.Errno) {
	for {
		w, e := pout.Write(buf)
		if w > 0 || e != unix.EAGAIN || nonblock {
			if e == unix.EPIPE {
				t.raiseSIGPIPE()
			}
			return w, e
		}
		if e := t.waitFor(pout, waiter.WriteEvents, time.Time{}); e != 0 {
			return 0, e
		}
	}
}

func sysTee(t *Thread, a Args) (uint64, unix.Errno) {
	// tee(2)'s order: flags, a zero length, the descriptors and their
	// modes, then two different pipes.
	if a[3]&^SPLICE_F_ALL != 0 {
		return 0, unix.EINVAL
	}
	if a[2] == 0 {
		return 0, 0
	}
	in, e := t.file(a.Int(0))
	if e != 0 {
		return 0, e
	}
	out, e := t.file(a.Int(1))
	if e != 0 {
		return 0, e
	}
	if !readable(in) || !writable(out) {
		return 0, unix.EBADF
	}
	pin, pout := pipeOf(in), pipeOf(out)
	if pin == nil || pout == nil || pin.Pipe() == pout.Pipe() {
		return 0, unix.EINVAL
	}
	buf := make([]byte, min(a[2], ioChunk))
	for {
		n, e := pin.Pipe().Peek(buf)
		if e == unix.EAGAIN && a[3]&SPLICE_F_NONBLOCK == 0 {
			if e := t.waitFor(pin, waiter.ReadEvents, time.Time{}); e != 0 {
				return 0, e
			}
			continue
		}
		if e != 0 || n == 0 {
			return 0, e
		}
		w, e := pout.Write(buf[:n])
		if w == 0 {
			if e == unix.EAGAIN && a[3]&SPLICE_F_NONBLOCK == 0 {
				if e := t.waitFor(pout, waiter.WriteEvents, time.Time{}); e != 0 {
					return 0, e
				}
				continue
			}
			return 0, e
		}
		return uint64(w), 0
	}
}

// sysVmsplice is Linux's vmsplice in its order of checks: the flags, the
// descriptor and which way it was opened (a writable one takes the
// buffers, a read-only one gives them), the iovec, nothing to move, then
// a pipe (EBADF for anything else). Into a pipe it waits for some room
// and moves what fits (vmsplice_to_pipe's wait_for_space, then
// iter_to_pipe), as splice; out of one it waits for data and scatters
// what is there (vmsplice_to_user). The bytes are copied, which a
// program cannot tell from pages moved, unless it changes the buffers
// after a SPLICE_F_GIFT (which promises it will not).
func sysVmsplice(t *Thread, a Args) (uint64, unix.Errno) {
	if a[3]&^SPLICE_F_ALL != 0 {
		return 0, unix.EINVAL
	}
	f, e := t.file(a.Int(0))
	if e != 0 {
		return 0, e
	}
	write := writable(f)
	iov, e := t.iovecs(a[1], a.Int(2))
	if e != 0 {
		return 0, e
	}
	total := uint64(0)
	for _, v := range iov {
		total += v.len
	}
	if total == 0 {
		return 0, 0
	}
	pe := pipeOf(f)
	if pe == nil {
		return 0, unix.EBADF
	}
	nonblock := a[3]&SPLICE_F_NONBLOCK != 0 || f.Flags()&unix.O_NONBLOCK != 0
	buf := make([]byte, min(total, ioChunk))
	if write {
		done := 0
		for _, v := range iov {
			if done == len(buf) {
				break
			}
			c := min(uint64(len(buf)-done), v.len)
			if e := t.mm().CopyIn(v.base, buf[done:done+int(c)]); e != 0 {
				if done == 0 {
					return 0, e
				}
				break
			}
			done += int(c)
		}
		n, e := t.spliceIntoPipe(pe, buf[:done], nonblock)
		if n == 0 {
			return 0, e
		}
		return uint64(n), 0
	}
	// Peeked, and consumed once copied out: what a bad buffer did not
	// take stays in the pipe.
	if !readable(f) {
		return 0, unix.EBADF
	}
	var n int
	for {
		n, e = pe.Pipe().Peek(buf)
		if e != unix.EAGAIN || nonblock {
			break
		}
		if e := t.waitFor(pe, waiter.ReadEvents, time.Time{}); e != 0 {
			return 0, e
		}
	}
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
			if done == 0 {
				return 0, e
			}
			break
		}
		done += int(c)
	}
	pe.Read(buf[:done])
	return uint64(done), 0
}
