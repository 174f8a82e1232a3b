package posix

import (
	"sync"

	"github.com/rumpgo/rumpgo/posix/waiter"
	"golang.org/x/sys/unix"
)

// HostFile is a host file descriptor handed to the guest as is: the
// terminal or pipes rumpgo's own stdin, stdout and stderr are.
//
// The host descriptor's own flags are never changed: it is shared with the
// shell that started rumpgo, and setting O_NONBLOCK on a terminal would
// leak to it. The guest's O_NONBLOCK lives here instead, and reads never
// block the host thread: Read asks the host whether data is there first
// (EAGAIN when not), and blocking reads wait through the readiness layer,
// which watches pipes and terminals with a host epoll (hostPoller).
// Regular files and /dev/null cannot be watched and are always ready.
type HostFile struct {
	FD int
	StatusFlags

	watchOnce sync.Once
	watch     *hostWatch // nil when the host cannot poll the descriptor
	owned     bool       // Close closes FD (NewOwnedHostFile)
}

// NewHostFile wraps a host fd; the guest's status flags come from the host's.
func NewHostFile(fd int) *HostFile {
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		fl = unix.O_RDWR
	}
	h := &HostFile{FD: fd}
	h.Init(fl)
	return h
}

func (h *HostFile) hostWatch() *hostWatch {
	h.watchOnce.Do(func() { h.watch = hostPoll.watch(h.FD) })
	return h.watch
}

// Pollable implements waiter.Pollable: pipes, terminals and sockets are,
// regular files are not (epoll refuses them with EPERM, as Linux does).
func (h *HostFile) Pollable() bool { return h.hostWatch() != nil }

// Readiness implements waiter.Waitable with a zero-timeout host poll.
func (h *HostFile) Readiness(mask uint32) uint32 {
	fds := []unix.PollFd{{Fd: int32(h.FD), Events: int16(mask & 0xffff)}}
	for {
		_, err := unix.Poll(fds, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return waiter.EPOLLERR
		}
		r := uint32(uint16(fds[0].Revents))
		if r&waiter.EPOLLNVAL != 0 {
			r = r&^waiter.EPOLLNVAL | waiter.EPOLLERR
		}
		return r
	}
}

// EventRegister implements waiter.Waitable.
func (h *HostFile) EventRegister(e *waiter.Entry) {
	if w := h.hostWatch(); w != nil {
		w.q.EventRegister(e)
	}
}

// EventUnregister implements waiter.Waitable.
func (h *HostFile) EventUnregister(e *waiter.Entry) {
	if w := h.hostWatch(); w != nil {
		w.q.EventUnregister(e)
	}
}

// Read never blocks on a pipe or terminal: EAGAIN when nothing is there.
func (h *HostFile) Read(p []byte) (int, unix.Errno) {
	if h.Pollable() && h.Readiness(waiter.ReadEvents)&waiter.ReadEvents == 0 {
		return 0, unix.EAGAIN
	}
	for {
		n, err := unix.Read(h.FD, p)
		if err == unix.EINTR {
			continue // our own kicks and runtime signals, not the guest's
		}
		if err != nil {
			return 0, err.(unix.Errno)
		}
		return n, 0
	}
}

// Write writes all of p to the host, waiting for the host as needed. When
// the guest set O_NONBLOCK, it writes only what the host takes without
// waiting (PIPE_BUF bytes at a time while the host says there is room),
// and EAGAIN when that is nothing.
func (h *HostFile) Write(p []byte) (int, unix.Errno) {
	nonblock := h.Flags()&unix.O_NONBLOCK != 0 && h.Pollable()
	total := 0
	for len(p) > 0 {
		chunk := p
		if nonblock {
			if h.Readiness(waiter.WriteEvents)&waiter.WriteEvents == 0 {
				break
			}
			chunk = p[:min(len(p), PIPE_BUF)]
		}
		n, err := unix.Write(h.FD, chunk)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			if total > 0 {
				return total, 0
			}
			return 0, err.(unix.Errno)
		}
		total += n
		p = p[n:]
	}
	if total == 0 && len(p) > 0 {
		return 0, unix.EAGAIN
	}
	return total, 0
}

// NewOwnedHostFile is NewHostFile for a descriptor the file owns:
// closing the file closes it. A process started in a running guest
// (launch.Guest.Spawn) gets its stdio so, and its readers must see the
// end when it ends.
func NewOwnedHostFile(fd int) *HostFile {
	h := NewHostFile(fd)
	h.owned = true
	return h
}

