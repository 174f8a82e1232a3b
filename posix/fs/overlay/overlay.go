// Package overlay is a writable file system made of a read-only lower
// layer (the image's tree, imagefs) under a writable tmpfs upper layer, as
// Linux's overlayfs: the lower layer never changes.
//
//   - A name is looked up in the upper layer first; an upper directory
//     merges with the lower directory of the same name unless it is
//     opaque; any other upper file hides the lower one.
//   - Changing a lower file (opening it for writing, truncating it,
//     chmod, chown, utimes, xattrs, linking it) first copies it up: its
//     directory chain is made in the upper layer, then the file with its
//     data, attributes and times. Renaming a directory that has lower
//     files copies the whole tree up (Linux answers EXDEV instead unless
//     redirect_dir is on; Go's os.Rename has no fallback, so this does).
//   - Removing a name that the lower layer has leaves a whiteout in the
//     upper layer: a character device 0/0, as overlayfs's. A directory
//     made where the lower layer has one (after removing it) is opaque:
//     the upper xattr trusted.overlay.opaque="y", as overlayfs's.
//   - Inode numbers are the lower file's, kept across copy-up (so a
//     working directory or an open file stays the same file), and for
//     files only the upper layer has, the upper number with bit 40 set.
//
// A file opened for reading before another opener copies it up keeps
// reading the lower data, as on Linux before 4.19. Hard links in the
// lower layer are not broken apart on copy-up: every name then shows the
// copy.
package overlay

import (
	"strings"
	"sync"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/fs/tmpfs"
	"github.com/rumpgo/rumpgo/posix/vfs"
	"golang.org/x/sys/unix"
)

// OVERLAYFS_SUPER_MAGIC is statfs's f_type (linux/magic.h).
const OVERLAYFS_SUPER_MAGIC = 0x794c7630

// The on-layer markers of Linux's overlayfs.
const (
	opaqueXattr   = "trusted.overlay.opaque"
	overlayPrefix = "trusted.overlay."
)

// upperBit marks inode numbers of files only the upper layer has; lower
// inode numbers must stay below it.
const upperBit = 1 << 40

// lowerBase is where a merged directory's positions for lower entries
// start; below it are the upper layer's own positions.
const lowerBase = 1 << 40

// FS is one overlay.
type FS struct {
	upper *tmpfs.FS
	lower vfs.FileSystem

	mu     sync.Mutex
	root   *node
	nodes  map[uint64]*node  // by overlay inode number
	origin map[uint64]uint64 // upper inode number -> lower one, for copies
}

// New puts upper over lower. The upper layer should be empty and used by
// nothing else.
func New(upper *tmpfs.FS, lower vfs.FileSystem) *FS {
	fs := &FS{upper: upper, lower: lower, nodes: map[uint64]*node{}, origin: map[uint64]uint64{}}
	lr, ur := lower.Root(), upper.Root()
	fs.root = &node{fs: fs, ino: lr.Ino(), upper: ur, lower: lr}
	fs.root.parent = fs.root
	fs.origin[ur.Ino()] = lr.Ino()
	fs.nodes[fs.root.ino] = fs.root
	// The upper root takes the lower root's attributes.
	if st, e := lr.Stat(nil); e == 0 {
		ur.SetAttr(nil, &vfs.SetAttr{Mask: vfs.SetMode | vfs.SetUID | vfs.SetGID | vfs.SetAtime | vfs.SetMtime | vfs.SetCtime,
			Mode: st.Mode & 0o7777, UID: st.UID, GID: st.GID, Atime: st.Atime, Mtime: st.Mtime, Ctime: st.Ctime})
	}
	return fs
}

// Root implements vfs.FileSystem.
func (fs *FS) Root() vfs.Inode { return fs.root }

// Type implements vfs.FileSystem.
func (fs *FS) Type() string { return "overlay" }

// Sync implements vfs.FileSystem.
func (fs *FS) Sync() unix.Errno { return 0 }

// Statfs implements vfs.FileSystem: the upper layer's space.
func (fs *FS) Statfs(ctx *vfs.Context) (vfs.Statfs, unix.Errno) {
	s, e := fs.upper.Statfs(ctx)
	s.Type = OVERLAYFS_SUPER_MAGIC
	return s, e
}

