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

// findTask checks that pid names the caller's process or one of its
// threads (0 is the caller), the only tasks a guest has.
func (t *Thread) findTask(pid int) unix.Errno {
	if pid == 0 || pid == t.Task.Group.PID || t.Task.Group.HasTask(pid) {
		return 0
	}
	return unix.ESRCH
}

func sysSchedGetscheduler(t *Thread, a Args) (uint64, unix.Errno) {
	if a.Int(0) < 0 {
		return 0, unix.EINVAL
	}
	if e := t.findTask(a.Int(0)); e != 0 {
		return 0, e
	}
	s := t.attrs().Sched()
	p := uint64(s.Policy)
	if s.ResetOnFork {
		p |= SCHED_RESET_ON_FORK
	}
	return p, 0
}

// readSchedParam reads a struct sched_param (one int) for pid, checking as
// Linux does: NULL or a negative pid is EINVAL, then EFAULT, then ESRCH.
func (t *Thread) readSchedParam(pid int, addr uint64) (int, unix.Errno) {
	if addr == 0 || pid < 0 {
		return 0, unix.EINVAL
	}
	var b [4]byte
	if e := t.mm().CopyIn(addr, b[:]); e != 0 {
		return 0, e
	}
	if e := t.findTask(pid); e != 0 {
		return 0, e
	}
	return int(int32(binary.LittleEndian.Uint32(b[:]))), 0
}

func (t *Thread) setSched(s posix.Sched) unix.Errno {
	lim := t.Task.Group.Limits
	return t.attrs().SetSched(s, lim.Get(unix.RLIMIT_RTPRIO).Cur, lim.Get(unix.RLIMIT_NICE).Cur, t.capable(posix.CAP_SYS_NICE))
}

func sysSchedSetscheduler(t *Thread, a Args) (uint64, unix.Errno) {
	policy := a.Int(1)
	if policy < 0 {
		return 0, unix.EINVAL
	}
	prio, e := t.readSchedParam(a.Int(0), a[2])
	if e != 0 {
		return 0, e
	}
	return 0, t.setSched(posix.Sched{Policy: policy &^ SCHED_RESET_ON_FORK, Priority: prio, ResetOnFork: policy&SCHED_RESET_ON_FORK != 0})
}

func sysSchedSetparam(t *Thread, a Args) (uint64, unix.Errno) {
	prio, e := t.readSchedParam(a.Int(0), a[1])
	if e != 0 {
		return 0, e
	}
	s := t.attrs().Sched()
	s.Priority = prio
	return 0, t.setSched(s)
}

func sysSchedGetparam(t *Thread, a Args) (uint64, unix.Errno) {
	if a[1] == 0 || a.Int(0) < 0 {
		return 0, unix.EINVAL
	}
	if e := t.findTask(a.Int(0)); e != 0 {
		return 0, e
	}
	return 0, t.putU32(a[1], uint32(t.attrs().Sched().Priority))
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
	if e := t.findTask(a.Int(0)); e != 0 {
		return 0, e
	}
	var d time.Duration
	switch t.attrs().Sched().Policy {
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

// prioTarget checks that (which, who) names the caller's process: the
// process or one of its threads, its process group (whose id is the PID),
// or its real user.
func (t *Thread) prioTarget(which, who int) unix.Errno {
	switch which {
	case PRIO_PROCESS:
		return t.findTask(who)
	case PRIO_PGRP:
		if who == 0 || who == t.Task.Group.PID {
			return 0
		}
		return unix.ESRCH
	case PRIO_USER:
		if who == 0 || uint32(who) == t.cred().RUID {
			return 0
		}
		return unix.ESRCH
	}
	return unix.EINVAL
}

func sysGetpriority(t *Thread, a Args) (uint64, unix.Errno) {
	if e := t.prioTarget(a.Int(0), a.Int(1)); e != 0 {
		return 0, e
	}
	// The raw call answers 20-nice so that the result is never negative;
	// libc turns it back into a nice value.
	return uint64(20 - t.attrs().Nice()), 0
}

func sysSetpriority(t *Thread, a Args) (uint64, unix.Errno) {
	if e := t.prioTarget(a.Int(0), a.Int(1)); e != 0 {
		return 0, e
	}
	return 0, t.attrs().SetNice(a.Int(2), t.Task.Group.Limits.Get(unix.RLIMIT_NICE).Cur, t.capable(posix.CAP_SYS_NICE))
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
		if task = t.Task.Group.Task(pid); task == nil {
			return 0, unix.ESRCH
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
