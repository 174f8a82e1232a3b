// Package tmpfs is a file system in memory, as Linux's tmpfs: the writable
// root until images exist, /tmp, /dev/shm, and the tree devfs populates.
// Files are sparse (pages are allocated when written), hard links, FIFOs
// (posix.FIFO), device nodes, sockets' names and user/trusted xattrs are
// supported, and a size limit bounds the data (ENOSPC). Pages that a
// shared mapping maps move into guest frames (mm.Frames) and stay there,
// so the mapping and read/write see the same bytes.
package tmpfs

import (
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/mm"
	"github.com/rumpgo/rumpgo/posix/vfs"
	"golang.org/x/sys/unix"
)

// PageSize is the unit of file data.
const PageSize = mm.PageSize

// TMPFS_MAGIC is statfs's f_type (linux/magic.h).
const TMPFS_MAGIC = 0x01021994

// Options configure a tmpfs.
type Options struct {
	// Size bounds the file data in bytes (rounded up to pages); 0 means
	// MaxSize.
	Size int64
	// Inodes bounds the number of files (nr_inodes); 0 means one per
	// page of Size, at most 1<<20, as Linux's default (half of RAM in
	// pages for both): file names, symlink targets and inodes live in
	// the monitor's memory, so they must scale with the size too.
	Inodes int64
	// Mode, UID and GID are the root directory's.
	Mode     uint32
	UID, GID uint32
	// Frames is where pages of shared mappings live; without it
	// MAP_SHARED mappings of the file system's files fail with ENODEV.
	Frames mm.Frames
}

// MaxSize is the default size limit: Linux's default is half of RAM;
// launch passes that, this is the bound when nobody says.
const MaxSize = 1 << 40

// FS is one tmpfs instance.
type FS struct {
	mu      sync.Mutex // the namespace and every inode's metadata
	root    *inode
	nextIno atomic.Uint64
	limit   int64 // pages
	ilimit  int64 // inodes
	used    atomic.Int64
	inodes  atomic.Int64
	// xattrBytes is what extended attributes take, bounded by xlimit:
	// xattrInodeSpace per inode, as Linux tmpfs's free_ispace.
	xattrBytes atomic.Int64
	xlimit     int64
	frames     mm.Frames
}

// New makes an empty tmpfs.
func New(o Options) *FS {
	if o.Size <= 0 {
		o.Size = MaxSize
	}
	if o.Mode == 0 {
		o.Mode = 0o1777
	}
	if o.Inodes <= 0 {
		o.Inodes = min(1<<20, max((o.Size+PageSize-1)/PageSize, 1024))
	}
	fs := &FS{limit: (o.Size + PageSize - 1) / PageSize, ilimit: o.Inodes, frames: o.Frames}
	fs.xlimit = o.Inodes * xattrInodeSpace
	fs.nextIno.Store(1)
	fs.root = fs.newInode(vfs.S_IFDIR|o.Mode&0o7777, o.UID, o.GID)
	fs.root.parent = fs.root
	fs.root.nlink = 2
	return fs
}

// SetFrames sets where shared mappings' pages live.
func (fs *FS) SetFrames(f mm.Frames) { fs.frames = f }

// Root implements vfs.FileSystem.
func (fs *FS) Root() vfs.Inode { return fs.root }

// Type implements vfs.FileSystem.
func (fs *FS) Type() string { return "tmpfs" }

// Sync implements vfs.FileSystem: memory has nothing to flush.
func (fs *FS) Sync() unix.Errno { return 0 }

// Statfs implements vfs.FileSystem.
func (fs *FS) Statfs(*vfs.Context) (vfs.Statfs, unix.Errno) {
	used := uint64(fs.used.Load())
	blocks := uint64(fs.limit)
	files := uint64(fs.ilimit)
	inodes := uint64(fs.inodes.Load())
	return vfs.Statfs{
		Type: TMPFS_MAGIC, Bsize: PageSize, Frsize: PageSize, Namelen: vfs.NAME_MAX,
		Blocks: blocks, Bfree: blocks - min(used, blocks), Bavail: blocks - min(used, blocks),
		Files: files, Ffree: files - min(inodes, files),
	}, 0
}

// Used returns the bytes of file data allocated.
func (fs *FS) Used() int64 { return fs.used.Load() * PageSize }

type dirent struct {
	name    string
	inode   *inode
	pos     uint64
	removed bool
}

