package syscalls

import (
	"time"

	"github.com/rumpgo/rumpgo/posix"
	"golang.org/x/sys/unix"
)

func init() {
	register(unix.SYS_TIMERFD_CREATE, Entry{Name: "timerfd_create", fn: sysTimerfdCreate, args: []argKind{aClockID, aHex}})
	register(unix.SYS_TIMERFD_SETTIME, Entry{Name: "timerfd_settime", Support: Partial,
		Note: "TFD_TIMER_CANCEL_ON_SET is accepted but never cancels; absolute CLOCK_REALTIME timers do not follow later clock changes",
		fn:   sysTimerfdSettime, args: []argKind{aFD, aHex, aPtr, aPtr}})
	register(unix.SYS_TIMERFD_GETTIME, Entry{Name: "timerfd_gettime", fn: sysTimerfdGettime, args: []argKind{aFD, aPtr}})
}

// timerfd flags (include/uapi/linux/timerfd.h).
const (
	TFD_TIMER_ABSTIME       = 1 << 0
	TFD_TIMER_CANCEL_ON_SET = 1 << 1
)

// itimerspecSize is sizeof(struct itimerspec): it_interval, then it_value.
const itimerspecSize = 32

func sysTimerfdCreate(t *Thread, a Args) (uint64, unix.Errno) {
	clock, flags := a.Int(0), a.Int(1)
	if flags&^(unix.TFD_CLOEXEC|unix.TFD_NONBLOCK) != 0 {
		return 0, unix.EINVAL
	}
	switch clock {
	case unix.CLOCK_REALTIME, unix.CLOCK_MONOTONIC, unix.CLOCK_BOOTTIME:
	case unix.CLOCK_REALTIME_ALARM, unix.CLOCK_BOOTTIME_ALARM:
		// Alarm clocks would wake a suspended machine, which needs
		// CAP_WAKE_ALARM; a VM has no suspend to wake from, so they
		// count like their base clocks.
		if t.K.Info.UID != 0 {
			return 0, unix.EPERM
		}
	default:
		return 0, unix.EINVAL
	}
	tf := posix.NewTimerFD(int32(clock), flags)
	fd, e := t.Task.Group.FDs.Install(tf, 0, flags&unix.TFD_CLOEXEC != 0, t.fdLimit())
	return uint64(fd), e
}

// baseClock is the clock an alarm clock counts on.
func baseClock(clock int32) int32 {
	switch clock {
	case unix.CLOCK_REALTIME_ALARM:
		return unix.CLOCK_REALTIME
	case unix.CLOCK_BOOTTIME_ALARM:
		return unix.CLOCK_BOOTTIME
	}
	return clock
}

func (t *Thread) timerfd(fd int) (*posix.TimerFD, unix.Errno) {
	f, e := t.file(fd)
	if e != 0 {
		return nil, e
	}
	tf, ok := f.File.(*posix.TimerFD)
	if !ok {
		return nil, unix.EINVAL
	}
	return tf, 0
}

func sysTimerfdSettime(t *Thread, a Args) (uint64, unix.Errno) {
	flags := a.Int(1)
	value, interval, e := t.itimerspec(a[2])
	if e != 0 {
		return 0, e
	}
	if flags&^(TFD_TIMER_ABSTIME|TFD_TIMER_CANCEL_ON_SET) != 0 {
		return 0, unix.EINVAL
	}
	tf, e := t.timerfd(a.Int(0))
	if e != 0 {
		return 0, e
	}
	var at time.Time // zero: disarm
	switch {
	case value == 0:
	case flags&TFD_TIMER_ABSTIME != 0:
		at = t.K.absDeadline(baseClock(tf.Clock), value)
	default:
		at = time.Now().Add(value)
	}
	oldValue, oldInterval := tf.Set(at, interval)
	if a[3] != 0 {
		return 0, t.putItimerspec(a[3], oldValue, oldInterval)
	}
	return 0, 0
}

func sysTimerfdGettime(t *Thread, a Args) (uint64, unix.Errno) {
	tf, e := t.timerfd(a.Int(0))
	if e != 0 {
		return 0, e
	}
	value, interval := tf.Get()
	return 0, t.putItimerspec(a[1], value, interval)
}

// itimerspec reads a struct itimerspec.
func (t *Thread) itimerspec(addr uint64) (value, interval time.Duration, e unix.Errno) {
	if interval, e = t.timespec(addr); e != 0 {
		return 0, 0, e
	}
	value, e = t.timespec(addr + 16)
	return value, interval, e
}

// putItimerspec writes a struct itimerspec.
func (t *Thread) putItimerspec(addr uint64, value, interval time.Duration) unix.Errno {
	var b [itimerspecSize]byte
	putTimespec(b[0:], int64(interval/time.Second), int64(interval%time.Second))
	putTimespec(b[16:], int64(value/time.Second), int64(value%time.Second))
	return t.mm().CopyOut(addr, b[:])
}
