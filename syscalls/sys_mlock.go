package syscalls

import (
	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/mm"
	"golang.org/x/sys/unix"
)

func init() {
	const note = "no swap: locked pages are faulted in and counted (VmLck, RLIMIT_MEMLOCK), and every page stays in memory anyway"
	register(unix.SYS_MLOCK, Entry{Name: "mlock", Note: note, fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		return t.mlock(a[0], a[1], true, false)
	}, args: []argKind{aPtr, aUint}})
	register(unix.SYS_MLOCK2, Entry{Name: "mlock2", Note: note, fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		if a[2]&^mm.MLOCK_ONFAULT != 0 {
			return 0, unix.EINVAL
		}
		return t.mlock(a[0], a[1], true, a[2]&mm.MLOCK_ONFAULT != 0)
	}, args: []argKind{aPtr, aUint, aHex}})
	register(unix.SYS_MUNLOCK, Entry{Name: "munlock", fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		return t.mlock(a[0], a[1], false, false)
	}, args: []argKind{aPtr, aUint}})
	register(unix.SYS_MLOCKALL, Entry{Name: "mlockall", Note: note, fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		return 0, t.mm().Mlockall(a.Int(0), t.mayLock)
	}, args: []argKind{aHex}})
	register(unix.SYS_MUNLOCKALL, Entry{Name: "munlockall", fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		t.mm().Munlockall()
		return 0, 0
	}})
}

func (t *Thread) mlock(addr, length uint64, lock, onFault bool) (uint64, unix.Errno) {
	if lock && !t.capable(posix.CAP_IPC_LOCK) && t.Task.Group.Limits.Get(unix.RLIMIT_MEMLOCK).Cur == 0 {
		return 0, unix.EPERM // can_do_mlock
	}
	return 0, t.mm().Mlock(addr, length, lock, onFault, t.mayLock)
}

// mayLock is RLIMIT_MEMLOCK's check of a locked total, unless the caller
// has CAP_IPC_LOCK: ENOMEM past the limit, EPERM with a zero limit.
func (t *Thread) mayLock(total uint64) unix.Errno {
	if t.capable(posix.CAP_IPC_LOCK) {
		return 0
	}
	lim := t.Task.Group.Limits.Get(unix.RLIMIT_MEMLOCK).Cur
	if lim == 0 {
		return unix.EPERM
	}
	if lim != posix.RLIM_INFINITY && total > lim {
		return unix.ENOMEM
	}
	return 0
}
