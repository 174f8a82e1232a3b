package syscalls

import (
	"encoding/binary"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/vfs"
	"golang.org/x/sys/unix"
)

func init() {
	register(unix.SYS_FSTAT, Entry{Name: "fstat", fn: sysFstat, args: []argKind{aFD, aPtr}})
	register(unix.SYS_NEWFSTATAT, Entry{Name: "newfstatat", fn: sysNewfstatat, args: []argKind{aDirFD, aPath, aPtr, aAtFlags}})
	register(unix.SYS_STAT, Entry{Name: "stat", fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		return sysNewfstatat(t, Args{uint64(unix.AT_FDCWD & 0xffffffff), a[0], a[1], 0})
	}, args: []argKind{aPath, aPtr}})
	register(unix.SYS_LSTAT, Entry{Name: "lstat", fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		return sysNewfstatat(t, Args{uint64(unix.AT_FDCWD & 0xffffffff), a[0], a[1], unix.AT_SYMLINK_NOFOLLOW})
	}, args: []argKind{aPath, aPtr}})
	register(unix.SYS_STATX, Entry{Name: "statx", Support: Partial, Note: "basic fields, btime and mnt_id; no STATX_DIOALIGN or attributes",
		fn: sysStatx, args: []argKind{aDirFD, aPath, aAtFlags, aStatx, aPtr}})
	register(unix.SYS_STATFS, Entry{Name: "statfs", fn: sysStatfs, args: []argKind{aPath, aPtr}})
	register(unix.SYS_FSTATFS, Entry{Name: "fstatfs", fn: sysFstatfs, args: []argKind{aFD, aPtr}})
	register(unix.SYS_ACCESS, Entry{Name: "access", fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		return faccessat(t, unix.AT_FDCWD, a[0], a.Int(1), 0)
	}, args: []argKind{aPath, aAccess}})
	register(unix.SYS_FACCESSAT, Entry{Name: "faccessat", fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		return faccessat(t, a.Int(0), a[1], a.Int(2), 0)
	}, args: []argKind{aDirFD, aPath, aAccess}})
	register(unix.SYS_FACCESSAT2, Entry{Name: "faccessat2", fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		return faccessat(t, a.Int(0), a[1], a.Int(2), a.Int(3))
	}, args: []argKind{aDirFD, aPath, aAccess, aAtFlags}})
}

// Device numbers of the pseudo file systems files without a path live on,
// as Linux's anonymous block devices (major 0).
var (
	pipefsDev    = unix.Mkdev(0, 14)
	anonInodeDev = unix.Mkdev(0, 15)
	sockfsDev    = unix.Mkdev(0, 8)
)

// FileStater is a file without a path (a socket) that knows its stat.
type FileStater interface {
	FileStat() (vfs.Stat, unix.Errno)
}

// socketInode is a socket (posix.SockIno).
type socketInode interface{ SocketIno() uint64 }

// statFile is fstat of any open file.
func (t *Thread) statFile(f posix.File) (vfs.Stat, unix.Errno) {
	c := t.cred()
	switch x := f.(type) {
	case *vfs.File:
		return x.VFS().Stat(t.vctx(), x.Path())
	case FileStater:
		return x.FileStat()
	case socketInode:
		// sockfs: S_IFSOCK, mode 0777, owned by the creator.
		now := vfs.Now()
		return vfs.Stat{Mask: unix.STATX_BASIC_STATS, Dev: sockfsDev, Ino: x.SocketIno(), Mode: vfs.S_IFSOCK | 0o777,
			Nlink: 1, UID: c.EUID, GID: c.EGID, Blksize: 4096, Atime: now, Mtime: now, Ctime: now}, 0
	case *posix.PipeEnd:
		now := vfs.Now()
		return vfs.Stat{Mask: unix.STATX_BASIC_STATS, Dev: pipefsDev, Ino: x.Pipe().Ino(), Mode: vfs.S_IFIFO | 0o600,
			Nlink: 1, UID: c.EUID, GID: c.EGID, Blksize: 4096, Atime: now, Mtime: now, Ctime: now}, 0
	case *posix.HostFile:
		var st unix.Stat_t
		if err := unix.Fstat(x.FD, &st); err != nil {
			return vfs.Stat{}, err.(unix.Errno)
		}
		return vfs.Stat{Mask: unix.STATX_BASIC_STATS, Dev: st.Dev, Ino: st.Ino, Mode: st.Mode, Nlink: uint32(st.Nlink),
			UID: st.Uid, GID: st.Gid, Rdev: st.Rdev, Size: st.Size, Blocks: st.Blocks, Blksize: uint32(st.Blksize),
			Atime: vfs.Timespec{Sec: st.Atim.Sec, Nsec: st.Atim.Nsec}, Mtime: vfs.Timespec{Sec: st.Mtim.Sec, Nsec: st.Mtim.Nsec},
			Ctime: vfs.Timespec{Sec: st.Ctim.Sec, Nsec: st.Ctim.Nsec}}, 0
	}
	// eventfd, epoll, timerfd, signalfd: anonymous inodes, mode 0600
	// without a type, as Linux's anon_inode_mkinode.
	return vfs.Stat{Mask: unix.STATX_BASIC_STATS, Dev: anonInodeDev, Ino: 1, Mode: 0o600, Nlink: 1, Blksize: 4096}, 0
}