// node is a file of the overlay: one per file, kept in fs.nodes so that
// every lookup of it gives the same value and copy-up updates it in place.
type node struct {
	fs  *FS
	ino uint64

	// Guarded by fs.mu.
	upper   vfs.Inode // nil until copied up
	lower   vfs.Inode // nil for files only the upper layer has
	parent  *node     // where it was last found (a directory's only parent)
	name    string
	removed bool // a lower file whose name was removed
}

func isDirIno(i vfs.Inode) bool {
	st, e := i.Stat(nil)
	return e == 0 && vfs.IsDir(st.Mode)
}

func isWhiteout(i vfs.Inode) bool {
	st, e := i.Stat(nil)
	return e == 0 && vfs.FileType(st.Mode) == vfs.S_IFCHR && st.Rdev == 0
}

func isOpaque(upper vfs.Inode) bool {
	x, ok := upper.(vfs.XattrInode)
	if !ok {
		return false
	}
	v, e := x.GetXattr(vfs.RootContext(), opaqueXattr)
	return e == 0 && string(v) == "y"
}

func setOpaque(upper vfs.Inode) unix.Errno {
	return upper.(vfs.XattrInode).SetXattr(vfs.RootContext(), opaqueXattr, []byte("y"), 0)
}

// inoOf is the overlay inode number of a file with these layers (fs.mu
// held).
func (fs *FS) inoOf(upper, lower vfs.Inode) uint64 {
	if lower != nil {
		return lower.Ino()
	}
	if o, ok := fs.origin[upper.Ino()]; ok {
		return o
	}
	return upper.Ino() | upperBit
}

// nodeFor returns the node of a file found as name in dir (fs.mu held).
func (fs *FS) nodeFor(dir *node, name string, upper, lower vfs.Inode) *node {
	ino := fs.inoOf(upper, lower)
	n, ok := fs.nodes[ino]
	if !ok {
		n = &node{fs: fs, ino: ino}
		fs.nodes[ino] = n
	}
	if upper != nil {
		n.upper = upper
	}
	if lower != nil && n.lower == nil {
		n.lower = lower
	}
	n.parent, n.name, n.removed = dir, name, false
	return n
}

// layers finds name in directory d: its upper and lower files (fs.mu
// held). ENOENT when neither has it or a whiteout hides it.
func (d *node) layers(name string) (upper, lower vfs.Inode, e unix.Errno) {
	ctx := vfs.RootContext()
	if d.upper != nil {
		c, e := d.upper.Lookup(ctx, name)
		switch {
		case e == 0 && isWhiteout(c):
			return nil, nil, unix.ENOENT
		case e == 0:
			upper = c
		case e != unix.ENOENT:
			return nil, nil, e
		}
	}
	if d.lower != nil && (d.upper == nil || !isOpaque(d.upper)) && (upper == nil || isDirIno(upper)) {
		c, e := d.lower.Lookup(ctx, name)
		if e == 0 && (upper == nil || (isDirIno(c) && !isOpaque(upper))) {
			lower = c
		} else if e != 0 && e != unix.ENOENT {
			return nil, nil, e
		}
	}
	if upper == nil && lower == nil {
		return nil, nil, unix.ENOENT
	}
	return upper, lower, 0
}

// lowerHas reports whether the lower layer shows name in d, so removing
// the name needs a whiteout (fs.mu held).
func (d *node) lowerHas(name string) bool {
	if d.lower == nil || (d.upper != nil && isOpaque(d.upper)) {
		return false
	}
	_, e := d.lower.Lookup(vfs.RootContext(), name)
	return e == 0
}

func (d *node) isDir() bool {
	if d.upper != nil {
		return isDirIno(d.upper)
	}
	return isDirIno(d.lower)
}

// Ino implements vfs.Inode.
func (n *node) Ino() uint64 { return n.ino }

func (n *node) top() vfs.Inode {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if n.upper != nil {
		return n.upper
	}
	return n.lower
}

// Stat implements vfs.Inode.
func (n *node) Stat(ctx *vfs.Context) (vfs.Stat, unix.Errno) {
	st, e := n.top().Stat(ctx)
	st.Ino = n.ino
	n.fs.mu.Lock()
	if n.removed && n.upper == nil {
		st.Nlink = 0
	}
	n.fs.mu.Unlock()
	return st, e
}

