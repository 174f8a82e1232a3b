package syscalls

import (
	"encoding/binary"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/vfs"
	"golang.org/x/sys/unix"
)

func init() {
	atfd := uint64(unix.AT_FDCWD & 0xffffffff)
	register(unix.SYS_GETDENTS64, Entry{Name: "getdents64", fn: sysGetdents64, args: []argKind{aFD, aPtr, aUint}})
	register(unix.SYS_MKDIRAT, Entry{Name: "mkdirat", fn: sysMkdirat, args: []argKind{aDirFD, aPath, aOctal}})
	register(unix.SYS_MKDIR, Entry{Name: "mkdir", fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		return sysMkdirat(t, Args{atfd, a[0], a[1]})
	}, args: []argKind{aPath, aOctal}})
	register(unix.SYS_UNLINKAT, Entry{Name: "unlinkat", fn: sysUnlinkat, args: []argKind{aDirFD, aPath, aAtFlags}})
	register(unix.SYS_UNLINK, Entry{Name: "unlink", fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		return sysUnlinkat(t, Args{atfd, a[0], 0})
	}, args: []argKind{aPath}})
	register(unix.SYS_RMDIR, Entry{Name: "rmdir", fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		return sysUnlinkat(t, Args{atfd, a[0], unix.AT_REMOVEDIR})
	}, args: []argKind{aPath}})
	register(unix.SYS_RENAMEAT2, Entry{Name: "renameat2", Support: Partial, Note: "RENAME_NOREPLACE and RENAME_EXCHANGE; RENAME_WHITEOUT is EINVAL",
		fn: sysRenameat2, args: []argKind{aDirFD, aPath, aDirFD, aPath, aRename}})
	register(unix.SYS_RENAMEAT, Entry{Name: "renameat", fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		return sysRenameat2(t, Args{a[0], a[1], a[2], a[3], 0})
	}, args: []argKind{aDirFD, aPath, aDirFD, aPath}})
	register(unix.SYS_RENAME, Entry{Name: "rename", fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		return sysRenameat2(t, Args{atfd, a[0], atfd, a[1], 0})
	}, args: []argKind{aPath, aPath}})
	register(unix.SYS_LINKAT, Entry{Name: "linkat", fn: sysLinkat, args: []argKind{aDirFD, aPath, aDirFD, aPath, aAtFlags}})
	register(unix.SYS_LINK, Entry{Name: "link", fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		return sysLinkat(t, Args{atfd, a[0], atfd, a[1], 0})
	}, args: []argKind{aPath, aPath}})
	register(unix.SYS_SYMLINKAT, Entry{Name: "symlinkat", fn: sysSymlinkat, args: []argKind{aPath, aDirFD, aPath}})
	register(unix.SYS_SYMLINK, Entry{Name: "symlink", fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		return sysSymlinkat(t, Args{a[0], atfd, a[1]})
	}, args: []argKind{aPath, aPath}})
	register(unix.SYS_READLINKAT, Entry{Name: "readlinkat", fn: sysReadlinkat, args: []argKind{aDirFD, aPath, aBufOut, aUint}})
	register(unix.SYS_READLINK, Entry{Name: "readlink", fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		return sysReadlinkat(t, Args{atfd, a[0], a[1], a[2]})
	}, args: []argKind{aPath, aBufOut, aUint}})
	register(unix.SYS_GETCWD, Entry{Name: "getcwd", fn: sysGetcwd, args: []argKind{aBufOut, aUint}})
	register(unix.SYS_CHDIR, Entry{Name: "chdir", fn: sysChdir, args: []argKind{aPath}})
	register(unix.SYS_FCHDIR, Entry{Name: "fchdir", fn: sysFchdir, args: []argKind{aFD}})
	register(unix.SYS_CHROOT, Entry{Name: "chroot", fn: sysChroot, args: []argKind{aPath}})
}

