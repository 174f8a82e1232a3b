// Package hostfs mounts a host directory in the guest (`-v HOST:GUEST[:ro]`)
// so that no operation can reach a host file outside it.
//
// Every inode holds one O_PATH descriptor of its host file. Every
// operation is one host call on that descriptor, or relative to a
// directory's descriptor with a single path component that vfs gave (never
// "/", "." or ".."): lookups are openat2(O_PATH|O_NOFOLLOW) with
// RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS, creation uses
// O_EXCL|O_NOFOLLOW, and symlinks are never followed on the host: vfs
// resolves them (and "..") itself, in the guest's namespace, where the
// mount's root answers ".." with itself. Where the kernel has no call on an
// O_PATH descriptor (reopening it for I/O, chmod, xattrs, linking it),
// the descriptor's own /proc/self/fd/N is used: that magic link names
// exactly the inode already held, never a path.
//
// Directories remember the directory they were found in, for "..": a
// directory renamed on the host behind the guest's back may report a stale
// parent, but never one outside the volume. Device nodes cannot be made
// (EPERM), whatever the guest's capabilities: they would open host devices.
// A read-only volume refuses every change with EROFS here as well as in
// vfs. fsync and fdatasync are the host's; syncfs is syncfs(2) on the host
// file system.
//
// Ownership is the host's: files the guest makes belong to the user
// running rumpgo, and chown asks the host (EPERM unless rumpgo is root);
// with Options.Owners (volumes and an OCI root) a root rumpgo gives them
// the maker's UID and GID, as Linux does natively.
package hostfs

import (
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"weak"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/vfs"
	"golang.org/x/sys/unix"
)

// Options configure a volume.
type Options struct {
	ReadOnly bool
	// Owners gives what the guest makes its maker's UID and GID (the
	// guest's, not rumpgo's), as a container's own writable layer has
	// them: an OCI runtime's root. Only a root rumpgo can; otherwise
	// the host's ownership stays.
	Owners bool
}

type key struct{ dev, ino uint64 }

// FS is one host directory.
type FS struct {
	root   *inode
	ro     bool
	owners bool   // Options.Owners
	dev    uint64 // the root's host device

	mu    sync.Mutex
	cache map[key]weak.Pointer[inode]
	devs  map[uint64]uint64 // other host devices below the root -> index
	fifos map[key]*posix.FIFO

	live   atomic.Int64 // O_PATH descriptors held
	gcMark int64
}

// New opens the host directory dir, or a regular file: a file system
// of that one file, which vfs mounts on a file (a file's bind mount).
func New(dir string, o Options) (*FS, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("volume %s: %w", dir, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("volume %s: %w", dir, err)
	}
	if t := st.Mode & unix.S_IFMT; t != unix.S_IFDIR && t != unix.S_IFREG {
		unix.Close(fd)
		return nil, fmt.Errorf("volume %s: neither a directory nor a regular file", dir)
	}
	fs := &FS{ro: o.ReadOnly, owners: o.Owners, dev: st.Dev, cache: map[key]weak.Pointer[inode]{}, devs: map[uint64]uint64{},
		fifos: map[key]*posix.FIFO{}}
	// Descriptors of unused inodes go when the collector finds them;
	// collect early once a good share of the limit is held.
	var rl unix.Rlimit
	fs.gcMark = 4096
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &rl) == nil && rl.Cur > 0 && int64(rl.Cur)/4 > fs.gcMark {
		fs.gcMark = int64(rl.Cur) / 4
	}
	fs.root = fs.inodeOf(fd, &st, nil, "")
	fs.root.parent = fs.root
	return fs, nil
}

// Root implements vfs.FileSystem.
func (fs *FS) Root() vfs.Inode { return fs.root }

// Type implements vfs.FileSystem: a bind mount of the host's file system
// shows its type; the statfs type is the host's too.
func (fs *FS) Type() string { return "hostfs" }