// SetAttr implements vfs.Inode: on the copy.
func (n *node) SetAttr(ctx *vfs.Context, a *vfs.SetAttr) unix.Errno {
	n.fs.mu.Lock()
	// Truncating to zero needs no copy of the data.
	e := n.copyUp(!(a.Mask&vfs.SetSize != 0 && a.Size == 0))
	up := n.upper
	n.fs.mu.Unlock()
	if e != 0 {
		return e
	}
	return up.SetAttr(ctx, a)
}

// Readlink implements vfs.Inode.
func (n *node) Readlink(ctx *vfs.Context) (string, unix.Errno) { return n.top().Readlink(ctx) }

// FIFO implements vfs.FIFOInode: FIFOs live in the upper layer.
func (n *node) FIFO() *posix.FIFO {
	if f, ok := n.top().(vfs.FIFOInode); ok {
		return f.FIFO()
	}
	return posix.NewFIFO()
}

// DirName implements vfs.DirNamer.
func (n *node) DirName() (string, unix.Errno) {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if n.removed {
		return "", unix.ENOENT
	}
	if n.upper != nil {
		if st, _ := n.upper.Stat(nil); st.Nlink == 0 {
			return "", unix.ENOENT
		}
	}
	return n.name, 0
}

// Open implements vfs.Inode: writers get the copy.
func (n *node) Open(ctx *vfs.Context, flags int) (vfs.FileImpl, unix.Errno) {
	n.fs.mu.Lock()
	if flags&unix.O_ACCMODE != unix.O_RDONLY && n.upper == nil && !isDirIno(n.lower) {
		if e := n.copyUp(true); e != 0 {
			n.fs.mu.Unlock()
			return nil, e
		}
	}
	t := n.upper
	if t == nil {
		t = n.lower
	}
	n.fs.mu.Unlock()
	return t.Open(ctx, flags)
}

// copyUp makes n's upper file from its lower one (fs.mu held); withData
// copies a regular file's bytes too.
func (n *node) copyUp(withData bool) unix.Errno {
	if n.upper != nil {
		return 0
	}
	if n.parent == nil || n.parent == n {
		return unix.EIO // the root always has an upper directory
	}
	if e := n.parent.copyUp(true); e != 0 {
		return e
	}
	ctx := vfs.RootContext()
	st, e := n.lower.Stat(ctx)
	if e != 0 {
		return e
	}
	a := vfs.CreateAttr{Mode: st.Mode, UID: st.UID, GID: st.GID}
	if vfs.IsLink(st.Mode) {
		if a.Target, e = n.lower.Readlink(ctx); e != 0 {
			return e
		}
	}
	up, e := n.parent.upper.Create(ctx, n.name, a)
	if e != 0 {
		return e
	}
	if vfs.FileType(st.Mode) == vfs.S_IFREG && withData && st.Size > 0 {
		if e := copyData(ctx, n.lower, up, st.Size); e != 0 {
			n.parent.upper.Unlink(ctx, n.name, false)
			return e
		}
	}
	if x, ok := n.lower.(vfs.XattrInode); ok {
		if names, e := x.ListXattr(ctx); e == 0 {
			for _, k := range names {
				if v, e := x.GetXattr(ctx, k); e == 0 {
					up.(vfs.XattrInode).SetXattr(ctx, k, v, 0)
				}
			}
		}
	}
	up.SetAttr(ctx, &vfs.SetAttr{Mask: vfs.SetAtime | vfs.SetMtime | vfs.SetCtime, Atime: st.Atime, Mtime: st.Mtime, Ctime: st.Ctime})
	n.fs.origin[up.Ino()] = n.ino
	n.upper = up
	return 0
}

func copyData(ctx *vfs.Context, from, to vfs.Inode, size int64) unix.Errno {
	src, e := from.Open(ctx, unix.O_RDONLY)
	if e != 0 {
		return e
	}
	defer src.Release()
	dst, e := to.Open(ctx, unix.O_WRONLY)
	if e != 0 {
		return e
	}
	defer dst.Release()
	buf := make([]byte, 1<<20)
	for off := int64(0); off < size; {
		n, e := src.ReadAt(ctx, buf, off)
		if e != 0 {
			return e
		}
		if n == 0 {
			break
		}
		if _, e := dst.WriteAt(ctx, buf[:n], off); e != 0 {
			return e
		}
		off += int64(n)
	}
	return 0
}

