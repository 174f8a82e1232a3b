package vfs

import (
	"time"

	"github.com/rumpgo/rumpgo/posix"
	"golang.org/x/sys/unix"
)

// Linux limits (linux/limits.h) and the symlink bound of fs/namei.c.
const (
	NAME_MAX    = 255
	PATH_MAX    = 4096
	MAXSYMLINKS = 40
)

// File type bits of a mode (linux/stat.h).
const (
	S_IFMT   = unix.S_IFMT
	S_IFSOCK = unix.S_IFSOCK
	S_IFLNK  = unix.S_IFLNK
	S_IFREG  = unix.S_IFREG
	S_IFBLK  = unix.S_IFBLK
	S_IFDIR  = unix.S_IFDIR
	S_IFCHR  = unix.S_IFCHR
	S_IFIFO  = unix.S_IFIFO
	S_ISUID  = unix.S_ISUID
	S_ISGID  = unix.S_ISGID
	S_ISVTX  = unix.S_ISVTX
)

// Directory entry types of getdents64 (DT_*).
const (
	DT_UNKNOWN = 0
	DT_FIFO    = 1
	DT_CHR     = 2
	DT_DIR     = 4
	DT_BLK     = 6
	DT_REG     = 8
	DT_LNK     = 10
	DT_SOCK    = 12
)

// DTType is the DT_* of a mode.
func DTType(mode uint32) uint8 { return uint8(mode & S_IFMT >> 12) }

// Timespec is a time as the kernel keeps it.
type Timespec struct{ Sec, Nsec int64 }

// Now is the current time as a Timespec.
func Now() Timespec { return TimespecOf(time.Now()) }

// TimespecOf converts t.
func TimespecOf(t time.Time) Timespec { return Timespec{t.Unix(), int64(t.Nanosecond())} }

// Stat is what stat(2) and statx(2) report about a file.
type Stat struct {
	// Mask is the statx mask of the fields that are real (STATX_*);
	// file systems set at least STATX_BASIC_STATS.
	Mask    uint32
	Dev     uint64 // set by vfs from the mount
	Ino     uint64
	Mode    uint32 // type and permissions
	Nlink   uint32
	UID     uint32
	GID     uint32
	Rdev    uint64
	Size    int64
	Blocks  int64 // 512-byte units
	Blksize uint32
	Atime   Timespec
	Mtime   Timespec
	Ctime   Timespec
	Btime   Timespec
	MntID   uint64 // set by vfs
}

// SetAttr masks: which fields of a SetAttr apply.
const (
	SetMode uint32 = 1 << iota
	SetUID
	SetGID
	SetSize
	SetAtime
	SetMtime
	SetCtime
)

// SetAttr is a change of attributes. vfs has checked permissions and sets
// the ctime as Linux's notify_change does.
type SetAttr struct {
	Mask         uint32
	Mode         uint32 // permission bits only (07777)
	UID, GID     uint32
	Size         int64
	Atime, Mtime Timespec
	Ctime        Timespec
}

// CreateAttr describes a file to create.
type CreateAttr struct {
	Mode     uint32 // type and permissions, umask applied
	UID, GID uint32
	Rdev     uint64 // device nodes
	Target   string // symlinks
}

// Dirent is one directory entry as ReadDir reports it.
type Dirent struct {
	Name string
	Ino  uint64
	Type uint8 // DT_*
	// Next is the position ReadDir continues at after this entry.
	Next uint64
}

// FirstPos is the first position a file system's ReadDir sees: vfs
// reports "." at 0 and ".." at 1 itself.
const FirstPos = 2

// Statfs is what statfs(2) reports.
type Statfs struct {
	Type    int64
	Bsize   int64
	Blocks  uint64
	Bfree   uint64
	Bavail  uint64
	Files   uint64
	Ffree   uint64
	Namelen int64
	Frsize  int64
	Flags   int64 // ST_* (vfs adds the mount's)
}

// Context is the caller of an operation: its credentials, which process
// and thread it is (for /proc/self), and how it waits.
type Context struct {
	Cred     posix.Cred
	PID, TID int
	// Block waits until ready is closed or receives, and returns 0, or an
	// errno when the wait is interrupted (ERESTARTSYS) or the process
	// dies. Nil means the caller cannot wait (EAGAIN instead).
	Block func(ready <-chan struct{}) unix.Errno
}

// FileSystem is one mounted file-system instance.
type FileSystem interface {
	// Root is the root directory.
	Root() Inode
	// Type is the name in /proc/mounts ("tmpfs", "proc", ...).
	Type() string
	// Statfs reports usage; vfs adds mount flags.
	Statfs(ctx *Context) (Statfs, unix.Errno)
	// Sync writes everything to stable storage (syncfs).
	Sync() unix.Errno
}

