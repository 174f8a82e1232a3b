package posix

import (
	"encoding/binary"
	"sync"
	"time"

	"github.com/rumpgo/rumpgo/posix/waiter"
	"golang.org/x/sys/unix"
)

// TimerFD is a timerfd(2): a timer whose expirations a read counts.
//
// Times are host time.Time values (with Go's monotonic reading); the
// syscall layer converts the guest's clock readings, so a timer on
// CLOCK_REALTIME set to an absolute time does not follow later jumps of
// the wall clock.
type TimerFD struct {
	StatusFlags
	Clock int32 // the clock id it was created on, for the syscall layer

	mu       sync.Mutex
	armed    bool
	next     time.Time // the next expiration, when armed
	interval time.Duration
	ticks    uint64 // expirations not yet read
	timer    *time.Timer
	closed   bool
	q        waiter.Queue
}

// NewTimerFD returns a disarmed timer on clock. flags may hold
// TFD_NONBLOCK (== O_NONBLOCK).
func NewTimerFD(clock int32, flags int) *TimerFD {
	t := &TimerFD{Clock: clock}
	t.Init(unix.O_RDWR | flags&unix.O_NONBLOCK)
	return t
}

// update counts the expirations up to now. Like Linux, which forwards a
// periodic timer only when it is read, a periodic timer's host timer is
// not re-armed by its firing: expirations are counted here from the
// period.
func (t *TimerFD) update(now time.Time) {
	if !t.armed || now.Before(t.next) {
		return
	}
	if t.interval <= 0 {
		t.ticks++
		t.armed = false
		return
	}
	n := 1 + uint64(now.Sub(t.next)/t.interval)
	t.ticks += n
	t.next = t.next.Add(time.Duration(n) * t.interval)
}

// schedule (re)starts the host timer for the next expiration.
func (t *TimerFD) schedule(now time.Time) {
	if !t.armed || t.closed {
		if t.timer != nil {
			t.timer.Stop()
		}
		return
	}
	d := t.next.Sub(now)
	if t.timer == nil {
		t.timer = time.AfterFunc(d, t.fire)
	} else {
		t.timer.Reset(d)
	}
}

func (t *TimerFD) fire() {
	t.mu.Lock()
	t.update(time.Now())
	ready := t.ticks > 0
	t.mu.Unlock()
	if ready {
		t.q.Notify(waiter.EPOLLIN | waiter.EPOLLRDNORM)
	}
}

// state returns the time left to the next expiration (0 when disarmed)
// and the interval, after counting expirations up to now.
func (t *TimerFD) state(now time.Time) (time.Duration, time.Duration) {
	t.update(now)
	if !t.armed {
		return 0, t.interval
	}
	return t.next.Sub(now), t.interval
}

// Set arms the timer to expire at value and then every interval (a zero
// interval: once), or disarms it when value is zero. It clears the
// unread expirations and returns the previous setting as Get would.
func (t *TimerFD) Set(value time.Time, interval time.Duration) (oldValue, oldInterval time.Duration) {
	now := time.Now()
	t.mu.Lock()
	oldValue, oldInterval = t.state(now)
	t.ticks = 0
	t.armed = !value.IsZero()
	t.next, t.interval = value, interval
	if !t.armed {
		t.interval = 0
	}
	t.update(now)
	ready := t.ticks > 0
	t.schedule(now)
	t.mu.Unlock()
	if ready {
		t.q.Notify(waiter.EPOLLIN | waiter.EPOLLRDNORM)
	}
	return oldValue, oldInterval
}

// Get returns the time to the next expiration (zero when disarmed) and
// the interval.
func (t *TimerFD) Get() (value, interval time.Duration) {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.state(now)
}

// Read returns the number of expirations since the last read (or set) as
// 8 bytes; EAGAIN when there were none.
func (t *TimerFD) Read(b []byte) (int, unix.Errno) {
	if len(b) < 8 {
		return 0, unix.EINVAL
	}
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.update(now)
	if t.ticks == 0 {
		return 0, unix.EAGAIN
	}
	binary.LittleEndian.PutUint64(b, t.ticks)
	t.ticks = 0
	t.schedule(now)
	return 8, 0
}

// Write is EINVAL: a timerfd has no write operation.
func (t *TimerFD) Write([]byte) (int, unix.Errno) { return 0, unix.EINVAL }

// Close stops the timer.
func (t *TimerFD) Close() unix.Errno {
	t.mu.Lock()
	t.closed = true
	if t.timer != nil {
		t.timer.Stop()
	}
	t.mu.Unlock()
	return 0
}

// Readiness implements waiter.Waitable: readable once it expired.
func (t *TimerFD) Readiness(mask uint32) uint32 {
	t.mu.Lock()
	t.update(time.Now())
	ready := t.ticks > 0
	t.mu.Unlock()
	if ready {
		return (waiter.EPOLLIN | waiter.EPOLLRDNORM) & mask
	}
	return 0
}

// EventRegister implements waiter.Waitable.
func (t *TimerFD) EventRegister(w *waiter.Entry) { t.q.EventRegister(w) }

// EventUnregister implements waiter.Waitable.
func (t *TimerFD) EventUnregister(w *waiter.Entry) { t.q.EventUnregister(w) }
