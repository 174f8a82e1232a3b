package vfs

import (
	"slices"
	"strings"
	"sync"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/mm"
	"github.com/rumpgo/rumpgo/posix/waiter"
	"golang.org/x/sys/unix"
)

// FileImpl is what a file system's Open returns: the file's data at
// explicit offsets. vfs keeps the offset (File).
type FileImpl interface {
	// ReadAt reads at off; a short count at end of file, 0 past it.
	ReadAt(ctx *Context, p []byte, off int64) (int, unix.Errno)
	// WriteAt writes at off, or at the end of the file when off < 0
	// (O_APPEND), atomically with respect to other writes.
	WriteAt(ctx *Context, p []byte, off int64) (int, unix.Errno)
	// Release is called when the open file description goes.
	Release()
}

// Stream is a FileImpl without offsets (pipes, terminals, most devices):
// lseek and pread/pwrite answer ESPIPE, and ReadAt/WriteAt ignore off.
type Stream interface{ Stream() }

// Seeker is a FileImpl with its own lseek (devices whose offset means
// nothing answer 0; SEEK_DATA/SEEK_HOLE on sparse files). cur is the
// current offset; it returns the new one.
type Seeker interface {
	Seek(ctx *Context, off int64, whence int, cur int64) (int64, unix.Errno)
}

// Syncer is a FileImpl whose data can be flushed to stable storage
// (fsync; dataOnly for fdatasync). Files without it have nothing to flush.
type Syncer interface {
	Sync(ctx *Context, dataOnly bool) unix.Errno
}

// Allocator is a FileImpl that implements fallocate(2) (mode is its
// FALLOC_FL_* flags); without it fallocate is EOPNOTSUPP.
type Allocator interface {
	Allocate(ctx *Context, mode int, off, length int64) unix.Errno
}

// Sizer is a FileImpl that knows its size cheaply (lseek SEEK_END,
// FIONREAD); vfs asks Stat otherwise.
type Sizer interface{ Size() int64 }

// File is the open file description of a file reached by path: what the
// fd table holds, shared by dup'd descriptors and threads. It keeps the
// offset, status flags and directory position, and the path the file was
// opened at for /proc/self/fd and fchdir.
type File struct {
	posix.StatusFlags
	v    *VFS
	path Path
	dir  Path   // the directory the file was opened in
	name string // its name there ("" for the root)
	impl FileImpl
	typ  uint32 // S_IFMT of the file
	// opener is who opened it (Linux's f_cred): linkat(AT_EMPTY_PATH)
	// lets the opener name the file without CAP_DAC_READ_SEARCH.
	opener posix.Cred

	mu     sync.Mutex
	off    int64
	dirPos uint64
	// writeHeld is what the file holds of its inode's write count: 1
	// open for writing, -1 a running program's (DenyWrite).
	writeHeld int
}

// PathOnly reports an O_PATH descriptor: no I/O, only a place.
func (f *File) PathOnly() bool { return f.impl == nil }

// Path is the file's path.
func (f *File) Path() Path { return f.path }

// Impl is the file system's side of the file (nil for O_PATH).
func (f *File) Impl() FileImpl { return f.impl }

// OpenedBy reports whether c is the identity that opened the file (Linux
// compares the cred pointers; equal values here).
func (f *File) OpenedBy(c posix.Cred) bool {
	o := f.opener
	return o.RUID == c.RUID && o.EUID == c.EUID && o.SUID == c.SUID && o.FSUID == c.FSUID &&
		o.RGID == c.RGID && o.EGID == c.EGID && o.SGID == c.SGID && o.FSGID == c.FSGID &&
		o.CapEff == c.CapEff && o.CapPrm == c.CapPrm && slices.Equal(o.Groups, c.Groups)
}

// VFS is the namespace the file belongs to.
func (f *File) VFS() *VFS { return f.v }

// Type is the file's S_IFMT.
func (f *File) Type() uint32 { return f.typ }