// getdents64 fills struct linux_dirent64 records: d_ino, d_off (the
// position after the entry), d_reclen, d_type, the NUL-terminated name,
// padded to 8 bytes.
func sysGetdents64(t *Thread, a Args) (uint64, unix.Errno) {
	vf, _, e := t.vfile(a.Int(0))
	if e != 0 {
		return 0, e
	}
	if vf == nil {
		return 0, unix.ENOTDIR
	}
	if vf.PathOnly() {
		return 0, unix.EBADF
	}
	size := min(int(uint32(a[2])), ioChunk)
	buf := make([]byte, 0, size)
	tooSmall := false
	e = vf.ReadDir(t.vctx(), func(d vfs.Dirent) bool {
		reclen := (19 + len(d.Name) + 1 + 7) &^ 7
		if len(buf)+reclen > size {
			tooSmall = len(buf) == 0
			return false
		}
		var rec [19]byte
		le := binary.LittleEndian
		le.PutUint64(rec[0:], d.Ino)
		le.PutUint64(rec[8:], d.Next)
		le.PutUint16(rec[16:], uint16(reclen))
		rec[18] = d.Type
		start := len(buf)
		buf = append(buf, rec[:]...)
		buf = append(buf, d.Name...)
		buf = append(buf, make([]byte, start+reclen-len(buf))...)
		return true
	})
	if e != 0 {
		return 0, e
	}
	if tooSmall {
		return 0, unix.EINVAL
	}
	if e := t.mm().CopyOut(a[1], buf); e != 0 {
		return 0, e
	}
	return uint64(len(buf)), 0
}

// pathAt reads a path argument and its directory.
func (t *Thread) pathAt(dirfd int, addr uint64) (*vfs.VFS, *vfs.FSContext, vfs.Path, string, unix.Errno) {
	v, fsc, e := t.vfs()
	if e != 0 {
		return nil, nil, vfs.Path{}, "", e
	}
	path, e := t.pathArg(addr)
	if e != 0 {
		return nil, nil, vfs.Path{}, "", e
	}
	dir, e := t.dirArg(dirfd, path)
	return v, fsc, dir, path, e
}

func sysMkdirat(t *Thread, a Args) (uint64, unix.Errno) {
	v, fsc, dir, path, e := t.pathAt(a.Int(0), a[1])
	if e != 0 {
		return 0, e
	}
	return 0, v.Mkdir(t.vctx(), fsc, dir, path, uint32(a[2])&0o7777, t.umask())
}

func sysUnlinkat(t *Thread, a Args) (uint64, unix.Errno) {
	flags := a.Int(2)
	if e := atFlags(flags, unix.AT_REMOVEDIR); e != 0 {
		return 0, e
	}
	v, fsc, dir, path, e := t.pathAt(a.Int(0), a[1])
	if e != 0 {
		return 0, e
	}
	if flags&unix.AT_REMOVEDIR != 0 {
		return 0, v.Rmdir(t.vctx(), fsc, dir, path)
	}
	return 0, v.Unlink(t.vctx(), fsc, dir, path)
}

func sysRenameat2(t *Thread, a Args) (uint64, unix.Errno) {
	v, fsc, odir, opath, e := t.pathAt(a.Int(0), a[1])
	if e != 0 {
		return 0, e
	}
	_, _, ndir, npath, e := t.pathAt(a.Int(2), a[3])
	if e != 0 {
		return 0, e
	}
	return 0, v.Rename(t.vctx(), fsc, odir, opath, ndir, npath, uint32(a[4]))
}

func sysLinkat(t *Thread, a Args) (uint64, unix.Errno) {
	flags := a.Int(4)
	if e := atFlags(flags, unix.AT_SYMLINK_FOLLOW|unix.AT_EMPTY_PATH); e != 0 {
		return 0, e
	}
	v, fsc, e := t.vfs()
	if e != 0 {
		return 0, e
	}
	opath, e := t.pathArg(a[1])
	if e != 0 {
		return 0, e
	}
	var odir vfs.Path
	if opath == "" && flags&unix.AT_EMPTY_PATH != 0 {
		// linkat(fd, "", ..., AT_EMPTY_PATH) links the file fd is: for
		// the identity that opened it, or with CAP_DAC_READ_SEARCH
		// (Linux 6.10 on).
		vf, _, e := t.vfile(a.Int(0))
		if e != 0 {
			return 0, e
		}
		if vf == nil || (!t.capable(posix.CAP_DAC_READ_SEARCH) && !vf.OpenedBy(t.cred())) {
			return 0, unix.ENOENT
		}
		odir = vf.Path()
	} else if odir, e = t.dirArg(a.Int(0), opath); e != 0 {
		return 0, e
	}
	_, _, ndir, npath, e := t.pathAt(a.Int(2), a[3])
	if e != 0 {
		return 0, e
	}
	lf := 0
	if flags&unix.AT_SYMLINK_FOLLOW != 0 {
		lf |= vfs.LookupFollow
	}
	if flags&unix.AT_EMPTY_PATH != 0 {
		lf |= vfs.LookupEmpty
	}
	return 0, v.Link(t.vctx(), fsc, odir, opath, ndir, npath, lf)
}

