package posix

import (
	"encoding/binary"
	"sync"

	"github.com/rumpgo/rumpgo/posix/waiter"
	"golang.org/x/sys/unix"
)

// SignalFD is a signalfd(2): reading it takes pending signals in its mask
// off the queues instead of running their handlers. Like Linux's, it reads
// the signals of the task that reads it; a descriptor carries the task that
// made it, since File.Read is not told who reads.
type SignalFD struct {
	StatusFlags
	task *Task

	mu   sync.Mutex
	mask uint64
}

// SignalfdSiginfoSize is sizeof(struct signalfd_siginfo).
const SignalfdSiginfoSize = 128

// NewSignalFD makes a signalfd for task; flags may hold O_NONBLOCK.
func NewSignalFD(task *Task, mask uint64, flags int) *SignalFD {
	s := &SignalFD{task: task, mask: mask &^ UnblockableMask}
	s.Init(unix.O_RDWR | flags&unix.O_NONBLOCK)
	return s
}

// SetMask replaces the set of signals the descriptor takes.
func (s *SignalFD) SetMask(mask uint64) {
	s.mu.Lock()
	s.mask = mask &^ UnblockableMask
	s.mu.Unlock()
	s.task.Group.Signals.q.Notify(waiter.EPOLLIN)
}

func (s *SignalFD) getMask() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mask
}

// Read returns as many struct signalfd_siginfo as fit, EAGAIN when none of
// its signals is pending.
func (s *SignalFD) Read(b []byte) (int, unix.Errno) { return s.readFor(s.task, b) }

// As is the descriptor as task t reads it: Linux's signalfd_read takes
// the signals of the reading task (its own queue and its process's), not
// of the one that made the descriptor — a thread-directed signal (tgkill)
// to a reader must wake it.
func (s *SignalFD) As(t *Task) File {
	if t == nil || t == s.task {
		return s
	}
	return &signalFDReader{SignalFD: s, reader: t}
}

type signalFDReader struct {
	*SignalFD
	reader *Task
}

func (r *signalFDReader) Read(b []byte) (int, unix.Errno) { return r.readFor(r.reader, b) }
func (r *signalFDReader) Readiness(mask uint32) uint32    { return r.readinessFor(r.reader, mask) }
func (r *signalFDReader) EventRegister(e *waiter.Entry) {
	r.reader.Group.Signals.q.EventRegister(e)
}
func (r *signalFDReader) EventUnregister(e *waiter.Entry) {
	r.reader.Group.Signals.q.EventUnregister(e)
}

func (s *SignalFD) readFor(t *Task, b []byte) (int, unix.Errno) {
	if len(b) < SignalfdSiginfoSize {
		return 0, unix.EINVAL
	}
	n := 0
	for ; n+SignalfdSiginfoSize <= len(b); n += SignalfdSiginfoSize {
		info, ok := t.DequeueSet(s.getMask())
		if !ok {
			break
		}
		encodeSignalfdSiginfo(b[n:n+SignalfdSiginfoSize], info)
	}
	if n == 0 {
		return 0, unix.EAGAIN
	}
	return n, 0
}

// encodeSignalfdSiginfo lays info out as struct signalfd_siginfo: signo,
// errno, code, pid, uid, fd, tid, band, overrun, trapno, status, int,
// ptr, utime, stime, addr.
func encodeSignalfdSiginfo(b []byte, info SigInfo) {
	clear(b)
	le := binary.LittleEndian
	le.PutUint32(b[0:], uint32(info.Signo))
	le.PutUint32(b[4:], uint32(info.Errno))
	le.PutUint32(b[8:], uint32(info.Code))
	le.PutUint32(b[12:], uint32(info.PID))
	le.PutUint32(b[16:], uint32(info.UID))
	if info.Code == SI_TIMER {
		le.PutUint32(b[24:], uint32(info.PID)) // ssi_tid: the timer id
		le.PutUint32(b[32:], uint32(info.UID)) // ssi_overrun
		le.PutUint32(b[12:], 0)
		le.PutUint32(b[16:], 0)
	}
	le.PutUint32(b[44:], uint32(info.Value)) // ssi_int
	le.PutUint64(b[48:], info.Value)         // ssi_ptr
	le.PutUint64(b[72:], info.Addr)
}

// Write implements File: a signalfd is not writable.
func (s *SignalFD) Write(b []byte) (int, unix.Errno) { return 0, unix.EINVAL }

// Close implements File.
func (s *SignalFD) Close() unix.Errno { return 0 }

// Readiness implements waiter.Waitable.
func (s *SignalFD) Readiness(mask uint32) uint32 { return s.readinessFor(s.task, mask) }

func (s *SignalFD) readinessFor(t *Task, mask uint32) uint32 {
	sh := t.Group.Signals
	sh.mu.Lock()
	pending := (t.pending.set | sh.shared.set) & s.getMask()
	sh.mu.Unlock()
	if pending != 0 {
		return mask & (waiter.EPOLLIN | waiter.EPOLLRDNORM)
	}
	return 0
}

// EventRegister implements waiter.Waitable: every signal queued in the
// process notifies.
func (s *SignalFD) EventRegister(e *waiter.Entry) { s.task.Group.Signals.q.EventRegister(e) }

// EventUnregister implements waiter.Waitable.
func (s *SignalFD) EventUnregister(e *waiter.Entry) { s.task.Group.Signals.q.EventUnregister(e) }