// statBuf is the x86-64 struct stat.
func statBuf(st vfs.Stat) []byte {
	b := make([]byte, 144)
	le := binary.LittleEndian
	le.PutUint64(b[0:], st.Dev)
	le.PutUint64(b[8:], st.Ino)
	le.PutUint64(b[16:], uint64(st.Nlink))
	le.PutUint32(b[24:], st.Mode)
	le.PutUint32(b[28:], st.UID)
	le.PutUint32(b[32:], st.GID)
	le.PutUint64(b[40:], st.Rdev)
	le.PutUint64(b[48:], uint64(st.Size))
	le.PutUint64(b[56:], uint64(st.Blksize))
	le.PutUint64(b[64:], uint64(st.Blocks))
	for i, ts := range []vfs.Timespec{st.Atime, st.Mtime, st.Ctime} {
		le.PutUint64(b[72+16*i:], uint64(ts.Sec))
		le.PutUint64(b[80+16*i:], uint64(ts.Nsec))
	}
	return b
}

func sysFstat(t *Thread, a Args) (uint64, unix.Errno) {
	f, e := t.file(a.Int(0))
	if e != 0 {
		return 0, e
	}
	st, e := t.statFile(f.File)
	if e != 0 {
		return 0, e
	}
	return 0, t.mm().CopyOut(a[1], statBuf(st))
}

// statAt resolves the file of a stat-like *at call: with AT_EMPTY_PATH
// and an empty path, dirfd's own file (any kind).
func (t *Thread) statAt(dirfd int, addr uint64, flags int) (vfs.Stat, unix.Errno) {
	if flags&unix.AT_EMPTY_PATH != 0 {
		path, e := t.pathArg(addr)
		if e != 0 {
			return vfs.Stat{}, e
		}
		if path == "" {
			if dirfd == unix.AT_FDCWD {
				_, fsc, e := t.vfs()
				if e != 0 {
					return vfs.Stat{}, e
				}
				v := t.K.FS().VFS
				return v.Stat(t.vctx(), fsc.Cwd())
			}
			f, e := t.file(dirfd)
			if e != 0 {
				return vfs.Stat{}, e
			}
			return t.statFile(f.File)
		}
	}
	v, fsc, e := t.vfs()
	if e != 0 {
		return vfs.Stat{}, e
	}
	path, e := t.pathArg(addr)
	if e != 0 {
		return vfs.Stat{}, e
	}
	dir, e := t.dirArg(dirfd, path)
	if e != 0 {
		return vfs.Stat{}, e
	}
	lf := vfs.LookupFollow
	if flags&unix.AT_SYMLINK_NOFOLLOW != 0 {
		lf = 0
	}
	p, f, e := v.LookupFile(t.vctx(), fsc, dir, path, lf)
	if e != 0 {
		return vfs.Stat{}, e
	}
	if f != nil {
		// /proc/self/fd/N of a pipe or host descriptor: the file itself.
		return t.statFile(f)
	}
	return v.Stat(t.vctx(), p)
}

func sysNewfstatat(t *Thread, a Args) (uint64, unix.Errno) {
	flags := a.Int(3)
	if e := atFlags(flags, unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH|unix.AT_NO_AUTOMOUNT); e != 0 {
		return 0, e
	}
	st, e := t.statAt(a.Int(0), a[1], flags)
	if e != 0 {
		return 0, e
	}
	return 0, t.mm().CopyOut(a[2], statBuf(st))
}

// STATX__RESERVED is the mask bit statx refuses (linux/stat.h).
const STATX__RESERVED = 0x80000000

func sysStatx(t *Thread, a Args) (uint64, unix.Errno) {
	flags, mask := a.Int(2), uint32(a[3])
	if e := atFlags(flags, unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH|unix.AT_NO_AUTOMOUNT|AT_STATX_SYNC_TYPE); e != 0 {
		return 0, e
	}
	if flags&AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE || mask&STATX__RESERVED != 0 {
		return 0, unix.EINVAL
	}
	st, e := t.statAt(a.Int(0), a[1], flags)
	if e != 0 {
		return 0, e
	}
	b := make([]byte, 256)
	le := binary.LittleEndian
	m := st.Mask
	if st.MntID != 0 {
		m |= unix.STATX_MNT_ID
	}
	le.PutUint32(b[0:], m)
	le.PutUint32(b[4:], st.Blksize)
	le.PutUint32(b[16:], st.Nlink)
	le.PutUint32(b[20:], st.UID)
	le.PutUint32(b[24:], st.GID)
	le.PutUint16(b[28:], uint16(st.Mode))
	le.PutUint64(b[32:], st.Ino)
	le.PutUint64(b[40:], uint64(st.Size))
	le.PutUint64(b[48:], uint64(st.Blocks))
	for i, ts := range []vfs.Timespec{st.Atime, st.Btime, st.Ctime, st.Mtime} {
		if i == 1 && m&unix.STATX_BTIME == 0 {
			continue
		}
		le.PutUint64(b[64+16*i:], uint64(ts.Sec))
		le.PutUint32(b[72+16*i:], uint32(ts.Nsec))
	}
	le.PutUint32(b[128:], unix.Major(st.Rdev))
	le.PutUint32(b[132:], unix.Minor(st.Rdev))
	le.PutUint32(b[136:], unix.Major(st.Dev))
	le.PutUint32(b[140:], unix.Minor(st.Dev))
	le.PutUint64(b[144:], st.MntID)
	return 0, t.mm().CopyOut(a[4], b)
}