// copyUpTree copies up a directory and everything below it, and makes it
// opaque: the upper layer then holds it all (fs.mu held).
func (n *node) copyUpTree() unix.Errno {
	if e := n.copyUp(true); e != 0 {
		return e
	}
	if n.lower == nil || isOpaque(n.upper) {
		return 0
	}
	for _, name := range n.mergedNames() {
		up, lo, e := n.layers(name)
		if e != 0 {
			continue
		}
		c := n.fs.nodeFor(n, name, up, lo)
		if c.isDir() {
			e = c.copyUpTree()
		} else {
			e = c.copyUp(true)
		}
		if e != 0 {
			return e
		}
	}
	return setOpaque(n.upper)
}

// mergedNames lists d's visible names (fs.mu held).
func (d *node) mergedNames() []string {
	var names []string
	d.readDir(vfs.FirstPos, func(de vfs.Dirent) bool {
		names = append(names, de.Name)
		return true
	})
	return names
}

func (d *node) mergedEmpty() bool {
	empty := true
	d.readDir(vfs.FirstPos, func(vfs.Dirent) bool {
		empty = false
		return false
	})
	return empty
}

// Lookup implements vfs.Inode.
func (n *node) Lookup(_ *vfs.Context, name string) (vfs.Inode, unix.Errno) {
	fs := n.fs
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if !n.isDir() {
		return nil, unix.ENOTDIR
	}
	if name == ".." {
		return n.parent, 0
	}
	up, lo, e := n.layers(name)
	if e != 0 {
		return nil, e
	}
	return fs.nodeFor(n, name, up, lo), 0
}

// dropWhiteout removes a whiteout at name in d's upper directory (fs.mu
// held).
func (d *node) dropWhiteout(name string) {
	if c, e := d.upper.Lookup(nil, name); e == 0 && isWhiteout(c) {
		d.upper.Unlink(vfs.RootContext(), name, false)
	}
}

// Create implements vfs.Inode.
func (n *node) Create(ctx *vfs.Context, name string, a vfs.CreateAttr) (vfs.Inode, unix.Errno) {
	fs := n.fs
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if !n.isDir() {
		return nil, unix.ENOTDIR
	}
	if _, _, e := n.layers(name); e == 0 {
		return nil, unix.EEXIST
	}
	if e := n.copyUp(true); e != 0 {
		return nil, e
	}
	n.dropWhiteout(name)
	c, e := n.upper.Create(ctx, name, a)
	if e != 0 {
		return nil, e
	}
	if vfs.IsDir(a.Mode) && n.lowerHas(name) {
		setOpaque(c)
	}
	return fs.nodeFor(n, name, c, nil), 0
}

// CreateTmpfile implements vfs.TmpfileDir: the unnamed file lives in the
// upper layer, as Linux's overlayfs (6.6 on) makes it there.
func (n *node) CreateTmpfile(ctx *vfs.Context, a vfs.CreateAttr, linkable bool) (vfs.Inode, unix.Errno) {
	fs := n.fs
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if !n.isDir() {
		return nil, unix.ENOTDIR
	}
	if e := n.copyUp(true); e != 0 {
		return nil, e
	}
	td, ok := n.upper.(vfs.TmpfileDir)
	if !ok {
		return nil, unix.EOPNOTSUPP
	}
	c, e := td.CreateTmpfile(ctx, a, linkable)
	if e != 0 {
		return nil, e
	}
	return fs.nodeFor(n, "", c, nil), 0
}

// Linkable implements vfs.LinkableInode.
func (n *node) Linkable() bool {
	n.fs.mu.Lock()
	up := n.upper
	n.fs.mu.Unlock()
	l, ok := up.(vfs.LinkableInode)
	return ok && l.Linkable()
}

// Link implements vfs.Inode.
func (n *node) Link(ctx *vfs.Context, name string, target vfs.Inode) unix.Errno {
	t, ok := target.(*node)
	if !ok || t.fs != n.fs {
		return unix.EXDEV
	}
	fs := n.fs
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if !n.isDir() {
		return unix.ENOTDIR
	}
	if _, _, e := n.layers(name); e == 0 {
		return unix.EEXIST
	}
	if e := t.copyUp(true); e != 0 {
		return e
	}
	if e := n.copyUp(true); e != 0 {
		return e
	}
	n.dropWhiteout(name)
	if e := n.upper.Link(ctx, name, t.upper); e != 0 {
		return e
	}
	if t.name == "" {
		t.parent, t.name = n, name // a tmpfile's first name
	}
	return 0
}

