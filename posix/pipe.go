package posix

import (
	"sync"
	"sync/atomic"

	"github.com/rumpgo/rumpgo/posix/waiter"
	"golang.org/x/sys/unix"
)

// Pipe sizes. Linux keeps a pipe's data in a ring of page buffers, and its
// observable limits follow from that: a write of at most PIPE_BUF bytes
// lands in one page (or merges into the last one) and so is atomic, and
// the capacity is counted in pages, not bytes, so small writes that do not
// merge use a page each. The pipe here keeps the same pages.
const (
	PIPE_BUF        = 4096            // writes up to this size are atomic
	pipePage        = 4096            // PAGE_SIZE on x86-64
	PipeDefaultSize = 16 * pipePage   // PIPE_DEF_BUFFERS pages: 64 KiB
	PipeMaxSize     = 1 << 20         // /proc/sys/fs/pipe-max-size's default
	pipeSizeLimit   = uint64(1) << 31 // round_pipe_size refuses more
	pipeWriteEnd    = unix.O_WRONLY   // the write end's access mode
	pipeReadEnd     = unix.O_RDONLY   // the read end's access mode
	pipeCreateFlags = unix.O_NONBLOCK | unix.O_DIRECT
)

// PipeHostPages bounds the pages that all pipes and FIFOs of this process
// hold at once (their data, and one spare page each), so a guest cannot
// make the monitor grow without bound by filling many large pipes (root
// may set each to 2 GiB with F_SETPIPE_SZ): 16384 pages, 64 MiB, Linux's
// pipe-user-pages-soft. Past it a write stores nothing more, which the
// guest sees as EAGAIN or a wait, as on a full pipe, until some pipe is
// read or closed. A variable for tests.
var PipeHostPages int64 = 16384

// pipePages counts the pages pipes hold now; pipeRoom wakes writers that
// found the budget spent (pipeStarved) when pages come back.
var (
	pipePages   atomic.Int64
	pipeStarved atomic.Bool
	pipeRoom    waiter.Queue
)

// PipePagesHeld is how many pages all pipes hold now (tests, /proc).
func PipePagesHeld() int64 { return pipePages.Load() }

// pipeRelease gives n pages back to the budget.
func pipeRelease(n int64) {
	if n == 0 {
		return
	}
	pipePages.Add(-n)
	if pipeStarved.CompareAndSwap(true, false) {
		pipeRoom.Notify(waiter.EPOLLOUT | waiter.EPOLLWRNORM)
	}
}

// pipeBuf is one page of the ring: data[off:off+n] is unread.
type pipeBuf struct {
	data   []byte
	off, n int
	// packet marks an O_DIRECT write: a read takes at most this one
	// buffer and discards what does not fit, and nothing merges into it.
	packet bool
}

// Pipe is the shared state of a pipe's two ends.
type Pipe struct {
	mu      sync.Mutex
	bufs    []pipeBuf // oldest first
	slots   int       // how many buffers the ring holds
	readers int
	writers int
	fifo    bool   // a named pipe (FIFO): opened end by end
	ino     uint64 // the inode number fstat and /proc/self/fd show
	spare   []byte // one freed page, reused by the next write

	// rq wakes readers (data, or the last writer gone) and wq writers
	// (room, or the last reader gone), like Linux's rd_wait and wr_wait;
	// each end registers its waiters on its own queue.
	rq, wq waiter.Queue
}

// PipeEnd is the open file description of one end of a pipe.
type PipeEnd struct {
	StatusFlags
	p     *Pipe
	write bool
	rdwr  bool // a FIFO opened O_RDWR: both ends in one
}

// NewPipe returns the read and write ends of a new pipe. flags may hold
// O_NONBLOCK and O_DIRECT (packet mode), which both ends get.
func NewPipe(flags int) (r, w *PipeEnd) {
	p := &Pipe{slots: PipeDefaultSize / pipePage, readers: 1, writers: 1, ino: pipeIno.Add(1)}
	flags &= pipeCreateFlags
	r = &PipeEnd{p: p}
	r.Init(pipeReadEnd | flags)
	w = &PipeEnd{p: p, write: true}
	w.Init(pipeWriteEnd | flags)
	return r, w
}

// Pipe returns the shared pipe, for F_GETPIPE_SZ and F_SETPIPE_SZ.
func (e *PipeEnd) Pipe() *Pipe { return e.p }

func (p *Pipe) full() bool { return len(p.bufs) >= p.slots }

