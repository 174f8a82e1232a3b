package syscalls

import (
	"encoding/binary"
	"errors"
	"math"
	"time"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/rumpglue"
	"golang.org/x/sys/unix"
)

// This file is processes: fork, vfork and clone without CLONE_THREAD, how
// a process ends, wait4 and waitid, and process groups and sessions.
// execve is sys_exec.go.

func init() {
	register(unix.SYS_FORK, Entry{Name: "fork", Note: "private pages copy-on-write, shared mappings shared",
		fn: func(t *Thread, a Args) (uint64, unix.Errno) {
			return t.cloneProcess(unix.SYS_FORK, uint64(unix.SIGCHLD), 0, 0, 0, 0, 0)
		}})
	register(unix.SYS_VFORK, Entry{Name: "vfork", fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		return t.cloneProcess(unix.SYS_VFORK, unix.CLONE_VM|unix.CLONE_VFORK|uint64(unix.SIGCHLD), 0, 0, 0, 0, 0)
	}})
	register(unix.SYS_WAIT4, Entry{Name: "wait4", Support: Partial, Note: "rusage reads zero",
		fn: sysWait4, args: []argKind{aInt, aPtr, aHex, aPtr}})
	register(unix.SYS_WAITID, Entry{Name: "waitid", Support: Partial, Note: "rusage reads zero",
		fn: sysWaitid, args: []argKind{aInt, aInt, aPtr, aHex, aPtr}})
	register(unix.SYS_GETPPID, Entry{Name: "getppid", Note: "0 for the machine's first process, as for PID 1 of a namespace",
		fn: func(t *Thread, a Args) (uint64, unix.Errno) { return uint64(t.Task.Group.PPID()), 0 }})
	register(unix.SYS_GETPGRP, Entry{Name: "getpgrp", fn: func(t *Thread, a Args) (uint64, unix.Errno) { return uint64(t.Task.Group.PGID()), 0 }})
	register(unix.SYS_GETPGID, Entry{Name: "getpgid", fn: sysGetpgid, args: []argKind{aInt}})
	register(unix.SYS_GETSID, Entry{Name: "getsid", fn: sysGetsid, args: []argKind{aInt}})
	register(unix.SYS_SETSID, Entry{Name: "setsid", fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		sid, e := t.Task.Group.SetSID()
		return uint64(sid), e
	}})
	register(unix.SYS_SETPGID, Entry{Name: "setpgid", fn: sysSetpgid, args: []argKind{aInt, aInt}})
}

// cloneFlagsUnsupported are clone flags a new process cannot have here:
// CLONE_PARENT, a shared io context, and shared signal handlers without a
// shared thread group. New namespaces answer EPERM, as for a
// process without CAP_SYS_ADMIN; CLONE_PTRACE and CLONE_UNTRACED mean
// nothing to a process nobody traces, as on Linux.
const cloneFlagsUnsupported = unix.CLONE_PARENT | unix.CLONE_IO | unix.CLONE_SIGHAND

