package syscalls

import (
	"encoding/binary"

	"github.com/rumpgo/rumpgo/posix"
	"golang.org/x/sys/unix"
)

func init() {
	register(unix.SYS_RT_SIGACTION, Entry{Name: "rt_sigaction", Support: Partial, Note: "dispositions are recorded; delivery comes with the signal machinery",
		fn: sysRtSigaction, args: []argKind{aSignal, aPtr, aPtr, aUint}})
	register(unix.SYS_RT_SIGPROCMASK, Entry{Name: "rt_sigprocmask", fn: sysRtSigprocmask, args: []argKind{aSigHow, aPtr, aPtr, aUint}})
	register(unix.SYS_SIGALTSTACK, Entry{Name: "sigaltstack", fn: sysSigaltstack, args: []argKind{aPtr, aPtr}})
	register(unix.SYS_TGKILL, Entry{Name: "tgkill", Support: Partial, Note: "signals that would run a handler or kill answer ENOSYS until delivery lands",
		fn: sysTgkill, args: []argKind{aInt, aInt, aSignal}})
	register(unix.SYS_TKILL, Entry{Name: "tkill", Support: Partial, Note: "as tgkill",
		fn: func(t *Thread, a Args) (uint64, unix.Errno) { return t.signalSelf(unix.SYS_TKILL, a.Int(0), a.Int(1)) }, args: []argKind{aInt, aSignal}})
	register(unix.SYS_KILL, Entry{Name: "kill", Support: Partial, Note: "as tgkill",
		fn: func(t *Thread, a Args) (uint64, unix.Errno) { return t.signalSelf(unix.SYS_KILL, a.Int(0), a.Int(1)) }, args: []argKind{aInt, aSignal}})
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
	old := t.Task.SigMask
	if setAddr != 0 {
		var b [8]byte
		if e := t.mm().CopyIn(setAddr, b[:]); e != 0 {
			return 0, e
		}
		set := binary.LittleEndian.Uint64(b[:])
		switch how {
		case unix.SIG_BLOCK:
			t.Task.SigMask |= set
		case unix.SIG_UNBLOCK:
			t.Task.SigMask &^= set
		case unix.SIG_SETMASK:
			t.Task.SigMask = set
		default:
			return 0, unix.EINVAL
		}
		t.Task.SigMask &^= posix.UnblockableMask
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
		t.Task.AltStack = ss
	}
	if a[1] != 0 {
		var b [24]byte
		if old.Size == 0 && old.SP == 0 {
			old.Flags = posix.SS_DISABLE
		}
		le.PutUint64(b[0:], old.SP)
		le.PutUint32(b[8:], uint32(old.Flags))
		le.PutUint64(b[16:], old.Size)
		return 0, t.mm().CopyOut(a[1], b[:])
	}
	return 0, 0
}

func sysTgkill(t *Thread, a Args) (uint64, unix.Errno) {
	if a.Int(0) != t.Task.Group.PID {
		return 0, unix.ESRCH
	}
	return t.signalSelf(unix.SYS_TGKILL, a.Int(1), a.Int(2))
}

// ignoredByDefault are the signals whose default action is to ignore them.
var ignoredByDefault = map[int]bool{int(unix.SIGCHLD): true, int(unix.SIGURG): true, int(unix.SIGWINCH): true, int(unix.SIGCONT): true}

// signalSelf answers a signal sent to the guest itself. Without delivery
// yet, only what Linux would discard anyway succeeds; everything else is
// reported unsupported rather than pretended.
func (t *Thread) signalSelf(nr uint64, pid, sig int) (uint64, unix.Errno) {
	if sig < 0 || sig > posix.NSIG {
		return 0, unix.EINVAL
	}
	if pid != t.Task.Group.PID && pid != 0 && pid != -1 && !t.Task.Group.HasTask(pid) {
		return 0, unix.ESRCH
	}
	if sig == 0 {
		return 0, 0
	}
	act, _ := t.Task.Group.Signals.Swap(sig, nil)
	if act.Handler == posix.SIG_IGN || (act.Handler == posix.SIG_DFL && ignoredByDefault[sig]) {
		return 0, 0
	}
	t.K.countUnsupported(nr)
	return 0, unix.ENOSYS
}