// Statfs implements vfs.FileSystem.
func (fs *FS) Statfs(*vfs.Context) (vfs.Statfs, unix.Errno) {
	var s unix.Statfs_t
	if err := unix.Fstatfs(fs.root.fd, &s); err != nil {
		return vfs.Statfs{}, errno(err)
	}
	out := vfs.Statfs{Type: s.Type, Bsize: s.Bsize, Blocks: s.Blocks, Bfree: s.Bfree, Bavail: s.Bavail,
		Files: s.Files, Ffree: s.Ffree, Namelen: s.Namelen, Frsize: s.Frsize}
	if fs.ro {
		out.Flags |= unix.ST_RDONLY
	}
	return out, 0
}

// Sync implements vfs.FileSystem: syncfs(2) on the host file system.
func (fs *FS) Sync() unix.Errno {
	fd, err := unix.Open(procPath(fs.root.fd), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return errno(err)
	}
	defer unix.Close(fd)
	return errno(unix.Syncfs(fd))
}

func errno(err error) unix.Errno {
	if err == nil {
		return 0
	}
	if e, ok := err.(unix.Errno); ok {
		return e
	}
	return unix.EIO
}

// procPath names the inode an O_PATH descriptor holds.
func procPath(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }

// validName refuses what vfs never passes, in case it ever does.
func validName(name string) bool {
	if name == "" || name == "." || name == ".." || len(name) > vfs.NAME_MAX {
		return false
	}
	for i := 0; i < len(name); i++ {
		if name[i] == '/' || name[i] == 0 {
			return false
		}
	}
	return true
}

// inode is a host file.
type inode struct {
	fs  *FS
	fd  int // O_PATH, O_NOFOLLOW
	key key
	ino uint64
	typ uint32 // S_IFMT

	mu     sync.Mutex
	parent *inode // directories: where it was found
	name   string // directories: its name there
	shared *sharedPages
}