// cloneProcess starts a new process: a copy of the caller's address
// space (fork), or the same one with the caller waiting until the child
// execs or ends (CLONE_VM|CLONE_VFORK). flags' low byte is the signal the
// parent gets when the child ends.
func (t *Thread) cloneProcess(nr, flags, newSP, parentTID, childTID, tls, pidfdAddr uint64) (uint64, unix.Errno) {
	if flags&cloneNamespaces != 0 {
		t.K.countUnsupported(nr)
		return 0, unix.EPERM
	}
	if flags&cloneFlagsUnsupported != 0 {
		t.K.countUnsupported(nr)
		return 0, unix.ENOSYS
	}
	exitSignal := int(flags & 0xff)
	if exitSignal > posix.NSIG {
		return 0, unix.EINVAL
	}
	g := t.Task.Group
	child, e := g.Processes().NewProcess(g, exitSignal)
	if e != 0 {
		return 0, e
	}
	// From here on a failure removes the child, which never ran, without
	// telling the parent.
	abandon := func(e unix.Errno) (uint64, unix.Errno) {
		t.K.releaseProcess(child)
		child.Discard()
		return 0, e
	}
	if flags&unix.CLONE_VM != 0 {
		g.MM.Share()
		child.MM = g.MM
	} else {
		space, err := t.K.Machine.NewSpace()
		if err != nil {
			return abandon(unix.ENOMEM)
		}
		as, e := g.MM.Fork(space)
		if e != 0 {
			return abandon(e)
		}
		child.MM = as
	}
	if flags&unix.CLONE_FILES != 0 {
		g.FDs.Share()
		child.FDs = g.FDs
	} else {
		child.FDs = g.FDs.Fork()
	}
	child.Signals = g.Signals.Fork()
	child.Limits = g.Limits.Fork()
	posix.SetAttrs(child, t.attrs().Fork(t.Task.TID))
	if fs := t.K.FS(); fs != nil {
		fs.fork(g, child, flags&unix.CLONE_FS != 0)
	}
	task, ok := child.NewTask()
	if !ok {
		return abandon(unix.EAGAIN)
	}
	regs, fs := t.childStart(flags, newSP, tls)
	pid := uint32(child.PID)
	if flags&unix.CLONE_PARENT_SETTID != 0 {
		if e := t.putU32(parentTID, pid); e != 0 {
			task.Exit(0)
			return abandon(e)
		}
	}
	if flags&unix.CLONE_CHILD_SETTID != 0 {
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], pid)
		if e := child.MM.CopyOut(childTID, b[:]); e != 0 {
			task.Exit(0)
			return abandon(e)
		}
	}
	if flags&unix.CLONE_CHILD_CLEARTID != 0 {
		task.ClearChildTID = childTID
	}
	pidfd := -1
	if flags&unix.CLONE_PIDFD != 0 {
		// The parent's pidfd of the child, close-on-exec, written before
		// the child runs (copy_process: EFAULT undoes the fork).
		fd, e := g.FDs.Install(posix.NewPidFD(child, 0), 0, true, t.fdLimit())
		if e == 0 {
			if e = t.putU32(pidfdAddr, uint32(fd)); e != 0 {
				t.closeFD(fd)
			}
		}
		if e != 0 {
			task.Exit(0)
			return abandon(e)
		}
		pidfd = fd
	}
	task.SetMask(t.Task.Mask())
	task.AltStack = t.Task.AltStack
	task.Affinity.Store(t.Task.Affinity.Load())
	var vforked <-chan struct{}
	if flags&unix.CLONE_VFORK != 0 {
		vforked = child.Vfork()
	}
	if err := t.K.Machine.Start(t.childThread(task), child.MM.Pager(), regs, fs); err != nil {
		if pidfd >= 0 {
			t.closeFD(pidfd)
		}
		task.Exit(0)
		if !errors.Is(err, rumpglue.ErrThreadLimit) {
			t.K.report("rumpgo: cannot start process: %v", err)
		}
		return abandon(unix.EAGAIN)
	}
	if vforked != nil {
		// Like Linux's vfork wait (killable, so /proc shows D), only a
		// fatal signal ends it early.
		t.Task.SetSleeping(posix.TaskDiskWait)
		select {
		case <-vforked:
		case <-g.Dying():
		}
		t.Task.SetSleeping(0)
	}
	return uint64(pid), 0
}

// leave ends the thread's task once; the last task out ends the process.
func (t *Thread) leave(code int) {
	if t.left {
		return
	}
	t.left, t.gone = true, true
	t.K.removeThread(t)
	t.exitRobustList()
	t.recordForCore() // while its process dumps core, the registers go in (core_dump.go)
	g := t.Task.Group
	if t.Task.Exit(code & 0xff) {
		t.K.processEnded(g)
	}
}

