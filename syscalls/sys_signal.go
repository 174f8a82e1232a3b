package syscalls

import (
	"encoding/binary"
	"time"

	"github.com/rumpgo/rumpgo/posix"
	"golang.org/x/sys/unix"
)

func init() {
	register(unix.SYS_RT_SIGACTION, Entry{Name: "rt_sigaction", fn: sysRtSigaction, args: []argKind{aSignal, aPtr, aPtr, aUint}})
	register(unix.SYS_RT_SIGPROCMASK, Entry{Name: "rt_sigprocmask", fn: sysRtSigprocmask, args: []argKind{aSigHow, aPtr, aPtr, aUint}})
	register(unix.SYS_RT_SIGRETURN, Entry{Name: "rt_sigreturn", fn: sysRtSigreturn})
	register(unix.SYS_RT_SIGPENDING, Entry{Name: "rt_sigpending", fn: sysRtSigpending, args: []argKind{aPtr, aUint}})
	register(unix.SYS_RT_SIGSUSPEND, Entry{Name: "rt_sigsuspend", fn: sysRtSigsuspend, args: []argKind{aPtr, aUint}})
	register(unix.SYS_RT_SIGTIMEDWAIT, Entry{Name: "rt_sigtimedwait", fn: sysRtSigtimedwait, args: []argKind{aPtr, aPtr, aPtr, aUint}})
	register(unix.SYS_RT_SIGQUEUEINFO, Entry{Name: "rt_sigqueueinfo", fn: sysRtSigqueueinfo, args: []argKind{aInt, aSignal, aPtr}})
	register(unix.SYS_RT_TGSIGQUEUEINFO, Entry{Name: "rt_tgsigqueueinfo", fn: sysRtTgsigqueueinfo, args: []argKind{aInt, aInt, aSignal, aPtr}})
	register(unix.SYS_SIGALTSTACK, Entry{Name: "sigaltstack", fn: sysSigaltstack, args: []argKind{aPtr, aPtr}})
	register(unix.SYS_KILL, Entry{Name: "kill", Note: "every process of the guest's machine, zombies included, with Linux's permission check",
		fn: sysKill, args: []argKind{aInt, aSignal}})
	register(unix.SYS_TGKILL, Entry{Name: "tgkill", fn: sysTgkill, args: []argKind{aInt, aInt, aSignal}})
	register(unix.SYS_TKILL, Entry{Name: "tkill", fn: sysTkill, args: []argKind{aInt, aSignal}})
	register(unix.SYS_PAUSE, Entry{Name: "pause", fn: sysPause})
	register(unix.SYS_SIGNALFD4, Entry{Name: "signalfd4", fn: sysSignalfd4, args: []argKind{aFD, aPtr, aUint, aHex}})
	register(unix.SYS_SIGNALFD, Entry{Name: "signalfd", fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		return sysSignalfd4(t, Args{a[0], a[1], a[2], 0})
	}, args: []argKind{aFD, aPtr, aUint}})
}

const sigsetSize = 8

func sysRtSigaction(t *Thread, a Args) (uint64, unix.Errno) {
	sig, actAddr, oldAddr := a.Int(0), a[1], a[2]
	if a[3] != sigsetSize {
		return 0, unix.EINVAL
	}
	var act *posix.SigAction
	if actAddr != 0 {
		var b [32]byte
		if e := t.mm().CopyIn(actAddr, b[:]); e != 0 {
			return 0, e
		}
		le := binary.LittleEndian
		act = &posix.SigAction{Handler: le.Uint64(b[0:]), Flags: le.Uint64(b[8:]), Restorer: le.Uint64(b[16:]), Mask: le.Uint64(b[24:])}
	}
	old, e := t.Task.Group.Signals.Swap(sig, act)
	if e != 0 {
		return 0, e
	}
	if oldAddr != 0 {
		var b [32]byte
		le := binary.LittleEndian
		le.PutUint64(b[0:], old.Handler)
		le.PutUint64(b[8:], old.Flags)
		le.PutUint64(b[16:], old.Restorer)
		le.PutUint64(b[24:], old.Mask)
		return 0, t.mm().CopyOut(oldAddr, b[:])
	}
	return 0, 0
}