// Reopen opens the host file again, as opening /proc/self/fd/N or
// /dev/stdout does on Linux (nginx -e /dev/stdout, shells' 2>/dev/stderr):
// a pipe, FIFO or terminal gives a new open file description of it (its
// own status flags); a regular file the same, for no more access than the
// guest was given; a socket ENXIO, as Linux answers.
func (h *HostFile) Reopen(flags int) (File, unix.Errno) {
	var st unix.Stat_t
	if err := unix.Fstat(h.FD, &st); err != nil {
		return nil, unix.EBADF
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFIFO, unix.S_IFCHR:
	case unix.S_IFREG:
		want, have := flags&unix.O_ACCMODE, h.Flags()&unix.O_ACCMODE
		if want != have && have != unix.O_RDWR {
			return nil, unix.EACCES
		}
	default:
		return nil, unix.ENXIO
	}
	// The host's own magic link, never a path the guest named; no
	// creating or truncating through it, and nothing follows past it.
	hostFlags := flags&(unix.O_ACCMODE|unix.O_APPEND|unix.O_TRUNC) | unix.O_CLOEXEC | unix.O_NOCTTY
	if st.Mode&unix.S_IFMT == unix.S_IFIFO {
		hostFlags |= unix.O_NONBLOCK // a FIFO end opens at once: its peer is there
	}
	fd, err := unix.Open("/proc/self/fd/"+itoa(h.FD), hostFlags, 0)
	if err != nil {
		if e, ok := err.(unix.Errno); ok {
			return nil, e
		}
		return nil, unix.EIO
	}
	if st.Mode&unix.S_IFMT == unix.S_IFIFO {
		// The host descriptor stays blocking-free for rumpgo's reader; the
		// guest's O_NONBLOCK is its own, as for every HostFile.
		unix.SetNonblock(fd, false)
	}
	r := NewOwnedHostFile(fd)
	r.Init(flags &^ (unix.O_CREAT | unix.O_EXCL | unix.O_NOCTTY | unix.O_TRUNC | unix.O_CLOEXEC))
	return r, 0
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for ; n > 0; n /= 10 {
		i--
		b[i] = byte('0' + n%10)
	}
	return string(b[i:])
}

// Close leaves the host's descriptor alone, rumpgo still needs it,
// unless the file owns it.
func (h *HostFile) Close() unix.Errno {
	if h.owned {
		hostPoll.forget(h.FD)
		unix.Close(h.FD)
	}
	return 0
}

// hostPoller watches host descriptors for readiness with one host epoll in
// edge-triggered mode: one goroutine sleeps in epoll_wait and turns each
// state change into a notification, so nothing polls in a loop.
type hostPoller struct {
	once    sync.Once
	epfd    int
	err     error
	mu      sync.Mutex
	watches map[int]*hostWatch // by host fd; nil for fds the host cannot poll
}

type hostWatch struct{ q waiter.Queue }

var hostPoll hostPoller

func (hp *hostPoller) watch(fd int) *hostWatch {
	hp.once.Do(func() {
		hp.watches = map[int]*hostWatch{}
		hp.epfd, hp.err = unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if hp.err == nil {
			go hp.loop()
		}
	})
	if hp.err != nil {
		return nil
	}
	hp.mu.Lock()
	defer hp.mu.Unlock()
	if w, ok := hp.watches[fd]; ok {
		return w
	}
	ev := unix.EpollEvent{
		Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLPRI | unix.EPOLLRDHUP | unix.EPOLLET,
		Fd:     int32(fd),
	}
	var w *hostWatch
	if err := unix.EpollCtl(hp.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err == nil {
		w = &hostWatch{}
	}
	hp.watches[fd] = w
	return w
}

// forget stops watching fd, which is about to close.
func (hp *hostPoller) forget(fd int) {
	hp.mu.Lock()
	defer hp.mu.Unlock()
	if w, ok := hp.watches[fd]; ok {
		if w != nil {
			unix.EpollCtl(hp.epfd, unix.EPOLL_CTL_DEL, fd, nil)
		}
		delete(hp.watches, fd)
	}
}

func (hp *hostPoller) loop() {
	events := make([]unix.EpollEvent, 16)
	for {
		n, err := unix.EpollWait(hp.epfd, events, -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return
		}
		for _, ev := range events[:n] {
			hp.mu.Lock()
			w := hp.watches[int(ev.Fd)]
			hp.mu.Unlock()
			if w != nil {
				w.q.Notify(ev.Events)
			}
		}
	}
}
