package syscalls

import (
	"encoding/binary"
	"time"

	"github.com/rumpgo/rumpgo/posix/waiter"
	"golang.org/x/sys/unix"
)

func init() {
	register(unix.SYS_POLL, Entry{Name: "poll", Support: Partial,
		Note: "an interrupted poll with a timeout restarts with the whole timeout (ERESTARTNOHAND), not the time left (Linux's restart block)",
		fn:   sysPoll, args: []argKind{aPtr, aUint, aInt}})
	register(unix.SYS_PPOLL, Entry{Name: "ppoll", fn: sysPpoll, args: []argKind{aPtr, aUint, aPtr, aPtr, aUint}})
	register(unix.SYS_SELECT, Entry{Name: "select", fn: sysSelect, args: []argKind{aInt, aPtr, aPtr, aPtr, aPtr}})
	register(unix.SYS_PSELECT6, Entry{Name: "pselect6", fn: sysPselect6, args: []argKind{aInt, aPtr, aPtr, aPtr, aPtr, aPtr}})
}

// select's event sets (fs/select.c).
const (
	pollInSet  = waiter.EPOLLRDNORM | waiter.EPOLLRDBAND | waiter.EPOLLIN | waiter.EPOLLHUP | waiter.EPOLLERR
	pollOutSet = waiter.EPOLLWRBAND | waiter.EPOLLWRNORM | waiter.EPOLLOUT | waiter.EPOLLERR
	pollExSet  = waiter.EPOLLPRI
)

// pollReq is one descriptor being polled.
type pollReq struct {
	file    any    // the file (nil: not polled, or not open)
	events  uint32 // what to report (always with EPOLLERR|EPOLLHUP)
	revents uint32
}

// pollFiles is the body of poll and select: ask every file, and when none
// is ready wait for any of them to notify, until the deadline (zero: none)
// or an interruption (ERESTARTNOHAND). It returns how many entries have
// revents; bad descriptors must already carry theirs (POLLNVAL).
func (t *Thread) pollFiles(reqs []pollReq, deadline time.Time, noWait bool) (int, unix.Errno) {
	var entry *waiter.Entry
	var ch <-chan struct{}
	var registered []waiter.Waitable
	defer func() {
		for _, w := range registered {
			w.EventUnregister(entry)
		}
	}()
	for {
		n := 0
		for i := range reqs {
			r := &reqs[i]
			if r.file != nil {
				r.revents = waiter.Readiness(r.file, r.events) & r.events
			}
			if r.revents != 0 {
				n++
			}
		}
		if n > 0 || noWait {
			return n, 0
		}
		if entry == nil {
			// Register once, then look again: a change in between
			// still wakes us.
			entry, ch = waiter.NewChannelEntry(waiter.AllEvents)
			for _, r := range reqs {
				if w := waiter.Of(r.file); r.file != nil && w != nil {
					w.EventRegister(entry)
					registered = append(registered, w)
				}
			}
			continue
		}
		switch e := t.block(ch, deadline); e {
		case 0:
		case unix.ETIMEDOUT:
			noWait = true // one last look, as Linux's do_poll
		default:
			return 0, ERESTARTNOHAND
		}
	}
}

// pollFile returns what a poll of fd looks at: its file, or nil when the
// descriptor is not open.
func (t *Thread) pollFile(fd int) any {
	f, e := t.file(fd)
	if e != 0 {
		return nil
	}
	return fileOf(f.File)
}

func sysPoll(t *Thread, a Args) (uint64, unix.Errno) {
	deadline, noWait := msDeadline(a.Int(2))
	return t.poll(a[0], a[1], deadline, noWait)
}

func sysPpoll(t *Thread, a Args) (uint64, unix.Errno) {
	deadline, noWait, e := t.timespecDeadline(a[2])
	if e != 0 {
		return 0, e
	}
	restore, e := t.sigmaskArg(a[3], a[4])
	if e != 0 {
		return 0, e
	}
	n, e := t.poll(a[0], a[1], deadline, noWait)
	e = t.putTimeLeft(a[2], deadline, noWait, false, e)
	restore(e)
	return n, e
}