// processEnded releases what a process held once its last task is gone,
// and turns it into a zombie for its parent: its descriptors close (so
// pipes see EOF), its memory goes back to the machine, a vfork parent
// resumes, and the parent gets its exit signal.
func (k *Kernel) processEnded(g *posix.ThreadGroup) {
	k.releaseProcess(g)
	g.ReleaseVfork()
	var uid uint32
	if a := posix.AttrsOf(g, func() *posix.ProcAttrs { return nil }); a != nil {
		uid = a.Creds.Get().RUID
	}
	k.timersMu.Lock()
	delete(k.procTimers, g)
	k.timersMu.Unlock()
	k.semExit(g) // SEM_UNDO
	if g.PID != 1 {
		killReasons.Delete(g) // only the first process's death is reported (ReportKill)
	}
	if parent, info := g.Ended(uid); parent != nil {
		parent.Send(info)
	}
}

// releaseProcess gives back what a process holds of the machine: its
// descriptors (the last user of a table closes them), its address space
// and its place in the file systems. A process that ends and one whose
// fork failed half way both go through it.
func (k *Kernel) releaseProcess(g *posix.ThreadGroup) {
	if g.FDs != nil {
		g.FDs.Release()
	}
	if g.MM != nil {
		g.MM.Release()
	}
	if fs := k.FS(); fs != nil {
		fs.forget(g)
	}
}

// wait options (linux/wait.h).
const (
	WNOHANG     = 0x1
	WUNTRACED   = 0x2
	WEXITED     = 0x4
	WCONTINUED  = 0x8
	WNOWAIT     = 0x1000000
	__WNOTHREAD = 0x20000000
	__WALL      = 0x40000000
	__WCLONE    = 0x80000000
)

// waitChild waits for a child matching f to end, as wait4 and waitid do:
// ECHILD when none matches, (zero, 0) for WNOHANG with none ended yet.
func (t *Thread) waitChild(f posix.WaitFilter, opts uint32) (posix.Zombie, unix.Errno) {
	g := t.Task.Group
	for {
		ev := g.ChildEvent()
		z, found, any := g.WaitChild(f, opts&WNOWAIT != 0)
		switch {
		case found:
			return z, 0
		case !any:
			return posix.Zombie{}, unix.ECHILD
		case opts&WNOHANG != 0:
			return posix.Zombie{}, 0
		}
		if e := t.block(ev, time.Time{}); e != 0 {
			return posix.Zombie{}, e
		}
	}
}

func sysWait4(t *Thread, a Args) (uint64, unix.Errno) {
	opts := uint32(a[2])
	if opts&^(WNOHANG|WUNTRACED|WCONTINUED|__WNOTHREAD|__WALL|__WCLONE) != 0 {
		return 0, unix.EINVAL
	}
	f := posix.WaitFilter{Clone: opts&__WCLONE != 0, All: opts&__WALL != 0,
		Exited: true, Stopped: opts&WUNTRACED != 0, Continued: opts&WCONTINUED != 0}
	switch pid := a.Int(0); {
	case pid == math.MinInt32:
		return 0, unix.ESRCH // -pid is no process group (kernel_wait4)
	case pid == -1:
	case pid == 0:
		f.PGID = t.Task.Group.PGID()
	case pid < -1:
		f.PGID = -pid
	default:
		f.PID = pid
	}
	z, e := t.waitChild(f, opts)
	if e != 0 || z.PID == 0 {
		return 0, e
	}
	if a[1] != 0 {
		if e := t.putU32(a[1], z.WaitStatus4()); e != 0 {
			return 0, e
		}
	}
	if a[3] != 0 {
		if e := t.mm().CopyOut(a[3], putRusage(z.CPU, 0)); e != 0 {
			return 0, e
		}
	}
	return uint64(z.PID), 0
}

// rusageSize is sizeof(struct rusage).
const rusageSize = 144