// page returns a page for new data, or nil when the process's pipe
// budget (PipeHostPages) is spent.
func (p *Pipe) page() []byte {
	if b := p.spare; b != nil {
		p.spare = nil
		return b
	}
	if pipePages.Add(1) > PipeHostPages {
		pipePages.Add(-1)
		pipeStarved.Store(true)
		return nil
	}
	return make([]byte, pipePage)
}

// free keeps a page read empty as the spare, or gives it back (p.mu held).
func (p *Pipe) free(b []byte) {
	if p.spare == nil {
		p.spare = b
		return
	}
	pipeRelease(1)
}

// drop gives back every page the pipe holds (p.mu held): its last opener
// is gone.
func (p *Pipe) drop() {
	n := int64(len(p.bufs))
	if p.spare != nil {
		n++
	}
	p.bufs, p.spare = nil, nil
	pipeRelease(n)
}

// roomFor reports whether a write could store something now (p.mu held).
func (p *Pipe) roomFor() bool {
	return !p.full() && (p.spare != nil || pipePages.Load() < PipeHostPages)
}

// Read takes up to len(p) bytes; it never blocks: EAGAIN when the pipe is
// empty and a writer remains, 0 (end of file) when none does.
func (e *PipeEnd) Read(b []byte) (int, unix.Errno) {
	if e.write && !e.rdwr {
		return 0, unix.EBADF
	}
	if len(b) == 0 {
		return 0, 0
	}
	p := e.p
	p.mu.Lock()
	if len(p.bufs) == 0 {
		writers := p.writers
		p.mu.Unlock()
		if writers == 0 {
			return 0, 0
		}
		return 0, unix.EAGAIN
	}
	hadRoom := p.roomFor()
	n := 0
	for len(p.bufs) > 0 && n < len(b) {
		buf := &p.bufs[0]
		c := copy(b[n:], buf.data[buf.off:buf.off+buf.n])
		n += c
		buf.off += c
		buf.n -= c
		packet := buf.packet
		if packet || buf.n == 0 {
			// A packet is read whole or its rest is dropped.
			p.free(buf.data)
			p.bufs[0] = pipeBuf{}
			p.bufs = p.bufs[1:]
		}
		if packet {
			break
		}
	}
	if len(p.bufs) == 0 {
		p.bufs = nil // let the backing array go
	}
	// Room came back: a page of the ring, or one of the budget.
	wake := !hadRoom && p.roomFor()
	p.mu.Unlock()
	if wake {
		p.wq.Notify(waiter.EPOLLOUT | waiter.EPOLLWRNORM)
	}
	return n, 0
}

// Write puts as much of b as fits; it never blocks. A write of at most
// PIPE_BUF bytes goes in whole or not at all. It returns EAGAIN when
// nothing fits and EPIPE when no reader remains (the caller raises
// SIGPIPE).
func (e *PipeEnd) Write(b []byte) (int, unix.Errno) {
	if !e.write && !e.rdwr {
		return 0, unix.EBADF
	}
	if len(b) == 0 {
		return 0, 0
	}
	packet := e.Flags()&unix.O_DIRECT != 0
	p := e.p
	p.mu.Lock()
	if p.readers == 0 {
		p.mu.Unlock()
		return 0, unix.EPIPE
	}
	n := 0
	// As Linux's pipe_write: the part of the write past its last page
	// boundary merges into the last buffer when it fits there, which
	// gathers small writes and page-aligns the rest of large ones.
	if chars := len(b) & (pipePage - 1); chars != 0 && len(p.bufs) > 0 {
		last := &p.bufs[len(p.bufs)-1]
		if end := last.off + last.n; !last.packet && end+chars <= pipePage {
			copy(last.data[end:], b[:chars])
			last.n += chars
			n = chars
		}
	}
	for n < len(b) && !p.full() {
		page := p.page()
		if page == nil {
			break // the budget is spent: as full
		}
		c := copy(page, b[n:])
		p.bufs = append(p.bufs, pipeBuf{data: page, n: c, packet: packet})
		n += c
	}
	p.mu.Unlock()
	if n == 0 {
		return 0, unix.EAGAIN
	}
	// Every write wakes readers, not only the one that fills an empty
	// pipe: edge-triggered epoll users count on it (Linux does the same
	// for pipes that have been polled).
	p.rq.Notify(waiter.EPOLLIN | waiter.EPOLLRDNORM)
	return n, 0
}