// poll reads the pollfd array, polls and writes every revents back.
func (t *Thread) poll(addr, nfds uint64, deadline time.Time, noWait bool) (uint64, unix.Errno) {
	if nfds > t.fdLimit() || nfds > 1<<31 {
		return 0, unix.EINVAL
	}
	raw := make([]byte, 8*nfds)
	if e := t.mm().CopyIn(addr, raw); e != 0 {
		return 0, e
	}
	reqs := make([]pollReq, nfds)
	for i := range reqs {
		fd := int32(binary.LittleEndian.Uint32(raw[8*i:]))
		if fd < 0 {
			continue // ignored, revents 0
		}
		events := uint32(binary.LittleEndian.Uint16(raw[8*i+4:]))
		reqs[i].events = events | waiter.EPOLLERR | waiter.EPOLLHUP
		if reqs[i].file = t.pollFile(int(fd)); reqs[i].file == nil {
			reqs[i].revents = waiter.EPOLLNVAL
		}
	}
	n, e := t.pollFiles(reqs, deadline, noWait)
	for i, r := range reqs {
		binary.LittleEndian.PutUint16(raw[8*i+6:], uint16(r.revents))
	}
	if ce := t.mm().CopyOut(addr, raw); ce != 0 {
		return 0, ce
	}
	return uint64(n), e
}

// timespecDeadline reads an optional struct timespec timeout (NULL: wait
// forever) as a deadline, and whether it is zero (do not wait).
func (t *Thread) timespecDeadline(addr uint64) (time.Time, bool, unix.Errno) {
	if addr == 0 {
		return time.Time{}, false, 0
	}
	d, e := t.timespec(addr)
	if e != 0 {
		return time.Time{}, false, e
	}
	if d == 0 {
		return time.Time{}, true, 0
	}
	return time.Now().Add(d), false, 0
}

// putTimeLeft writes the time left to the timeout at addr, as Linux's
// poll_select_finish does for ppoll, select and pselect6 (a timeval when
// usec). A timeout that was absent or zero is left alone. When the write
// faults, an interrupted call cannot restart with the right time and
// becomes EINTR.
func (t *Thread) putTimeLeft(addr uint64, deadline time.Time, noWait, usec bool, e unix.Errno) unix.Errno {
	if addr == 0 || deadline.IsZero() || noWait {
		return e
	}
	left := max(time.Until(deadline), 0)
	var b [16]byte
	if usec {
		putTimespec(b[:], int64(left/time.Second), int64(left%time.Second/time.Microsecond))
	} else {
		putTimespec(b[:], int64(left/time.Second), int64(left%time.Second))
	}
	if t.mm().CopyOut(addr, b[:]) != 0 && e == ERESTARTNOHAND {
		return unix.EINTR
	}
	return e
}

func sysSelect(t *Thread, a Args) (uint64, unix.Errno) {
	var deadline time.Time
	noWait := false
	if a[4] != 0 {
		var b [16]byte
		if e := t.mm().CopyIn(a[4], b[:]); e != 0 {
			return 0, e
		}
		sec := int64(binary.LittleEndian.Uint64(b[0:]))
		usec := int64(binary.LittleEndian.Uint64(b[8:]))
		if sec < 0 || usec < 0 {
			return 0, unix.EINVAL
		}
		// Linux carries whole seconds out of tv_usec rather than refuse it.
		sec += usec / 1e6
		usec %= 1e6
		d := time.Duration(usec) * time.Microsecond
		if sec > int64(1<<62)/int64(time.Second) {
			d = 1<<63 - 1
		} else {
			d += time.Duration(sec) * time.Second
		}
		if d == 0 {
			noWait = true
		} else {
			deadline = time.Now().Add(d)
		}
	}
	n, e := t.selectFDs(a.Int(0), a[1], a[2], a[3], deadline, noWait)
	return n, t.putTimeLeft(a[4], deadline, noWait, true, e)
}

