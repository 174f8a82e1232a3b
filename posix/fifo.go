package posix

import (
	"sync"

	"golang.org/x/sys/unix"
)

// FIFO is a named pipe: the one Pipe every opener of a FIFO file shares,
// opened one end at a time as Linux's fifo_open does. A reader opening
// without O_NONBLOCK waits for a writer and a writer for a reader;
// O_NONBLOCK readers never wait and O_NONBLOCK writers without a reader get
// ENXIO; O_RDWR opens both ends and never waits.
type FIFO struct {
	p *Pipe

	mu sync.Mutex
	// rOpens and wOpens count the opens of each side ever made, so a
	// waiter sees a partner that came and went (Linux's r_counter and
	// w_counter); changed is closed and replaced on every open.
	rOpens, wOpens uint64
	changed        chan struct{}
}

// NewFIFO returns a FIFO no one has open.
func NewFIFO() *FIFO {
	return &FIFO{p: &Pipe{slots: PipeDefaultSize / pipePage, fifo: true, ino: pipeIno.Add(1)}, changed: make(chan struct{})}
}

// Pipe returns the shared pipe (F_GETPIPE_SZ and F_SETPIPE_SZ).
func (f *FIFO) Pipe() *Pipe { return f.p }

// Open opens an end with open(2)'s flags; block waits for a partner (it
// returns an errno when interrupted) and may be nil for callers that cannot
// wait, which then behave as O_NONBLOCK.
func (f *FIFO) Open(flags int, block func(<-chan struct{}) unix.Errno) (*PipeEnd, unix.Errno) {
	acc := flags & unix.O_ACCMODE
	nonblock := flags&unix.O_NONBLOCK != 0 || block == nil
	p := f.p
	f.mu.Lock()
	p.mu.Lock()
	if acc == unix.O_WRONLY && nonblock && p.readers == 0 {
		p.mu.Unlock()
		f.mu.Unlock()
		return nil, unix.ENXIO
	}
	e := &PipeEnd{p: p}
	switch acc {
	case unix.O_RDONLY:
		p.readers++
		f.rOpens++
	case unix.O_WRONLY:
		e.write = true
		p.writers++
		f.wOpens++
	default:
		e.rdwr = true
		p.readers++
		p.writers++
		f.rOpens++
		f.wOpens++
	}
	e.Init(acc | flags&(unix.O_NONBLOCK|unix.O_DIRECT))
	r0, w0 := f.rOpens, f.wOpens
	p.mu.Unlock()
	close(f.changed)
	f.changed = make(chan struct{})
	f.mu.Unlock()
	p.rq.Notify(0xffff)
	p.wq.Notify(0xffff)
	if nonblock || acc == unix.O_RDWR {
		return e, 0
	}
	// Wait for a partner: a writer for a reader, a reader for a writer.
	for {
		f.mu.Lock()
		p.mu.Lock()
		ok := (acc == unix.O_RDONLY && (p.writers > 0 || f.wOpens != w0)) ||
			(acc == unix.O_WRONLY && (p.readers > 0 || f.rOpens != r0))
		p.mu.Unlock()
		ch := f.changed
		f.mu.Unlock()
		if ok {
			return e, 0
		}
		if err := block(ch); err != 0 {
			e.Close()
			return nil, err
		}
	}
}
