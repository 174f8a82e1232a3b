package syscalls

import (
	"encoding/binary"

	"github.com/rumpgo/rumpgo/posix"
	"golang.org/x/sys/unix"
)

func init() {
	register(unix.SYS_PIPE, Entry{Name: "pipe", fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		return sysPipe2(t, Args{a[0], 0})
	}, args: []argKind{aPipeFDs}})
	register(unix.SYS_PIPE2, Entry{Name: "pipe2", Support: Partial,
		Note: "O_NOTIFICATION_PIPE (watch queues) is EINVAL; instead of pipe-user-pages limits, all pipes of a run hold at most 64 MiB (posix.PipeHostPages): past it a write finds the pipe full",
		fn:   sysPipe2, args: []argKind{aPipeFDs, aOpenFlags}})
}

func sysPipe2(t *Thread, a Args) (uint64, unix.Errno) {
	flags := a.Int(1)
	if flags&^(unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_DIRECT) != 0 {
		return 0, unix.EINVAL
	}
	r, w := posix.NewPipe(flags)
	cloexec := flags&unix.O_CLOEXEC != 0
	fds := t.Task.Group.FDs
	rfd, e := fds.Install(r, 0, cloexec, t.fdLimit())
	if e != 0 {
		return 0, e
	}
	wfd, e := fds.Install(w, 0, cloexec, t.fdLimit())
	if e != 0 {
		fds.Close(rfd)
		return 0, e
	}
	var b [8]byte
	binary.LittleEndian.PutUint32(b[0:], uint32(rfd))
	binary.LittleEndian.PutUint32(b[4:], uint32(wfd))
	if e := t.mm().CopyOut(a[0], b[:]); e != 0 {
		fds.Close(rfd)
		fds.Close(wfd)
		return 0, e
	}
	return 0, 0
}