func sysPselect6(t *Thread, a Args) (uint64, unix.Errno) {
	deadline, noWait, e := t.timespecDeadline(a[4])
	if e != 0 {
		return 0, e
	}
	// The sixth argument points at { const sigset_t *ss; size_t ss_len }.
	var ssAddr, ssLen uint64
	if a[5] != 0 {
		var b [16]byte
		if e := t.mm().CopyIn(a[5], b[:]); e != 0 {
			return 0, e
		}
		ssAddr, ssLen = binary.LittleEndian.Uint64(b[0:]), binary.LittleEndian.Uint64(b[8:])
	}
	restore, e := t.sigmaskArg(ssAddr, ssLen)
	if e != 0 {
		return 0, e
	}
	n, e := t.selectFDs(a.Int(0), a[1], a[2], a[3], deadline, noWait)
	e = t.putTimeLeft(a[4], deadline, noWait, false, e)
	restore(e)
	return n, e
}

// selectFDs is core_sys_select: read the fd_sets (bit fd%64 of 64-bit word
// fd/64), refuse descriptors that are not open (EBADF), poll, and write
// the sets of ready descriptors back (not when interrupted).
func (t *Thread) selectFDs(nfds int, rAddr, wAddr, eAddr uint64, deadline time.Time, noWait bool) (uint64, unix.Errno) {
	if nfds < 0 {
		return 0, unix.EINVAL
	}
	// Descriptors past the table's size cannot be open: Linux clamps
	// nfds to it instead of failing.
	nfds = min(nfds, t.Task.Group.FDs.MaxFDs())
	words := (nfds + 63) / 64
	addrs := [3]uint64{rAddr, wAddr, eAddr}
	var in [3][]uint64
	for k, addr := range addrs {
		if addr == 0 {
			continue
		}
		raw := make([]byte, 8*words)
		if e := t.mm().CopyIn(addr, raw); e != 0 {
			return 0, e
		}
		in[k] = make([]uint64, words)
		for i := range in[k] {
			in[k][i] = binary.LittleEndian.Uint64(raw[8*i:])
		}
		if nfds%64 != 0 {
			in[k][words-1] &= 1<<(nfds%64) - 1
		}
	}
	var reqs []pollReq
	var fds []int
	for fd := 0; fd < nfds; fd++ {
		var events uint32
		for k, set := range [3]uint32{pollInSet, pollOutSet, pollExSet} {
			if in[k] != nil && in[k][fd/64]&(1<<(fd%64)) != 0 {
				events |= set
			}
		}
		if events == 0 {
			continue
		}
		f := t.pollFile(fd)
		if f == nil {
			return 0, unix.EBADF
		}
		reqs = append(reqs, pollReq{file: f, events: events | waiter.EPOLLERR | waiter.EPOLLHUP})
		fds = append(fds, fd)
	}
	if _, e := t.pollFiles(reqs, deadline, noWait); e != 0 {
		return 0, e
	}
	var out [3][]uint64
	for k := range out {
		if in[k] != nil {
			out[k] = make([]uint64, words)
		}
	}
	count := 0
	for i, r := range reqs {
		fd := fds[i]
		for k, set := range [3]uint32{pollInSet, pollOutSet, pollExSet} {
			if in[k] != nil && in[k][fd/64]&(1<<(fd%64)) != 0 && r.revents&set != 0 {
				out[k][fd/64] |= 1 << (fd % 64)
				count++
			}
		}
	}
	for k, addr := range addrs {
		if out[k] == nil {
			continue
		}
		raw := make([]byte, 8*words)
		for i, w := range out[k] {
			binary.LittleEndian.PutUint64(raw[8*i:], w)
		}
		if e := t.mm().CopyOut(addr, raw); e != 0 {
			return 0, e
		}
	}
	return uint64(count), 0
}
