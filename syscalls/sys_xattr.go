package syscalls

import (
	"strings"

	"github.com/rumpgo/rumpgo/posix/vfs"
	"golang.org/x/sys/unix"
)

func init() {
	note := "on file systems with xattrs (tmpfs: user., trusted., security.); ENOTSUP elsewhere"
	reg := func(nr uintptr, name string, fn handler, args ...argKind) {
		register(nr, Entry{Name: name, Support: Partial, Note: note, fn: fn, args: args})
	}
	// Path (follow), path (no follow) and fd variants of each call.
	reg(unix.SYS_GETXATTR, "getxattr", func(t *Thread, a Args) (uint64, unix.Errno) { return getxattr(t, xPath, a) }, aPath, aPath, aPtr, aUint)
	reg(unix.SYS_LGETXATTR, "lgetxattr", func(t *Thread, a Args) (uint64, unix.Errno) { return getxattr(t, xLink, a) }, aPath, aPath, aPtr, aUint)
	reg(unix.SYS_FGETXATTR, "fgetxattr", func(t *Thread, a Args) (uint64, unix.Errno) { return getxattr(t, xFD, a) }, aFD, aPath, aPtr, aUint)
	reg(unix.SYS_SETXATTR, "setxattr", func(t *Thread, a Args) (uint64, unix.Errno) { return setxattr(t, xPath, a) }, aPath, aPath, aPtr, aUint, aHex)
	reg(unix.SYS_LSETXATTR, "lsetxattr", func(t *Thread, a Args) (uint64, unix.Errno) { return setxattr(t, xLink, a) }, aPath, aPath, aPtr, aUint, aHex)
	reg(unix.SYS_FSETXATTR, "fsetxattr", func(t *Thread, a Args) (uint64, unix.Errno) { return setxattr(t, xFD, a) }, aFD, aPath, aPtr, aUint, aHex)
	reg(unix.SYS_LISTXATTR, "listxattr", func(t *Thread, a Args) (uint64, unix.Errno) { return listxattr(t, xPath, a) }, aPath, aPtr, aUint)
	reg(unix.SYS_LLISTXATTR, "llistxattr", func(t *Thread, a Args) (uint64, unix.Errno) { return listxattr(t, xLink, a) }, aPath, aPtr, aUint)
	reg(unix.SYS_FLISTXATTR, "flistxattr", func(t *Thread, a Args) (uint64, unix.Errno) { return listxattr(t, xFD, a) }, aFD, aPtr, aUint)
	reg(unix.SYS_REMOVEXATTR, "removexattr", func(t *Thread, a Args) (uint64, unix.Errno) { return removexattr(t, xPath, a) }, aPath, aPath)
	reg(unix.SYS_LREMOVEXATTR, "lremovexattr", func(t *Thread, a Args) (uint64, unix.Errno) { return removexattr(t, xLink, a) }, aPath, aPath)
	reg(unix.SYS_FREMOVEXATTR, "fremovexattr", func(t *Thread, a Args) (uint64, unix.Errno) { return removexattr(t, xFD, a) }, aFD, aPath)

}

type xattrTarget int

const (
	xPath xattrTarget = iota
	xLink
	xFD
)

// XATTR_NAME_MAX and XATTR_SIZE_MAX (linux/limits.h).
const (
	XATTR_NAME_MAX = 255
	XATTR_SIZE_MAX = 65536
	XATTR_LIST_MAX = 65536
)

// xattrInode resolves the first argument of an xattr call.
func (t *Thread) xattrInode(how xattrTarget, a Args) (vfs.Path, unix.Errno) {
	switch how {
	case xFD:
		return t.fdPath(a.Int(0), false)
	case xLink:
		return t.lookupAt(unix.AT_FDCWD, a[0], unix.AT_SYMLINK_NOFOLLOW, true)
	}
	return t.lookupAt(unix.AT_FDCWD, a[0], 0, true)
}

func (t *Thread) xattrName(addr uint64) (string, unix.Errno) {
	name, e := t.mm().CopyInString(addr, XATTR_NAME_MAX+1)
	if e == unix.ENAMETOOLONG {
		return "", unix.ERANGE
	}
	if e != 0 {
		return "", e
	}
	if name == "" {
		return "", unix.ERANGE
	}
	return name, 0
}