// inode is every kind of tmpfs file.
type inode struct {
	fs  *FS
	ino uint64

	// Guarded by fs.mu.
	mode                       uint32
	uid, gid                   uint32
	nlink                      uint32
	rdev                       uint64
	atime, mtime, ctime, btime vfs.Timespec
	xattrs                     map[string][]byte
	opens, maps                int // open descriptions and mapping address spaces
	// An O_TMPFILE file that no link has named yet: counted in
	// fs.inodes until it goes, and linkable unless opened O_EXCL.
	unnamed, linkable bool

	// Directories (fs.mu).
	entries map[string]*dirent
	order   []*dirent // by pos; removed entries are compacted lazily
	nextPos uint64
	parent  *inode
	name    string // its name in parent

	target string      // symlinks
	fifo   *posix.FIFO // FIFOs

	// Regular files.
	data   sync.RWMutex
	size   int64
	pages  map[int64][]byte // page index -> PageSize bytes; missing pages are holes
	frames map[int64]uint64 // pages that live in guest frames
	dead   []uint64         // frames of truncated pages a mapping may still map
}

func (fs *FS) newInode(mode, uid, gid uint32) *inode {
	now := vfs.Now()
	n := &inode{fs: fs, ino: fs.nextIno.Add(1), mode: mode, uid: uid, gid: gid, nlink: 1,
		atime: now, mtime: now, ctime: now, btime: now}
	switch vfs.FileType(mode) {
	case vfs.S_IFDIR:
		n.entries = map[string]*dirent{}
		n.nextPos = vfs.FirstPos
		n.nlink = 2
	case vfs.S_IFIFO:
		n.fifo = posix.NewFIFO()
	}
	fs.inodes.Add(1)
	return n
}

func (n *inode) isDir() bool { return vfs.IsDir(n.mode) }

// Ino implements vfs.Inode.
func (n *inode) Ino() uint64 { return n.ino }

// Stat implements vfs.Inode.
func (n *inode) Stat(*vfs.Context) (vfs.Stat, unix.Errno) {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	return n.statLocked(), 0
}

func (n *inode) statLocked() vfs.Stat {
	st := vfs.Stat{
		Mask: unix.STATX_BASIC_STATS | unix.STATX_BTIME,
		Ino:  n.ino, Mode: n.mode, Nlink: n.nlink, UID: n.uid, GID: n.gid, Rdev: n.rdev,
		Blksize: PageSize, Atime: n.atime, Mtime: n.mtime, Ctime: n.ctime, Btime: n.btime,
	}
	switch vfs.FileType(n.mode) {
	case vfs.S_IFREG:
		n.data.RLock()
		st.Size = n.size
		st.Blocks = int64(len(n.pages)) * (PageSize / 512)
		n.data.RUnlock()
	case vfs.S_IFDIR:
		// Linux's tmpfs: BOGO_DIRENT_SIZE (20) per entry.
		st.Size = int64(len(n.entries)+2) * 20
	case vfs.S_IFLNK:
		st.Size = int64(len(n.target))
	}
	return st
}

// SetAttr implements vfs.Inode.
func (n *inode) SetAttr(_ *vfs.Context, a *vfs.SetAttr) unix.Errno {
	if a.Mask&vfs.SetSize != 0 {
		if !vfs.IsDir(n.mode) && vfs.FileType(n.mode) != vfs.S_IFREG {
			return unix.EINVAL
		}
		if e := n.truncate(a.Size); e != 0 {
			return e
		}
	}
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if a.Mask&vfs.SetMode != 0 {
		n.mode = vfs.FileType(n.mode) | a.Mode&0o7777
	}
	if a.Mask&vfs.SetUID != 0 {
		n.uid = a.UID
	}
	if a.Mask&vfs.SetGID != 0 {
		n.gid = a.GID
	}
	if a.Mask&vfs.SetAtime != 0 {
		n.atime = a.Atime
	}
	if a.Mask&vfs.SetMtime != 0 {
		n.mtime = a.Mtime
	}
	if a.Mask&vfs.SetCtime != 0 {
		n.ctime = a.Ctime
	}
	return 0
}

// touch sets mtime and ctime to now (fs.mu held).
func (n *inode) touch() {
	now := vfs.Now()
	n.mtime, n.ctime = now, now
}

