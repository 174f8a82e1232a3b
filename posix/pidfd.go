package posix

import (
	"sync"

	"github.com/rumpgo/rumpgo/posix/waiter"
	"golang.org/x/sys/unix"
)

// PidFD is a pidfd (pidfd_open(2), CLONE_PIDFD): a descriptor naming a
// process, for pidfd_send_signal, waitid(P_PIDFD) and pidfd_getfd. It
// polls readable once the process has ended, as Linux's pidfd_poll.
type PidFD struct {
	StatusFlags
	G *ThreadGroup

	q     waiter.Queue
	once  sync.Once
	close chan struct{}
}

// NewPidFD returns a pidfd of g; flags may hold O_NONBLOCK (PIDFD_NONBLOCK).
func NewPidFD(g *ThreadGroup, flags int) *PidFD {
	p := &PidFD{G: g, close: make(chan struct{})}
	p.Init(unix.O_RDWR | flags&unix.O_NONBLOCK)
	return p
}

// FDName is what /proc/self/fd shows.
func (p *PidFD) FDName() string { return "anon_inode:[pidfd]" }

// Read implements File: a pidfd has no data.
func (p *PidFD) Read([]byte) (int, unix.Errno) { return 0, unix.EINVAL }

// Write implements File.
func (p *PidFD) Write([]byte) (int, unix.Errno) { return 0, unix.EINVAL }

// Close implements File.
func (p *PidFD) Close() unix.Errno {
	close(p.close)
	return 0
}

// Readiness implements waiter.Waitable.
func (p *PidFD) Readiness(mask uint32) uint32 {
	select {
	case <-p.G.Gone():
		return (waiter.EPOLLIN | waiter.EPOLLRDNORM) & mask
	default:
		return 0
	}
}

// EventRegister implements waiter.Waitable; the first waiter starts the
// goroutine that tells the queue of the process's end (or the pidfd's).
func (p *PidFD) EventRegister(e *waiter.Entry) {
	p.q.EventRegister(e)
	p.once.Do(func() {
		go func() {
			select {
			case <-p.G.Gone():
				p.q.Notify(waiter.EPOLLIN | waiter.EPOLLRDNORM)
			case <-p.close:
			}
		}()
	})
}

// EventUnregister implements waiter.Waitable.
func (p *PidFD) EventUnregister(e *waiter.Entry) { p.q.EventUnregister(e) }
