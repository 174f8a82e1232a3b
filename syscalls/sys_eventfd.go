package syscalls

import (
	"github.com/rumpgo/rumpgo/posix"
	"golang.org/x/sys/unix"
)

func init() {
	register(unix.SYS_EVENTFD, Entry{Name: "eventfd", fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		return sysEventfd2(t, Args{a[0], 0})
	}, args: []argKind{aUint}})
	register(unix.SYS_EVENTFD2, Entry{Name: "eventfd2", fn: sysEventfd2, args: []argKind{aUint, aHex}})
}

func sysEventfd2(t *Thread, a Args) (uint64, unix.Errno) {
	flags := a.Int(1)
	if flags&^(unix.EFD_CLOEXEC|unix.EFD_NONBLOCK|unix.EFD_SEMAPHORE) != 0 {
		return 0, unix.EINVAL
	}
	e := posix.NewEventFD(uint64(uint32(a[0])), flags)
	fd, errno := t.Task.Group.FDs.Install(e, 0, flags&unix.EFD_CLOEXEC != 0, t.fdLimit())
	return uint64(fd), errno
}
