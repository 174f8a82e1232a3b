package hostfs

import (
	"github.com/rumpgo/rumpgo/posix/mm"
	"github.com/rumpgo/rumpgo/posix/vfs"
	"golang.org/x/sys/unix"
)

// file is an open host file: a real descriptor reopened from the inode's
// O_PATH one, read and written at explicit offsets.
type file struct {
	i     *inode
	fd    int
	acc   int
	app   int   // an O_APPEND descriptor, opened on the first append
	pages pages // what mmap maps

	// Guarded by i.mu: mappings may outlive the open file description,
	// and the descriptors stay until both are gone.
	mapRefs  int
	released bool
}

// pages is a file as mmap sees it (vfs.MapPages).
type pages struct{ f *file }

// Pages implements vfs.PageMapper.
func (f *file) Pages() vfs.MapPages { return &f.pages }

func retry[T any](f func() (T, error)) (T, error) {
	for {
		v, err := f()
		if err != unix.EINTR {
			return v, err
		}
	}
}

// ReadAt implements vfs.FileImpl.
func (f *file) ReadAt(_ *vfs.Context, p []byte, off int64) (int, unix.Errno) {
	if f.acc == unix.O_WRONLY {
		return 0, unix.EBADF
	}
	done := 0
	for done < len(p) {
		n, err := retry(func() (int, error) { return unix.Pread(f.fd, p[done:], off+int64(done)) })
		if err != nil {
			if done > 0 {
				break
			}
			return 0, errno(err)
		}
		if n == 0 {
			break
		}
		done += n
	}
	f.i.readShared(p[:done], off)
	return done, 0
}

// WriteAt implements vfs.FileImpl; off < 0 appends through an O_APPEND
// descriptor, so appends stay atomic with other writers on the host.
func (f *file) WriteAt(_ *vfs.Context, p []byte, off int64) (int, unix.Errno) {
	if f.acc == unix.O_RDONLY {
		return 0, unix.EBADF
	}
	if off < 0 {
		if f.app == 0 {
			fd, err := unix.Open(procPath(f.i.fd), unix.O_WRONLY|unix.O_APPEND|unix.O_CLOEXEC, 0)
			if err != nil {
				return 0, errno(err)
			}
			f.app = fd
		}
		n, err := retry(func() (int, error) { return unix.Write(f.app, p) })
		if err != nil {
			return 0, errno(err)
		}
		if end, err := unix.Seek(f.app, 0, unix.SEEK_CUR); err == nil {
			f.i.writeShared(p[:n], end-int64(n))
		}
		return n, 0
	}
	done := 0
	for done < len(p) {
		n, err := retry(func() (int, error) { return unix.Pwrite(f.fd, p[done:], off+int64(done)) })
		if err != nil {
			if done > 0 {
				break
			}
			return 0, errno(err)
		}
		done += n
	}
	f.i.writeShared(p[:done], off)
	return done, 0
}

// Release implements vfs.FileImpl.
func (f *file) Release() {
	f.i.mu.Lock()
	f.released = true
	done := f.mapRefs == 0
	f.i.mu.Unlock()
	if done {
		f.closeFDs()
	}
}

func (f *file) closeFDs() {
	unix.Close(f.fd)
	if f.app != 0 {
		unix.Close(f.app)
	}
}

// Sync implements vfs.Syncer: shared pages first, then the host's fsync
// or fdatasync.
func (f *file) Sync(_ *vfs.Context, dataOnly bool) unix.Errno {
	if e := f.i.flushShared(0, -1); e != 0 {
		return e
	}
	if dataOnly {
		return errno(unix.Fdatasync(f.fd))
	}
	return errno(unix.Fsync(f.fd))
}

// Allocate implements vfs.Allocator with the host's fallocate.
func (f *file) Allocate(_ *vfs.Context, mode int, off, length int64) unix.Errno {
	if f.acc == unix.O_RDONLY {
		return unix.EBADF
	}
	return errno(unix.Fallocate(f.fd, uint32(mode), off, length))
}

// Seek implements vfs.Seeker: the host finds data and holes.
func (f *file) Seek(_ *vfs.Context, off int64, whence int, cur int64) (int64, unix.Errno) {
	var r int64
	switch whence {
	case unix.SEEK_SET:
		r = off
	case unix.SEEK_CUR:
		r = cur + off
	case unix.SEEK_END:
		var st unix.Stat_t
		if err := unix.Fstat(f.fd, &st); err != nil {
			return 0, errno(err)
		}
		r = st.Size + off
	case vfs.SEEK_DATA, vfs.SEEK_HOLE:
		n, err := unix.Seek(f.fd, off, whence)
		if err != nil {
			return 0, errno(err)
		}
		r = n
	default:
		return 0, unix.EINVAL
	}
	if r < 0 {
		return 0, unix.EINVAL
	}
	return r, 0
}

// Shared mappings: the host file's pages are copied into guest frames
// when first mapped; reads and writes through descriptors see and update
// those frames, and msync, fsync and the last unmapping write them back.

type sharedPages struct {
	refs   int
	fr     mm.Frames
	frames map[int64]uint64 // page index -> guest frame
}