// Readlink implements vfs.Inode.
func (n *inode) Readlink(*vfs.Context) (string, unix.Errno) {
	if !vfs.IsLink(n.mode) {
		return "", unix.EINVAL
	}
	return n.target, 0
}

// FIFO implements vfs.FIFOInode.
func (n *inode) FIFO() *posix.FIFO { return n.fifo }

// DirName implements vfs.DirNamer.
func (n *inode) DirName() (string, unix.Errno) {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if n.nlink == 0 {
		return "", unix.ENOENT
	}
	return n.name, 0
}

// RemovedName implements vfs.RemovedNamer: the name the directory had,
// removed or not.
func (n *inode) RemovedName() string {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	return n.name
}

// Lookup implements vfs.Inode.
func (n *inode) Lookup(_ *vfs.Context, name string) (vfs.Inode, unix.Errno) {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if !n.isDir() {
		return nil, unix.ENOTDIR
	}
	if name == ".." {
		return n.parent, 0
	}
	d, ok := n.entries[name]
	if !ok {
		return nil, unix.ENOENT
	}
	return d.inode, 0
}

func (n *inode) addEntry(name string, c *inode) {
	d := &dirent{name: name, inode: c, pos: n.nextPos}
	n.nextPos++
	n.entries[name] = d
	n.order = append(n.order, d)
	if c.isDir() {
		c.parent, c.name = n, name
		n.nlink++
	}
	n.touch()
}

func (n *inode) removeEntry(name string) *dirent {
	d := n.entries[name]
	delete(n.entries, name)
	d.removed = true
	if len(n.order) > 32 && len(n.entries) < len(n.order)/2 {
		out := n.order[:0]
		for _, x := range n.order {
			if !x.removed {
				out = append(out, x)
			}
		}
		clear(n.order[len(out):])
		n.order = out
	}
	if d.inode.isDir() {
		n.nlink--
	}
	n.touch()
	return d
}

// Create implements vfs.Inode.
func (n *inode) Create(_ *vfs.Context, name string, a vfs.CreateAttr) (vfs.Inode, unix.Errno) {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if !n.isDir() {
		return nil, unix.ENOTDIR
	}
	if n.nlink == 0 {
		return nil, unix.ENOENT
	}
	if _, ok := n.entries[name]; ok {
		return nil, unix.EEXIST
	}
	if n.fs.inodes.Load() >= n.fs.ilimit {
		return nil, unix.ENOSPC
	}
	c := n.fs.newInode(a.Mode, a.UID, a.GID)
	switch vfs.FileType(a.Mode) {
	case vfs.S_IFLNK:
		c.target = a.Target
	case vfs.S_IFCHR, vfs.S_IFBLK:
		c.rdev = a.Rdev
	}
	n.addEntry(name, c)
	return c, 0
}

// Link implements vfs.Inode.
func (n *inode) Link(_ *vfs.Context, name string, target vfs.Inode) unix.Errno {
	t, ok := target.(*inode)
	if !ok || t.fs != n.fs {
		return unix.EXDEV
	}
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if !n.isDir() {
		return unix.ENOTDIR
	}
	if n.nlink == 0 || (t.nlink == 0 && !t.linkable) {
		return unix.ENOENT
	}
	if _, ok := n.entries[name]; ok {
		return unix.EEXIST
	}
	// A tmpfile's first link: its inode count carries over, and it is
	// never linkable again once its links go (Linux clears I_LINKABLE).
	t.unnamed, t.linkable = false, false
	t.nlink++
	t.ctime = vfs.Now()
	n.addEntry(name, t)
	return 0
}

// CreateTmpfile implements vfs.TmpfileDir.
func (n *inode) CreateTmpfile(_ *vfs.Context, a vfs.CreateAttr, linkable bool) (vfs.Inode, unix.Errno) {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if !n.isDir() {
		return nil, unix.ENOTDIR
	}
	if n.nlink == 0 {
		return nil, unix.ENOENT
	}
	if n.fs.inodes.Load() >= n.fs.ilimit {
		return nil, unix.ENOSPC
	}
	c := n.fs.newInode(vfs.S_IFREG|a.Mode&0o7777, a.UID, a.GID)
	c.nlink, c.unnamed, c.linkable = 0, true, linkable
	return c, 0
}

// Linkable implements vfs.LinkableInode.
func (n *inode) Linkable() bool {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	return n.nlink == 0 && n.linkable
}

