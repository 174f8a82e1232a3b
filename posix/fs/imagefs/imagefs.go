// Package imagefs serves an image's tree (package image) as a read-only
// file system: the lower layer of the guest's root, under an overlay.
//
// The tree is the index image.Open built when it read the archive once;
// nothing is extracted. File data is read from the image file at the
// entry's offset on every read (pread), not loaded into memory: images
// hold assets of any size, guest memory is the guest's budget, and the
// host's page cache already keeps what is read often. Pages a shared
// mapping maps are copied into guest frames once per file and kept while
// any address space maps it (the file never changes, so the copies stay
// right).
package imagefs

import (
	"io"
	"sync"

	"github.com/rumpgo/rumpgo/image"
	"github.com/rumpgo/rumpgo/posix/mm"
	"github.com/rumpgo/rumpgo/posix/vfs"
	"golang.org/x/sys/unix"
)

// ROMFS_MAGIC is statfs's f_type (linux/magic.h): imagefs is no Linux
// file system, and romfs is Linux's read-only one closest to it.
const ROMFS_MAGIC = 0x7275

// FS is an image's tree.
type FS struct {
	im *image.Image

	mu     sync.Mutex
	shared map[uint64]*sharedPages // by inode: pages in guest frames
}

type sharedPages struct {
	refs   int
	frames map[uint64]uint64 // page index -> guest frame
	fr     mm.Frames
}

// New serves im. The image must stay open while the file system is used.
func New(im *image.Image) *FS {
	return &FS{im: im, shared: map[uint64]*sharedPages{}}
}

// Root implements vfs.FileSystem.
func (fs *FS) Root() vfs.Inode { return &inode{fs: fs, n: fs.im.Root} }

// Type implements vfs.FileSystem.
func (fs *FS) Type() string { return "imagefs" }

// Sync implements vfs.FileSystem.
func (fs *FS) Sync() unix.Errno { return 0 }

// Statfs implements vfs.FileSystem: the image's size, nothing free.
func (fs *FS) Statfs(*vfs.Context) (vfs.Statfs, unix.Errno) {
	blocks := uint64(fs.im.Size+4095) / 4096
	return vfs.Statfs{Type: ROMFS_MAGIC, Bsize: 4096, Frsize: 4096, Namelen: vfs.NAME_MAX,
		Blocks: blocks, Files: uint64(fs.im.Entries), Flags: unix.ST_RDONLY}, 0
}

// inode is an image node; a fresh value per lookup is fine (vfs compares
// Ino()).
type inode struct {
	fs *FS
	n  *image.Node
}

// Node returns the image node behind an imagefs inode, or nil.
func Node(i vfs.Inode) *image.Node {
	if in, ok := i.(*inode); ok {
		return in.n
	}
	return nil
}

// Ino implements vfs.Inode.
func (i *inode) Ino() uint64 { return i.n.Ino }

// Stat implements vfs.Inode.
func (i *inode) Stat(*vfs.Context) (vfs.Stat, unix.Errno) {
	n := i.n
	t := vfs.Timespec{Sec: n.Mtime}
	st := vfs.Stat{
		Mask: unix.STATX_BASIC_STATS, Ino: n.Ino, Mode: n.Mode, Nlink: n.Nlink, UID: n.UID, GID: n.GID,
		Size: n.Size, Blksize: 4096, Atime: t, Mtime: t, Ctime: t,
	}
	if n.IsRegular() {
		st.Blocks = (n.Size + 511) / 512
	}
	if n.IsDir() {
		st.Size = 4096
		st.Blocks = 8
	}
	return st, 0
}

// SetAttr implements vfs.Inode.
func (i *inode) SetAttr(*vfs.Context, *vfs.SetAttr) unix.Errno { return unix.EROFS }

// Readlink implements vfs.Inode.
func (i *inode) Readlink(*vfs.Context) (string, unix.Errno) {
	if !i.n.IsSymlink() {
		return "", unix.EINVAL
	}
	return i.n.Target, 0
}

// Lookup implements vfs.Inode.
func (i *inode) Lookup(_ *vfs.Context, name string) (vfs.Inode, unix.Errno) {
	if !i.n.IsDir() {
		return nil, unix.ENOTDIR
	}
	if name == ".." {
		return &inode{fs: i.fs, n: i.n.Parent}, 0
	}
	c := i.n.Child(name)
	if c == nil {
		return nil, unix.ENOENT
	}
	return &inode{fs: i.fs, n: c}, 0
}

// DirName implements vfs.DirNamer.
func (i *inode) DirName() (string, unix.Errno) { return i.n.Name, 0 }

func (i *inode) Create(*vfs.Context, string, vfs.CreateAttr) (vfs.Inode, unix.Errno) {
	if !i.n.IsDir() {
		return nil, unix.ENOTDIR
	}
	return nil, unix.EROFS
}

func (i *inode) Link(*vfs.Context, string, vfs.Inode) unix.Errno {
	if !i.n.IsDir() {
		return unix.ENOTDIR
	}
	return unix.EROFS
}

func (i *inode) Unlink(*vfs.Context, string, bool) unix.Errno {
	if !i.n.IsDir() {
		return unix.ENOTDIR
	}
	return unix.EROFS
}

