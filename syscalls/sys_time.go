package syscalls

import (
	"encoding/binary"
	"time"

	"golang.org/x/sys/unix"
)

func init() {
	register(unix.SYS_CLOCK_GETTIME, Entry{Name: "clock_gettime", fn: sysClockGettime, args: []argKind{aClockID, aPtr}})
	register(unix.SYS_CLOCK_GETRES, Entry{Name: "clock_getres", fn: sysClockGetres, args: []argKind{aClockID, aPtr}})
	register(unix.SYS_GETTIMEOFDAY, Entry{Name: "gettimeofday", fn: sysGettimeofday, args: []argKind{aPtr, aPtr}})
	register(unix.SYS_TIME, Entry{Name: "time", fn: sysTime, args: []argKind{aPtr}})
	register(unix.SYS_NANOSLEEP, Entry{Name: "nanosleep", fn: sysNanosleep, args: []argKind{aPtr, aPtr}})
	register(unix.SYS_CLOCK_NANOSLEEP, Entry{Name: "clock_nanosleep", fn: sysClockNanosleep, args: []argKind{aClockID, aInt, aPtr, aPtr}})
}

// guestClock checks a clock id. The guest's clocks are the host's: the
// monotonic clocks are what a guest would read from a kvmclock anyway, and a
// guest thread's CPU clock is its vCPU thread's, which runs the guest code.
// Clock ids that encode another process's or thread's CPU clock are not
// supported yet.
func guestClock(id int) (int32, unix.Errno) {
	switch id {
	case unix.CLOCK_REALTIME, unix.CLOCK_MONOTONIC, unix.CLOCK_PROCESS_CPUTIME_ID,
		unix.CLOCK_THREAD_CPUTIME_ID, unix.CLOCK_MONOTONIC_RAW, unix.CLOCK_REALTIME_COARSE,
		unix.CLOCK_MONOTONIC_COARSE, unix.CLOCK_BOOTTIME, unix.CLOCK_TAI:
		return int32(id), 0
	}
	return 0, unix.EINVAL
}

// Clock is the guest's time when the monitor also publishes it in memory
// the guest reads without a system call (libc/vdso.Clock behind the vDSO).
// Now returns clock id's time in nanoseconds from the same sequence the
// page shows, so a system call is never ahead of a later page read nor
// behind an earlier one (the page lags the host by up to its period, and
// its derived clocks, BOOTTIME, MONOTONIC_RAW and TAI, come from offsets),
// or false for a clock it does not keep (the CPU-time clocks), which the
// host answers.
type Clock interface {
	Now(id int32) (ns int64, ok bool)
}

// now reads guest clock id (one guestClock accepted, but the thread's CPU
// clock) in nanoseconds.
func (k *Kernel) now(id int32) (int64, unix.Errno) {
	if k.Clock != nil {
		if ns, ok := k.Clock.Now(id); ok {
			return ns, 0
		}
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(id, &ts); err != nil {
		return 0, err.(unix.Errno)
	}
	return ts.Nano(), 0
}

func putTimespec(b []byte, sec, nsec int64) {
	binary.LittleEndian.PutUint64(b[0:], uint64(sec))
	binary.LittleEndian.PutUint64(b[8:], uint64(nsec))
}

func sysClockGettime(t *Thread, a Args) (uint64, unix.Errno) {
	var b [16]byte
	if id := a.Int(0); id < 0 {
		d, e := t.cpuClockOf(id)
		if e != 0 {
			return 0, e
		}
		putTimespec(b[:], int64(d/time.Second), int64(d%time.Second))
		return 0, t.mm().CopyOut(a[1], b[:])
	}
	id, e := guestClock(a.Int(0))
	if e != 0 {
		return 0, e
	}
	if id == unix.CLOCK_THREAD_CPUTIME_ID || id == unix.CLOCK_PROCESS_CPUTIME_ID {
		// The task's, or its process's, CPU: the handler may run on a
		// monitor thread, not the vCPU's.
		d := t.Task.CPUTotal()
		if id == unix.CLOCK_PROCESS_CPUTIME_ID {
			d = t.Task.Group.CPUTotal()
		}
		putTimespec(b[:], int64(d/time.Second), int64(d%time.Second))
		return 0, t.mm().CopyOut(a[1], b[:])
	}
	ns, e := t.K.now(id)
	if e != 0 {
		return 0, e
	}
	putTimespec(b[:], ns/1e9, ns%1e9)
	return 0, t.mm().CopyOut(a[1], b[:])
}

func sysClockGetres(t *Thread, a Args) (uint64, unix.Errno) {
	if cid := a.Int(0); cid < 0 {
		// posix_cpu_clock_getres: the clock must name a process or
		// thread, as for clock_gettime, and its resolution is the
		// kernel's for its kind (1 ns for CPUCLOCK_SCHED, a tick for
		// PROF and VIRT) — the host's, asked of the monitor's own clock
		// of that kind (pid 0: the caller).
		if _, e := t.cpuClockOf(cid); e != 0 {
			return 0, e
		}
		if a[1] == 0 {
			return 0, 0
		}
		var ts unix.Timespec
		if err := unix.ClockGetres(int32(-1<<3|cid&(CPUCLOCK_PERTHREAD_MASK|CPUCLOCK_CLOCK_MASK)), &ts); err != nil {
			return 0, err.(unix.Errno)
		}
		var b [16]byte
		putTimespec(b[:], ts.Sec, ts.Nsec)
		return 0, t.mm().CopyOut(a[1], b[:])
	}
	id, e := guestClock(a.Int(0))
	if e != 0 {
		return 0, e
	}
	if a[1] == 0 {
		return 0, 0
	}
	var ts unix.Timespec
	if err := unix.ClockGetres(id, &ts); err != nil {
		return 0, err.(unix.Errno)
	}
	var b [16]byte
	putTimespec(b[:], ts.Sec, ts.Nsec)
	return 0, t.mm().CopyOut(a[1], b[:])
}

func sysGettimeofday(t *Thread, a Args) (uint64, unix.Errno) {
	if a[0] != 0 {
		ns, e := t.K.now(unix.CLOCK_REALTIME)
		if e != 0 {
			return 0, e
		}
		var b [16]byte
		putTimespec(b[:], ns/1e9, ns%1e9/1000)
		if e := t.mm().CopyOut(a[0], b[:]); e != 0 {
			return 0, e
		}
	}
	if a[1] != 0 { // struct timezone: UTC, as a machine without /etc/localtime
		return 0, t.mm().CopyOut(a[1], make([]byte, 8))
	}
	return 0, 0
}

func sysTime(t *Thread, a Args) (uint64, unix.Errno) {
	ns, e := t.K.now(unix.CLOCK_REALTIME)
	if e != 0 {
		return 0, e
	}
	now := ns / 1e9
	if a[0] != 0 {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], uint64(now))
		if e := t.mm().CopyOut(a[0], b[:]); e != 0 {
			return 0, e
		}
	}
	return uint64(now), 0
}

