package syscalls

import (
	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/vfs"
	"golang.org/x/sys/unix"
)

// RLIMIT_FSIZE, as Linux's generic_write_check_limits and
// inode_newsize_ok apply it to regular files: a write starting at or past
// the limit, or a truncate growing the file past it, raises SIGXFSZ and
// fails with EFBIG; a write crossing it is cut short at the limit.

// fsizeLimit is the caller's RLIMIT_FSIZE, and whether there is one.
func (t *Thread) fsizeLimit() (uint64, bool) {
	lim := t.Task.Group.Limits.Get(unix.RLIMIT_FSIZE).Cur
	return lim, lim != posix.RLIM_INFINITY
}

// xfsz raises SIGXFSZ on the calling thread (send_sig(SIGXFSZ, current)).
func (t *Thread) xfsz() {
	t.Task.Send(t.sender(int(unix.SIGXFSZ), posix.SI_USER))
}

// fsizeWrite cuts a write of n bytes to vf at off (-1: at its end) to the
// limit, or refuses it.
func (t *Thread) fsizeWrite(vf *vfs.File, off int64, n int) (int, unix.Errno) {
	lim, ok := t.fsizeLimit()
	if !ok || n == 0 || vf.Type()&vfs.S_IFMT != vfs.S_IFREG {
		return n, 0
	}
	if off < 0 || vf.Flags()&unix.O_APPEND != 0 {
		st, e := vf.VFS().Stat(t.vctx(), vf.Path())
		if e != 0 {
			return n, 0
		}
		off = st.Size
	}
	if uint64(off) >= lim {
		t.xfsz()
		return 0, unix.EFBIG
	}
	if uint64(off)+uint64(n) > lim {
		n = int(lim - uint64(off))
	}
	return n, 0
}

// fsizeTruncate checks a truncate of the file at p to size.
func (t *Thread) fsizeTruncate(p vfs.Path, size int64) unix.Errno {
	lim, ok := t.fsizeLimit()
	if !ok || size < 0 || uint64(size) <= lim {
		return 0
	}
	if st, e := t.K.FS().VFS.Stat(t.vctx(), p); e == 0 && (st.Mode&vfs.S_IFMT != vfs.S_IFREG || st.Size >= size) {
		return 0 // only growing a regular file is limited
	}
	t.xfsz()
	return unix.EFBIG
}
