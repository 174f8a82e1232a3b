package syscalls

import (
	"encoding/binary"
	"sync"
	"time"

	"github.com/rumpgo/rumpgo/posix"
	"golang.org/x/sys/unix"
)

func init() {
	register(unix.SYS_SETITIMER, Entry{Name: "setitimer", fn: sysSetitimer, args: []argKind{aInt, aPtr, aPtr}})
	register(unix.SYS_GETITIMER, Entry{Name: "getitimer", fn: sysGetitimer, args: []argKind{aInt, aPtr}})
	register(unix.SYS_ALARM, Entry{Name: "alarm", fn: sysAlarm, args: []argKind{aUint}})
	register(unix.SYS_TIMER_CREATE, Entry{Name: "timer_create", Support: Partial, Note: "SIGEV_SIGNAL, SIGEV_THREAD_ID, SIGEV_NONE on the wall and CPU clocks of the process and the calling thread",
		fn: sysTimerCreate, args: []argKind{aClockID, aPtr, aPtr}})
	register(unix.SYS_TIMER_SETTIME, Entry{Name: "timer_settime", fn: sysTimerSettime, args: []argKind{aInt, aInt, aPtr, aPtr}})
	register(unix.SYS_TIMER_GETTIME, Entry{Name: "timer_gettime", fn: sysTimerGettime, args: []argKind{aInt, aPtr}})
	register(unix.SYS_TIMER_GETOVERRUN, Entry{Name: "timer_getoverrun", fn: sysTimerGetoverrun, args: []argKind{aInt}})
	register(unix.SYS_TIMER_DELETE, Entry{Name: "timer_delete", fn: sysTimerDelete, args: []argKind{aInt}})
}

// interval timers (linux/time.h).
const (
	ITIMER_REAL    = 0
	ITIMER_VIRTUAL = 1
	ITIMER_PROF    = 2
)

// sigevent notify kinds (asm-generic/siginfo.h).
const (
	SIGEV_SIGNAL    = 0
	SIGEV_NONE      = 1
	SIGEV_THREAD    = 2
	SIGEV_THREAD_ID = 4
)

// timer is one POSIX or interval timer: it counts on a clock and, at each
// expiry, calls fire with the expirations missed since the last one.
type timer struct {
	now   func() time.Duration // the clock, on its own scale
	rate  int                  // how many times faster than wall time it can run (CPUs for a process CPU clock)
	fire  func(overrun int)
	dying <-chan struct{}

	mu       sync.Mutex
	next     time.Duration // next expiry on the clock; 0 when disarmed
	interval time.Duration
	overrun  int
	gen      int // bumped by every set, so an old goroutine stops
}

// set arms the timer for value from now (0 disarms), then every interval,
// and returns the old setting.
func (tm *timer) set(value, interval time.Duration, abs bool) (oldValue, oldInterval time.Duration) {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	oldValue, oldInterval = tm.remainingLocked(), tm.interval
	tm.gen++
	tm.next, tm.interval, tm.overrun = 0, interval, 0
	if value > 0 || abs && value != 0 {
		if abs {
			tm.next = value
		} else {
			tm.next = tm.now() + value
		}
		if tm.next <= 0 {
			tm.next = 1
		}
		go tm.run(tm.gen)
	}
	return oldValue, oldInterval
}

func (tm *timer) remainingLocked() time.Duration {
	if tm.next == 0 {
		return 0
	}
	return max(tm.next-tm.now(), 1)
}

func (tm *timer) get() (value, interval time.Duration) {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.remainingLocked(), tm.interval
}

func (tm *timer) stop() {
	tm.mu.Lock()
	tm.gen++
	tm.next = 0
	tm.mu.Unlock()
}

// run waits for expiries. A CPU clock cannot run faster than wall time
// times the CPUs charging it, so sleeping for the remainder divided by
// that rate never oversleeps; it only re-checks.
func (tm *timer) run(gen int) {
	for {
		tm.mu.Lock()
		if tm.gen != gen || tm.next == 0 {
			tm.mu.Unlock()
			return
		}
		now := tm.now()
		if left := tm.next - now; left > 0 {
			tm.mu.Unlock()
			select {
			case <-time.After(max(left/time.Duration(tm.rate), 50*time.Microsecond)):
			case <-tm.dying:
				return
			}
			continue
		}
		overrun := 0
		if tm.interval > 0 {
			missed := int((now - tm.next) / tm.interval)
			tm.next += time.Duration(missed+1) * tm.interval
			overrun = missed
		} else {
			tm.next = 0
		}
		tm.overrun = overrun
		tm.mu.Unlock()
		tm.fire(overrun)
	}
}