// Close drops this end; the last reader or writer going wakes both sides.
func (e *PipeEnd) Close() unix.Errno {
	p := e.p
	p.mu.Lock()
	if e.write || e.rdwr {
		p.writers--
	}
	if !e.write || e.rdwr {
		p.readers--
	}
	if p.readers == 0 && p.writers == 0 {
		// The data goes with the last opener, as Linux frees the
		// pipe_inode_info then (a FIFO's too: it is opened anew).
		p.drop()
	}
	p.mu.Unlock()
	p.rq.Notify(waiter.AllEvents)
	p.wq.Notify(waiter.AllEvents)
	return 0
}

// Readiness implements waiter.Waitable, as Linux's pipe_poll: the read end
// is readable with data and hung up without writers; the write end is
// writable while a page is free and in error without readers.
func (e *PipeEnd) Readiness(mask uint32) uint32 {
	p := e.p
	p.mu.Lock()
	defer p.mu.Unlock()
	var r uint32
	if e.write || e.rdwr {
		if p.roomFor() {
			r |= waiter.EPOLLOUT | waiter.EPOLLWRNORM
		}
		if p.readers == 0 {
			r |= waiter.EPOLLERR
		}
	}
	if !e.write || e.rdwr {
		if len(p.bufs) > 0 {
			r |= waiter.EPOLLIN | waiter.EPOLLRDNORM
		}
		if p.writers == 0 {
			r |= waiter.EPOLLHUP
		}
	}
	return r & (mask | waiter.EPOLLERR | waiter.EPOLLHUP)
}

func (e *PipeEnd) queue() *waiter.Queue {
	if e.write {
		return &e.p.wq
	}
	return &e.p.rq
}

// EventRegister implements waiter.Waitable. A writer also waits for the
// process's pipe budget (pipeRoom).
func (e *PipeEnd) EventRegister(w *waiter.Entry) {
	if e.write || e.rdwr {
		pipeRoom.EventRegister(w)
	}
	if e.rdwr {
		e.p.rq.EventRegister(w)
		e.p.wq.EventRegister(w)
		return
	}
	e.queue().EventRegister(w)
}

// EventUnregister implements waiter.Waitable.
func (e *PipeEnd) EventUnregister(w *waiter.Entry) {
	if e.write || e.rdwr {
		pipeRoom.EventUnregister(w)
	}
	if e.rdwr {
		e.p.rq.EventUnregister(w)
		e.p.wq.EventUnregister(w)
		return
	}
	e.queue().EventUnregister(w)
}

// pipeIno numbers pipes for fstat and /proc/self/fd ("pipe:[N]"), as
// Linux's pipefs inode numbers.
var pipeIno atomic.Uint64

// Ino is the pipe's inode number.
func (p *Pipe) Ino() uint64 { return p.ino }

// Buffered is how many bytes wait to be read (FIONREAD).
func (p *Pipe) Buffered() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, b := range p.bufs {
		n += b.n
	}
	return n
}

// Size is the capacity in bytes (F_GETPIPE_SZ).
func (p *Pipe) Size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.slots * pipePage
}

// SetSize sets the capacity (F_SETPIPE_SZ) to size rounded up to a power
// of two pages, and returns the new capacity. EINVAL past 2 GiB, EPERM
// past PipeMaxSize unless privileged, EBUSY when the data does not fit.
func (p *Pipe) SetSize(size uint32, privileged bool) (int, unix.Errno) {
	if uint64(size) > pipeSizeLimit {
		return 0, unix.EINVAL
	}
	bytes := uint64(pipePage)
	for bytes < uint64(size) {
		bytes <<= 1
	}
	slots := int(bytes / pipePage)
	p.mu.Lock()
	if slots > p.slots && bytes > PipeMaxSize && !privileged {
		p.mu.Unlock()
		return 0, unix.EPERM
	}
	if slots < len(p.bufs) {
		p.mu.Unlock()
		return 0, unix.EBUSY
	}
	grew := slots > p.slots
	p.slots = slots
	p.mu.Unlock()
	if grew {
		p.wq.Notify(waiter.EPOLLOUT | waiter.EPOLLWRNORM)
	}
	return slots * pipePage, 0
}

// Peek copies up to len(b) unread bytes without consuming them (tee). It
// returns EAGAIN when the pipe is empty and a writer remains.
func (p *Pipe) Peek(b []byte) (int, unix.Errno) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.bufs) == 0 {
		if p.writers == 0 {
			return 0, 0
		}
		return 0, unix.EAGAIN
	}
	n := 0
	for _, buf := range p.bufs {
		if n == len(b) {
			break
		}
		n += copy(b[n:], buf.data[buf.off:buf.off+buf.n])
	}
	return n, 0
}