func xattrOf(p vfs.Path) (vfs.XattrInode, bool) {
	x, ok := p.Inode.(vfs.XattrInode)
	return x, ok
}

// xattrPerm checks access to an attribute: user.* follows the file's
// permissions, trusted.* needs CAP_SYS_ADMIN (21).
func (t *Thread) xattrPerm(p vfs.Path, name string, want int) unix.Errno {
	if strings.HasPrefix(name, "trusted.") && !t.capable(21) {
		return unix.EPERM
	}
	if strings.HasPrefix(name, "user.") {
		st, e := t.K.FS().VFS.Stat(t.vctx(), p)
		if e != 0 {
			return e
		}
		if want == vfs.MayWrite && !vfs.IsDir(st.Mode) && vfs.FileType(st.Mode) != vfs.S_IFREG {
			return unix.EPERM
		}
		return vfs.Permission(t.cred(), &st, want)
	}
	return 0
}

func getxattr(t *Thread, how xattrTarget, a Args) (uint64, unix.Errno) {
	p, e := t.xattrInode(how, a)
	if e != 0 {
		return 0, e
	}
	name, e := t.xattrName(a[1])
	if e != 0 {
		return 0, e
	}
	x, ok := xattrOf(p)
	if !ok {
		return 0, unix.EOPNOTSUPP
	}
	if e := t.xattrPerm(p, name, vfs.MayRead); e != 0 {
		return 0, e
	}
	v, e := x.GetXattr(t.vctx(), name)
	if e != 0 {
		return 0, e
	}
	if a[3] == 0 {
		return uint64(len(v)), 0
	}
	if uint64(len(v)) > a[3] {
		return 0, unix.ERANGE
	}
	return uint64(len(v)), t.mm().CopyOut(a[2], v)
}

func setxattr(t *Thread, how xattrTarget, a Args) (uint64, unix.Errno) {
	flags := a.Int(4)
	if flags&^(unix.XATTR_CREATE|unix.XATTR_REPLACE) != 0 {
		return 0, unix.EINVAL
	}
	p, e := t.xattrInode(how, a)
	if e != 0 {
		return 0, e
	}
	name, e := t.xattrName(a[1])
	if e != 0 {
		return 0, e
	}
	if a[3] > XATTR_SIZE_MAX {
		return 0, unix.E2BIG
	}
	val := make([]byte, a[3])
	if e := t.mm().CopyIn(a[2], val); e != 0 {
		return 0, e
	}
	if p.Mnt.ReadOnly() {
		return 0, unix.EROFS
	}
	x, ok := xattrOf(p)
	if !ok {
		return 0, unix.EOPNOTSUPP
	}
	if e := t.xattrPerm(p, name, vfs.MayWrite); e != 0 {
		return 0, e
	}
	return 0, x.SetXattr(t.vctx(), name, val, flags)
}

func listxattr(t *Thread, how xattrTarget, a Args) (uint64, unix.Errno) {
	p, e := t.xattrInode(how, a)
	if e != 0 {
		return 0, e
	}
	x, ok := xattrOf(p)
	if !ok {
		return 0, 0 // no attributes: an empty list, as Linux for such files
	}
	names, e := x.ListXattr(t.vctx())
	if e != 0 {
		return 0, e
	}
	var b []byte
	for _, n := range names {
		if strings.HasPrefix(n, "trusted.") && !t.capable(21) {
			continue
		}
		b = append(append(b, n...), 0)
	}
	if a[2] == 0 {
		return uint64(len(b)), 0
	}
	if uint64(len(b)) > a[2] {
		return 0, unix.ERANGE
	}
	return uint64(len(b)), t.mm().CopyOut(a[1], b)
}

func removexattr(t *Thread, how xattrTarget, a Args) (uint64, unix.Errno) {
	p, e := t.xattrInode(how, a)
	if e != 0 {
		return 0, e
	}
	name, e := t.xattrName(a[1])
	if e != 0 {
		return 0, e
	}
	if p.Mnt.ReadOnly() {
		return 0, unix.EROFS
	}
	x, ok := xattrOf(p)
	if !ok {
		return 0, unix.EOPNOTSUPP
	}
	if e := t.xattrPerm(p, name, vfs.MayWrite); e != 0 {
		return 0, e
	}
	return 0, x.RemoveXattr(t.vctx(), name)
}
