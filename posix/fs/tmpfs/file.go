package tmpfs

import (
	"github.com/rumpgo/rumpgo/posix/mm"
	"github.com/rumpgo/rumpgo/posix/vfs"
	"golang.org/x/sys/unix"
)

// maxFileSize is MAX_LFS_FILESIZE on 64-bit Linux.
const maxFileSize = 1<<63 - 1

// regFile is an open regular file.
type regFile struct{ n *inode }

// ReadAt implements vfs.FileImpl.
func (f *regFile) ReadAt(_ *vfs.Context, p []byte, off int64) (int, unix.Errno) {
	n := f.n
	n.data.RLock()
	if off >= n.size {
		n.data.RUnlock()
		return 0, 0
	}
	if rest := n.size - off; int64(len(p)) > rest {
		p = p[:rest]
	}
	done := 0
	for done < len(p) {
		pos := off + int64(done)
		idx, po := pos/PageSize, pos%PageSize
		c := min(len(p)-done, int(PageSize-po))
		if pg, ok := n.pages[idx]; ok {
			copy(p[done:done+c], pg[po:])
		} else {
			clear(p[done : done+c])
		}
		done += c
	}
	n.data.RUnlock()
	n.fs.mu.Lock()
	n.atime = vfs.Now()
	n.fs.mu.Unlock()
	return done, 0
}

// page returns page idx for writing, allocating it (data lock held).
func (n *inode) page(idx int64) ([]byte, unix.Errno) {
	if pg, ok := n.pages[idx]; ok {
		return pg, 0
	}
	if n.fs.used.Add(1) > n.fs.limit {
		n.fs.used.Add(-1)
		return nil, unix.ENOSPC
	}
	pg := make([]byte, PageSize)
	if n.pages == nil {
		n.pages = map[int64][]byte{}
	}
	n.pages[idx] = pg
	return pg, 0
}

// WriteAt implements vfs.FileImpl; off < 0 appends.
func (f *regFile) WriteAt(_ *vfs.Context, p []byte, off int64) (int, unix.Errno) {
	n := f.n
	n.data.Lock()
	if off < 0 {
		off = n.size
	}
	if off+int64(len(p)) < off || off+int64(len(p)) > maxFileSize {
		n.data.Unlock()
		return 0, unix.EFBIG
	}
	done := 0
	var err unix.Errno
	for done < len(p) {
		pos := off + int64(done)
		idx, po := pos/PageSize, pos%PageSize
		c := min(len(p)-done, int(PageSize-po))
		pg, e := n.page(idx)
		if e != 0 {
			err = e
			break
		}
		copy(pg[po:], p[done:done+c])
		done += c
	}
	if end := off + int64(done); end > n.size {
		n.size = end
	}
	n.data.Unlock()
	if done > 0 {
		n.fs.mu.Lock()
		n.touch()
		// Writing drops setuid, and setgid when group-executable
		// (file_remove_privs); a tmpfs writer here is never checked
		// for CAP_FSETID, as root's writes keep the bits on Linux only
		// through that capability, which root holds.
		n.fs.mu.Unlock()
		return done, 0
	}
	return 0, err
}

// Release implements vfs.FileImpl.
func (f *regFile) Release() {
	n := f.n
	n.fs.mu.Lock()
	n.opens--
	n.maybeEvict()
	n.fs.mu.Unlock()
}

// Size implements vfs.Sizer.
func (f *regFile) Size() int64 {
	f.n.data.RLock()
	defer f.n.data.RUnlock()
	return f.n.size
}

// truncate sets the size, dropping whole pages past it and zeroing the
// tail of the last one.
func (n *inode) truncate(size int64) unix.Errno {
	if size < 0 {
		return unix.EINVAL
	}
	if size > maxFileSize {
		return unix.EFBIG
	}
	n.data.Lock()
	defer n.data.Unlock()
	if size < n.size {
		n.punch(size, maxFileSize)
	}
	n.size = size
	return 0
}