// timers are a process's interval and POSIX timers.
type timers struct {
	mu     sync.Mutex
	itimer [3]*timer
	posix  map[int]*timer
	nextID int
}

// timers returns the timers of t's process, made on first use. A forked
// child starts with none, as on Linux; processEnded drops them (their
// goroutines end with the process).
func (t *Thread) timers() *timers {
	k := t.K
	k.timersMu.Lock()
	defer k.timersMu.Unlock()
	g := t.Task.Group
	ts := k.procTimers[g]
	if ts == nil {
		if k.procTimers == nil {
			k.procTimers = map[*posix.ThreadGroup]*timers{}
		}
		ts = &timers{posix: map[int]*timer{}}
		k.procTimers[g] = ts
	}
	return ts
}

// clockFunc returns a reader for clock id as the calling thread sees it,
// and how fast it can run against wall time. The wall clocks are the
// guest's (Kernel.now), what clock_gettime answers, so an absolute expiry
// is reached on the same clock the guest reads, BOOTTIME and TAI too.
func (t *Thread) clockFunc(id int32) (func() time.Duration, int) {
	switch id {
	case unix.CLOCK_PROCESS_CPUTIME_ID:
		return func() time.Duration {
			var ts unix.Timespec
			unix.ClockGettime(unix.CLOCK_PROCESS_CPUTIME_ID, &ts)
			return time.Duration(ts.Nano())
		}, max(t.K.Info.CPUs, 1)
	case unix.CLOCK_THREAD_CPUTIME_ID:
		return t.cpu.CPUTime, 1
	}
	k, id := t.K, baseClock(id)
	return func() time.Duration {
		ns, _ := k.now(id)
		return time.Duration(ns)
	}, 1
}

func (t *Thread) itimer(which int) *timer {
	ts := t.timers()
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if tm := ts.itimer[which]; tm != nil {
		return tm
	}
	sig, clock := unix.SIGALRM, int32(unix.CLOCK_MONOTONIC)
	switch which {
	case ITIMER_VIRTUAL:
		sig, clock = unix.SIGVTALRM, unix.CLOCK_PROCESS_CPUTIME_ID
	case ITIMER_PROF:
		sig, clock = unix.SIGPROF, unix.CLOCK_PROCESS_CPUTIME_ID
	}
	now, rate := t.clockFunc(clock)
	g := t.Task.Group
	tm := &timer{now: now, rate: rate, dying: g.Dying(), fire: func(int) {
		g.Send(posix.SigInfo{Signo: int32(sig), Code: posix.SI_KERNEL})
	}}
	ts.itimer[which] = tm
	return tm
}

// readTimeval reads a struct timeval.
func (t *Thread) timeval(addr uint64) (time.Duration, unix.Errno) {
	var b [16]byte
	if e := t.mm().CopyIn(addr, b[:]); e != 0 {
		return 0, e
	}
	sec, usec := int64(binary.LittleEndian.Uint64(b[0:])), int64(binary.LittleEndian.Uint64(b[8:]))
	if sec < 0 || usec < 0 || usec >= 1e6 {
		return 0, unix.EINVAL
	}
	return clampDuration(sec, usec*1000), 0
}

func clampDuration(sec, nsec int64) time.Duration {
	if sec > int64(1<<63-1)/int64(time.Second)-1 {
		return 1<<63 - 1
	}
	return time.Duration(sec)*time.Second + time.Duration(nsec)
}

func putTimeval(b []byte, d time.Duration) {
	binary.LittleEndian.PutUint64(b[0:], uint64(d/time.Second))
	binary.LittleEndian.PutUint64(b[8:], uint64(d%time.Second/time.Microsecond))
}

func sysSetitimer(t *Thread, a Args) (uint64, unix.Errno) {
	which := a.Int(0)
	if which < ITIMER_REAL || which > ITIMER_PROF {
		return 0, unix.EINVAL
	}
	var interval, value time.Duration
	if a[1] != 0 {
		var e unix.Errno
		if interval, e = t.timeval(a[1]); e != 0 {
			return 0, e
		}
		if value, e = t.timeval(a[1] + 16); e != 0 {
			return 0, e
		}
	}
	oldValue, oldInterval := t.itimer(which).set(value, interval, false)
	if a[2] != 0 {
		var b [32]byte
		putTimeval(b[0:], oldInterval)
		putTimeval(b[16:], oldValue)
		return 0, t.mm().CopyOut(a[2], b[:])
	}
	return 0, 0
}

func sysGetitimer(t *Thread, a Args) (uint64, unix.Errno) {
	which := a.Int(0)
	if which < ITIMER_REAL || which > ITIMER_PROF {
		return 0, unix.EINVAL
	}
	value, interval := t.itimer(which).get()
	var b [32]byte
	putTimeval(b[0:], interval)
	putTimeval(b[16:], value)
	return 0, t.mm().CopyOut(a[1], b[:])
}