// timespec reads a struct timespec as a duration (EINVAL when malformed).
func (t *Thread) timespec(addr uint64) (time.Duration, unix.Errno) {
	var b [16]byte
	if e := t.mm().CopyIn(addr, b[:]); e != 0 {
		return 0, e
	}
	sec := int64(binary.LittleEndian.Uint64(b[0:]))
	nsec := int64(binary.LittleEndian.Uint64(b[8:]))
	if sec < 0 || nsec < 0 || nsec >= 1e9 {
		return 0, unix.EINVAL
	}
	if sec > int64(1<<63-1)/int64(time.Second)-1 {
		return 1<<63 - 1, 0
	}
	return time.Duration(sec)*time.Second + time.Duration(nsec), 0
}

// absDeadline turns an absolute time on the guest's clock into a deadline
// for timers. The guest's clock is read first: the host's monotonic time
// the deadline counts from is then no earlier than the guest's reading, so
// the guest's clock has reached abs when the deadline passes, never the
// other way round (an early wake-up).
func (k *Kernel) absDeadline(clock int32, abs time.Duration) time.Time {
	now, _ := k.now(clock)
	return time.Now().Add(abs - time.Duration(now))
}

// sleepUntil blocks until deadline or a signal, writing the time left to
// remAddr when interrupted.
func (t *Thread) sleepUntil(deadline time.Time, remAddr uint64) unix.Errno {
	e := t.block(nil, deadline)
	switch e {
	case unix.ETIMEDOUT:
		return 0
	case ERESTARTSYS:
		if remAddr != 0 {
			left := max(time.Until(deadline), 0)
			var b [16]byte
			putTimespec(b[:], int64(left/time.Second), int64(left%time.Second))
			if e := t.mm().CopyOut(remAddr, b[:]); e != 0 {
				return e
			}
		}
		return ERESTART_RESTARTBLOCK
	}
	return e
}

func sysNanosleep(t *Thread, a Args) (uint64, unix.Errno) {
	d, e := t.timespec(a[0])
	if e != 0 {
		return 0, e
	}
	return 0, t.sleepUntil(time.Now().Add(d), a[1])
}

func sysClockNanosleep(t *Thread, a Args) (uint64, unix.Errno) {
	id, e := guestClock(a.Int(0))
	if e != 0 || id == unix.CLOCK_THREAD_CPUTIME_ID {
		return 0, unix.EINVAL
	}
	d, e := t.timespec(a[2])
	if e != 0 {
		return 0, e
	}
	if a.Int(1)&unix.TIMER_ABSTIME != 0 {
		return 0, t.sleepUntil(t.K.absDeadline(id, d), 0)
	}
	return 0, t.sleepUntil(time.Now().Add(d), a[3])
}

// The encoding of a CPU clock of another process or thread in a clock id
// (linux/posix-timers.h, MAKE_PROCESS_CPUCLOCK and MAKE_THREAD_CPUCLOCK):
// the complement of the pid shifted left by 3, a per-thread bit and the
// clock type. Only CPUCLOCK_SCHED is kept apart; PROF and VIRT read the
// same total, as user and system time are not split per read.
const (
	CPUCLOCK_PERTHREAD_MASK = 4
	CPUCLOCK_CLOCK_MASK     = 3
	CPUCLOCK_MAX            = 3
)

// cpuClockOf reads the CPU clock id encodes (pthread_getcpuclockid,
// clock_getcpuclockid): a thread's own time or its whole process's. A
// thread clock must name a thread of the caller's process, as Linux's
// lookup_task.
func (t *Thread) cpuClockOf(id int) (time.Duration, unix.Errno) {
	if id&CPUCLOCK_CLOCK_MASK == CPUCLOCK_MAX {
		return 0, unix.EINVAL
	}
	pid := int(^uint32(id) >> 3)
	if pid == 0 {
		pid = t.Task.TID // 0 is the caller itself
		if id&CPUCLOCK_PERTHREAD_MASK == 0 {
			pid = t.Task.Group.PID
		}
	}
	task := t.K.Procs.Task(pid)
	if task == nil {
		return 0, unix.EINVAL
	}
	if id&CPUCLOCK_PERTHREAD_MASK != 0 {
		if task.Group != t.Task.Group {
			return 0, unix.EINVAL
		}
		return task.CPUTotal(), 0
	}
	return task.Group.CPUTotal(), 0 // clock_gettime accepts any thread of the process
}