// guestIno maps a host inode number into one namespace: files on other
// host file systems mounted below the root get an index in the top bits.
func (fs *FS) guestIno(dev, ino uint64) uint64 {
	if dev == fs.dev {
		return ino
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	idx, ok := fs.devs[dev]
	if !ok {
		idx = uint64(len(fs.devs) + 1)
		fs.devs[dev] = idx
	}
	return ino ^ idx<<56
}

// inodeOf returns the inode of the host file fd (stat st) found as name
// in parent: the cached one when alive (fd is then closed), else a new one
// owning fd.
func (fs *FS) inodeOf(fd int, st *unix.Stat_t, parent *inode, name string) *inode {
	k := key{st.Dev, st.Ino}
	fs.mu.Lock()
	if wp, ok := fs.cache[k]; ok {
		if in := wp.Value(); in != nil {
			fs.mu.Unlock()
			unix.Close(fd)
			if in.typ == unix.S_IFDIR && parent != nil && in != fs.root {
				in.mu.Lock()
				in.parent, in.name = parent, name
				in.mu.Unlock()
			}
			return in
		}
	}
	fs.mu.Unlock()
	if fs.live.Load() > fs.gcMark {
		runtime.GC() // let cleanups close the descriptors nobody uses
	}
	in := &inode{fs: fs, fd: fd, key: k, ino: fs.guestIno(st.Dev, st.Ino), typ: st.Mode & unix.S_IFMT, parent: parent, name: name}
	fs.live.Add(1)
	wp := weak.Make(in)
	runtime.AddCleanup(in, func(fd int) {
		unix.Close(fd)
		fs.live.Add(-1)
		fs.mu.Lock()
		if w, ok := fs.cache[k]; ok && w.Value() == nil {
			delete(fs.cache, k)
		}
		fs.mu.Unlock()
	}, fd)
	fs.mu.Lock()
	fs.cache[k] = wp
	fs.mu.Unlock()
	return in
}

// Ino implements vfs.Inode.
func (i *inode) Ino() uint64 { return i.ino }

// Stat implements vfs.Inode.
func (i *inode) Stat(*vfs.Context) (vfs.Stat, unix.Errno) {
	var sx unix.Statx_t
	if err := unix.Statx(i.fd, "", unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW, unix.STATX_BASIC_STATS|unix.STATX_BTIME, &sx); err != nil {
		return vfs.Stat{}, errno(err)
	}
	ts := func(t unix.StatxTimestamp) vfs.Timespec { return vfs.Timespec{Sec: t.Sec, Nsec: int64(t.Nsec)} }
	st := vfs.Stat{
		Mask: sx.Mask & (unix.STATX_BASIC_STATS | unix.STATX_BTIME), Ino: i.ino, Mode: uint32(sx.Mode),
		Nlink: sx.Nlink, UID: sx.Uid, GID: sx.Gid, Rdev: unix.Mkdev(sx.Rdev_major, sx.Rdev_minor),
		Size: int64(sx.Size), Blocks: int64(sx.Blocks), Blksize: sx.Blksize,
		Atime: ts(sx.Atime), Mtime: ts(sx.Mtime), Ctime: ts(sx.Ctime), Btime: ts(sx.Btime),
	}
	return st, 0
}

// SetAttr implements vfs.Inode.
func (i *inode) SetAttr(_ *vfs.Context, a *vfs.SetAttr) unix.Errno {
	if i.fs.ro {
		return unix.EROFS
	}
	if a.Mask&vfs.SetSize != 0 {
		if i.typ != unix.S_IFREG {
			return unix.EINVAL
		}
		fd, err := unix.Open(procPath(i.fd), unix.O_WRONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return errno(err)
		}
		err = unix.Ftruncate(fd, a.Size)
		unix.Close(fd)
		if err != nil {
			return errno(err)
		}
		i.truncateShared(a.Size)
	}
	if a.Mask&(vfs.SetUID|vfs.SetGID) != 0 {
		uid, gid := -1, -1
		if a.Mask&vfs.SetUID != 0 {
			uid = int(a.UID)
		}
		if a.Mask&vfs.SetGID != 0 {
			gid = int(a.GID)
		}
		if err := unix.Fchownat(i.fd, "", uid, gid, unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return errno(err)
		}
	}
	if a.Mask&vfs.SetMode != 0 {
		if i.typ == unix.S_IFLNK {
			return unix.EOPNOTSUPP
		}
		if err := unix.Fchmodat(unix.AT_FDCWD, procPath(i.fd), a.Mode&0o7777, 0); err != nil {
			return errno(err)
		}
	}
	if a.Mask&(vfs.SetAtime|vfs.SetMtime) != 0 {
		ts := []unix.Timespec{{Nsec: unix.UTIME_OMIT}, {Nsec: unix.UTIME_OMIT}}
		if a.Mask&vfs.SetAtime != 0 {
			ts[0] = unix.Timespec{Sec: a.Atime.Sec, Nsec: a.Atime.Nsec}
		}
		if a.Mask&vfs.SetMtime != 0 {
			ts[1] = unix.Timespec{Sec: a.Mtime.Sec, Nsec: a.Mtime.Nsec}
		}
		if err := unix.UtimesNanoAt(i.fd, "", ts, unix.AT_EMPTY_PATH); err != nil {
			return errno(err)
		}
	}
	// The ctime is the host's to set.
	return 0
}

// Readlink implements vfs.Inode.
func (i *inode) Readlink(*vfs.Context) (string, unix.Errno) {
	if i.typ != unix.S_IFLNK {
		return "", unix.EINVAL
	}
	buf := make([]byte, vfs.PATH_MAX)
	n, err := unix.Readlinkat(i.fd, "", buf)
	if err != nil {
		return "", errno(err)
	}
	return string(buf[:n]), 0
}

// FIFO implements vfs.FIFOInode: a host FIFO is a meeting point inside
// the guest; the pipe is the guest's.
func (i *inode) FIFO() *posix.FIFO {
	i.fs.mu.Lock()
	defer i.fs.mu.Unlock()
	f, ok := i.fs.fifos[i.key]
	if !ok {
		f = posix.NewFIFO()
		i.fs.fifos[i.key] = f
	}
	return f
}

// DirName implements vfs.DirNamer: the name it was found under, if the
// host still has it there.
func (i *inode) DirName() (string, unix.Errno) {
	i.mu.Lock()
	parent, name := i.parent, i.name
	i.mu.Unlock()
	if i == i.fs.root {
		return "", 0
	}
	var st unix.Stat_t
	if err := unix.Fstatat(parent.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil && (key{st.Dev, st.Ino}) == i.key {
		return name, 0
	}
	// Moved on the host: search the parent.
	found := ""
	parent.ReadDir(nil, vfs.FirstPos, func(d vfs.Dirent) bool {
		if d.Ino == i.ino {
			found = d.Name
			return false
		}
		return true
	})
	if found == "" {
		return "", unix.ENOENT
	}
	return found, 0
}

// lookupHost opens name below the directory fd without following
// anything.
func lookupHost(dirfd int, name string) (int, error) {
	how := unix.OpenHow{Flags: unix.O_PATH | unix.O_NOFOLLOW | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS}
	fd, err := unix.Openat2(dirfd, name, &how)
	if err == unix.ENOSYS {
		fd, err = unix.Openat(dirfd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	}
	return fd, err
}

// Lookup implements vfs.Inode.
func (i *inode) Lookup(_ *vfs.Context, name string) (vfs.Inode, unix.Errno) {
	if i.typ != unix.S_IFDIR {
		return nil, unix.ENOTDIR
	}
	if name == ".." {
		i.mu.Lock()
		defer i.mu.Unlock()
		return i.parent, 0
	}
	if !validName(name) {
		return nil, unix.ENOENT
	}
	return i.child(name)
}

func (i *inode) child(name string) (*inode, unix.Errno) {
	fd, err := lookupHost(i.fd, name)
	if err != nil {
		return nil, errno(err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, errno(err)
	}
	return i.fs.inodeOf(fd, &st, i, name), 0
}

// Create implements vfs.Inode.
func (i *inode) Create(_ *vfs.Context, name string, a vfs.CreateAttr) (vfs.Inode, unix.Errno) {
	if i.typ != unix.S_IFDIR {
		return nil, unix.ENOTDIR
	}
	if i.fs.ro {
		return nil, unix.EROFS
	}
	if !validName(name) {
		return nil, unix.EINVAL
	}
	perm := a.Mode & 0o7777
	var err error
	switch vfs.FileType(a.Mode) {
	case vfs.S_IFREG:
		var fd int
		fd, err = unix.Openat(i.fd, name, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, perm)
		if err == nil {
			unix.Fchmod(fd, perm) // the host's umask took bits the guest's did not
			unix.Close(fd)
		}
	case vfs.S_IFDIR:
		err = unix.Mkdirat(i.fd, name, perm)
	case vfs.S_IFLNK:
		err = unix.Symlinkat(a.Target, i.fd, name)
	case vfs.S_IFIFO, vfs.S_IFSOCK:
		err = unix.Mknodat(i.fd, name, vfs.FileType(a.Mode)|perm, 0)
	default:
		return nil, unix.EPERM // device nodes would open host devices
	}
	if err != nil {
		return nil, errno(err)
	}
	c, e := i.child(name)
	if e != 0 {
		return nil, e
	}
	t := vfs.FileType(a.Mode)
	if i.fs.owners {
		// Before the mode: a chown clears the set-ID bits.
		unix.Fchownat(c.fd, "", int(a.UID), int(a.GID), unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW)
	}
	if t == vfs.S_IFDIR || t == vfs.S_IFIFO || t == vfs.S_IFSOCK || (i.fs.owners && t == vfs.S_IFREG) {
		unix.Fchmodat(unix.AT_FDCWD, procPath(c.fd), perm, 0)
	}
	return c, 0
}

// Link implements vfs.Inode.
func (i *inode) Link(_ *vfs.Context, name string, target vfs.Inode) unix.Errno {
	t, ok := target.(*inode)
	if !ok || t.fs != i.fs {
		return unix.EXDEV
	}
	if i.typ != unix.S_IFDIR {
		return unix.ENOTDIR
	}
	if i.fs.ro {
		return unix.EROFS
	}
	if !validName(name) {
		return unix.EINVAL
	}
	// linkat(fd, "", ..., AT_EMPTY_PATH) needs CAP_DAC_READ_SEARCH; the
	// descriptor's magic link does not.
	return errno(unix.Linkat(unix.AT_FDCWD, procPath(t.fd), i.fd, name, unix.AT_SYMLINK_FOLLOW))
}

// Unlink implements vfs.Inode.
func (i *inode) Unlink(_ *vfs.Context, name string, dir bool) unix.Errno {
	if i.typ != unix.S_IFDIR {
		return unix.ENOTDIR
	}
	if i.fs.ro {
		return unix.EROFS
	}
	if !validName(name) {
		return unix.EINVAL
	}
	flags := 0
	if dir {
		flags = unix.AT_REMOVEDIR
	}
	return errno(unix.Unlinkat(i.fd, name, flags))
}

// Rename implements vfs.Inode.
func (i *inode) Rename(_ *vfs.Context, oldName string, newDir vfs.Inode, newName string, flags uint32) unix.Errno {
	nd, ok := newDir.(*inode)
	if !ok || nd.fs != i.fs {
		return unix.EXDEV
	}
	if i.typ != unix.S_IFDIR || nd.typ != unix.S_IFDIR {
		return unix.ENOTDIR
	}
	if i.fs.ro {
		return unix.EROFS
	}
	if !validName(oldName) || !validName(newName) {
		return unix.EINVAL
	}
	var src, dst unix.Stat_t
	srcErr := unix.Fstatat(i.fd, oldName, &src, unix.AT_SYMLINK_NOFOLLOW)
	dstErr := unix.Fstatat(nd.fd, newName, &dst, unix.AT_SYMLINK_NOFOLLOW)
	if err := unix.Renameat2(i.fd, oldName, nd.fd, newName, uint(flags)); err != nil {
		return errno(err)
	}
	// Directories that moved get their new parent.
	moved := func(st *unix.Stat_t, parent *inode, name string) {
		i.fs.mu.Lock()
		wp, ok := i.fs.cache[key{st.Dev, st.Ino}]
		i.fs.mu.Unlock()
		if !ok {
			return
		}
		if in := wp.Value(); in != nil && in.typ == unix.S_IFDIR {
			in.mu.Lock()
			in.parent, in.name = parent, name
			in.mu.Unlock()
		}
	}
	if srcErr == nil {
		moved(&src, nd, newName)
	}
	if dstErr == nil && flags&vfs.RENAME_EXCHANGE != 0 {
		moved(&dst, i, oldName)
	}
	return 0
}

// ReadDir implements vfs.Inode. Positions are the host's directory
// cookies (d_off), FirstPos meaning the start.
func (i *inode) ReadDir(_ *vfs.Context, pos uint64, fn func(vfs.Dirent) bool) unix.Errno {
	if i.typ != unix.S_IFDIR {
		return unix.ENOTDIR
	}
	fd, err := unix.Openat(i.fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return errno(err)
	}
	defer unix.Close(fd)
	if pos > vfs.FirstPos {
		if _, err := unix.Seek(fd, int64(pos), unix.SEEK_SET); err != nil {
			return errno(err)
		}
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := unix.Getdents(fd, buf)
		if err != nil {
			return errno(err)
		}
		if n <= 0 {
			return 0
		}
		for b := buf[:n]; len(b) >= 19; {
			// struct linux_dirent64: ino, off, reclen, type, name.
			ino := le64(b[0:])
			off := le64(b[8:])
			reclen := int(b[16]) | int(b[17])<<8
			typ := b[18]
			if reclen < 19 || reclen > len(b) {
				return unix.EIO
			}
			nameb := b[19:reclen]
			for k, c := range nameb {
				if c == 0 {
					nameb = nameb[:k]
					break
				}
			}
			b = b[reclen:]
			name := string(nameb)
			if name == "." || name == ".." {
				continue
			}
			if !fn(vfs.Dirent{Name: name, Ino: i.fs.guestIno(i.key.dev, ino), Type: typ, Next: off}) {
				return 0
			}
		}
	}
}

func le64(b []byte) uint64 {
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// Open implements vfs.Inode.
func (i *inode) Open(_ *vfs.Context, flags int) (vfs.FileImpl, unix.Errno) {
	switch i.typ {
	case unix.S_IFDIR:
		return dirFile{}, 0
	case unix.S_IFREG:
	default:
		return nil, unix.ENXIO
	}
	acc := flags & unix.O_ACCMODE
	if i.fs.ro && acc != unix.O_RDONLY {
		return nil, unix.EROFS
	}
	hfl := acc | unix.O_CLOEXEC | flags&(unix.O_SYNC|unix.O_DSYNC)
	fd, err := unix.Open(procPath(i.fd), hfl, 0)
	if err != nil {
		return nil, errno(err)
	}
	f := &file{i: i, fd: fd, acc: acc}
	f.pages.f = f
	return f, 0
}

type dirFile struct{}

func (dirFile) ReadAt(*vfs.Context, []byte, int64) (int, unix.Errno)  { return 0, unix.EISDIR }
func (dirFile) WriteAt(*vfs.Context, []byte, int64) (int, unix.Errno) { return 0, unix.EISDIR }
func (dirFile) Release()                                              {}

// Xattrs, on the inode through its descriptor's magic link.

// GetXattr implements vfs.XattrInode.
func (i *inode) GetXattr(_ *vfs.Context, name string) ([]byte, unix.Errno) {
	p := procPath(i.fd)
	for {
		n, err := unix.Getxattr(p, name, nil)
		if err != nil {
			return nil, errno(err)
		}
		buf := make([]byte, n)
		m, err := unix.Getxattr(p, name, buf)
		if err == unix.ERANGE {
			continue
		}
		if err != nil {
			return nil, errno(err)
		}
		return buf[:m], 0
	}
}

// SetXattr implements vfs.XattrInode.
func (i *inode) SetXattr(_ *vfs.Context, name string, value []byte, flags int) unix.Errno {
	if i.fs.ro {
		return unix.EROFS
	}
	return errno(unix.Setxattr(procPath(i.fd), name, value, flags))
}

// ListXattr implements vfs.XattrInode.
func (i *inode) ListXattr(*vfs.Context) ([]string, unix.Errno) {
	p := procPath(i.fd)
	for {
		n, err := unix.Listxattr(p, nil)
		if err != nil {
			return nil, errno(err)
		}
		buf := make([]byte, n)
		m, err := unix.Listxattr(p, buf)
		if err == unix.ERANGE {
			continue
		}
		if err != nil {
			return nil, errno(err)
		}
		var out []string
		start := 0
		for k := 0; k < m; k++ {
			if buf[k] == 0 {
				if k > start {
					out = append(out, string(buf[start:k]))
				}
				start = k + 1
			}
		}
		return out, 0
	}
}

// RemoveXattr implements vfs.XattrInode.
func (i *inode) RemoveXattr(_ *vfs.Context, name string) unix.Errno {
	if i.fs.ro {
		return unix.EROFS
	}
	return errno(unix.Removexattr(procPath(i.fd), name))
}