// Name returns the file's path relative to root, as /proc/self/fd shows
// it: the path it was opened at, " (deleted)" after its last link went.
func (f *File) Name(ctx *Context, root Path) string {
	if f.name == "" || IsDir(f.typ) {
		s, e := f.v.PathName(ctx, root, f.path)
		if e == 0 {
			return s
		}
		if IsDir(f.typ) || f.name == "" {
			return f.v.DisplayName(ctx, root, f.path)
		}
	}
	d, e := f.v.PathName(ctx, root, f.dir)
	if e != 0 && f.dir.Valid() {
		// A removed directory: the path it had.
		d, e = strings.TrimSuffix(f.v.DisplayName(ctx, root, f.dir), " (deleted)"), 0
	}
	if e != 0 || (f.dir.Mnt != nil && f.dir.Mnt.parent == nil && f.dir.Mnt != root.Mnt) {
		d = "" // a file system of its own (memfd): no path above it
	}
	if d == "/" {
		d = ""
	}
	s := d + "/" + f.name
	if st, e := f.path.Inode.Stat(ctx); e == 0 && st.Nlink == 0 {
		s += " (deleted)"
	}
	return s
}

func (f *File) ctx() *Context { return nil }

func (f *File) stream() bool {
	_, ok := f.impl.(Stream)
	return ok
}

// Read implements posix.File: at the offset, which it advances.
func (f *File) Read(p []byte) (int, unix.Errno) { return f.ReadCtx(nil, p) }