// MapRef implements vfs.MapPages.
func (pg *pages) MapRef() {
	i := pg.f.i
	i.mu.Lock()
	if i.shared == nil {
		i.shared = &sharedPages{frames: map[int64]uint64{}}
	}
	i.shared.refs++
	pg.f.mapRefs++
	i.mu.Unlock()
}

// MapUnref implements vfs.MapPages: the last one writes back and frees.
func (pg *pages) MapUnref() {
	i := pg.f.i
	i.flushShared(0, -1)
	i.mu.Lock()
	defer i.mu.Unlock()
	if pg.f.mapRefs--; pg.f.mapRefs == 0 && pg.f.released {
		pg.f.closeFDs()
	}
	sp := i.shared
	if sp == nil {
		return
	}
	if sp.refs--; sp.refs > 0 {
		return
	}
	i.shared = nil
	if sp.fr != nil && len(sp.frames) > 0 {
		var frames []uint64
		for _, pa := range sp.frames {
			frames = append(frames, pa)
		}
		sp.fr.FreeFrames(frames)
	}
}

func (i *inode) size(fd int) int64 {
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		return 0
	}
	return st.Size
}

// ReadPage implements vfs.MapPages.
func (pg *pages) ReadPage(pgoff uint64, dst []byte) bool {
	off := int64(pgoff) * mm.PageSize
	size := pg.f.i.size(pg.f.fd)
	if off >= size {
		return false
	}
	// dst is a frame: through mm.ReadFrame's buffer (hostio.go there).
	n, _ := mm.ReadFrame(dst, func(p []byte) (int, error) { return unix.Pread(pg.f.fd, p, off) })
	pg.f.i.readShared(dst[:n], off)
	return true
}

// SharedPage implements vfs.MapPages.
func (pg *pages) SharedPage(fr mm.Frames, pgoff uint64) (uint64, bool, error) {
	i := pg.f.i
	off := int64(pgoff) * mm.PageSize
	if off >= i.size(pg.f.fd) {
		return 0, false, nil
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	sp := i.shared
	if sp == nil {
		return 0, true, unix.EINVAL
	}
	if pa, ok := sp.frames[int64(pgoff)]; ok {
		return pa, true, nil
	}
	pa, err := fr.AllocFrame()
	if err != nil {
		return 0, true, err
	}
	sp.fr = fr
	mm.ReadFrame(fr.Bytes(pa, mm.PageSize), func(p []byte) (int, error) { return unix.Pread(pg.f.fd, p, off) })
	sp.frames[int64(pgoff)] = pa
	return pa, true, nil
}

// Sync implements vfs.MapPages (msync).
func (pg *pages) Sync(off, n uint64) unix.Errno { return pg.f.i.flushShared(int64(off), int64(n)) }

// readShared puts the shared frames' bytes over p, read at off.
func (i *inode) readShared(p []byte, off int64) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.shared == nil || len(i.shared.frames) == 0 {
		return
	}
	for pos := off; pos < off+int64(len(p)); pos = (pos/mm.PageSize + 1) * mm.PageSize {
		pa, ok := i.shared.frames[pos/mm.PageSize]
		if !ok {
			continue
		}
		pg := i.shared.fr.Bytes(pa, mm.PageSize)
		copy(p[pos-off:], pg[pos%mm.PageSize:])
	}
}

// writeShared copies p, written at off, into the shared frames.
func (i *inode) writeShared(p []byte, off int64) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.shared == nil || len(i.shared.frames) == 0 {
		return
	}
	for pos := off; pos < off+int64(len(p)); pos = (pos/mm.PageSize + 1) * mm.PageSize {
		pa, ok := i.shared.frames[pos/mm.PageSize]
		if !ok {
			continue
		}
		pg := i.shared.fr.Bytes(pa, mm.PageSize)
		copy(pg[pos%mm.PageSize:], p[pos-off:])
	}
}

// truncateShared zeroes shared frames' bytes past a new size.
func (i *inode) truncateShared(size int64) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.shared == nil {
		return
	}
	for idx, pa := range i.shared.frames {
		start := idx * mm.PageSize
		if start+mm.PageSize <= size {
			continue
		}
		pg := i.shared.fr.Bytes(pa, mm.PageSize)
		clear(pg[max(size-start, 0):])
	}
}

// flushShared writes the shared frames of [off, off+n) (n < 0: all) back
// to the host file, within its size, through a descriptor of its own.
func (i *inode) flushShared(off, n int64) unix.Errno {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.shared == nil || len(i.shared.frames) == 0 || i.fs.ro {
		return 0
	}
	wfd, err := unix.Open(procPath(i.fd), unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return errno(err)
	}
	defer unix.Close(wfd)
	size := i.size(wfd)
	for idx, pa := range i.shared.frames {
		start := idx * mm.PageSize
		if start >= size || (n >= 0 && (start+mm.PageSize <= off || start >= off+n)) {
			continue
		}
		pg := i.shared.fr.Bytes(pa, mm.PageSize)[:min(mm.PageSize, size-start)]
		if _, err := mm.WriteFrame(pg, func(p []byte) (int, error) { return unix.Pwrite(wfd, p, start) }); err != nil {
			return errno(err)
		}
	}
	return 0
}
