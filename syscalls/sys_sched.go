package syscalls

import (
	"encoding/binary"
	"math/bits"
	"time"
	"unsafe"

	"github.com/rumpgo/rumpgo/posix"
	"golang.org/x/sys/unix"
)

func init() {
	const schedNote = "one policy and nice value per process (Linux: per thread); the host schedules vCPU threads as it likes"
	register(unix.SYS_SCHED_GETSCHEDULER, Entry{Name: "sched_getscheduler", fn: sysSchedGetscheduler, args: []argKind{aInt}})
	register(unix.SYS_SCHED_SETSCHEDULER, Entry{Name: "sched_setscheduler", Support: Partial, Note: schedNote,
		fn: sysSchedSetscheduler, args: []argKind{aInt, aPolicy, aPtr}})
	register(unix.SYS_SCHED_GETPARAM, Entry{Name: "sched_getparam", fn: sysSchedGetparam, args: []argKind{aInt, aPtr}})
	register(unix.SYS_SCHED_SETPARAM, Entry{Name: "sched_setparam", Support: Partial, Note: schedNote,
		fn: sysSchedSetparam, args: []argKind{aInt, aPtr}})
	register(unix.SYS_SCHED_GET_PRIORITY_MAX, Entry{Name: "sched_get_priority_max", fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		return schedPriorityRange(a.Int(0), true)
	}, args: []argKind{aPolicy}})
	register(unix.SYS_SCHED_GET_PRIORITY_MIN, Entry{Name: "sched_get_priority_min", fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		return schedPriorityRange(a.Int(0), false)
	}, args: []argKind{aPolicy}})
	register(unix.SYS_SCHED_RR_GET_INTERVAL, Entry{Name: "sched_rr_get_interval", fn: sysSchedRRGetInterval, args: []argKind{aInt, aPtr}})
	register(unix.SYS_GETPRIORITY, Entry{Name: "getpriority", fn: sysGetpriority, args: []argKind{aInt, aInt}})
	register(unix.SYS_SETPRIORITY, Entry{Name: "setpriority", Support: Partial, Note: schedNote,
		fn: sysSetpriority, args: []argKind{aInt, aInt, aInt}})
	register(unix.SYS_SCHED_SETAFFINITY, Entry{Name: "sched_setaffinity", Support: Partial,
		Note: "the mask is kept per thread (sched_getaffinity reports it, clone inherits it); vCPU threads are not pinned to host CPUs",
		fn:   sysSchedSetaffinity, args: []argKind{aInt, aUint, aPtr}})
	register(unix.SYS_GETCPU, Entry{Name: "getcpu", Note: "the host CPU the calling vCPU thread runs on, modulo the guest's CPU count; node 0",
		fn: sysGetcpu, args: []argKind{aPtr, aPtr, aPtr}})
}

// SCHED_RESET_ON_FORK may be or-ed into a policy.
const SCHED_RESET_ON_FORK = posix.SCHED_RESET_ON_FORK

// findTask returns the attributes of the process whose task pid names (0
// is the caller), any process of the machine, or ESRCH.
func (t *Thread) findTask(pid int) (*posix.ProcAttrs, unix.Errno) {
	if pid == 0 || pid == t.Task.TID {
		return t.attrs(), 0
	}
	task := t.K.Procs.Task(pid)
	if task == nil {
		return nil, unix.ESRCH
	}
	return t.attrsOf(task.Group), 0
}

// attrsOf is another process's attributes (made as the machine's first
// process's would be, if it has none yet).
func (t *Thread) attrsOf(g *posix.ThreadGroup) *posix.ProcAttrs {
	if g == t.Task.Group {
		return t.attrs()
	}
	info := &t.K.Info
	return posix.AttrsOf(g, func() *posix.ProcAttrs {
		return posix.NewProcAttrs(info.UID, info.GID, []uint32{info.GID}, info.Comm)
	})
}

// mayReschedule is check_same_owner for changing another process's
// scheduling: the caller's effective uid is the target's real or
// effective one, or it has CAP_SYS_NICE.
func (t *Thread) mayReschedule(target *posix.ProcAttrs) bool {
	if target == t.attrs() {
		return true
	}
	c, tc := t.cred(), target.Creds.Get()
	return c.EUID == tc.EUID || c.EUID == tc.RUID || c.Capable(posix.CAP_SYS_NICE)
}

func sysSchedGetscheduler(t *Thread, a Args) (uint64, unix.Errno) {
	if a.Int(0) < 0 {
		return 0, unix.EINVAL
	}
	target, e := t.findTask(a.Int(0))
	if e != 0 {
		return 0, e
	}
	s := target.Sched()
	p := uint64(s.Policy)
	if s.ResetOnFork {
		p |= SCHED_RESET_ON_FORK
	}
	return p, 0
}