// punch makes [start, end) a hole (data lock held): whole pages go, the
// partial ones are zeroed.
func (n *inode) punch(start, end int64) {
	for idx, pg := range n.pages {
		ps, pe := idx*PageSize, (idx+1)*PageSize
		if pe <= start || ps >= end {
			continue
		}
		if ps >= start && pe <= end {
			n.dropPage(idx)
			continue
		}
		lo, hi := max(start, ps)-ps, min(end, pe)-ps
		clear(pg[lo:hi])
	}
}

// dropPage frees page idx. A page in a guest frame is zeroed and its
// frame kept until the file goes, since a mapping may still map it.
func (n *inode) dropPage(idx int64) {
	if pa, ok := n.frames[idx]; ok {
		clear(n.pages[idx])
		delete(n.frames, idx)
		if n.maps > 0 || n.fs.frames == nil {
			n.dead = append(n.dead, pa)
		} else {
			n.fs.frames.FreeFrames([]uint64{pa})
		}
	}
	delete(n.pages, idx)
	n.fs.used.Add(-1)
}

// fallocate(2) modes (linux/falloc.h).
const (
	FALLOC_FL_KEEP_SIZE      = 0x01
	FALLOC_FL_PUNCH_HOLE     = 0x02
	FALLOC_FL_COLLAPSE_RANGE = 0x08
	FALLOC_FL_ZERO_RANGE     = 0x10
	FALLOC_FL_INSERT_RANGE   = 0x20
)

// Allocate implements vfs.Allocator as shmem_fallocate: allocation and
// hole punching; the range-shifting modes are EOPNOTSUPP on tmpfs.
func (f *regFile) Allocate(_ *vfs.Context, mode int, off, length int64) unix.Errno {
	n := f.n
	if off < 0 || length <= 0 {
		return unix.EINVAL
	}
	end := off + length
	if end < off || end > maxFileSize {
		return unix.EFBIG
	}
	n.data.Lock()
	defer n.data.Unlock()
	switch mode {
	case FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE:
		n.punch(off, min(end, n.size))
		return 0
	case 0, FALLOC_FL_KEEP_SIZE:
		var added []int64
		for idx := off / PageSize; idx*PageSize < end; idx++ {
			if _, ok := n.pages[idx]; ok {
				continue
			}
			if _, e := n.page(idx); e != 0 {
				for _, a := range added {
					delete(n.pages, a)
					n.fs.used.Add(-1)
				}
				return e
			}
			added = append(added, idx)
		}
		if mode == 0 && end > n.size {
			n.size = end
		}
		return 0
	case FALLOC_FL_PUNCH_HOLE:
		return unix.EOPNOTSUPP // PUNCH_HOLE needs KEEP_SIZE
	}
	return unix.EOPNOTSUPP
}

// Seek implements vfs.Seeker for SEEK_DATA and SEEK_HOLE over the pages;
// the other whences are the usual arithmetic.
func (f *regFile) Seek(_ *vfs.Context, off int64, whence int, cur int64) (int64, unix.Errno) {
	n := f.n
	n.data.RLock()
	size := n.size
	var r int64
	switch whence {
	case unix.SEEK_SET:
		r = off
	case unix.SEEK_CUR:
		r = cur + off
	case unix.SEEK_END:
		r = size + off
	case vfs.SEEK_DATA, vfs.SEEK_HOLE:
		if off < 0 || off >= size {
			n.data.RUnlock()
			return 0, unix.ENXIO
		}
		want := whence == vfs.SEEK_DATA
		r = size
		for pos := off; pos < size; pos = (pos/PageSize + 1) * PageSize {
			if _, ok := n.pages[pos/PageSize]; ok == want {
				r = pos
				break
			}
		}
		if want && r >= size {
			n.data.RUnlock()
			return 0, unix.ENXIO
		}
	default:
		n.data.RUnlock()
		return 0, unix.EINVAL
	}
	n.data.RUnlock()
	if r < 0 {
		return 0, unix.EINVAL
	}
	return r, 0
}