func sysRtSigprocmask(t *Thread, a Args) (uint64, unix.Errno) {
	how, setAddr, oldAddr := a.Int(0), a[1], a[2]
	if a[3] != sigsetSize {
		return 0, unix.EINVAL
	}
	old := t.Task.Mask()
	if setAddr != 0 {
		set, e := t.sigset(setAddr)
		if e != 0 {
			return 0, e
		}
		switch how {
		case unix.SIG_BLOCK:
			t.Task.SetMask(old | set)
		case unix.SIG_UNBLOCK:
			t.Task.SetMask(old &^ set)
		case unix.SIG_SETMASK:
			t.Task.SetMask(set)
		default:
			return 0, unix.EINVAL
		}
	}
	if oldAddr != 0 {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], old)
		return 0, t.mm().CopyOut(oldAddr, b[:])
	}
	return 0, 0
}

func sysSigaltstack(t *Thread, a Args) (uint64, unix.Errno) {
	le := binary.LittleEndian
	old := t.Task.AltStack
	sp := t.cpu.Regs().RSP
	if a[0] != 0 {
		var b [24]byte
		if e := t.mm().CopyIn(a[0], b[:]); e != 0 {
			return 0, e
		}
		ss := posix.AltStack{SP: le.Uint64(b[0:]), Flags: int32(le.Uint32(b[8:])), Size: le.Uint64(b[16:])}
		mode := uint32(ss.Flags) &^ posix.SS_AUTODISARM
		switch {
		case mode == posix.SS_DISABLE:
			ss = posix.AltStack{Flags: posix.SS_DISABLE}
		case mode != 0 && mode != posix.SS_ONSTACK:
			return 0, unix.EINVAL
		case ss.Size < posix.MINSIGSTKSZ:
			return 0, unix.ENOMEM
		}
		if old.On(sp) {
			return 0, unix.EPERM
		}
		t.Task.AltStack = ss
	}
	if a[1] != 0 {
		var b [24]byte
		le.PutUint64(b[0:], old.SP)
		le.PutUint32(b[8:], uint32(altFlags(old, sp)))
		le.PutUint64(b[16:], old.Size)
		return 0, t.mm().CopyOut(a[1], b[:])
	}
	return 0, 0
}

// sigset reads a sigset_t.
func (t *Thread) sigset(addr uint64) (uint64, unix.Errno) {
	var b [sigsetSize]byte
	if e := t.mm().CopyIn(addr, b[:]); e != 0 {
		return 0, e
	}
	return binary.LittleEndian.Uint64(b[:]), 0
}

func (t *Thread) putSigset(addr, set uint64) unix.Errno {
	var b [sigsetSize]byte
	binary.LittleEndian.PutUint64(b[:], set)
	return t.mm().CopyOut(addr, b[:])
}

func validSignal(sig int) bool { return sig >= 0 && sig <= posix.NSIG }

// sender is the siginfo of a signal this thread sends with kill or tkill:
// the sender's pid and real uid.
func (t *Thread) sender(sig int, code int32) posix.SigInfo {
	return posix.SigInfo{Signo: int32(sig), Code: code, PID: int32(t.Task.Group.PID), UID: int32(t.cred().RUID)}
}

// capKill is CAP_KILL: signal any process.
const capKill = 5

// maySignal is Linux's check_kill_permission: a process may signal itself,
// a process whose real or saved uid is its real or effective uid, any
// process with CAP_KILL, and SIGCONT any process of its session.
func (t *Thread) maySignal(target *posix.ThreadGroup, sig int) bool {
	g := t.Task.Group
	if target == g {
		return true
	}
	c := t.cred()
	if c.Capable(capKill) {
		return true
	}
	tc := posix.AttrsOf(target, func() *posix.ProcAttrs {
		info := &t.K.Info
		return posix.NewProcAttrs(info.UID, info.GID, []uint32{info.GID}, info.Comm)
	}).Creds.Get()
	if c.EUID == tc.SUID || c.EUID == tc.RUID || c.RUID == tc.SUID || c.RUID == tc.RUID {
		return true
	}
	return sig == int(unix.SIGCONT) && target.SID() == g.SID()
}