// readSchedParam reads a struct sched_param (one int) for pid, checking as
// Linux does: NULL or a negative pid is EINVAL, then EFAULT, then ESRCH.
func (t *Thread) readSchedParam(pid int, addr uint64) (int, *posix.ProcAttrs, unix.Errno) {
	if addr == 0 || pid < 0 {
		return 0, nil, unix.EINVAL
	}
	var b [4]byte
	if e := t.mm().CopyIn(addr, b[:]); e != 0 {
		return 0, nil, e
	}
	target, e := t.findTask(pid)
	if e != 0 {
		return 0, nil, e
	}
	return int(int32(binary.LittleEndian.Uint32(b[:]))), target, 0
}

// setSched changes target's policy: another process's only with
// mayReschedule, within its own limits.
func (t *Thread) setSched(target *posix.ProcAttrs, pid int, s posix.Sched) unix.Errno {
	lim := t.Task.Group.Limits
	if pid != 0 && pid != t.Task.TID {
		if task := t.K.Procs.Task(pid); task != nil {
			lim = task.Group.Limits
		}
	}
	if !t.mayReschedule(target) {
		// Valid arguments are still checked first, as Linux does.
		if e := posix.CheckSched(target.Sched(), s, target.Nice(), posix.RLIM_INFINITY, posix.RLIM_INFINITY, true); e != 0 {
			return e
		}
		return unix.EPERM
	}
	return target.SetSched(s, lim.Get(unix.RLIMIT_RTPRIO).Cur, lim.Get(unix.RLIMIT_NICE).Cur, t.capable(posix.CAP_SYS_NICE))
}

func sysSchedSetscheduler(t *Thread, a Args) (uint64, unix.Errno) {
	policy := a.Int(1)
	if policy < 0 {
		return 0, unix.EINVAL
	}
	prio, target, e := t.readSchedParam(a.Int(0), a[2])
	if e != 0 {
		return 0, e
	}
	return 0, t.setSched(target, a.Int(0), posix.Sched{Policy: policy &^ SCHED_RESET_ON_FORK, Priority: prio, ResetOnFork: policy&SCHED_RESET_ON_FORK != 0})
}

func sysSchedSetparam(t *Thread, a Args) (uint64, unix.Errno) {
	prio, target, e := t.readSchedParam(a.Int(0), a[1])
	if e != 0 {
		return 0, e
	}
	s := target.Sched()
	s.Priority = prio
	return 0, t.setSched(target, a.Int(0), s)
}

func sysSchedGetparam(t *Thread, a Args) (uint64, unix.Errno) {
	if a[1] == 0 || a.Int(0) < 0 {
		return 0, unix.EINVAL
	}
	target, e := t.findTask(a.Int(0))
	if e != 0 {
		return 0, e
	}
	return 0, t.putU32(a[1], uint32(target.Sched().Priority))
}

func schedPriorityRange(policy int, max bool) (uint64, unix.Errno) {
	switch {
	case posix.RTPolicy(policy) && max:
		return posix.MAX_RT_PRIO - 1, 0
	case posix.RTPolicy(policy):
		return 1, 0
	case posix.ValidPolicy(policy):
		return 0, 0
	}
	return 0, unix.EINVAL
}

// Linux's round-robin quantum, and the jiffy (Debian's HZ=250) its CFS
// slices are rounded to.
const (
	rrTimeslice = 100 * time.Millisecond
	jiffy       = 4 * time.Millisecond
)

func sysSchedRRGetInterval(t *Thread, a Args) (uint64, unix.Errno) {
	if a.Int(0) < 0 {
		return 0, unix.EINVAL
	}
	target, e := t.findTask(a.Int(0))
	if e != 0 {
		return 0, e
	}
	var d time.Duration
	switch target.Sched().Policy {
	case posix.SCHED_RR:
		d = rrTimeslice
	case posix.SCHED_FIFO:
		d = 0 // runs until it yields
	default:
		// CFS gives a lone task the whole latency period: 6 ms scaled by
		// 1+log2 of the CPU count (at most 8), in whole jiffies.
		d = 6 * time.Millisecond * time.Duration(bits.Len(uint(min(max(t.K.Info.CPUs, 1), 8)))) // bits.Len(n) = 1+log2(n)
		d -= d % jiffy
	}
	var b [16]byte
	putTimespec(b[:], int64(d/time.Second), int64(d%time.Second))
	return 0, t.mm().CopyOut(a[1], b[:])
}

