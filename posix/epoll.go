package posix

import (
	"sync"

	"github.com/rumpgo/rumpgo/posix/waiter"
	"golang.org/x/sys/unix"
)

// epoll_ctl's event flags beyond the readiness bits.
const (
	EPOLLEXCLUSIVE = 1 << 28
	EPOLLWAKEUP    = 1 << 29
	EPOLLONESHOT   = 1 << 30
	EPOLLET        = 1 << 31

	// epPrivateBits survive a one-shot item's disarming (EP_PRIVATE_BITS).
	epPrivateBits = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE
	// epExclusiveOK are the only flags EPOLLEXCLUSIVE combines with.
	epExclusiveOK = waiter.EPOLLIN | waiter.EPOLLOUT | waiter.EPOLLERR | waiter.EPOLLHUP |
		EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE
	// epMaxNests is how deep epoll instances may watch each other
	// (EP_MAX_NESTS).
	epMaxNests = 4
)

// EpollEvent is struct epoll_event.
type EpollEvent struct {
	Events uint32
	Data   uint64
}

// epollKey names a watch as Linux does: the file and the descriptor
// number it was added under, so a dup of the same file is another watch
// and a closed and reused number is not the old one.
type epollKey struct {
	file *OpenFile
	fd   int
}

type epollItem struct {
	ep     *Epoll
	key    epollKey
	target waiter.Waitable
	events uint32 // requested events plus EPOLLERR|EPOLLHUP and flags
	data   uint64
	entry  *waiter.Entry
	ready  bool // on ep.ready
	gone   bool // removed; late notifications are ignored
}

// Epoll is an epoll instance: a set of watched files and the list of
// those that may be ready, fed by the files' notifications.
type Epoll struct {
	StatusFlags

	mu      sync.Mutex
	items   map[epollKey]*epollItem
	ready   []*epollItem // may be ready, oldest notification first
	parents map[*Epoll]int
	q       waiter.Queue // epoll_wait callers and epolls watching this one
}

// NewEpoll returns an empty epoll instance.
func NewEpoll() *Epoll {
	ep := &Epoll{items: map[epollKey]*epollItem{}, parents: map[*Epoll]int{}}
	ep.Init(unix.O_RDWR)
	return ep
}

// Read is EINVAL: an epoll instance is read with epoll_wait.
func (ep *Epoll) Read([]byte) (int, unix.Errno) { return 0, unix.EINVAL }

// Write is EINVAL.
func (ep *Epoll) Write([]byte) (int, unix.Errno) { return 0, unix.EINVAL }

// Close drops every watch.
func (ep *Epoll) Close() unix.Errno {
	ep.mu.Lock()
	items := ep.items
	ep.items = map[epollKey]*epollItem{}
	ep.ready = nil
	ep.mu.Unlock()
	for _, it := range items {
		ep.detach(it)
	}
	return 0
}

// detach unregisters a removed item from its file; ep.mu must not be held.
func (ep *Epoll) detach(it *epollItem) {
	it.target.EventUnregister(it.entry)
	it.key.file.CancelLastClose(it)
	if child, ok := it.target.(*Epoll); ok {
		child.mu.Lock()
		if child.parents[ep]--; child.parents[ep] <= 0 {
			delete(child.parents, ep)
		}
		child.mu.Unlock()
	}
}