func sysKill(t *Thread, a Args) (uint64, unix.Errno) {
	pid, sig := a.Int(0), a.Int(1)
	if !validSignal(sig) {
		return 0, unix.EINVAL
	}
	g := t.Task.Group
	var targets []*posix.ThreadGroup
	switch {
	case pid > 0:
		// A thread's id names its process too, as on Linux; a zombie is
		// still there to be signalled, to no effect.
		if tg := t.K.Procs.Group(pid); tg != nil {
			targets = append(targets, tg)
		} else if task := t.K.Procs.Task(pid); task != nil {
			targets = append(targets, task.Group)
		}
	case pid == -1:
		// Everyone but the first process and the caller.
		targets = t.K.Procs.Select(func(o *posix.ThreadGroup) bool { return o.PID != 1 && o != g })
	default:
		pgid := -pid
		if pid == 0 {
			pgid = g.PGID()
		}
		targets = t.K.Procs.Select(func(o *posix.ThreadGroup) bool { return o.PGID() == pgid })
	}
	if len(targets) == 0 {
		return 0, unix.ESRCH
	}
	// Linux's kill_pgrp and kill(-1) succeed when any target took it,
	// else answer the last error (EPERM when none may be signalled).
	var last unix.Errno
	sent := false
	for _, tg := range targets {
		if !t.maySignal(tg, sig) {
			last = unix.EPERM
			continue
		}
		if sig == 0 || tg.Exiting() && tg.NumTasks() == 0 {
			sent = true // a zombie takes a signal, to no effect
			continue
		}
		if e := tg.Send(t.sender(sig, posix.SI_USER)); e != 0 {
			last = e
		} else {
			sent = true
		}
	}
	if sent && pid <= 0 {
		return 0, 0
	}
	return 0, last
}

func sysTgkill(t *Thread, a Args) (uint64, unix.Errno) {
	tgid, tid, sig := a.Int(0), a.Int(1), a.Int(2)
	if tgid <= 0 || tid <= 0 || !validSignal(sig) {
		return 0, unix.EINVAL
	}
	if task := t.K.Procs.Task(tid); task == nil || task.Group.PID != tgid {
		return 0, unix.ESRCH
	}
	return t.tkill(tid, sig, t.sender(sig, posix.SI_TKILL))
}

func sysTkill(t *Thread, a Args) (uint64, unix.Errno) {
	tid, sig := a.Int(0), a.Int(1)
	if tid <= 0 || !validSignal(sig) {
		return 0, unix.EINVAL
	}
	return t.tkill(tid, sig, t.sender(sig, posix.SI_TKILL))
}

func (t *Thread) tkill(tid, sig int, info posix.SigInfo) (uint64, unix.Errno) {
	target := t.K.Procs.Task(tid)
	if target == nil {
		return 0, unix.ESRCH
	}
	if !t.maySignal(target.Group, sig) {
		return 0, unix.EPERM
	}
	if sig == 0 {
		return 0, 0
	}
	return 0, target.Send(info)
}

// queuedInfo reads the siginfo of rt_sigqueueinfo: a process may not
// pretend to be the kernel or kill(2) when signalling another (EPERM for
// si_code >= 0 or SI_TKILL, as Linux checks).
func (t *Thread) queuedInfo(sig int, addr uint64, target *posix.ThreadGroup) (posix.SigInfo, unix.Errno) {
	var b [posix.SigInfoSize]byte
	if e := t.mm().CopyIn(addr, b[:]); e != 0 {
		return posix.SigInfo{}, e
	}
	info := posix.DecodeSigInfo(b[:])
	if target != t.Task.Group && (info.Code >= 0 || info.Code == posix.SI_TKILL) {
		return posix.SigInfo{}, unix.EPERM
	}
	info.Signo = int32(sig)
	return info, 0
}

func sysRtSigqueueinfo(t *Thread, a Args) (uint64, unix.Errno) {
	pid, sig := a.Int(0), a.Int(1)
	if !validSignal(sig) {
		return 0, unix.EINVAL
	}
	var g *posix.ThreadGroup
	if pid > 0 {
		if g = t.K.Procs.Group(pid); g == nil {
			if task := t.K.Procs.Task(pid); task != nil {
				g = task.Group
			}
		}
	}
	if g == nil {
		return 0, unix.ESRCH
	}
	info, e := t.queuedInfo(sig, a[2], g)
	if e != 0 {
		return 0, e
	}
	if !t.maySignal(g, sig) {
		return 0, unix.EPERM
	}
	if sig == 0 || g.Exiting() && g.NumTasks() == 0 {
		return 0, 0
	}
	return 0, g.Send(info)
}

