package syscalls

import (
	"github.com/rumpgo/rumpgo/posix"
	"golang.org/x/sys/unix"
)

func init() {
	register(unix.SYS_PRCTL, Entry{Name: "prctl", Support: Partial,
		Note: "PR_SET/GET_NAME, PDEATHSIG, DUMPABLE, KEEPCAPS, NO_NEW_PRIVS, TIMERSLACK, PR_CAPBSET_READ/DROP; others EINVAL",
		fn:   sysPrctl, args: []argKind{aPrctl, aHex, aHex, aHex, aHex}})
}

// prctl options (linux/prctl.h).
const (
	PR_SET_PDEATHSIG    = 1
	PR_GET_PDEATHSIG    = 2
	PR_GET_DUMPABLE     = 3
	PR_SET_DUMPABLE     = 4
	PR_GET_KEEPCAPS     = 7
	PR_SET_KEEPCAPS     = 8
	PR_SET_NAME         = 15
	PR_GET_NAME         = 16
	PR_CAPBSET_READ     = 23
	PR_CAPBSET_DROP     = 24
	PR_SET_TIMERSLACK   = 29
	PR_GET_TIMERSLACK   = 30
	PR_SET_NO_NEW_PRIVS = 38
	PR_GET_NO_NEW_PRIVS = 39
)

var prctlNames = map[uint64]string{
	PR_SET_PDEATHSIG: "PR_SET_PDEATHSIG", PR_GET_PDEATHSIG: "PR_GET_PDEATHSIG",
	PR_GET_DUMPABLE: "PR_GET_DUMPABLE", PR_SET_DUMPABLE: "PR_SET_DUMPABLE",
	PR_GET_KEEPCAPS: "PR_GET_KEEPCAPS", PR_SET_KEEPCAPS: "PR_SET_KEEPCAPS",
	PR_SET_NAME: "PR_SET_NAME", PR_GET_NAME: "PR_GET_NAME",
	PR_CAPBSET_READ: "PR_CAPBSET_READ", PR_CAPBSET_DROP: "PR_CAPBSET_DROP",
	PR_SET_TIMERSLACK: "PR_SET_TIMERSLACK", PR_GET_TIMERSLACK: "PR_GET_TIMERSLACK",
	PR_SET_NO_NEW_PRIVS: "PR_SET_NO_NEW_PRIVS", PR_GET_NO_NEW_PRIVS: "PR_GET_NO_NEW_PRIVS",
	0x53564d41: "PR_SET_VMA",
}

func sysPrctl(t *Thread, a Args) (uint64, unix.Errno) {
	p := t.attrs()
	tid := t.Task.TID
	switch a.Int(0) {
	case PR_SET_PDEATHSIG:
		if a[1] > posix.NSIG {
			return 0, unix.EINVAL
		}
		p.UpdateThread(tid, func(th *posix.ThreadAttrs) { th.PdeathSig = int(a[1]) })
		return 0, 0
	case PR_GET_PDEATHSIG:
		return 0, t.putU32(a[1], uint32(p.Thread(tid).PdeathSig))
	case PR_GET_DUMPABLE:
		return uint64(p.Dumpable()), 0
	case PR_SET_DUMPABLE:
		if a[1] > 1 {
			return 0, unix.EINVAL
		}
		return 0, p.SetDumpable(int(a[1]))
	case PR_GET_KEEPCAPS:
		if t.cred().KeepCaps {
			return 1, 0
		}
		return 0, 0
	case PR_SET_KEEPCAPS:
		if a[1] > 1 || a[2] != 0 || a[3] != 0 || a[4] != 0 {
			return 0, unix.EINVAL
		}
		return 0, t.setCred(func(c posix.Cred) (posix.Cred, unix.Errno) { c.KeepCaps = a[1] == 1; return c, 0 })
	case PR_SET_NAME:
		// Up to 15 bytes, stopping at a NUL, as strncpy_from_user.
		var comm [posix.TASK_COMM_LEN]byte
		for i := 0; i < posix.TASK_COMM_LEN-1; i++ {
			if e := t.mm().CopyIn(a[1]+uint64(i), comm[i:i+1]); e != 0 {
				return 0, e
			}
			if comm[i] == 0 {
				break
			}
		}
		p.UpdateThread(tid, func(th *posix.ThreadAttrs) { th.Comm = comm })
		return 0, 0
	case PR_GET_NAME:
		comm := p.Thread(tid).Comm
		return 0, t.mm().CopyOut(a[1], comm[:])
	case PR_CAPBSET_READ:
		if a[1] > posix.CAP_LAST_CAP {
			return 0, unix.EINVAL
		}
		return t.cred().CapBnd >> a[1] & 1, 0
	case PR_CAPBSET_DROP:
		cap := int(min(a[1], 1<<30))
		return 0, t.setCred(func(c posix.Cred) (posix.Cred, unix.Errno) { return c.DropBound(cap) })
	case PR_SET_TIMERSLACK:
		slack := a[1]
		if slack == 0 {
			slack = posix.DefaultTimerSlackNs
		}
		p.UpdateThread(tid, func(th *posix.ThreadAttrs) { th.TimerSlack = slack })
		return 0, 0
	case PR_GET_TIMERSLACK:
		return p.Thread(tid).TimerSlack, 0
	case PR_SET_NO_NEW_PRIVS:
		if a[1] != 1 || a[2] != 0 || a[3] != 0 || a[4] != 0 {
			return 0, unix.EINVAL
		}
		p.SetNoNewPrivs()
		return 0, 0
	case PR_GET_NO_NEW_PRIVS:
		if a[1] != 0 || a[2] != 0 || a[3] != 0 || a[4] != 0 {
			return 0, unix.EINVAL
		}
		if p.NoNewPrivs() {
			return 1, 0
		}
		return 0, 0
	}
	return 0, unix.EINVAL
}