func (i *inode) Rename(*vfs.Context, string, vfs.Inode, string, uint32) unix.Errno {
	if !i.n.IsDir() {
		return unix.ENOTDIR
	}
	return unix.EROFS
}

// ReadDir implements vfs.Inode: positions are FirstPos + the index in
// the sorted names.
func (i *inode) ReadDir(_ *vfs.Context, pos uint64, fn func(vfs.Dirent) bool) unix.Errno {
	if !i.n.IsDir() {
		return unix.ENOTDIR
	}
	names := i.n.Names()
	if pos < vfs.FirstPos {
		pos = vfs.FirstPos
	}
	for k := pos - vfs.FirstPos; k < uint64(len(names)); k++ {
		c := i.n.Child(names[k])
		if !fn(vfs.Dirent{Name: names[k], Ino: c.Ino, Type: vfs.DTType(c.Mode), Next: vfs.FirstPos + k + 1}) {
			return 0
		}
	}
	return 0
}

// Open implements vfs.Inode: read-only (vfs answers EROFS for writers on
// a read-only mount; under an overlay writers get the copy).
func (i *inode) Open(_ *vfs.Context, flags int) (vfs.FileImpl, unix.Errno) {
	switch {
	case i.n.IsDir():
		return dirFile{}, 0
	case i.n.IsRegular():
		if flags&unix.O_ACCMODE != unix.O_RDONLY {
			return nil, unix.EROFS
		}
		return &file{i: i}, 0
	}
	return nil, unix.ENXIO
}

type dirFile struct{}

func (dirFile) ReadAt(*vfs.Context, []byte, int64) (int, unix.Errno)  { return 0, unix.EISDIR }
func (dirFile) WriteAt(*vfs.Context, []byte, int64) (int, unix.Errno) { return 0, unix.EISDIR }
func (dirFile) Release()                                              {}

// file is an open regular file of the image.
type file struct{ i *inode }

// ReadAt implements vfs.FileImpl.
func (f *file) ReadAt(_ *vfs.Context, p []byte, off int64) (int, unix.Errno) {
	n, err := f.i.fs.im.ReadAt(f.i.n, p, off)
	if err != nil && err != io.EOF {
		return n, unix.EIO
	}
	return n, 0
}

// WriteAt implements vfs.FileImpl.
func (f *file) WriteAt(*vfs.Context, []byte, int64) (int, unix.Errno) { return 0, unix.EBADF }

// Release implements vfs.FileImpl.
func (f *file) Release() {}

// Size implements vfs.Sizer.
func (f *file) Size() int64 { return f.i.n.Size }

// MapRef implements vfs.MapPages.
func (f *file) MapRef() {
	fs := f.i.fs
	fs.mu.Lock()
	sp := fs.shared[f.i.n.Ino]
	if sp == nil {
		sp = &sharedPages{frames: map[uint64]uint64{}}
		fs.shared[f.i.n.Ino] = sp
	}
	sp.refs++
	fs.mu.Unlock()
}

// MapUnref implements vfs.MapPages: the last one frees the frames.
func (f *file) MapUnref() {
	fs := f.i.fs
	fs.mu.Lock()
	defer fs.mu.Unlock()
	sp := fs.shared[f.i.n.Ino]
	if sp == nil {
		return
	}
	if sp.refs--; sp.refs > 0 {
		return
	}
	delete(fs.shared, f.i.n.Ino)
	if sp.fr != nil && len(sp.frames) > 0 {
		var frames []uint64
		for _, pa := range sp.frames {
			frames = append(frames, pa)
		}
		sp.fr.FreeFrames(frames)
	}
}

// ReadPage implements vfs.MapPages.
func (f *file) ReadPage(pgoff uint64, dst []byte) bool {
	off := int64(pgoff) * mm.PageSize
	if off >= f.i.n.Size {
		return false
	}
	// dst is a frame: through mm.ReadFrame's buffer (hostio.go there).
	mm.ReadFrame(dst, func(p []byte) (int, error) { return f.i.fs.im.ReadAt(f.i.n, p, off) })
	return true
}

// SharedPage implements vfs.MapPages: a copy in a guest frame, made once.
func (f *file) SharedPage(fr mm.Frames, pgoff uint64) (uint64, bool, error) {
	if int64(pgoff)*mm.PageSize >= f.i.n.Size {
		return 0, false, nil
	}
	fs := f.i.fs
	fs.mu.Lock()
	defer fs.mu.Unlock()
	sp := fs.shared[f.i.n.Ino]
	if sp == nil {
		return 0, true, unix.EINVAL // mapped without MapRef
	}
	if pa, ok := sp.frames[pgoff]; ok {
		return pa, true, nil
	}
	pa, err := fr.AllocFrame()
	if err != nil {
		return 0, true, err
	}
	sp.fr = fr
	f.ReadPage(pgoff, fr.Bytes(pa, mm.PageSize))
	sp.frames[pgoff] = pa
	return pa, true, nil
}

// Sync implements vfs.MapPages: nothing is ever written.
func (f *file) Sync(off, n uint64) unix.Errno { return 0 }
