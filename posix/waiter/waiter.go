// Package waiter owns readiness: the one mechanism by which every kind of
// file (pipes, eventfds, timerfds, epoll instances, host descriptors and,
// later, sockets) tells waiters that it became readable or writable.
//
// A file that can be waited on implements Waitable: Readiness reports the
// events that hold now, and EventRegister/EventUnregister attach an Entry
// that the file notifies with the events that changed. Blocking reads and
// writes, poll, select and epoll are all built on these three methods, so
// they see the same events. Files that do not implement Waitable are
// always ready for reading and writing, as Linux's poll says of regular
// files.
//
// The rules that keep it deadlock-free: a file calls Queue.Notify without
// holding its own locks, an Entry's callback never blocks and may take only
// the lock of the object it belongs to (an epoll instance), and Readiness
// takes only the file's own lock (an epoll instance also its watched
// files', which cannot form a cycle because epoll_ctl refuses loops).
package waiter

import "sync"

// Event bits, Linux's EPOLL* values; poll's POLL* bits are the same on
// x86-64, so one mask serves poll, select and epoll.
const (
	EPOLLIN     = 0x1
	EPOLLPRI    = 0x2
	EPOLLOUT    = 0x4
	EPOLLERR    = 0x8
	EPOLLHUP    = 0x10
	EPOLLNVAL   = 0x20 // poll only: the fd is not open
	EPOLLRDNORM = 0x40
	EPOLLRDBAND = 0x80
	EPOLLWRNORM = 0x100
	EPOLLWRBAND = 0x200
	EPOLLMSG    = 0x400
	EPOLLRDHUP  = 0x2000

	// AllEvents is what a state change that concerns everyone (the last
	// writer or reader of a pipe going away) notifies, like Linux's
	// wake_up with no key.
	AllEvents = 0xffff

	// DefaultReadiness is what a file that cannot be waited on reports:
	// Linux's DEFAULT_POLLMASK.
	DefaultReadiness = EPOLLIN | EPOLLOUT | EPOLLRDNORM | EPOLLWRNORM

	// ReadEvents are the events that end a wait to read: data, or an end
	// of file or error that a read reports at once.
	ReadEvents = EPOLLIN | EPOLLRDNORM | EPOLLHUP | EPOLLERR | EPOLLRDHUP
	// WriteEvents end a wait to write: room, or an error (EPIPE).
	WriteEvents = EPOLLOUT | EPOLLWRNORM | EPOLLERR | EPOLLHUP
)

// Waitable is a file whose readiness can be waited for.
type Waitable interface {
	// Readiness returns the events in mask that hold now. Files may report
	// EPOLLERR and EPOLLHUP whether asked or not.
	Readiness(mask uint32) uint32
	// EventRegister attaches e: from now on, e is notified of the events it
	// asks for when they may have become true.
	EventRegister(e *Entry)
	// EventUnregister detaches e; a notification already under way may
	// still reach it.
	EventUnregister(e *Entry)
}

// Pollable is implemented by Waitables that cannot always be waited on: a
// host descriptor is waitable when it is a pipe or terminal, and not when
// it is a regular file (which epoll refuses with EPERM, as Linux does).
type Pollable interface {
	Pollable() bool
}

// Of returns f as a Waitable, or nil when f cannot be waited on and is
// therefore always ready.
func Of(f any) Waitable {
	w, ok := f.(Waitable)
	if !ok {
		return nil
	}
	if p, ok := w.(Pollable); ok && !p.Pollable() {
		return nil
	}
	return w
}

// Readiness is the readiness of any file: a Waitable's own, or
// DefaultReadiness for the rest; both filtered by mask plus the events
// that are always reported (EPOLLERR, EPOLLHUP).
func Readiness(f any, mask uint32) uint32 {
	mask |= EPOLLERR | EPOLLHUP
	if w := Of(f); w != nil {
		return w.Readiness(mask) & mask
	}
	return DefaultReadiness & mask
}

// Entry is one waiter: a callback that receives the events that changed.
type Entry struct {
	mask     uint32
	callback func(events uint32)
}

// NewEntry returns an entry that calls fn with the notified events that
// intersect mask. fn must not block.
func NewEntry(mask uint32, fn func(events uint32)) *Entry {
	return &Entry{mask: mask, callback: fn}
}

// NewChannelEntry returns an entry for one blocked thread: the channel
// receives a token (it holds at most one) whenever an event in mask is
// notified.
func NewChannelEntry(mask uint32) (*Entry, <-chan struct{}) {
	ch := make(chan struct{}, 1)
	return NewEntry(mask, func(uint32) {
		select {
		case ch <- struct{}{}:
		default:
		}
	}), ch
}

// Mask is the events the entry waits for.
func (e *Entry) Mask() uint32 { return e.mask }

// Queue is the list of entries of one waitable object; the zero value is
// ready to use. Objects embed one (or one per direction, as pipes do).
type Queue struct {
	mu      sync.Mutex
	entries []*Entry
}

// EventRegister adds e.
func (q *Queue) EventRegister(e *Entry) {
	q.mu.Lock()
	q.entries = append(q.entries, e)
	q.mu.Unlock()
}

// EventUnregister removes e, if present.
func (q *Queue) EventUnregister(e *Entry) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, x := range q.entries {
		if x == e {
			last := len(q.entries) - 1
			copy(q.entries[i:], q.entries[i+1:])
			q.entries[last] = nil
			q.entries = q.entries[:last]
			return
		}
	}
}

// Notify calls every entry that waits for one of events. The caller must
// not hold locks that a callback might take (its own object's lock); the
// callbacks run after the queue's lock is dropped, so they may register
// and unregister.
func (q *Queue) Notify(events uint32) {
	var small [8]*Entry
	q.mu.Lock()
	list := small[:0]
	for _, e := range q.entries {
		if e.mask&events != 0 {
			list = append(list, e)
		}
	}
	q.mu.Unlock()
	for _, e := range list {
		e.callback(events & e.mask)
	}
}

// Empty reports whether no entry is registered.
func (q *Queue) Empty() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.entries) == 0
}