func statfsBuf(s vfs.Statfs, dev uint64) []byte {
	b := make([]byte, 120)
	le := binary.LittleEndian
	le.PutUint64(b[0:], uint64(s.Type))
	le.PutUint64(b[8:], uint64(s.Bsize))
	le.PutUint64(b[16:], s.Blocks)
	le.PutUint64(b[24:], s.Bfree)
	le.PutUint64(b[32:], s.Bavail)
	le.PutUint64(b[40:], s.Files)
	le.PutUint64(b[48:], s.Ffree)
	// f_fsid: Linux's tmpfs and proc report 0; a device-derived one is
	// what disk file systems report, harmless for the rest.
	le.PutUint64(b[64:], uint64(s.Namelen))
	le.PutUint64(b[72:], uint64(s.Frsize))
	le.PutUint64(b[80:], uint64(s.Flags))
	_ = dev
	return b
}

func sysStatfs(t *Thread, a Args) (uint64, unix.Errno) {
	p, e := t.lookupAt(unix.AT_FDCWD, a[0], 0, true)
	if e != 0 {
		return 0, e
	}
	s, e := t.K.FS().VFS.Statfs(t.vctx(), p)
	if e != 0 {
		return 0, e
	}
	return 0, t.mm().CopyOut(a[1], statfsBuf(s, p.Mnt.Dev))
}

// Magic numbers of the pseudo file systems (linux/magic.h).
const (
	PIPEFS_MAGIC     = 0x50495045
	ANON_INODE_MAGIC = 0x09041934
)

func sysFstatfs(t *Thread, a Args) (uint64, unix.Errno) {
	f, e := t.file(a.Int(0))
	if e != 0 {
		return 0, e
	}
	vf, ok := f.File.(*vfs.File)
	if !ok {
		var s vfs.Statfs
		s.Bsize, s.Frsize, s.Namelen = 4096, 4096, vfs.NAME_MAX
		s.Type = ANON_INODE_MAGIC
		if _, ok := f.File.(*posix.PipeEnd); ok {
			s.Type = PIPEFS_MAGIC
		}
		if h, ok := f.File.(*posix.HostFile); ok {
			var hs unix.Statfs_t
			if err := unix.Fstatfs(h.FD, &hs); err == nil {
				s = vfs.Statfs{Type: hs.Type, Bsize: hs.Bsize, Blocks: hs.Blocks, Bfree: hs.Bfree, Bavail: hs.Bavail,
					Files: hs.Files, Ffree: hs.Ffree, Namelen: hs.Namelen, Frsize: hs.Frsize, Flags: hs.Flags}
			}
		}
		return 0, t.mm().CopyOut(a[1], statfsBuf(s, 0))
	}
	s, e := vf.VFS().Statfs(t.vctx(), vf.Path())
	if e != 0 {
		return 0, e
	}
	return 0, t.mm().CopyOut(a[1], statfsBuf(s, vf.Path().Mnt.Dev))
}

// faccessat checks with the real ids, as Linux's access does unless
// AT_EACCESS: a process whose real uid is not 0 loses root's bypass.
func faccessat(t *Thread, dirfd int, addr uint64, mode, flags int) (uint64, unix.Errno) {
	if mode&^7 != 0 {
		return 0, unix.EINVAL
	}
	if e := atFlags(flags, unix.AT_EACCESS|unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH); e != 0 {
		return 0, e
	}
	p, e := t.lookupAt(dirfd, addr, flags, true)
	if e != 0 {
		return 0, e
	}
	ctx := t.vctx()
	if flags&unix.AT_EACCESS == 0 {
		c := ctx.Cred
		c.FSUID, c.FSGID = c.RUID, c.RGID
		if c.RUID != 0 {
			c.CapEff = 0
		} else {
			c.CapEff = c.CapPrm
		}
		ctx.Cred = c
	}
	return 0, t.K.FS().VFS.Access(ctx, p, mode)
}

// AT_STATX_SYNC_TYPE masks statx's sync mode (linux/fcntl.h).
const AT_STATX_SYNC_TYPE = 0x6000