// Mapping: regFile implements vfs.MapPages.

// MapRef implements mm.File.
func (f *regFile) MapRef() {
	f.n.fs.mu.Lock()
	f.n.maps++
	f.n.fs.mu.Unlock()
}

// MapUnref implements mm.File.
func (f *regFile) MapUnref() {
	n := f.n
	n.fs.mu.Lock()
	n.maps--
	if n.maps == 0 && len(n.dead) > 0 && n.fs.frames != nil {
		n.fs.frames.FreeFrames(n.dead)
		n.dead = nil
	}
	n.maybeEvict()
	n.fs.mu.Unlock()
}

// ReadPage implements mm.File.
func (f *regFile) ReadPage(pgoff uint64, dst []byte) bool {
	n := f.n
	n.data.RLock()
	defer n.data.RUnlock()
	if int64(pgoff)*PageSize >= n.size {
		return false
	}
	if pg, ok := n.pages[int64(pgoff)]; ok {
		copy(dst, pg)
	} else {
		clear(dst)
	}
	// Past the end of file within the last page reads as zero, even if
	// the page held more before a truncate zeroed it.
	if tail := n.size - int64(pgoff)*PageSize; tail < PageSize {
		clear(dst[tail:])
	}
	return true
}

// SharedPage implements mm.File: the page moves into a guest frame once,
// and from then on the file's reads and writes use that frame's bytes.
func (f *regFile) SharedPage(fr mm.Frames, pgoff uint64) (uint64, bool, error) {
	n := f.n
	n.data.Lock()
	defer n.data.Unlock()
	idx := int64(pgoff)
	if idx*PageSize >= n.size {
		return 0, false, nil
	}
	if pa, ok := n.frames[idx]; ok {
		return pa, true, nil
	}
	old, had := n.pages[idx]
	if !had {
		if n.fs.used.Add(1) > n.fs.limit {
			n.fs.used.Add(-1)
			return 0, true, unix.ENOSPC
		}
	}
	pa, err := fr.AllocFrame()
	if err != nil {
		if !had {
			n.fs.used.Add(-1)
		}
		return 0, true, err
	}
	pg := fr.Bytes(pa, PageSize)
	if had {
		copy(pg, old)
	}
	if n.pages == nil {
		n.pages = map[int64][]byte{}
	}
	if n.frames == nil {
		n.frames = map[int64]uint64{}
	}
	n.pages[idx] = pg
	n.frames[idx] = pa
	return pa, true, nil
}

// Sync implements mm.File: the frames are the file.
func (f *regFile) Sync(off, length uint64) unix.Errno { return 0 }

// Shared reports whether shared mappings are possible: pages need a place
// in guest memory.
func (f *regFile) Shared() bool { return f.n.fs.frames != nil }

// Adopt makes data the contents of the empty regular file f, without
// copying: each page of the file is a slice of data, which must be
// page-aligned host memory at least len rounded up to a page long (an
// mmap of a host file, say, so that only the pages the guest reads are
// ever faulted in). Later writes change data in place. It is how a bare
// program gets into its root without being copied (launch).
func Adopt(f vfs.FileImpl, data []byte, length int64) unix.Errno {
	rf, ok := f.(*regFile)
	if !ok {
		return unix.EINVAL
	}
	n := rf.n
	pages := (length + PageSize - 1) / PageSize
	if int64(len(data)) < pages*PageSize {
		return unix.EINVAL
	}
	n.data.Lock()
	defer n.data.Unlock()
	if n.size != 0 || len(n.pages) != 0 {
		return unix.EEXIST
	}
	if n.fs.used.Add(pages) > n.fs.limit {
		n.fs.used.Add(-pages)
		return unix.ENOSPC
	}
	n.pages = make(map[int64][]byte, pages)
	for i := int64(0); i < pages; i++ {
		n.pages[i] = data[i*PageSize : (i+1)*PageSize : (i+1)*PageSize]
	}
	n.size = length
	return 0
}