func sysRtTgsigqueueinfo(t *Thread, a Args) (uint64, unix.Errno) {
	tgid, tid, sig := a.Int(0), a.Int(1), a.Int(2)
	if tgid <= 0 || tid <= 0 || !validSignal(sig) {
		return 0, unix.EINVAL
	}
	task := t.K.Procs.Task(tid)
	if task == nil || task.Group.PID != tgid {
		return 0, unix.ESRCH
	}
	info, e := t.queuedInfo(sig, a[3], task.Group)
	if e != 0 {
		return 0, e
	}
	return t.tkill(tid, sig, info)
}

func sysRtSigpending(t *Thread, a Args) (uint64, unix.Errno) {
	if a[1] > sigsetSize {
		return 0, unix.EINVAL
	}
	var b [sigsetSize]byte
	binary.LittleEndian.PutUint64(b[:], t.Task.Pending())
	return 0, t.mm().CopyOut(a[0], b[:a[1]])
}

// sysRtSigsuspend waits under a temporary mask for a signal that runs a
// handler; the handler's frame restores the old mask.
func sysRtSigsuspend(t *Thread, a Args) (uint64, unix.Errno) {
	if a[1] != sigsetSize {
		return 0, unix.EINVAL
	}
	mask, e := t.sigset(a[0])
	if e != 0 {
		return 0, e
	}
	t.Task.SetTempMask(mask)
	t.block(nil, time.Time{})
	return 0, ERESTARTNOHAND
}

func sysPause(t *Thread, a Args) (uint64, unix.Errno) {
	t.block(nil, time.Time{})
	return 0, ERESTARTNOHAND
}

// sysRtSigtimedwait takes a signal from set off the pending queues instead
// of running its handler. While it waits, the signals of set are unblocked
// so that their arrival wakes it, as Linux does.
func sysRtSigtimedwait(t *Thread, a Args) (uint64, unix.Errno) {
	if a[3] != sigsetSize {
		return 0, unix.EINVAL
	}
	set, e := t.sigset(a[0])
	if e != 0 {
		return 0, e
	}
	set &^= posix.UnblockableMask
	var deadline time.Time
	if a[2] != 0 {
		d, e := t.timespec(a[2])
		if e != 0 {
			return 0, e
		}
		deadline = time.Now().Add(d)
	}
	info, ok := t.Task.DequeueSet(set)
	if !ok {
		restore := t.Task.UnblockForWait(set)
		e = t.block(nil, deadline)
		restore()
		if info, ok = t.Task.DequeueSet(set); !ok {
			if e == unix.ETIMEDOUT {
				return 0, unix.EAGAIN
			}
			return 0, unix.EINTR
		}
	}
	if a[1] != 0 {
		var b [posix.SigInfoSize]byte
		info.Encode(b[:])
		if e := t.mm().CopyOut(a[1], b[:]); e != 0 {
			return 0, e
		}
	}
	return uint64(info.Signo), 0
}

// sysSignalfd4 makes a signalfd, or changes the mask of an existing one.
func sysSignalfd4(t *Thread, a Args) (uint64, unix.Errno) {
	fd, flags := a.Int(0), a.Int(3)
	if flags&^(unix.SFD_CLOEXEC|unix.SFD_NONBLOCK) != 0 || a[2] != sigsetSize {
		return 0, unix.EINVAL
	}
	mask, e := t.sigset(a[1])
	if e != 0 {
		return 0, e
	}
	if fd != -1 {
		of, e := t.Task.Group.FDs.Get(fd)
		if e != 0 {
			return 0, e
		}
		sfd, ok := of.File.(*posix.SignalFD)
		if !ok {
			return 0, unix.EINVAL
		}
		sfd.SetMask(mask)
		return uint64(fd), 0
	}
	sfd := posix.NewSignalFD(t.Task, mask, flags)
	n, e := t.Task.Group.FDs.Install(sfd, 0, flags&unix.SFD_CLOEXEC != 0, t.fdLimit())
	return uint64(n), e
}