// whiteout hides the lower name in d (fs.mu held).
func (d *node) whiteout(name string) unix.Errno {
	if !d.lowerHas(name) {
		return 0
	}
	if e := d.copyUp(true); e != 0 {
		return e
	}
	_, e := d.upper.Create(vfs.RootContext(), name, vfs.CreateAttr{Mode: vfs.S_IFCHR})
	return e
}

// clearWhiteouts removes the whiteouts of an upper directory about to go
// (fs.mu held).
func clearWhiteouts(dir vfs.Inode) {
	var names []string
	dir.ReadDir(nil, vfs.FirstPos, func(d vfs.Dirent) bool {
		if d.Type == vfs.DT_CHR {
			names = append(names, d.Name)
		}
		return true
	})
	for _, name := range names {
		if c, e := dir.Lookup(nil, name); e == 0 && isWhiteout(c) {
			dir.Unlink(vfs.RootContext(), name, false)
		}
	}
}

// Unlink implements vfs.Inode.
func (n *node) Unlink(ctx *vfs.Context, name string, dir bool) unix.Errno {
	fs := n.fs
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if !n.isDir() {
		return unix.ENOTDIR
	}
	up, lo, e := n.layers(name)
	if e != 0 {
		return e
	}
	c := fs.nodeFor(n, name, up, lo)
	isDir := c.isDir()
	switch {
	case dir && !isDir:
		return unix.ENOTDIR
	case !dir && isDir:
		return unix.EISDIR
	case dir && !c.mergedEmpty():
		return unix.ENOTEMPTY
	}
	if up != nil {
		if isDir {
			clearWhiteouts(up)
		}
		if e := n.upper.Unlink(ctx, name, dir); e != 0 {
			return e
		}
	}
	if e := n.whiteout(name); e != 0 {
		return e
	}
	if up == nil || isDir {
		c.removed = true
	}
	if up != nil {
		if st, _ := up.Stat(nil); st.Nlink == 0 {
			c.removed = true
			if c.lower == nil {
				delete(fs.nodes, c.ino) // open files keep the node itself
			}
		}
	}
	return 0
}

// Rename implements vfs.Inode.
func (n *node) Rename(ctx *vfs.Context, oldName string, newDir vfs.Inode, newName string, flags uint32) unix.Errno {
	nd, ok := newDir.(*node)
	if !ok || nd.fs != n.fs {
		return unix.EXDEV
	}
	fs := n.fs
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if !n.isDir() || !nd.isDir() {
		return unix.ENOTDIR
	}
	sup, slo, e := n.layers(oldName)
	if e != 0 {
		return e
	}
	src := fs.nodeFor(n, oldName, sup, slo)
	dup, dlo, de := nd.layers(newName)
	exists := de == 0
	var dst *node
	if exists {
		dst = fs.nodeFor(nd, newName, dup, dlo)
	}
	exchange := flags&vfs.RENAME_EXCHANGE != 0
	switch {
	case exists && flags&vfs.RENAME_NOREPLACE != 0:
		return unix.EEXIST
	case !exists && exchange:
		return unix.ENOENT
	case exists && src == dst:
		return 0
	}
	srcDir := src.isDir()
	if exists && !exchange {
		dstDir := dst.isDir()
		switch {
		case srcDir && !dstDir:
			return unix.ENOTDIR
		case !srcDir && dstDir:
			return unix.EISDIR
		case dstDir && !dst.mergedEmpty():
			return unix.ENOTEMPTY
		}
	}
	full := func(c *node) unix.Errno {
		if c.isDir() {
			return c.copyUpTree()
		}
		return c.copyUp(true)
	}
	if e := full(src); e != 0 {
		return e
	}
	if exchange {
		if e := full(dst); e != 0 {
			return e
		}
	}
	if e := n.copyUp(true); e != 0 {
		return e
	}
	if e := nd.copyUp(true); e != 0 {
		return e
	}
	if exists && !exchange && dup != nil {
		if dst.isDir() {
			clearWhiteouts(dup)
		}
		if e := nd.upper.Unlink(ctx, newName, dst.isDir()); e != 0 {
			return e
		}
		dst.removed = true
	} else if exists && !exchange {
		dst.removed = true
	}
	nd.dropWhiteout(newName)
	if e := n.upper.Rename(ctx, oldName, nd.upper, newName, flags&vfs.RENAME_EXCHANGE); e != 0 {
		return e
	}
	if !exchange {
		if e := n.whiteout(oldName); e != 0 {
			return e
		}
	}
	// Moved directories hold all their files now; opaque keeps a lower
	// directory of the new name from showing through.
	if srcDir {
		setOpaque(src.upper)
	}
	src.parent, src.name = nd, newName
	if exchange {
		if dst.isDir() {
			setOpaque(dst.upper)
		}
		dst.parent, dst.name = n, oldName
	}
	return 0
}

