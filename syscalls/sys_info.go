package syscalls

import (
	"crypto/rand"
	"encoding/binary"
	"time"

	"github.com/rumpgo/rumpgo/posix"
	"golang.org/x/sys/unix"
)

func init() {
	register(unix.SYS_UNAME, Entry{Name: "uname", fn: sysUname, args: []argKind{aPtr}})
	register(unix.SYS_GETRANDOM, Entry{Name: "getrandom", fn: sysGetrandom, args: []argKind{aPtr, aUint, aHex}})
	register(unix.SYS_PRLIMIT64, Entry{Name: "prlimit64", fn: sysPrlimit64, args: []argKind{aInt, aResource, aPtr, aPtr}})
	register(unix.SYS_GETRLIMIT, Entry{Name: "getrlimit", fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		return sysPrlimit64(t, Args{0, a[0], 0, a[1]})
	}, args: []argKind{aResource, aPtr}})
	register(unix.SYS_SETRLIMIT, Entry{Name: "setrlimit", fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		return sysPrlimit64(t, Args{0, a[0], a[1], 0})
	}, args: []argKind{aResource, aPtr}})
	register(unix.SYS_SYSINFO, Entry{Name: "sysinfo", fn: sysSysinfo, args: []argKind{aPtr}})
	register(unix.SYS_GETRUSAGE, Entry{Name: "getrusage", Support: Partial,
		Note: "CPU times are the guest's tasks' (their vCPU threads' host times, emulation work included) and its reaped children's; maxrss is the monitor's; other fields are 0",
		fn:   sysGetrusage, args: []argKind{aInt, aPtr}})
	register(unix.SYS_TIMES, Entry{Name: "times", Note: "CPU times as getrusage, the reaped children's included; ticks count from the machine's boot",
		fn: sysTimes, args: []argKind{aPtr}})
}

// Release is the kernel release the guest sees: Debian 12's, whose ABI the
// emulation follows.
// Every place that names the kernel (uname, /proc/sys/kernel/osrelease,
// /proc/version) says this one release.
const Release = "6.1.0-rumpgo"

// Version is uname -v, and /proc/sys/kernel/version.
const Version = "#1 SMP PREEMPT_DYNAMIC rumpgo"

func sysUname(t *Thread, a Args) (uint64, unix.Errno) {
	const field = 65
	var u [6 * field]byte
	for i, s := range []string{"Linux", t.K.Hostname(), Release, Version, t.machine(), t.K.Domainname()} {
		copy(u[i*field:(i+1)*field-1], s)
	}
	return 0, t.mm().CopyOut(a[0], u[:])
}

// getrandom flags.
const (
	GRND_NONBLOCK = 1
	GRND_RANDOM   = 2
	GRND_INSECURE = 4
)

func sysGetrandom(t *Thread, a Args) (uint64, unix.Errno) {
	if a[2]&^(GRND_NONBLOCK|GRND_RANDOM|GRND_INSECURE) != 0 || a[2]&(GRND_RANDOM|GRND_INSECURE) == GRND_RANDOM|GRND_INSECURE {
		return 0, unix.EINVAL
	}
	n := min(a[1], 33554431) // Linux's per-call cap
	buf := make([]byte, min(n, 1<<16))
	done := uint64(0)
	for done < n {
		chunk := buf[:min(uint64(len(buf)), n-done)]
		rand.Read(chunk)
		if e := t.mm().CopyOut(a[0]+done, chunk); e != 0 {
			if done > 0 {
				break
			}
			return 0, e
		}
		done += uint64(len(chunk))
	}
	return done, 0
}