// Add watches file (open as descriptor fd) for ev: epoll_ctl(EPOLL_CTL_ADD).
func (ep *Epoll) Add(file *OpenFile, fd int, ev EpollEvent) unix.Errno {
	target, e := ep.checkTarget(file, ev.Events)
	if e != 0 {
		return e
	}
	if ev.Events&EPOLLEXCLUSIVE != 0 {
		if _, isEpoll := target.(*Epoll); isEpoll || ev.Events&^epExclusiveOK != 0 {
			return unix.EINVAL
		}
	}
	child, isEpoll := target.(*Epoll)
	if isEpoll {
		// Lock order is always parent before child, which the loop
		// check keeps acyclic.
		epollTopo.Lock()
		defer epollTopo.Unlock()
		if child.reaches(ep, 0) || ep.upDepth(0)+1+child.downDepth(0) > epMaxNests {
			return unix.ELOOP
		}
	}
	key := epollKey{file, fd}
	ep.mu.Lock()
	if _, ok := ep.items[key]; ok {
		ep.mu.Unlock()
		return unix.EEXIST
	}
	it := &epollItem{ep: ep, key: key, target: target, events: ev.Events | waiter.EPOLLERR | waiter.EPOLLHUP, data: ev.Data}
	// The entry takes every event and notify filters by it.events, so
	// EPOLL_CTL_MOD need not re-register.
	it.entry = waiter.NewEntry(waiter.AllEvents, it.notify)
	ep.items[key] = it
	ep.mu.Unlock()
	if isEpoll {
		child.mu.Lock()
		child.parents[ep]++
		child.mu.Unlock()
	}
	if !file.OnLastClose(it, func() { ep.remove(it) }) {
		ep.remove(it)
		return unix.EBADF
	}
	target.EventRegister(it.entry)
	ep.poke(it)
	return 0
}

// Modify changes a watch's events and data: epoll_ctl(EPOLL_CTL_MOD).
// It re-arms a one-shot watch and, as on Linux, reports the file again if
// it is ready now, edge-triggered or not.
func (ep *Epoll) Modify(file *OpenFile, fd int, ev EpollEvent) unix.Errno {
	if _, e := ep.checkTarget(file, ev.Events); e != 0 {
		return e
	}
	ep.mu.Lock()
	it, ok := ep.items[epollKey{file, fd}]
	if !ok {
		ep.mu.Unlock()
		return unix.ENOENT
	}
	if ev.Events&EPOLLEXCLUSIVE != 0 || it.events&EPOLLEXCLUSIVE != 0 {
		ep.mu.Unlock()
		return unix.EINVAL
	}
	it.events = ev.Events | waiter.EPOLLERR | waiter.EPOLLHUP
	it.data = ev.Data
	ep.mu.Unlock()
	ep.poke(it)
	return 0
}

// Delete stops watching: epoll_ctl(EPOLL_CTL_DEL).
func (ep *Epoll) Delete(file *OpenFile, fd int) unix.Errno {
	if _, e := ep.checkTarget(file, 0); e != 0 {
		return e
	}
	ep.mu.Lock()
	it, ok := ep.items[epollKey{file, fd}]
	ep.mu.Unlock()
	if !ok {
		return unix.ENOENT
	}
	ep.remove(it)
	return 0
}

// checkTarget applies epoll_ctl's rules about the watched file: EPERM for
// files that cannot be waited on (regular files), EINVAL for the epoll
// itself.
func (ep *Epoll) checkTarget(file *OpenFile, _ uint32) (waiter.Waitable, unix.Errno) {
	target := waiter.Of(file.File)
	if target == nil {
		return nil, unix.EPERM
	}
	if t, ok := target.(*Epoll); ok && t == ep {
		return nil, unix.EINVAL
	}
	return target, 0
}

func (ep *Epoll) remove(it *epollItem) {
	ep.mu.Lock()
	if it.gone {
		ep.mu.Unlock()
		return
	}
	it.gone = true
	delete(ep.items, it.key)
	if it.ready {
		ep.unready(it)
	}
	ep.mu.Unlock()
	ep.detach(it)
}

func (ep *Epoll) unready(it *epollItem) {
	for i, x := range ep.ready {
		if x == it {
			ep.ready = append(ep.ready[:i], ep.ready[i+1:]...)
			break
		}
	}
	it.ready = false
}

// poke queues it if its file is ready now (after add or modify).
func (ep *Epoll) poke(it *epollItem) {
	ep.mu.Lock()
	events := it.events
	ep.mu.Unlock()
	if it.target.Readiness(events)&events&^epPrivateBits != 0 {
		it.notify(events)
	}
}

// notify is the item's waiter callback: queue the item and wake the
// epoll's own waiters.
func (it *epollItem) notify(events uint32) {
	ep := it.ep
	ep.mu.Lock()
	// A one-shot item that fired has no events left until modified.
	if it.gone || events&it.events&^epPrivateBits == 0 {
		ep.mu.Unlock()
		return
	}
	if !it.ready {
		it.ready = true
		ep.ready = append(ep.ready, it)
	}
	ep.mu.Unlock()
	ep.q.Notify(waiter.EPOLLIN | waiter.EPOLLRDNORM)
}

