package vfs

import (
	"slices"

	"github.com/rumpgo/rumpgo/posix"
	"golang.org/x/sys/unix"
)

// Access bits of permission checks (MAY_* in linux/fs.h; the same values as
// access(2)'s R_OK, W_OK and X_OK).
const (
	MayExec  = 1
	MayWrite = 2
	MayRead  = 4
)

// InGroup reports whether c's fsgid or supplementary groups include gid.
func InGroup(c posix.Cred, gid uint32) bool {
	if c.FSGID == gid {
		return true
	}
	_, ok := slices.BinarySearch(c.Groups, gid)
	return ok
}

// Permission is Linux's generic_permission: the mode bits for c's class,
// then the DAC override capabilities (which root holds). want is MAY_*.
func Permission(c posix.Cred, st *Stat, want int) unix.Errno {
	mode := st.Mode
	var bits uint32
	switch {
	case c.FSUID == st.UID:
		bits = mode >> 6
	case InGroup(c, st.GID):
		bits = mode >> 3
	default:
		bits = mode
	}
	if uint32(want)&^bits&7 == 0 {
		return 0
	}
	dir := IsDir(mode)
	if c.Capable(posix.CAP_DAC_OVERRIDE) {
		// Everything, except executing a file no one may execute.
		if dir || want&MayExec == 0 || mode&0o111 != 0 {
			return 0
		}
	}
	if c.Capable(posix.CAP_DAC_READ_SEARCH) {
		if want&MayWrite == 0 && (want&MayExec == 0 || dir) {
			return 0
		}
	}
	return unix.EACCES
}

// OwnerOrCapable is inode_owner_or_capable: c owns the file or holds
// CAP_FOWNER.
func OwnerOrCapable(c posix.Cred, st *Stat) bool {
	return c.FSUID == st.UID || c.Capable(posix.CAP_FOWNER)
}

// mayDelete checks that c may remove or rename away child (stat cst) from
// dir (stat dst): write and search permission on dir, and the sticky bit's
// rule (owner of the file or of the directory, or CAP_FOWNER).
func mayDelete(c posix.Cred, dst, cst *Stat) unix.Errno {
	if e := Permission(c, dst, MayWrite|MayExec); e != 0 {
		return e
	}
	if dst.Mode&S_ISVTX != 0 && c.FSUID != cst.UID && c.FSUID != dst.UID && !c.Capable(posix.CAP_FOWNER) {
		return unix.EPERM
	}
	return 0
}