// which values of getpriority and setpriority.
const (
	PRIO_PROCESS = 0
	PRIO_PGRP    = 1
	PRIO_USER    = 2
)

// prioTargets are the processes (which, who) names: a process or thread,
// a process group, or a real user's processes (0: the caller's own);
// ESRCH when none.
func (t *Thread) prioTargets(which, who int) ([]*posix.ThreadGroup, unix.Errno) {
	var out []*posix.ThreadGroup
	switch which {
	case PRIO_PROCESS:
		if who == 0 || who == t.Task.TID {
			return []*posix.ThreadGroup{t.Task.Group}, 0
		}
		if task := t.K.Procs.Task(who); task != nil {
			out = append(out, task.Group)
		}
	case PRIO_PGRP:
		if who == 0 {
			who = t.Task.Group.PGID()
		}
		out = t.K.Procs.Select(func(g *posix.ThreadGroup) bool { return g.PGID() == who })
	case PRIO_USER:
		uid := uint32(who)
		if who == 0 {
			uid = t.cred().RUID
		}
		out = t.K.Procs.Select(func(g *posix.ThreadGroup) bool { return t.attrsOf(g).Creds.Get().RUID == uid })
	default:
		return nil, unix.EINVAL
	}
	if len(out) == 0 {
		return nil, unix.ESRCH
	}
	return out, 0
}

func sysGetpriority(t *Thread, a Args) (uint64, unix.Errno) {
	gs, e := t.prioTargets(a.Int(0), a.Int(1))
	if e != 0 {
		return 0, e
	}
	// The raw call answers 20-nice so that the result is never negative
	// (libc turns it back), the highest of the targets'.
	best := 0
	for _, g := range gs {
		best = max(best, 20-t.attrsOf(g).Nice())
	}
	return uint64(best), 0
}

func sysSetpriority(t *Thread, a Args) (uint64, unix.Errno) {
	gs, e := t.prioTargets(a.Int(0), a.Int(1))
	if e != 0 {
		return 0, e
	}
	// set_one_prio for each: EPERM for another user's without
	// CAP_SYS_NICE, EACCES for lowering the nice value past RLIMIT_NICE;
	// the last error when any failed.
	var last unix.Errno
	for _, g := range gs {
		target := t.attrsOf(g)
		c, tc := t.cred(), target.Creds.Get()
		if target != t.attrs() && tc.RUID != c.EUID && tc.EUID != c.EUID && !c.Capable(posix.CAP_SYS_NICE) {
			last = unix.EPERM
			continue
		}
		if e := target.SetNice(a.Int(2), g.Limits.Get(unix.RLIMIT_NICE).Cur, t.capable(posix.CAP_SYS_NICE)); e != 0 {
			last = e
		}
	}
	return 0, last
}

func sysSchedSetaffinity(t *Thread, a Args) (uint64, unix.Errno) {
	n := max(t.K.Info.CPUs, 1)
	size := uint64((n + 63) / 64 * 8) // the kernel's cpumask: whole longs
	mask := make([]byte, size)
	if e := t.mm().CopyIn(a[2], mask[:min(a[1], size)]); e != 0 {
		return 0, e
	}
	task := t.Task
	if pid := a.Int(0); pid != 0 && pid != t.Task.TID {
		if task = t.K.Procs.Task(pid); task == nil {
			return 0, unix.ESRCH
		}
		if !t.mayReschedule(t.attrsOf(task.Group)) {
			return 0, unix.EPERM
		}
	}
	// Keep only the guest's CPUs, as Linux intersects with the online ones.
	some := false
	for cpu := 0; cpu < len(mask)*8; cpu++ {
		if cpu >= n {
			mask[cpu/8] &^= 1 << (cpu % 8)
		} else if mask[cpu/8]&(1<<(cpu%8)) != 0 {
			some = true
		}
	}
	if !some {
		return 0, unix.EINVAL // no CPU the guest has
	}
	task.Affinity.Store(&mask)
	return 0, 0
}

func sysGetcpu(t *Thread, a Args) (uint64, unix.Errno) {
	var cpu uint32
	// The handler runs on the vCPU's own host thread.
	unix.RawSyscall(unix.SYS_GETCPU, uintptr(unsafe.Pointer(&cpu)), 0, 0)
	if n := t.K.Info.CPUs; n > 0 {
		cpu %= uint32(n)
	}
	if a[0] != 0 {
		if e := t.putU32(a[0], cpu); e != 0 {
			return 0, e
		}
	}
	if a[1] != 0 {
		return 0, t.putU32(a[1], 0)
	}
	return 0, 0
}
