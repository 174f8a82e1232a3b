package syscalls

import (
	"encoding/binary"

	"github.com/rumpgo/rumpgo/posix/vfs"
	"golang.org/x/sys/unix"
)

func init() {
	atfd := uint64(unix.AT_FDCWD & 0xffffffff)
	register(unix.SYS_FCHMOD, Entry{Name: "fchmod", fn: sysFchmod, args: []argKind{aFD, aOctal}})
	register(unix.SYS_FCHMODAT, Entry{Name: "fchmodat", fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		return fchmodat(t, a.Int(0), a[1], uint32(a[2]), 0)
	}, args: []argKind{aDirFD, aPath, aOctal}})
	register(unix.SYS_CHMOD, Entry{Name: "chmod", fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		return fchmodat(t, unix.AT_FDCWD, a[0], uint32(a[1]), 0)
	}, args: []argKind{aPath, aOctal}})
	register(unix.SYS_FCHOWN, Entry{Name: "fchown", fn: sysFchown, args: []argKind{aFD, aInt, aInt}})
	register(unix.SYS_FCHOWNAT, Entry{Name: "fchownat", fn: sysFchownat, args: []argKind{aDirFD, aPath, aInt, aInt, aAtFlags}})
	register(unix.SYS_CHOWN, Entry{Name: "chown", fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		return sysFchownat(t, Args{atfd, a[0], a[1], a[2], 0})
	}, args: []argKind{aPath, aInt, aInt}})
	register(unix.SYS_LCHOWN, Entry{Name: "lchown", fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		return sysFchownat(t, Args{atfd, a[0], a[1], a[2], unix.AT_SYMLINK_NOFOLLOW})
	}, args: []argKind{aPath, aInt, aInt}})
	register(unix.SYS_UTIMENSAT, Entry{Name: "utimensat", fn: sysUtimensat, args: []argKind{aDirFD, aPath, aPtr, aAtFlags}})
	register(unix.SYS_UTIMES, Entry{Name: "utimes", fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		return futimesat(t, unix.AT_FDCWD, a[0], a[1])
	}, args: []argKind{aPath, aPtr}})
	register(unix.SYS_FUTIMESAT, Entry{Name: "futimesat", fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		return futimesat(t, a.Int(0), a[1], a[2])
	}, args: []argKind{aDirFD, aPath, aPtr}})
	register(unix.SYS_UTIME, Entry{Name: "utime", fn: sysUtime, args: []argKind{aPath, aPtr}})
}

// fileOrPath is the file of an f* call: fd's path, EBADF for O_PATH
// where Linux refuses it.
func (t *Thread) fdPath(fd int, allowPath bool) (vfs.Path, unix.Errno) {
	vf, _, e := t.vfile(fd)
	if e != 0 {
		return vfs.Path{}, e
	}
	if vf == nil {
		return vfs.Path{}, unix.EPERM // no attributes to change on pipes and the like here
	}
	if vf.PathOnly() && !allowPath {
		return vfs.Path{}, unix.EBADF
	}
	return vf.Path(), 0
}

func sysFchmod(t *Thread, a Args) (uint64, unix.Errno) {
	p, e := t.fdPath(a.Int(0), false)
	if e != 0 {
		return 0, e
	}
	return 0, t.K.FS().VFS.Chmod(t.vctx(), p, uint32(a[1]))
}

func fchmodat(t *Thread, dirfd int, addr uint64, mode uint32, flags int) (uint64, unix.Errno) {
	if e := atFlags(flags, unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH); e != 0 {
		return 0, e
	}
	if flags&unix.AT_EMPTY_PATH != 0 {
		if path, e := t.pathArg(addr); e == 0 && path == "" {
			p, e := t.fdPath(dirfd, true)
			if e != 0 {
				return 0, e
			}
			return 0, t.K.FS().VFS.Chmod(t.vctx(), p, mode)
		}
	}
	p, e := t.lookupAt(dirfd, addr, flags, true)
	if e != 0 {
		return 0, e
	}
	v := t.K.FS().VFS
	if flags&unix.AT_SYMLINK_NOFOLLOW != 0 {
		if st, e := v.Stat(t.vctx(), p); e == 0 && vfs.IsLink(st.Mode) {
			return 0, unix.EOPNOTSUPP
		}
	}
	return 0, v.Chmod(t.vctx(), p, mode)
}

func sysFchown(t *Thread, a Args) (uint64, unix.Errno) {
	p, e := t.fdPath(a.Int(0), false)
	if e != 0 {
		return 0, e
	}
	return 0, t.K.FS().VFS.Chown(t.vctx(), p, uint32(a[1]), uint32(a[2]))
}

