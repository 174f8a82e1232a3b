package syscalls

import (
	"github.com/rumpgo/rumpgo/posix/vfs"
	"golang.org/x/sys/unix"
)

func init() {
	register(unix.SYS_INOTIFY_INIT, Entry{Name: "inotify_init", Support: Partial, Note: "as inotify_init1",
		fn: func(t *Thread, a Args) (uint64, unix.Errno) { return sysInotifyInit1(t, Args{}) }})
	register(unix.SYS_INOTIFY_INIT1, Entry{Name: "inotify_init1", Support: Partial,
		Note: "events for the guest's own changes on every file system (not a host volume's other writers); a file open when its last link goes is reported deleted at once (Linux: at its last close); IN_UNMOUNT never comes",
		fn:   sysInotifyInit1, args: []argKind{aHex}})
	register(unix.SYS_INOTIFY_ADD_WATCH, Entry{Name: "inotify_add_watch", fn: sysInotifyAddWatch, args: []argKind{aFD, aPath, aHex}})
	register(unix.SYS_INOTIFY_RM_WATCH, Entry{Name: "inotify_rm_watch", fn: sysInotifyRmWatch, args: []argKind{aFD, aInt}})
}

func sysInotifyInit1(t *Thread, a Args) (uint64, unix.Errno) {
	flags := a.Int(0)
	if flags&^(unix.IN_CLOEXEC|unix.IN_NONBLOCK) != 0 {
		return 0, unix.EINVAL
	}
	in := vfs.NewInotify(flags)
	fd, e := t.Task.Group.FDs.Install(in, 0, flags&unix.IN_CLOEXEC != 0, t.fdLimit())
	return uint64(fd), e
}

// inotifyOf is fd's inotify instance: EBADF for no descriptor, EINVAL for
// another kind of file.
func (t *Thread) inotifyOf(fd int) (*vfs.Inotify, unix.Errno) {
	f, e := t.file(fd)
	if e != 0 {
		return nil, e
	}
	in, ok := fileOf(f).(*vfs.Inotify)
	if !ok {
		return nil, unix.EINVAL
	}
	return in, 0
}

// sysInotifyAddWatch checks in Linux's order: the mask, the descriptor,
// the path (IN_DONT_FOLLOW, IN_ONLYDIR), read permission on the file.
func sysInotifyAddWatch(t *Thread, a Args) (uint64, unix.Errno) {
	mask := uint32(a[2])
	if mask&vfs.IN_MASK_ADD != 0 && mask&vfs.IN_MASK_CREATE != 0 {
		return 0, unix.EINVAL
	}
	if mask&vfs.InotifyWatchBits == 0 {
		return 0, unix.EINVAL
	}
	in, e := t.inotifyOf(a.Int(0))
	if e != 0 {
		return 0, e
	}
	v, fsc, e := t.vfs()
	if e != 0 {
		return 0, e
	}
	path, e := t.pathArg(a[1])
	if e != 0 {
		return 0, e
	}
	lf := 0
	if mask&vfs.IN_DONT_FOLLOW == 0 {
		lf |= vfs.LookupFollow
	}
	if mask&vfs.IN_ONLYDIR != 0 {
		lf |= vfs.LookupDirectory
	}
	ctx := t.vctx()
	p, e := v.Lookup(ctx, fsc, vfs.Path{}, path, lf)
	if e != 0 {
		return 0, e
	}
	if e := v.Access(ctx, p, unix.R_OK); e != 0 {
		return 0, e
	}
	wd, e := in.AddWatch(p, mask)
	return uint64(wd), e
}

func sysInotifyRmWatch(t *Thread, a Args) (uint64, unix.Errno) {
	in, e := t.inotifyOf(a.Int(0))
	if e != 0 {
		return 0, e
	}
	return 0, in.RmWatch(int32(a[1]))
}
