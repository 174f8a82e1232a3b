package posix

import (
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// FUTEX_BITSET_MATCH_ANY is the bitset FUTEX_WAIT and FUTEX_WAKE imply.
const FUTEX_BITSET_MATCH_ANY = 0xffffffff

// Futexes are the wait queues of one machine, keyed by guest address.
//
// With one address space per machine (stage 1, no fork yet) the virtual
// address identifies a futex both privately and shared; keys become
// (address space, address) or physical addresses when processes arrive.
type Futexes struct {
	mu     sync.Mutex
	queues map[uint64][]*futexWaiter
}

type futexWaiter struct {
	key    uint64
	bitset uint32
	wake   chan struct{} // closed by a waker while holding mu
	woken  bool
}

// NewFutexes makes an empty futex table.
func NewFutexes() *Futexes { return &Futexes{queues: map[uint64][]*futexWaiter{}} }

// FutexWaiter is a thread queued on a futex.
type FutexWaiter = futexWaiter

// Woken is closed when a waker takes w off its queue.
func (w *futexWaiter) Woken() <-chan struct{} { return w.wake }

// Queue puts the caller on key's queue if *word still holds val (else
// EAGAIN), atomically with respect to wakers. The caller then waits on
// w.Woken() and must call Leave when it stops waiting.
func (f *Futexes) Queue(key uint64, word *uint32, val, bitset uint32) (*FutexWaiter, unix.Errno) {
	if bitset == 0 {
		return nil, unix.EINVAL
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if atomic.LoadUint32(word) != val {
		return nil, unix.EAGAIN
	}
	w := &futexWaiter{key: key, bitset: bitset, wake: make(chan struct{})}
	f.queues[key] = append(f.queues[key], w)
	return w, 0
}

// Leave takes w off its queue after a timeout or interruption; it reports
// whether a wake got there first (and so counted w).
func (f *Futexes) Leave(w *FutexWaiter) (woken bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if w.woken {
		return true
	}
	f.remove(w)
	return false
}

// Wait is Queue, a wait for a wake, deadline (ETIMEDOUT) or cancel (EINTR),
// and Leave. A zero deadline waits forever.
func (f *Futexes) Wait(key uint64, word *uint32, val, bitset uint32, deadline time.Time, cancel <-chan struct{}) unix.Errno {
	w, e := f.Queue(key, word, val, bitset)
	if e != 0 {
		return e
	}
	var timeout <-chan time.Time
	if !deadline.IsZero() {
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-w.wake:
		return 0
	case <-timeout:
		e = unix.ETIMEDOUT
	case <-cancel:
		e = unix.EINTR
	}
	if f.Leave(w) {
		return 0
	}
	return e
}

func (f *Futexes) remove(w *futexWaiter) {
	q := f.queues[w.key]
	for i, x := range q {
		if x == w {
			q = append(q[:i], q[i+1:]...)
			break
		}
	}
	if len(q) == 0 {
		delete(f.queues, w.key)
	} else {
		f.queues[w.key] = q
	}
}

// Wake wakes up to n waiters on key whose bitset intersects bitset.
func (f *Futexes) Wake(key uint64, n int, bitset uint32) int {
	if bitset == 0 {
		return -int(unix.EINVAL)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.wakeLocked(key, n, bitset)
}

func (f *Futexes) wakeLocked(key uint64, n int, bitset uint32) int {
	woken := 0
	q := f.queues[key]
	keep := q[:0]
	for _, w := range q {
		if woken < n && w.bitset&bitset != 0 {
			w.woken = true
			close(w.wake)
			woken++
			continue
		}
		keep = append(keep, w)
	}
	if len(keep) == 0 {
		delete(f.queues, key)
	} else {
		f.queues[key] = keep
	}
	return woken
}

// Requeue wakes up to nWake waiters on key and moves up to nMove of the
// rest to key2. With check set, it first compares *word with val (EAGAIN
// when different), as FUTEX_CMP_REQUEUE.
func (f *Futexes) Requeue(key uint64, nWake, nMove int, key2 uint64, check bool, word *uint32, val uint32) (int, unix.Errno) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if check && atomic.LoadUint32(word) != val {
		return 0, unix.EAGAIN
	}
	done := f.wakeLocked(key, nWake, FUTEX_BITSET_MATCH_ANY)
	q := f.queues[key]
	moved := 0
	for len(q) > 0 && moved < nMove && key != key2 {
		w := q[0]
		q = q[1:]
		w.key = key2
		f.queues[key2] = append(f.queues[key2], w)
		moved++
	}
	if len(q) == 0 {
		delete(f.queues, key)
	} else {
		f.queues[key] = q
	}
	return done + moved, 0
}