// Wait collects up to max ready events without blocking: epoll_wait's
// scan. Level-triggered items stay queued (their files are asked again
// next time), edge-triggered ones leave until their file notifies again,
// and one-shot ones are disarmed.
func (ep *Epoll) Wait(max int) []EpollEvent {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	var out []EpollEvent
	var again []*epollItem
	pending := ep.ready
	ep.ready = nil
	i := 0
	for ; i < len(pending) && len(out) < max; i++ {
		it := pending[i]
		it.ready = false
		want := it.events &^ epPrivateBits
		r := it.target.Readiness(want) & want
		if r == 0 {
			continue
		}
		out = append(out, EpollEvent{Events: r, Data: it.data})
		switch {
		case it.events&EPOLLONESHOT != 0:
			it.events &= epPrivateBits
		case it.events&EPOLLET == 0:
			again = append(again, it)
		}
	}
	// Items not looked at stay first, then the level-triggered ones that
	// were reported, as Linux's ep_send_events leaves them.
	// (The ones not looked at are still marked ready: unmark them first,
	// or they would be dropped from the list while marked on it, never
	// reported again.)
	rest := append(pending[i:len(pending):len(pending)], again...)
	for _, it := range pending[i:] {
		it.ready = false
	}
	for _, it := range rest {
		if !it.ready {
			it.ready = true
			ep.ready = append(ep.ready, it)
		}
	}
	return out
}

// Readiness implements waiter.Waitable: an epoll instance is readable
// when one of its queued items is ready. Queued items that are not ready
// are dropped from the queue, as Linux's poll of an epoll does.
func (ep *Epoll) Readiness(mask uint32) uint32 {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	kept := ep.ready[:0]
	found := false
	for _, it := range ep.ready {
		want := it.events &^ epPrivateBits
		if it.target.Readiness(want)&want != 0 {
			kept = append(kept, it)
			found = true
		} else {
			it.ready = false
		}
	}
	clear(ep.ready[len(kept):])
	ep.ready = kept
	if found {
		return (waiter.EPOLLIN | waiter.EPOLLRDNORM) & mask
	}
	return 0
}

// EventRegister implements waiter.Waitable.
func (ep *Epoll) EventRegister(w *waiter.Entry) { ep.q.EventRegister(w) }

// EventUnregister implements waiter.Waitable.
func (ep *Epoll) EventUnregister(w *waiter.Entry) { ep.q.EventUnregister(w) }

// epollTopo serializes changes to which epoll watches which, so the loop
// and depth checks see a stable graph (Linux's epnested_mutex).
var epollTopo sync.Mutex

// reaches reports whether ep, or an epoll it watches, is target, or the
// chain is deeper than Linux allows.
func (ep *Epoll) reaches(target *Epoll, depth int) bool {
	if ep == target || depth > epMaxNests {
		return true
	}
	for _, child := range ep.children() {
		if child.reaches(target, depth+1) {
			return true
		}
	}
	return false
}

func (ep *Epoll) children() []*Epoll {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	var out []*Epoll
	for _, it := range ep.items {
		if c, ok := it.target.(*Epoll); ok {
			out = append(out, c)
		}
	}
	return out
}

// downDepth is the longest chain of epolls below ep.
func (ep *Epoll) downDepth(depth int) int {
	if depth > epMaxNests {
		return depth
	}
	d := 0
	for _, c := range ep.children() {
		d = max(d, 1+c.downDepth(depth+1))
	}
	return d
}

// upDepth is the longest chain of epolls watching ep.
func (ep *Epoll) upDepth(depth int) int {
	if depth > epMaxNests {
		return depth
	}
	ep.mu.Lock()
	var parents []*Epoll
	for p := range ep.parents {
		parents = append(parents, p)
	}
	ep.mu.Unlock()
	d := 0
	for _, p := range parents {
		d = max(d, 1+p.upDepth(depth+1))
	}
	return d
}