// Unlink implements vfs.Inode.
func (n *inode) Unlink(_ *vfs.Context, name string, dir bool) unix.Errno {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if !n.isDir() {
		return unix.ENOTDIR
	}
	d, ok := n.entries[name]
	if !ok {
		return unix.ENOENT
	}
	c := d.inode
	if dir {
		if !c.isDir() {
			return unix.ENOTDIR
		}
		if len(c.entries) > 0 {
			return unix.ENOTEMPTY
		}
	} else if c.isDir() {
		return unix.EISDIR
	}
	n.removeEntry(name)
	c.dropLink()
	return 0
}

// dropLink removes one link of c (fs.mu held).
func (c *inode) dropLink() {
	if c.isDir() {
		c.nlink = 0
	} else {
		c.nlink--
	}
	c.ctime = vfs.Now()
	if c.nlink == 0 {
		c.fs.inodes.Add(-1)
		if vfs.FileType(c.mode) != vfs.S_IFREG {
			c.dropXattrs() // a regular file's go with its data
		}
		c.maybeEvict()
	}
}

// maybeEvict frees a file's data once nothing refers to it (fs.mu held).
func (c *inode) maybeEvict() {
	if c.nlink != 0 || c.opens != 0 || c.maps != 0 || vfs.FileType(c.mode) != vfs.S_IFREG {
		return
	}
	if c.unnamed {
		c.unnamed, c.linkable = false, false
		c.fs.inodes.Add(-1)
	}
	c.dropXattrs()
	c.data.Lock()
	c.fs.used.Add(-int64(len(c.pages)))
	var frames []uint64
	for _, pa := range c.frames {
		frames = append(frames, pa)
	}
	frames = append(frames, c.dead...)
	c.pages, c.frames, c.dead, c.size = nil, nil, nil, 0
	c.data.Unlock()
	if len(frames) > 0 && c.fs.frames != nil {
		c.fs.frames.FreeFrames(frames)
	}
}

// Rename implements vfs.Inode.
func (n *inode) Rename(_ *vfs.Context, oldName string, newDir vfs.Inode, newName string, flags uint32) unix.Errno {
	nd, ok := newDir.(*inode)
	if !ok || nd.fs != n.fs {
		return unix.EXDEV
	}
	fs := n.fs
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if !n.isDir() || !nd.isDir() {
		return unix.ENOTDIR
	}
	od, ok := n.entries[oldName]
	if !ok {
		return unix.ENOENT
	}
	src := od.inode
	tgt, exists := nd.entries[newName]
	if flags&vfs.RENAME_EXCHANGE != 0 {
		if !exists {
			return unix.ENOENT
		}
		dst := tgt.inode
		n.removeEntry(oldName)
		nd.removeEntry(newName)
		n.addEntry(oldName, dst)
		nd.addEntry(newName, src)
		now := vfs.Now()
		src.ctime, dst.ctime = now, now
		return 0
	}
	if exists {
		if flags&vfs.RENAME_NOREPLACE != 0 {
			return unix.EEXIST
		}
		dst := tgt.inode
		switch {
		case src.isDir() && !dst.isDir():
			return unix.ENOTDIR
		case !src.isDir() && dst.isDir():
			return unix.EISDIR
		case dst.isDir() && len(dst.entries) > 0:
			return unix.ENOTEMPTY
		}
		nd.removeEntry(newName)
		dst.dropLink()
	}
	n.removeEntry(oldName)
	nd.addEntry(newName, src)
	src.ctime = vfs.Now()
	return 0
}

// ReadDir implements vfs.Inode.
func (n *inode) ReadDir(_ *vfs.Context, pos uint64, fn func(vfs.Dirent) bool) unix.Errno {
	n.fs.mu.Lock()
	if !n.isDir() {
		n.fs.mu.Unlock()
		return unix.ENOTDIR
	}
	i := sort.Search(len(n.order), func(i int) bool { return n.order[i].pos >= pos })
	// Entries are reported without the lock held (fn may take others);
	// a snapshot of a bounded batch keeps that cheap.
	var batch []vfs.Dirent
	for ; i < len(n.order) && len(batch) < 256; i++ {
		d := n.order[i]
		if d.removed {
			continue
		}
		batch = append(batch, vfs.Dirent{Name: d.name, Ino: d.inode.ino, Type: vfs.DTType(d.inode.mode), Next: d.pos + 1})
	}
	more := i < len(n.order)
	n.fs.mu.Unlock()
	for _, d := range batch {
		if !fn(d) {
			return 0
		}
	}
	if more && len(batch) > 0 {
		return n.ReadDir(nil, batch[len(batch)-1].Next, fn)
	}
	return 0
}