func sysSymlinkat(t *Thread, a Args) (uint64, unix.Errno) {
	target, e := t.pathArg(a[0])
	if e != 0 {
		return 0, e
	}
	v, fsc, dir, path, e := t.pathAt(a.Int(1), a[2])
	if e != 0 {
		return 0, e
	}
	return 0, v.Symlink(t.vctx(), fsc, target, dir, path)
}

func sysReadlinkat(t *Thread, a Args) (uint64, unix.Errno) {
	if int32(a[3]) <= 0 {
		return 0, unix.EINVAL
	}
	v, fsc, e := t.vfs()
	if e != 0 {
		return 0, e
	}
	path, e := t.pathArg(a[1])
	if e != 0 {
		return 0, e
	}
	var dir vfs.Path
	if path == "" {
		// An empty path reads the symlink dirfd is (an O_PATH fd); any
		// other file, the working directory included, is ENOENT
		// (do_readlinkat: "empty ? -ENOENT : -EINVAL").
		if a.Int(0) != unix.AT_FDCWD {
			vf, _, e := t.vfile(a.Int(0))
			if e != 0 {
				return 0, e
			}
			if vf == nil {
				return 0, unix.ENOENT
			}
			dir = vf.Path()
		}
	} else if dir, e = t.dirArg(a.Int(0), path); e != 0 {
		return 0, e
	}
	s, e := v.Readlink(t.vctx(), fsc, dir, path)
	if e != 0 {
		return 0, e
	}
	b := []byte(s)
	if len(b) > int(uint32(a[3])) {
		b = b[:uint32(a[3])]
	}
	return uint64(len(b)), t.mm().CopyOut(a[2], b)
}

func sysGetcwd(t *Thread, a Args) (uint64, unix.Errno) {
	v, fsc, e := t.vfs()
	if e != 0 {
		return 0, e
	}
	s, e := v.Getcwd(t.vctx(), fsc)
	if e != 0 {
		return 0, e
	}
	b := append([]byte(s), 0)
	if uint64(len(b)) > a[1] {
		return 0, unix.ERANGE
	}
	if len(b) > vfs.PATH_MAX {
		return 0, unix.ENAMETOOLONG
	}
	return uint64(len(b)), t.mm().CopyOut(a[0], b)
}

func sysChdir(t *Thread, a Args) (uint64, unix.Errno) {
	p, e := t.lookupAt(unix.AT_FDCWD, a[0], 0, true)
	if e != 0 {
		return 0, e
	}
	v, fsc, _ := t.vfs()
	return 0, v.Chdir(t.vctx(), fsc, p)
}

func sysFchdir(t *Thread, a Args) (uint64, unix.Errno) {
	vf, _, e := t.vfile(a.Int(0))
	if e != 0 {
		return 0, e
	}
	if vf == nil {
		return 0, unix.ENOTDIR
	}
	v, fsc, e := t.vfs()
	if e != 0 {
		return 0, e
	}
	return 0, v.Chdir(t.vctx(), fsc, vf.Path())
}

// chroot needs CAP_SYS_CHROOT (18).
func sysChroot(t *Thread, a Args) (uint64, unix.Errno) {
	p, e := t.lookupAt(unix.AT_FDCWD, a[0], 0, true)
	if e != 0 {
		return 0, e
	}
	v, fsc, _ := t.vfs()
	st, e := v.Stat(t.vctx(), p)
	if e != 0 {
		return 0, e
	}
	if !vfs.IsDir(st.Mode) {
		return 0, unix.ENOTDIR
	}
	if e := vfs.Permission(t.cred(), &st, vfs.MayExec); e != 0 {
		return 0, e
	}
	if !t.capable(18) {
		return 0, unix.EPERM
	}
	fsc.SetRoot(p)
	return 0, 0
}