// sysAlarm is ITIMER_REAL in whole seconds; it returns the seconds left
// of the previous alarm, rounded up as Linux does.
func sysAlarm(t *Thread, a Args) (uint64, unix.Errno) {
	old, _ := t.itimer(ITIMER_REAL).set(time.Duration(uint32(a[0]))*time.Second, 0, false)
	return uint64((old + time.Second - 1) / time.Second), 0
}

func sysTimerCreate(t *Thread, a Args) (uint64, unix.Errno) {
	id, e := guestClock(a.Int(0))
	if e != 0 {
		return 0, e
	}
	notify, sig, value, tid := SIGEV_SIGNAL, int(unix.SIGALRM), uint64(0), 0
	if a[1] != 0 {
		// struct sigevent: sigval, signo, notify, then the thread id.
		var b [24]byte
		if e := t.mm().CopyIn(a[1], b[:]); e != 0 {
			return 0, e
		}
		le := binary.LittleEndian
		value, sig, notify = le.Uint64(b[0:]), int(int32(le.Uint32(b[8:]))), int(int32(le.Uint32(b[12:])))
		tid = int(int32(le.Uint32(b[16:])))
	}
	g := t.Task.Group
	var target *posix.Task
	switch notify {
	case SIGEV_NONE:
	case SIGEV_SIGNAL:
	case SIGEV_THREAD_ID:
		if target = g.Task(tid); target == nil {
			return 0, unix.EINVAL
		}
	default:
		// SIGEV_THREAD is libc's business: it arrives as SIGEV_THREAD_ID.
		return 0, unix.EINVAL
	}
	if notify != SIGEV_NONE && (sig < 1 || sig > posix.NSIG) {
		return 0, unix.EINVAL
	}
	ts := t.timers()
	ts.mu.Lock()
	timerID := ts.nextID
	ts.nextID++
	ts.mu.Unlock()
	now, rate := t.clockFunc(id)
	tm := &timer{now: now, rate: rate, dying: g.Dying()}
	tm.fire = func(overrun int) {
		info := posix.SigInfo{Signo: int32(sig), Code: posix.SI_TIMER, PID: int32(timerID), UID: int32(overrun), Value: value}
		switch {
		case target != nil:
			target.Send(info)
		case notify == SIGEV_SIGNAL:
			g.Send(info)
		}
	}
	if e := t.putU32(a[2], uint32(timerID)); e != 0 {
		return 0, e
	}
	ts.mu.Lock()
	ts.posix[timerID] = tm
	ts.mu.Unlock()
	return 0, 0
}

func (t *Thread) posixTimer(id int) (*timer, unix.Errno) {
	ts := t.timers()
	ts.mu.Lock()
	defer ts.mu.Unlock()
	tm, ok := ts.posix[id]
	if !ok {
		return nil, unix.EINVAL
	}
	return tm, 0
}

func sysTimerSettime(t *Thread, a Args) (uint64, unix.Errno) {
	// Linux's order: no new value is EINVAL, then copying it in, then
	// its checks (itimerspec), then the timer id.
	if a[2] == 0 {
		return 0, unix.EINVAL
	}
	value, interval, e := t.itimerspec(a[2])
	if e != 0 {
		return 0, e
	}
	tm, e := t.posixTimer(a.Int(0))
	if e != 0 {
		return 0, e
	}
	oldValue, oldInterval := tm.set(value, interval, a.Int(1)&unix.TIMER_ABSTIME != 0)
	if a[3] != 0 {
		return 0, t.putItimerspec(a[3], oldValue, oldInterval)
	}
	return 0, 0
}

func sysTimerGettime(t *Thread, a Args) (uint64, unix.Errno) {
	tm, e := t.posixTimer(a.Int(0))
	if e != 0 {
		return 0, e
	}
	value, interval := tm.get()
	return 0, t.putItimerspec(a[1], value, interval)
}

func sysTimerGetoverrun(t *Thread, a Args) (uint64, unix.Errno) {
	tm, e := t.posixTimer(a.Int(0))
	if e != 0 {
		return 0, e
	}
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return uint64(tm.overrun), 0
}

func sysTimerDelete(t *Thread, a Args) (uint64, unix.Errno) {
	ts := t.timers()
	ts.mu.Lock()
	tm, ok := ts.posix[a.Int(0)]
	delete(ts.posix, a.Int(0))
	ts.mu.Unlock()
	if !ok {
		return 0, unix.EINVAL
	}
	tm.stop()
	return 0, 0
}
