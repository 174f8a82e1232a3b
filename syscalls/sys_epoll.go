package syscalls

import (
	"encoding/binary"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

func init() {
	register(unix.SYS_EVENTFD2, Entry{Name: "eventfd2", Support: Partial, Note: "counter semantics without EFD_SEMAPHORE", fn: sysEventfd2, args: []argKind{aUint, aHex}})
	register(unix.SYS_EPOLL_CREATE1, Entry{Name: "epoll_create1", Support: Partial, Note: "watches eventfds only until the readiness layer lands", fn: sysEpollCreate1, args: []argKind{aHex}})
	register(unix.SYS_EPOLL_CTL, Entry{Name: "epoll_ctl", Support: Partial, Note: "eventfds only; other files EPERM", fn: sysEpollCtl, args: []argKind{aFD, aInt, aFD, aPtr}})
	register(unix.SYS_EPOLL_PWAIT, Entry{Name: "epoll_pwait", Support: Partial, Note: "as epoll_ctl; the signal mask is ignored until signals land", fn: sysEpollPwait, args: []argKind{aFD, aPtr, aInt, aInt, aPtr}})
}

// eventFD is an eventfd counter; ready is signalled when it becomes non-zero.
type eventFD struct {
	mu    sync.Mutex
	count uint64
	ready chan struct{}
	flags int
}

func (e *eventFD) Read(p []byte) (int, unix.Errno) {
	if len(p) < 8 {
		return 0, unix.EINVAL
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.count == 0 {
		return 0, unix.EAGAIN // blocking eventfd reads come with the readiness layer
	}
	binary.LittleEndian.PutUint64(p, e.count)
	e.count = 0
	return 8, 0
}

func (e *eventFD) Write(p []byte) (int, unix.Errno) {
	if len(p) < 8 {
		return 0, unix.EINVAL
	}
	v := binary.LittleEndian.Uint64(p)
	if v == ^uint64(0) {
		return 0, unix.EINVAL
	}
	e.mu.Lock()
	e.count += v
	e.mu.Unlock()
	select {
	case e.ready <- struct{}{}:
	default:
	}
	return 8, 0
}

func (e *eventFD) Close() unix.Errno { return 0 }
func (e *eventFD) Flags() int        { return unix.O_RDWR | e.flags }

func sysEventfd2(t *Thread, a Args) (uint64, unix.Errno) {
	flags := a.Int(1)
	if flags&^(unix.EFD_CLOEXEC|unix.EFD_NONBLOCK|unix.EFD_SEMAPHORE) != 0 {
		return 0, unix.EINVAL
	}
	e := &eventFD{count: uint64(uint32(a[0])), ready: make(chan struct{}, 1), flags: flags & unix.O_NONBLOCK}
	fd, errno := t.Task.Group.FDs.Install(e, 0, flags&unix.EFD_CLOEXEC != 0, t.fdLimit())
	return uint64(fd), errno
}

type epollWatch struct {
	e      *eventFD
	events uint32
	data   uint64
}

type epollFile struct {
	mu      sync.Mutex
	watches map[int]epollWatch
}

func (p *epollFile) Read([]byte) (int, unix.Errno)  { return 0, unix.EINVAL }
func (p *epollFile) Write([]byte) (int, unix.Errno) { return 0, unix.EINVAL }
func (p *epollFile) Close() unix.Errno              { return 0 }
func (p *epollFile) Flags() int                     { return unix.O_RDWR }

func sysEpollCreate1(t *Thread, a Args) (uint64, unix.Errno) {
	if a.Int(0)&^unix.EPOLL_CLOEXEC != 0 {
		return 0, unix.EINVAL
	}
	fd, e := t.Task.Group.FDs.Install(&epollFile{watches: map[int]epollWatch{}}, 0, a.Int(0)&unix.EPOLL_CLOEXEC != 0, t.fdLimit())
	return uint64(fd), e
}

func (t *Thread) epoll(fd int) (*epollFile, unix.Errno) {
	f, e := t.file(fd)
	if e != 0 {
		return nil, e
	}
	p, ok := f.File.(*epollFile)
	if !ok {
		return nil, unix.EINVAL
	}
	return p, 0
}

func sysEpollCtl(t *Thread, a Args) (uint64, unix.Errno) {
	p, e := t.epoll(a.Int(0))
	if e != 0 {
		return 0, e
	}
	fd := a.Int(2)
	f, e := t.file(fd)
	if e != 0 {
		return 0, e
	}
	ev, ok := f.File.(*eventFD)
	if !ok {
		return 0, unix.EPERM
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	op := a.Int(1)
	if op == unix.EPOLL_CTL_DEL {
		if _, ok := p.watches[fd]; !ok {
			return 0, unix.ENOENT
		}
		delete(p.watches, fd)
		return 0, 0
	}
	var b [12]byte
	if e := t.mm().CopyIn(a[3], b[:]); e != 0 {
		return 0, e
	}
	w := epollWatch{e: ev, events: binary.LittleEndian.Uint32(b[0:]), data: binary.LittleEndian.Uint64(b[4:])}
	_, exists := p.watches[fd]
	switch {
	case op == unix.EPOLL_CTL_ADD && exists:
		return 0, unix.EEXIST
	case op == unix.EPOLL_CTL_MOD && !exists:
		return 0, unix.ENOENT
	case op != unix.EPOLL_CTL_ADD && op != unix.EPOLL_CTL_MOD:
		return 0, unix.EINVAL
	}
	p.watches[fd] = w
	return 0, 0
}

func sysEpollPwait(t *Thread, a Args) (uint64, unix.Errno) {
	p, e := t.epoll(a.Int(0))
	if e != 0 {
		return 0, e
	}
	maxEvents := a.Int(2)
	if maxEvents <= 0 || maxEvents > 1<<16 {
		return 0, unix.EINVAL
	}
	var deadline <-chan time.Time
	if ms := a.Int(3); ms >= 0 {
		timer := time.NewTimer(time.Duration(ms) * time.Millisecond)
		defer timer.Stop()
		deadline = timer.C
	}
	for {
		p.mu.Lock()
		var out []byte
		n := 0
		var waits []chan struct{}
		for _, w := range p.watches {
			w.e.mu.Lock()
			ready := w.e.count > 0
			w.e.mu.Unlock()
			if ready && w.events&unix.EPOLLIN != 0 && n < maxEvents {
				var b [12]byte
				binary.LittleEndian.PutUint32(b[0:], unix.EPOLLIN)
				binary.LittleEndian.PutUint64(b[4:], w.data)
				out = append(out, b[:]...)
				n++
			}
			waits = append(waits, w.e.ready)
		}
		p.mu.Unlock()
		if n > 0 {
			return uint64(n), t.mm().CopyOut(a[1], out)
		}
		if a.Int(3) == 0 {
			return 0, 0
		}
		// Go's netpoller watches one eventfd; more wait for any of the first.
		var wake chan struct{}
		if len(waits) > 0 {
			wake = waits[0]
		}
		select {
		case <-wake:
			if wake != nil {
				select {
				case wake <- struct{}{}: // leave the token for the re-scan's own use
				default:
				}
				<-wake
			}
		case <-deadline:
			return 0, 0
		case <-t.Task.Group.Dying():
			return 0, unix.EINTR
		}
	}
}
