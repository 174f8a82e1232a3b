package syscalls

import (
	"github.com/rumpgo/rumpgo/posix"
	"golang.org/x/sys/unix"
)

func init() {
	register(unix.SYS_PIDFD_OPEN, Entry{Name: "pidfd_open", Support: Partial, Note: "processes; PIDFD_THREAD (Linux 6.9) is EINVAL, as before it",
		fn: sysPidfdOpen, args: []argKind{aInt, aHex}})
	register(unix.SYS_PIDFD_SEND_SIGNAL, Entry{Name: "pidfd_send_signal", fn: sysPidfdSendSignal, args: []argKind{aFD, aSignal, aPtr, aHex}})
	register(unix.SYS_PIDFD_GETFD, Entry{Name: "pidfd_getfd", Support: Partial, Note: "allowed to whoever may signal the process (or with CAP_SYS_PTRACE); Linux asks ptrace's checks, which also want the same gids and a dumpable target",
		fn: sysPidfdGetfd, args: []argKind{aFD, aFD, aHex}})
}

// pidfd_open(2) and pidfd_send_signal(2) flags (linux/pidfd.h).
const (
	PIDFD_NONBLOCK             = unix.O_NONBLOCK
	PIDFD_THREAD               = unix.O_EXCL
	PIDFD_SIGNAL_THREAD        = 1 << 0
	PIDFD_SIGNAL_THREAD_GROUP  = 1 << 1
	PIDFD_SIGNAL_PROCESS_GROUP = 1 << 2
	pidfdSignalFlags           = PIDFD_SIGNAL_THREAD | PIDFD_SIGNAL_THREAD_GROUP | PIDFD_SIGNAL_PROCESS_GROUP
)

func sysPidfdOpen(t *Thread, a Args) (uint64, unix.Errno) {
	pid, flags := a.Int(0), a.Int(1)
	if flags&^(PIDFD_NONBLOCK|PIDFD_THREAD) != 0 || pid <= 0 {
		return 0, unix.EINVAL
	}
	if flags&PIDFD_THREAD != 0 {
		t.K.countUnsupported(unix.SYS_PIDFD_OPEN)
		return 0, unix.EINVAL // thread pidfds: a kernel before 6.9
	}
	return t.newPidFD(pid, flags)
}

// newPidFD installs a pidfd of process pid (a zombie too), close-on-exec
// as every pidfd is: ESRCH when there is no such process, ENOENT for a
// thread that does not lead its process.
func (t *Thread) newPidFD(pid, flags int) (uint64, unix.Errno) {
	g := t.K.Procs.Group(pid)
	if g == nil {
		if t.K.Procs.Task(pid) != nil {
			return 0, unix.ENOENT
		}
		return 0, unix.ESRCH
	}
	fd, e := t.Task.Group.FDs.Install(posix.NewPidFD(g, flags), 0, true, t.fdLimit())
	return uint64(fd), e
}

// pidfdOf is the process fd names: EBADF for no descriptor or another
// kind of file.
func (t *Thread) pidfdOf(fd int) (*posix.PidFD, unix.Errno) {
	f, e := t.file(fd)
	if e != 0 {
		return nil, e
	}
	p, ok := fileOf(f).(*posix.PidFD)
	if !ok {
		return nil, unix.EBADF
	}
	return p, 0
}

// reaped reports whether g no longer exists (waited for).
func (t *Thread) reaped(g *posix.ThreadGroup) bool { return t.K.Procs.Group(g.PID) != g }

// sysPidfdSendSignal checks as Linux: the flags (one scope at most), the
// pidfd, the siginfo, then the target as kill does (ESRCH once reaped,
// EINVAL for a bad signal, EPERM).
func sysPidfdSendSignal(t *Thread, a Args) (uint64, unix.Errno) {
	sig, flags := a.Int(1), a.Int(3)
	if flags&^pidfdSignalFlags != 0 || flags&(flags-1) != 0 {
		return 0, unix.EINVAL
	}
	p, e := t.pidfdOf(a.Int(0))
	if e != 0 {
		return 0, e
	}
	g := p.G
	info := t.sender(sig, posix.SI_USER)
	if a[2] != 0 {
		// Arbitrary siginfo only to oneself, and only as a process.
		if info, e = t.queuedInfo(sig, a[2], g); e != 0 {
			return 0, e
		}
		if flags&(PIDFD_SIGNAL_THREAD|PIDFD_SIGNAL_PROCESS_GROUP) != 0 && (info.Code >= 0 || info.Code == posix.SI_TKILL) {
			return 0, unix.EPERM
		}
	}
	if flags&PIDFD_SIGNAL_PROCESS_GROUP != 0 {
		if t.reaped(g) {
			return 0, unix.ESRCH
		}
		return sysKill(t, Args{uint64(-g.PGID()), uint64(sig)})
	}
	if t.reaped(g) {
		return 0, unix.ESRCH
	}
	if !validSignal(sig) {
		return 0, unix.EINVAL
	}
	if flags&PIDFD_SIGNAL_THREAD != 0 {
		if g.Exiting() && g.NumTasks() == 0 {
			return 0, unix.ESRCH
		}
		return t.tkill(g.PID, sig, info)
	}
	if !t.maySignal(g, sig) {
		return 0, unix.EPERM
	}
	if sig == 0 || g.Exiting() && g.NumTasks() == 0 {
		return 0, 0 // a zombie takes a signal, to no effect
	}
	return 0, g.Send(info)
}

// sysPidfdGetfd duplicates the target's descriptor into the caller,
// close-on-exec.
func sysPidfdGetfd(t *Thread, a Args) (uint64, unix.Errno) {
	if a[2] != 0 {
		return 0, unix.EINVAL
	}
	p, e := t.pidfdOf(a.Int(0))
	if e != 0 {
		return 0, e
	}
	g := p.G
	if t.reaped(g) {
		return 0, unix.ESRCH
	}
	if g != t.Task.Group && !t.capable(capSysPtrace) && !t.maySignal(g, 0) {
		return 0, unix.EPERM
	}
	if g.FDs == nil || g.Exiting() && g.NumTasks() == 0 {
		return 0, unix.EBADF // a zombie has no descriptors
	}
	of, e := g.FDs.Hold(a.Int(1))
	if e != 0 {
		return 0, e
	}
	defer of.Put()
	fd, e := t.Task.Group.FDs.InstallOpen(of, 0, true, t.fdLimit())
	return uint64(fd), e
}