func sysWaitid(t *Thread, a Args) (uint64, unix.Errno) {
	const P_ALL, P_PID, P_PGID, P_PIDFD = 0, 1, 2, 3
	idtype, id, opts := a.Int(0), a.Int(1), uint32(a[3])
	if idtype < P_ALL || idtype > P_PIDFD ||
		opts&^(WNOHANG|WUNTRACED|WEXITED|WCONTINUED|WNOWAIT|__WNOTHREAD|__WALL|__WCLONE) != 0 ||
		opts&(WEXITED|WUNTRACED|WCONTINUED) == 0 {
		return 0, unix.EINVAL
	}
	f := posix.WaitFilter{Clone: opts&__WCLONE != 0, All: opts&__WALL != 0,
		Exited: opts&WEXITED != 0, Stopped: opts&WUNTRACED != 0, Continued: opts&WCONTINUED != 0}
	nonblock := false
	switch idtype {
	case P_PID:
		if id <= 0 {
			return 0, unix.EINVAL
		}
		f.PID = id
	case P_PGID:
		if id < 0 {
			return 0, unix.EINVAL
		}
		f.PGID = id
		if id == 0 {
			f.PGID = t.Task.Group.PGID()
		}
	case P_PIDFD:
		if id < 0 {
			return 0, unix.EINVAL
		}
		p, e := t.pidfdOf(id)
		if e != 0 {
			return 0, e
		}
		f.PID = p.G.PID
		nonblock = p.Flags()&unix.O_NONBLOCK != 0
	}
	waitOpts := opts
	if nonblock {
		waitOpts |= WNOHANG // a nonblocking pidfd's wait does not wait (Linux 5.10 on)
	}
	z, e := t.waitChild(f, waitOpts)
	if e != 0 {
		return 0, e
	}
	if z.PID == 0 && nonblock && opts&WNOHANG == 0 {
		return 0, unix.EAGAIN
	}
	if a[2] != 0 {
		// Linux clears si_signo and si_pid when WNOHANG finds nothing.
		var info posix.SigInfo
		if z.PID != 0 {
			code, status := z.ChildCode()
			info = posix.SigInfo{Signo: int32(unix.SIGCHLD), Code: code, PID: int32(z.PID), UID: int32(z.UID), Value: status}
		}
		var b [posix.SigInfoSize]byte
		info.Encode(b[:])
		if e := t.mm().CopyOut(a[2], b[:]); e != 0 {
			return 0, e
		}
	}
	if a[4] != 0 {
		if e := t.mm().CopyOut(a[4], putRusage(z.CPU, 0)); e != 0 {
			return 0, e
		}
	}
	return 0, 0
}

// process returns the live process pid names (0: the caller's), or ESRCH.
func (t *Thread) process(pid int) (*posix.ThreadGroup, unix.Errno) {
	if pid == 0 {
		return t.Task.Group, 0
	}
	if pid < 0 {
		return nil, unix.ESRCH
	}
	g := t.K.Procs.Group(pid)
	if g == nil || g.Exiting() && g.NumTasks() == 0 {
		return nil, unix.ESRCH
	}
	return g, 0
}

func sysGetpgid(t *Thread, a Args) (uint64, unix.Errno) {
	g, e := t.process(a.Int(0))
	if e != 0 {
		return 0, e
	}
	return uint64(g.PGID()), 0
}

func sysGetsid(t *Thread, a Args) (uint64, unix.Errno) {
	g, e := t.process(a.Int(0))
	if e != 0 {
		return 0, e
	}
	return uint64(g.SID()), 0
}

func sysSetpgid(t *Thread, a Args) (uint64, unix.Errno) {
	if a.Int(1) < 0 {
		return 0, unix.EINVAL
	}
	target, e := t.process(a.Int(0))
	if e != 0 {
		return 0, e
	}
	return 0, t.Task.Group.SetPGID(target, a.Int(1))
}
