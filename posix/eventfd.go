package posix

import (
	"encoding/binary"
	"sync"

	"github.com/rumpgo/rumpgo/posix/waiter"
	"golang.org/x/sys/unix"
)

// eventfdMax is the largest count an eventfd holds (ULLONG_MAX - 1): a
// write that would pass it waits, and ULLONG_MAX itself is never a valid
// increment.
const eventfdMax = ^uint64(0) - 1

// EventFD is an eventfd(2) counter.
type EventFD struct {
	StatusFlags
	semaphore bool

	mu    sync.Mutex
	count uint64
	q     waiter.Queue
}

// NewEventFD returns an eventfd holding initval. flags may hold
// EFD_SEMAPHORE and EFD_NONBLOCK (== O_NONBLOCK); EFD_CLOEXEC belongs to
// the descriptor.
func NewEventFD(initval uint64, flags int) *EventFD {
	e := &EventFD{semaphore: flags&unix.EFD_SEMAPHORE != 0, count: initval}
	e.Init(unix.O_RDWR | flags&unix.O_NONBLOCK)
	return e
}

// Read returns the count (or 1, in semaphore mode) as 8 bytes and
// subtracts it; EAGAIN at zero, EINVAL for a buffer under 8 bytes.
func (e *EventFD) Read(b []byte) (int, unix.Errno) {
	if len(b) < 8 {
		return 0, unix.EINVAL
	}
	e.mu.Lock()
	if e.count == 0 {
		e.mu.Unlock()
		return 0, unix.EAGAIN
	}
	v := e.count
	if e.semaphore {
		v = 1
	}
	e.count -= v
	e.mu.Unlock()
	binary.LittleEndian.PutUint64(b, v)
	e.q.Notify(waiter.EPOLLOUT)
	return 8, 0
}

// Write adds an 8-byte value; EAGAIN when the sum would pass the maximum,
// EINVAL for a short buffer or the value ULLONG_MAX.
func (e *EventFD) Write(b []byte) (int, unix.Errno) {
	if len(b) < 8 {
		return 0, unix.EINVAL
	}
	v := binary.LittleEndian.Uint64(b)
	if v == ^uint64(0) {
		return 0, unix.EINVAL
	}
	e.mu.Lock()
	if eventfdMax-e.count < v {
		e.mu.Unlock()
		return 0, unix.EAGAIN
	}
	e.count += v
	e.mu.Unlock()
	e.q.Notify(waiter.EPOLLIN)
	return 8, 0
}

// Close implements File.
func (e *EventFD) Close() unix.Errno { return 0 }

// Count is the current value, for /proc's fdinfo and tests.
func (e *EventFD) Count() uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.count
}

// Readiness implements waiter.Waitable, as Linux's eventfd_poll.
func (e *EventFD) Readiness(mask uint32) uint32 {
	e.mu.Lock()
	c := e.count
	e.mu.Unlock()
	var r uint32
	if c > 0 {
		r |= waiter.EPOLLIN | waiter.EPOLLRDNORM
	}
	if c == ^uint64(0) {
		r |= waiter.EPOLLERR
	}
	if c < eventfdMax {
		r |= waiter.EPOLLOUT | waiter.EPOLLWRNORM
	}
	return r & (mask | waiter.EPOLLERR | waiter.EPOLLHUP)
}

// EventRegister implements waiter.Waitable.
func (e *EventFD) EventRegister(w *waiter.Entry) { e.q.EventRegister(w) }

// EventUnregister implements waiter.Waitable.
func (e *EventFD) EventUnregister(w *waiter.Entry) { e.q.EventUnregister(w) }