func sysFchownat(t *Thread, a Args) (uint64, unix.Errno) {
	flags := a.Int(4)
	if e := atFlags(flags, unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH); e != 0 {
		return 0, e
	}
	if flags&unix.AT_EMPTY_PATH != 0 {
		if path, e := t.pathArg(a[1]); e == 0 && path == "" {
			p, e := t.fdPath(a.Int(0), true)
			if e != 0 {
				return 0, e
			}
			return 0, t.K.FS().VFS.Chown(t.vctx(), p, uint32(a[2]), uint32(a[3]))
		}
	}
	p, e := t.lookupAt(a.Int(0), a[1], flags, true)
	if e != 0 {
		return 0, e
	}
	return 0, t.K.FS().VFS.Chown(t.vctx(), p, uint32(a[2]), uint32(a[3]))
}

// utimes applies times (nil: now) to the file of an *at call; a NULL
// path with a dirfd is futimens.
func (t *Thread) utimes(dirfd int, addr uint64, times *[2]vfs.Timespec, flags int) (uint64, unix.Errno) {
	if e := atFlags(flags, unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH); e != 0 {
		return 0, e
	}
	var p vfs.Path
	var e unix.Errno
	if addr == 0 {
		// utimensat(fd, NULL, ...): the file fd is (glibc's futimens).
		if dirfd == unix.AT_FDCWD {
			return 0, unix.EFAULT
		}
		if flags != 0 {
			return 0, unix.EINVAL // do_utimes_fd takes no flags
		}
		// fdget, not fdget_raw: an O_PATH descriptor is EBADF here
		// (AT_EMPTY_PATH with "" takes it).
		p, e = t.fdPath(dirfd, false)
	} else {
		if flags&unix.AT_EMPTY_PATH != 0 {
			if path, e := t.pathArg(addr); e == 0 && path == "" {
				p, e := t.fdPath(dirfd, true)
				if e != 0 {
					return 0, e
				}
				return 0, t.K.FS().VFS.Utimes(t.vctx(), p, times)
			}
		}
		p, e = t.lookupAt(dirfd, addr, flags, true)
	}
	if e != 0 {
		return 0, e
	}
	return 0, t.K.FS().VFS.Utimes(t.vctx(), p, times)
}

func sysUtimensat(t *Thread, a Args) (uint64, unix.Errno) {
	var times *[2]vfs.Timespec
	if a[2] != 0 {
		var b [32]byte
		if e := t.mm().CopyIn(a[2], b[:]); e != 0 {
			return 0, e
		}
		times = &[2]vfs.Timespec{}
		for i := range times {
			times[i] = vfs.Timespec{Sec: int64(binary.LittleEndian.Uint64(b[16*i:])), Nsec: int64(binary.LittleEndian.Uint64(b[16*i+8:]))}
		}
		if times[0].Nsec == vfs.UTIME_NOW && times[1].Nsec == vfs.UTIME_NOW {
			times = nil // both now: the rules of a NULL times
		}
	}
	return t.utimes(a.Int(0), a[1], times, a.Int(3))
}

// futimesat reads struct timeval[2] (microseconds).
func futimesat(t *Thread, dirfd int, addr, tv uint64) (uint64, unix.Errno) {
	var times *[2]vfs.Timespec
	if tv != 0 {
		var b [32]byte
		if e := t.mm().CopyIn(tv, b[:]); e != 0 {
			return 0, e
		}
		times = &[2]vfs.Timespec{}
		for i := range times {
			us := int64(binary.LittleEndian.Uint64(b[16*i+8:]))
			if us < 0 || us >= 1e6 {
				return 0, unix.EINVAL
			}
			times[i] = vfs.Timespec{Sec: int64(binary.LittleEndian.Uint64(b[16*i:])), Nsec: us * 1000}
		}
	}
	if addr == 0 {
		return 0, unix.EFAULT
	}
	return t.utimes(dirfd, addr, times, 0)
}

// utime reads struct utimbuf (whole seconds).
func sysUtime(t *Thread, a Args) (uint64, unix.Errno) {
	var times *[2]vfs.Timespec
	if a[1] != 0 {
		var b [16]byte
		if e := t.mm().CopyIn(a[1], b[:]); e != 0 {
			return 0, e
		}
		times = &[2]vfs.Timespec{{Sec: int64(binary.LittleEndian.Uint64(b[0:]))}, {Sec: int64(binary.LittleEndian.Uint64(b[8:]))}}
	}
	return t.utimes(unix.AT_FDCWD, a[0], times, 0)
}