// Inode is a file in a file system. See the package documentation for the
// contract; non-directories embed NotDir.
type Inode interface {
	// Ino is the inode number: stable, and unique in its file system.
	Ino() uint64
	// Stat returns the attributes.
	Stat(ctx *Context) (Stat, unix.Errno)
	// SetAttr changes the attributes in a.Mask.
	SetAttr(ctx *Context, a *SetAttr) unix.Errno
	// Open opens a regular file or directory (vfs opens FIFOs and devices).
	// flags are open(2)'s; O_TRUNC has already been done through SetAttr.
	Open(ctx *Context, flags int) (FileImpl, unix.Errno)
	// Readlink returns a symlink's target (EINVAL for other files).
	Readlink(ctx *Context) (string, unix.Errno)

	// Directory operations.

	// Lookup finds name (".." is the parent); ENOENT when absent.
	Lookup(ctx *Context, name string) (Inode, unix.Errno)
	// Create makes a new file of any type; EEXIST when name exists.
	Create(ctx *Context, name string, a CreateAttr) (Inode, unix.Errno)
	// Link makes name another link to target (a non-directory of this
	// file system).
	Link(ctx *Context, name string, target Inode) unix.Errno
	// Unlink removes name: a non-directory (EISDIR otherwise), or with
	// dir an empty directory (ENOTDIR, ENOTEMPTY otherwise).
	Unlink(ctx *Context, name string, dir bool) unix.Errno
	// Rename moves oldName to newName in newDir (a directory of the same
	// file system) with renameat2's flags.
	Rename(ctx *Context, oldName string, newDir Inode, newName string, flags uint32) unix.Errno
	// ReadDir calls fn for each entry at position pos or later, in
	// position order (positions are at least FirstPos), until fn returns
	// false. "." and ".." are not entries.
	ReadDir(ctx *Context, pos uint64, fn func(Dirent) bool) unix.Errno
}

// NotDir implements the directory operations of an Inode that is not a
// directory.
type NotDir struct{}

func (NotDir) Lookup(*Context, string) (Inode, unix.Errno) { return nil, unix.ENOTDIR }
func (NotDir) Create(*Context, string, CreateAttr) (Inode, unix.Errno) {
	return nil, unix.ENOTDIR
}
func (NotDir) Link(*Context, string, Inode) unix.Errno  { return unix.ENOTDIR }
func (NotDir) Unlink(*Context, string, bool) unix.Errno { return unix.ENOTDIR }
func (NotDir) Rename(*Context, string, Inode, string, uint32) unix.Errno {
	return unix.ENOTDIR
}
func (NotDir) ReadDir(*Context, uint64, func(Dirent) bool) unix.Errno { return unix.ENOTDIR }

// NoLink implements Readlink for inodes that are not symlinks.
type NoLink struct{}

func (NoLink) Readlink(*Context) (string, unix.Errno) { return "", unix.EINVAL }

// XattrInode is an Inode with extended attributes. Without it, the xattr
// calls answer ENOTSUP.
type XattrInode interface {
	GetXattr(ctx *Context, name string) ([]byte, unix.Errno)
	// SetXattr with XATTR_CREATE / XATTR_REPLACE flags.
	SetXattr(ctx *Context, name string, value []byte, flags int) unix.Errno
	ListXattr(ctx *Context) ([]string, unix.Errno)
	RemoveXattr(ctx *Context, name string) unix.Errno
}

// DirNamer is a directory that knows its own name in its parent (one,
// since directories have no hard links); getcwd uses it instead of
// searching the parent.
type DirNamer interface {
	DirName() (string, unix.Errno)
}

// RemovedNamer is a directory that remembers the name it had after it was
// removed, for the " (deleted)" names /proc shows of a removed working
// directory or open directory.
type RemovedNamer interface {
	RemovedName() string
}

// FIFOInode is a FIFO's inode: the pipe every opener of it shares.
type FIFOInode interface {
	FIFO() *posix.FIFO
}

// MagicLink is a symlink that jumps to a file instead of naming a path, as
// /proc/self/fd/N and /proc/self/exe do. Follow returns the target's path
// when it has one, or else an open file (a pipe, a host descriptor) that
// opening the link reopens.
type MagicLink interface {
	Follow(ctx *Context) (Path, posix.File, unix.Errno)
}

// IsDir reports whether mode is a directory's.
func IsDir(mode uint32) bool { return mode&S_IFMT == S_IFDIR }

// IsLink reports whether mode is a symlink's.
func IsLink(mode uint32) bool { return mode&S_IFMT == S_IFLNK }

// FileType returns mode's type bits.
func FileType(mode uint32) uint32 { return mode & S_IFMT }