func sysPrlimit64(t *Thread, a Args) (uint64, unix.Errno) {
	pid, res := a.Int(0), a.Int(1)
	le := binary.LittleEndian
	var next posix.Rlimit
	if a[2] != 0 {
		var b [16]byte
		if e := t.mm().CopyIn(a[2], b[:]); e != 0 {
			return 0, e
		}
		next = posix.Rlimit{Cur: le.Uint64(b[0:]), Max: le.Uint64(b[8:])}
	}
	if pid != 0 && pid != t.Task.Group.PID && !t.Task.Group.HasTask(pid) {
		return 0, unix.ESRCH
	}
	if res < 0 || res >= posix.RLIM_NLIMITS {
		return 0, unix.EINVAL
	}
	lim := t.Task.Group.Limits
	old := lim.Get(res)
	if a[2] != 0 {
		var e unix.Errno
		if old, e = lim.Set(res, next, t.capable(posix.CAP_SYS_RESOURCE)); e != 0 {
			return 0, e
		}
		if res == unix.RLIMIT_CPU {
			t.watchCPULimit()
		}
	}
	if a[3] != 0 {
		var b [16]byte
		le.PutUint64(b[0:], old.Cur)
		le.PutUint64(b[8:], old.Max)
		return 0, t.mm().CopyOut(a[3], b[:])
	}
	return 0, 0
}

// uptime is how long the machine has run.
func (t *Thread) uptime() time.Duration {
	if t.K.Info.Boot.IsZero() {
		return time.Since(monitorStart)
	}
	return time.Since(t.K.Info.Boot)
}

// monitorStart stands in for the boot time of kernels made without one.
var monitorStart = time.Now()

func sysSysinfo(t *Thread, a Args) (uint64, unix.Errno) {
	// struct sysinfo on x86-64: uptime, loads[3], totalram, freeram,
	// sharedram, bufferram, totalswap, freeswap (longs), procs (u16) at 80,
	// totalhigh, freehigh at 88, mem_unit (u32) at 104; 112 bytes.
	var b [112]byte
	le := binary.LittleEndian
	up := t.uptime()
	sec := uint64(up / time.Second)
	if up%time.Second != 0 {
		sec++ // Linux rounds a partial second up
	}
	le.PutUint64(b[0:], sec)
	// The guest can map its commit limit: that is its RAM, and what it has
	// not committed is free. There is no swap.
	// totalram is the machine's RAM, as /proc/meminfo's MemTotal.
	committed, limit := t.mm().Committed()
	if t.K.Info.MemBytes != 0 {
		limit = t.K.Info.MemBytes
	}
	le.PutUint64(b[32:], limit)
	le.PutUint64(b[40:], limit-min(committed, limit))
	le.PutUint16(b[80:], uint16(min(t.Task.Group.NumTasks(), 0xffff)))
	le.PutUint32(b[104:], 1)
	return 0, t.mm().CopyOut(a[0], b[:])
}

// getrusage who values.
const (
	RUSAGE_SELF     = 0
	RUSAGE_CHILDREN = -1
	RUSAGE_THREAD   = 1
)

func sysGetrusage(t *Thread, a Args) (uint64, unix.Errno) {
	who := a.Int(0)
	g := t.Task.Group
	var c posix.CPUTimes
	switch who {
	case RUSAGE_SELF:
		c = g.CPUTime()
	case RUSAGE_CHILDREN:
		c = g.ChildrenCPUTime()
	case RUSAGE_THREAD:
		c = t.Task.CPUTime()
	default:
		return 0, unix.EINVAL
	}
	// ru_maxrss is the host process's, in KiB: an upper bound of the
	// guest's resident set.
	var maxrss int64
	if who != RUSAGE_CHILDREN {
		var ru unix.Rusage
		unix.Getrusage(unix.RUSAGE_SELF, &ru)
		maxrss = ru.Maxrss
	}
	return 0, t.mm().CopyOut(a[1], putRusage(c, maxrss))
}

// USER_HZ is the unit of clock_t: clock ticks per second (AT_CLKTCK).
const USER_HZ = 100

func sysTimes(t *Thread, a Args) (uint64, unix.Errno) {
	if a[0] != 0 {
		self, children := t.Task.Group.CPUTime(), t.Task.Group.ChildrenCPUTime()
		// struct tms: utime, stime, cutime, cstime in clock ticks.
		var b [32]byte
		le := binary.LittleEndian
		le.PutUint64(b[0:], clockTicks(self.User))
		le.PutUint64(b[8:], clockTicks(self.System))
		le.PutUint64(b[16:], clockTicks(children.User))
		le.PutUint64(b[24:], clockTicks(children.System))
		if e := t.mm().CopyOut(a[0], b[:]); e != 0 {
			return 0, e
		}
	}
	return uint64(t.uptime() / (time.Second / USER_HZ)), 0
}
