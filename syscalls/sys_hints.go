package syscalls

import (
	"github.com/rumpgo/rumpgo/posix/vfs"
	"golang.org/x/sys/unix"
)

// Calls that advise the kernel about a file's pages or ask it to write
// them: every file here lives in memory or in the host's page cache, so
// after Linux's checks there is nothing left to do.
func init() {
	register(unix.SYS_READAHEAD, Entry{Name: "readahead", Note: "checks only: file pages are in memory or the host's cache",
		fn: sysReadahead, args: []argKind{aFD, aInt, aUint}})
	register(unix.SYS_SYNC_FILE_RANGE, Entry{Name: "sync_file_range", Note: "checks, then as fdatasync",
		fn: sysSyncFileRange, args: []argKind{aFD, aInt, aInt, aHex}})
	register(unix.SYS_FADVISE64, Entry{Name: "fadvise64", Note: "checks only: the advice has nothing to change here",
		fn: sysFadvise64, args: []argKind{aFD, aInt, aInt, aInt}})
	register(unix.SYS_FCHMODAT2, Entry{Name: "fchmodat2", fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		return fchmodat(t, a.Int(0), a[1], uint32(a[2]), a.Int(3))
	}, args: []argKind{aDirFD, aPath, aOctal, aAtFlags}})
}

// regularFile returns fd's file when it is a file-system file, else the
// errno of a call that needs one: EBADF for a bad descriptor, notFile for
// pipes, sockets and the like.
func (t *Thread) regularFile(fd int, notFile unix.Errno) (*vfs.File, unix.Errno) {
	vf, _, e := t.vfile(fd)
	if e != 0 {
		return nil, e
	}
	if vf == nil || vf.PathOnly() {
		if vf != nil {
			return nil, unix.EBADF
		}
		return nil, notFile
	}
	return vf, 0
}

func sysReadahead(t *Thread, a Args) (uint64, unix.Errno) {
	vf, e := t.regularFile(a.Int(0), unix.EINVAL)
	if e != 0 {
		return 0, e
	}
	if vf.Flags()&unix.O_ACCMODE == unix.O_WRONLY {
		return 0, unix.EBADF // readahead needs FMODE_READ
	}
	if vf.Type()&vfs.S_IFMT != vfs.S_IFREG {
		return 0, unix.EINVAL
	}
	return 0, 0
}

// sync_file_range flags (linux/fs.h).
const (
	SYNC_FILE_RANGE_WAIT_BEFORE = 1
	SYNC_FILE_RANGE_WRITE       = 2
	SYNC_FILE_RANGE_WAIT_AFTER  = 4
)

func sysSyncFileRange(t *Thread, a Args) (uint64, unix.Errno) {
	off, n, flags := int64(a[1]), int64(a[2]), a[3]
	if flags&^(SYNC_FILE_RANGE_WAIT_BEFORE|SYNC_FILE_RANGE_WRITE|SYNC_FILE_RANGE_WAIT_AFTER) != 0 {
		return 0, unix.EINVAL
	}
	if off < 0 || n < 0 || off+n < off {
		return 0, unix.EINVAL
	}
	vf, e := t.regularFile(a.Int(0), unix.ESPIPE)
	if e != 0 {
		return 0, e
	}
	switch vf.Type() & vfs.S_IFMT {
	case vfs.S_IFREG, vfs.S_IFDIR, vfs.S_IFLNK, vfs.S_IFBLK:
	default:
		return 0, unix.ESPIPE
	}
	if flags == 0 {
		return 0, 0
	}
	return 0, vf.Sync(t.vctx(), true)
}

// fadvise advice (linux/fadvise.h).
const posixFadvNoreuse = 5

func sysFadvise64(t *Thread, a Args) (uint64, unix.Errno) {
	vf, e := t.regularFile(a.Int(0), unix.ESPIPE)
	if e != 0 {
		return 0, e
	}
	if vf.Type()&vfs.S_IFMT == vfs.S_IFIFO {
		return 0, unix.ESPIPE
	}
	if int64(a[2]) < 0 {
		return 0, unix.EINVAL
	}
	if advice := a.Int(3); advice < unix.FADV_NORMAL || advice > posixFadvNoreuse {
		return 0, unix.EINVAL
	}
	return 0, 0
}