// ReadDir implements vfs.Inode: the upper directory's entries at its own
// positions, then the lower one's that the upper layer does not have at
// lowerBase plus theirs.
func (n *node) ReadDir(_ *vfs.Context, pos uint64, fn func(vfs.Dirent) bool) unix.Errno {
	n.fs.mu.Lock()
	if !n.isDir() {
		n.fs.mu.Unlock()
		return unix.ENOTDIR
	}
	var batch []vfs.Dirent
	n.readDir(pos, func(d vfs.Dirent) bool {
		batch = append(batch, d)
		return true
	})
	n.fs.mu.Unlock()
	for _, d := range batch {
		if !fn(d) {
			break
		}
	}
	return 0
}

// readDir lists entries from pos (fs.mu held).
func (n *node) readDir(pos uint64, fn func(vfs.Dirent) bool) {
	more := true
	if pos < lowerBase && n.upper != nil {
		n.upper.ReadDir(nil, pos, func(d vfs.Dirent) bool {
			if d.Type == vfs.DT_CHR {
				if c, e := n.upper.Lookup(nil, d.Name); e == 0 && isWhiteout(c) {
					return true
				}
			}
			if o, ok := n.fs.origin[d.Ino]; ok {
				d.Ino = o
			} else {
				d.Ino |= upperBit
			}
			more = fn(d)
			return more
		})
	}
	if !more || n.lower == nil || (n.upper != nil && isOpaque(n.upper)) {
		return
	}
	lpos := uint64(vfs.FirstPos)
	if pos > lowerBase {
		lpos = pos - lowerBase
	}
	n.lower.ReadDir(nil, lpos, func(d vfs.Dirent) bool {
		if n.upper != nil {
			if _, e := n.upper.Lookup(nil, d.Name); e == 0 {
				return true // shown from the upper layer, or whited out
			}
		}
		d.Next += lowerBase
		return fn(d)
	})
}

// Xattrs: the upper file's, less overlayfs's own.

// GetXattr implements vfs.XattrInode.
func (n *node) GetXattr(ctx *vfs.Context, name string) ([]byte, unix.Errno) {
	if strings.HasPrefix(name, overlayPrefix) {
		return nil, unix.ENODATA
	}
	if x, ok := n.top().(vfs.XattrInode); ok {
		return x.GetXattr(ctx, name)
	}
	for _, p := range []string{"user.", "trusted.", "security."} {
		if strings.HasPrefix(name, p) {
			return nil, unix.ENODATA
		}
	}
	return nil, unix.EOPNOTSUPP
}

// SetXattr implements vfs.XattrInode.
func (n *node) SetXattr(ctx *vfs.Context, name string, value []byte, flags int) unix.Errno {
	if strings.HasPrefix(name, overlayPrefix) {
		return unix.EPERM
	}
	n.fs.mu.Lock()
	e := n.copyUp(true)
	up := n.upper
	n.fs.mu.Unlock()
	if e != 0 {
		return e
	}
	return up.(vfs.XattrInode).SetXattr(ctx, name, value, flags)
}

// ListXattr implements vfs.XattrInode.
func (n *node) ListXattr(ctx *vfs.Context) ([]string, unix.Errno) {
	x, ok := n.top().(vfs.XattrInode)
	if !ok {
		return nil, 0
	}
	names, e := x.ListXattr(ctx)
	out := names[:0]
	for _, k := range names {
		if !strings.HasPrefix(k, overlayPrefix) {
			out = append(out, k)
		}
	}
	return out, e
}

// RemoveXattr implements vfs.XattrInode.
func (n *node) RemoveXattr(ctx *vfs.Context, name string) unix.Errno {
	if strings.HasPrefix(name, overlayPrefix) {
		return unix.EPERM
	}
	n.fs.mu.Lock()
	e := n.copyUp(true)
	up := n.upper
	n.fs.mu.Unlock()
	if e != 0 {
		return e
	}
	return up.(vfs.XattrInode).RemoveXattr(ctx, name)
}