// ReadCtx is Read with a caller (procfs files need one).
func (f *File) ReadCtx(ctx *Context, p []byte) (int, unix.Errno) {
	if f.impl == nil {
		return 0, unix.EBADF
	}
	if IsDir(f.typ) {
		return 0, unix.EISDIR
	}
	if f.stream() {
		n, e := f.impl.ReadAt(ctx, p, 0)
		if n > 0 {
			f.notify(IN_ACCESS)
		}
		return n, e
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	n, e := f.impl.ReadAt(ctx, p, f.off)
	f.off += int64(n)
	if n > 0 {
		f.notify(IN_ACCESS)
	}
	return n, e
}

// Write implements posix.File: at the offset, or the end with O_APPEND.
func (f *File) Write(p []byte) (int, unix.Errno) { return f.WriteCtx(nil, p) }

// WriteCtx is Write with a caller.
func (f *File) WriteCtx(ctx *Context, p []byte) (int, unix.Errno) {
	n, e := f.write(ctx, p)
	if n > 0 {
		f.notify(IN_MODIFY)
	}
	return n, e
}

func (f *File) write(ctx *Context, p []byte) (int, unix.Errno) {
	if f.impl == nil {
		return 0, unix.EBADF
	}
	if f.stream() {
		return f.impl.WriteAt(ctx, p, 0)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Flags()&unix.O_APPEND != 0 {
		n, e := f.impl.WriteAt(ctx, p, -1)
		if sz, ok := f.size(ctx); ok {
			f.off = sz
		}
		return n, e
	}
	if f.off+int64(len(p)) < 0 {
		return 0, unix.EFBIG
	}
	n, e := f.impl.WriteAt(ctx, p, f.off)
	f.off += int64(n)
	return n, e
}

// Pread reads at off without moving the offset.
func (f *File) Pread(ctx *Context, p []byte, off int64) (int, unix.Errno) {
	if f.impl == nil {
		return 0, unix.EBADF
	}
	if IsDir(f.typ) {
		return 0, unix.EISDIR
	}
	if f.stream() {
		return 0, unix.ESPIPE
	}
	if off < 0 {
		return 0, unix.EINVAL
	}
	n, e := f.impl.ReadAt(ctx, p, off)
	if n > 0 {
		f.notify(IN_ACCESS)
	}
	return n, e
}

// Pwrite writes at off without moving the offset. As on Linux, O_APPEND
// files append whatever off says.
func (f *File) Pwrite(ctx *Context, p []byte, off int64) (int, unix.Errno) {
	if f.impl == nil {
		return 0, unix.EBADF
	}
	if f.stream() {
		return 0, unix.ESPIPE
	}
	if off < 0 {
		return 0, unix.EINVAL
	}
	if f.Flags()&unix.O_APPEND != 0 {
		off = -1
	} else if off+int64(len(p)) < 0 {
		return 0, unix.EFBIG
	}
	n, e := f.impl.WriteAt(ctx, p, off)
	if n > 0 {
		f.notify(IN_MODIFY)
	}
	return n, e
}

func (f *File) size(ctx *Context) (int64, bool) {
	if s, ok := f.impl.(Sizer); ok {
		return s.Size(), true
	}
	st, e := f.path.Inode.Stat(ctx)
	return st.Size, e == 0
}

// Offset returns the file offset.
func (f *File) Offset() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	if IsDir(f.typ) {
		return int64(f.dirPos)
	}
	return f.off
}

// SEEK_DATA and SEEK_HOLE (linux/fs.h).
const (
	SEEK_DATA = 3
	SEEK_HOLE = 4
)

// Seek is lseek(2).
func (f *File) Seek(ctx *Context, off int64, whence int) (int64, unix.Errno) {
	if f.impl == nil {
		return 0, unix.EBADF
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if IsDir(f.typ) {
		// Directory offsets are ReadDir positions; only SEEK_SET and
		// SEEK_CUR make sense (Linux's dcache_dir_lseek).
		var n int64
		switch whence {
		case unix.SEEK_SET:
			n = off
		case unix.SEEK_CUR:
			n = int64(f.dirPos) + off
		default:
			return 0, unix.EINVAL
		}
		if n < 0 {
			return 0, unix.EINVAL
		}
		f.dirPos = uint64(n)
		return n, 0
	}
	if s, ok := f.impl.(Seeker); ok {
		n, e := s.Seek(ctx, off, whence, f.off)
		if e == 0 {
			f.off = n
		}
		return n, e
	}
	if f.stream() {
		return 0, unix.ESPIPE
	}
	var n int64
	switch whence {
	case unix.SEEK_SET:
		n = off
	case unix.SEEK_CUR:
		n = f.off + off
	case unix.SEEK_END, SEEK_DATA, SEEK_HOLE:
		size, ok := f.size(ctx)
		if !ok {
			return 0, unix.EIO
		}
		switch whence {
		case unix.SEEK_END:
			n = size + off
		case SEEK_DATA:
			// Without holes, everything before the end is data.
			if off < 0 || off >= size {
				return 0, unix.ENXIO
			}
			n = off
		case SEEK_HOLE:
			if off < 0 || off >= size {
				return 0, unix.ENXIO
			}
			n = size
		}
	default:
		return 0, unix.EINVAL
	}
	if n < 0 {
		return 0, unix.EINVAL
	}
	f.off = n
	return n, 0
}

// ReadDir reports the directory's entries from the current position,
// "." and ".." first, until fn returns false; the position advances past
// every entry fn accepted.
func (f *File) ReadDir(ctx *Context, fn func(Dirent) bool) unix.Errno {
	if f.impl == nil {
		return unix.EBADF
	}
	if !IsDir(f.typ) {
		return unix.ENOTDIR
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dirPos == 0 {
		if !fn(Dirent{Name: ".", Ino: f.path.Inode.Ino(), Type: DT_DIR, Next: 1}) {
			return 0
		}
		f.dirPos = 1
	}
	if f.dirPos == 1 {
		ino := f.path.Inode.Ino()
		if pp, e := f.v.dotdot(ctx, f.path, Path{}); e == 0 {
			ino = pp.Inode.Ino()
		}
		if !fn(Dirent{Name: "..", Ino: ino, Type: DT_DIR, Next: FirstPos}) {
			return 0
		}
		f.dirPos = FirstPos
	}
	f.notify(IN_ACCESS) // iterate_dir's fsnotify_access
	// Entries a mount covers show the mounted root's inode number, as
	// Linux's readdir does not (it shows the covered one); keep Linux's.
	return f.path.Inode.ReadDir(ctx, f.dirPos, func(d Dirent) bool {
		if !fn(d) {
			return false
		}
		f.dirPos = d.Next
		return true
	})
}

// Close implements posix.File: the last descriptor went.
func (f *File) Close() unix.Errno {
	f.v.locks.releaseFile(f)
	f.putWriteAccess()
	if f.impl != nil {
		f.impl.Release()
		if acc := f.Flags() & unix.O_ACCMODE; acc == unix.O_WRONLY || acc == unix.O_RDWR {
			f.notify(IN_CLOSE_WRITE)
		} else {
			f.notify(IN_CLOSE_NOWRITE)
		}
	}
	return 0
}

// SetFlags implements posix.FlagSetter.
func (f *File) SetFlags(fl int) {
	f.StatusFlags.SetFlags(fl)
	if s, ok := f.impl.(posix.FlagSetter); ok {
		s.SetFlags(fl)
	}
}

// Pollable implements waiter.Pollable: files whose FileImpl is waitable
// (FIFOs, some devices) are; regular files and directories are not.
func (f *File) Pollable() bool { return waiter.Of(f.impl) != nil }

// Readiness implements waiter.Waitable.
func (f *File) Readiness(mask uint32) uint32 { return waiter.Readiness(f.impl, mask) }

// EventRegister implements waiter.Waitable.
func (f *File) EventRegister(e *waiter.Entry) {
	if w := waiter.Of(f.impl); w != nil {
		w.EventRegister(e)
	}
}

// EventUnregister implements waiter.Waitable.
func (f *File) EventUnregister(e *waiter.Entry) {
	if w := waiter.Of(f.impl); w != nil {
		w.EventUnregister(e)
	}
}

// Ioctl implements posix.Ioctler for files whose FileImpl has commands.
func (f *File) Ioctl(mem posix.GuestMemory, cmd uint32, arg uint64) (uint64, unix.Errno) {
	if io, ok := f.impl.(posix.Ioctler); ok {
		return io.Ioctl(mem, cmd, arg)
	}
	return 0, unix.ENOTTY
}

// Sync is fsync (dataOnly: fdatasync).
func (f *File) Sync(ctx *Context, dataOnly bool) unix.Errno {
	if f.impl == nil {
		return unix.EBADF
	}
	if s, ok := f.impl.(Syncer); ok {
		return s.Sync(ctx, dataOnly)
	}
	if f.typ != S_IFREG && f.typ != S_IFDIR {
		return unix.EINVAL // FIFOs and devices have no fsync (vfs_fsync_range)
	}
	return 0
}

// pipeImpl is a FIFO's open end as a FileImpl.
type pipeImpl struct{ end *posix.PipeEnd }

func (p pipeImpl) ReadAt(_ *Context, b []byte, _ int64) (int, unix.Errno)  { return p.end.Read(b) }
func (p pipeImpl) WriteAt(_ *Context, b []byte, _ int64) (int, unix.Errno) { return p.end.Write(b) }
func (p pipeImpl) Release()                                                { p.end.Close() }
func (p pipeImpl) Stream()                                                 {}
func (p pipeImpl) Readiness(mask uint32) uint32                            { return p.end.Readiness(mask) }
func (p pipeImpl) EventRegister(e *waiter.Entry)                           { p.end.EventRegister(e) }
func (p pipeImpl) EventUnregister(e *waiter.Entry)                         { p.end.EventUnregister(e) }
func (p pipeImpl) SetFlags(fl int)                                         { p.end.SetFlags(fl) }

// PipeEnd returns the pipe end of a FIFO opened by path, or nil.
func (f *File) PipeEnd() *posix.PipeEnd {
	if p, ok := f.impl.(pipeImpl); ok {
		return p.end
	}
	return nil
}

// MapPages is a FileImpl whose pages can be mapped: mm.File without the
// identity, which vfs adds.
type MapPages interface {
	MapRef()
	MapUnref()
	ReadPage(pgoff uint64, dst []byte) bool
	SharedPage(fr mm.Frames, pgoff uint64) (pa uint64, ok bool, err error)
	Sync(off, n uint64) unix.Errno
}

// PageMapper is a FileImpl whose pages another value maps, for files
// that are also Syncers (both interfaces have a Sync). Pages must return
// the same value every time.
type PageMapper interface{ Pages() MapPages }

// Mappable returns the file as mmap maps it, or false when its file
// system cannot map it (ENODEV).
func (f *File) Mappable() (mm.File, bool) {
	mp, ok := f.impl.(MapPages)
	if pm, isPM := f.impl.(PageMapper); isPM {
		mp, ok = pm.Pages(), true
	}
	if !ok {
		return nil, false
	}
	return &mapped{MapPages: mp, f: f}, true
}

// mapped is a File as an address space maps it. Every mmap of one open
// file gives an equal value, so the address space counts it once.
type mapped struct {
	MapPages
	f *File
}

// MapInfo implements mm.File.
func (m *mapped) MapInfo() (dev, ino uint64, name string) {
	return m.f.path.Mnt.Dev, m.f.path.Inode.Ino(), m.f.Name(nil, m.f.v.Root())
}