// Open implements vfs.Inode.
func (n *inode) Open(_ *vfs.Context, flags int) (vfs.FileImpl, unix.Errno) {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	switch vfs.FileType(n.mode) {
	case vfs.S_IFDIR:
		return dirFile{}, 0
	case vfs.S_IFREG:
		n.opens++
		return &regFile{n: n}, 0
	}
	return nil, unix.ENXIO
}

// Xattrs: Linux's tmpfs keeps trusted.*, security.* and (since 6.6)
// user.* attributes in memory; other namespaces are EOPNOTSUPP.
func xattrNamespaceOK(name string) bool {
	for _, p := range []string{"user.", "trusted.", "security."} {
		if strings.HasPrefix(name, p) && len(name) > len(p) {
			return true
		}
	}
	return false
}

// GetXattr implements vfs.XattrInode.
func (n *inode) GetXattr(_ *vfs.Context, name string) ([]byte, unix.Errno) {
	if !xattrNamespaceOK(name) {
		return nil, unix.EOPNOTSUPP
	}
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	v, ok := n.xattrs[name]
	if !ok {
		return nil, unix.ENODATA
	}
	return append([]byte(nil), v...), 0
}

// xattrInodeSpace is the room for extended attributes each inode of the
// limit brings (Linux's BOGO_INODE_SIZE), and xattrCost what one costs.
const xattrInodeSpace = 1024

func xattrCost(name string, value []byte) int64 { return int64(64 + len(name) + len(value)) }

// dropXattrs gives an inode's attributes' room back (fs.mu held).
func (n *inode) dropXattrs() {
	var c int64
	for k, v := range n.xattrs {
		c += xattrCost(k, v)
	}
	n.fs.xattrBytes.Add(-c)
	n.xattrs = nil
}

// SetXattr implements vfs.XattrInode.
func (n *inode) SetXattr(_ *vfs.Context, name string, value []byte, flags int) unix.Errno {
	if !xattrNamespaceOK(name) {
		return unix.EOPNOTSUPP
	}
	// user.* attributes exist only on regular files and directories.
	if strings.HasPrefix(name, "user.") && !n.isDir() && vfs.FileType(n.mode) != vfs.S_IFREG {
		return unix.EPERM
	}
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	_, ok := n.xattrs[name]
	if flags&unix.XATTR_CREATE != 0 && ok {
		return unix.EEXIST
	}
	if flags&unix.XATTR_REPLACE != 0 && !ok {
		return unix.ENODATA
	}
	delta := xattrCost(name, value)
	if old, had := n.xattrs[name]; had {
		delta -= xattrCost(name, old)
	}
	if n.fs.xattrBytes.Add(delta) > n.fs.xlimit && delta > 0 {
		n.fs.xattrBytes.Add(-delta)
		return unix.ENOSPC
	}
	if n.xattrs == nil {
		n.xattrs = map[string][]byte{}
	}
	n.xattrs[name] = append([]byte(nil), value...)
	n.ctime = vfs.Now()
	return 0
}

// ListXattr implements vfs.XattrInode.
func (n *inode) ListXattr(*vfs.Context) ([]string, unix.Errno) {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	var out []string
	for k := range n.xattrs {
		out = append(out, k)
	}
	sort.Strings(out)
	return out, 0
}

// RemoveXattr implements vfs.XattrInode.
func (n *inode) RemoveXattr(_ *vfs.Context, name string) unix.Errno {
	if !xattrNamespaceOK(name) {
		return unix.EOPNOTSUPP
	}
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	old, ok := n.xattrs[name]
	if !ok {
		return unix.ENODATA
	}
	n.fs.xattrBytes.Add(-xattrCost(name, old))
	delete(n.xattrs, name)
	n.ctime = vfs.Now()
	return 0
}

type dirFile struct{}

func (dirFile) ReadAt(*vfs.Context, []byte, int64) (int, unix.Errno)  { return 0, unix.EISDIR }
func (dirFile) WriteAt(*vfs.Context, []byte, int64) (int, unix.Errno) { return 0, unix.EISDIR }
func (dirFile) Release()                                              {}
