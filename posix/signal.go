package posix

import (
	"encoding/binary"
	"sync"

	"github.com/rumpgo/rumpgo/posix/waiter"
	"golang.org/x/sys/unix"
)

// NSIG is the number of signals (1..64).
const NSIG = 64

// SIGRTMIN is the first real-time signal: from it on, signals queue
// instead of coalescing.
const SIGRTMIN = 32

// SigAction is struct kernel_sigaction as the x86-64 ABI passes it.
type SigAction struct {
	Handler  uint64
	Flags    uint64
	Restorer uint64
	Mask     uint64
}

// Special handler values.
const (
	SIG_DFL = 0
	SIG_IGN = 1
)

// sa_flags (asm-generic/signal.h, x86 SA_RESTORER).
const (
	SA_NOCLDSTOP = 0x00000001
	SA_NOCLDWAIT = 0x00000002
	SA_SIGINFO   = 0x00000004
	SA_RESTORER  = 0x04000000
	SA_ONSTACK   = 0x08000000
	SA_RESTART   = 0x10000000
	SA_NODEFER   = 0x40000000
	SA_RESETHAND = 0x80000000
)

// si_code values (asm-generic/siginfo.h).
const (
	SI_USER     = 0
	SI_KERNEL   = 0x80
	SI_QUEUE    = -1
	SI_TIMER    = -2
	SI_TKILL    = -6
	SEGV_MAPERR = 1
	SEGV_ACCERR = 2
	BUS_ADRALN  = 1
	BUS_ADRERR  = 2
	ILL_ILLOPN  = 2
	FPE_INTDIV  = 1
	FPE_FLTINV  = 7
	TRAP_BRKPT  = 1
)

// Bit is sig's bit in a sigset.
func Bit(sig int) uint64 { return 1 << (sig - 1) }

// UnblockableMask is SIGKILL and SIGSTOP, which no mask can hold.
const UnblockableMask = 1<<(unix.SIGKILL-1) | 1<<(unix.SIGSTOP-1)

// synchronousMask are the signals a fault raises; Linux delivers them
// before any other pending signal so the handler sees its own fault.
const synchronousMask = 1<<(unix.SIGSEGV-1) | 1<<(unix.SIGBUS-1) | 1<<(unix.SIGILL-1) |
	1<<(unix.SIGTRAP-1) | 1<<(unix.SIGFPE-1) | 1<<(unix.SIGSYS-1)

// SigInfo is the part of siginfo_t that rumpgo fills in.
type SigInfo struct {
	Signo, Errno, Code int32
	PID, UID           int32  // the sender; for SI_TIMER the timer id and overrun
	Value              uint64 // sigval; the exit status for SIGCHLD
	Addr               uint64 // the faulting address of a fault signal
	// Poll marks the _sigpoll layout (an O_ASYNC file's signal with a
	// POLL_* code): Band and FD instead of the sender.
	Poll bool
	Band int64
	FD   int32
}

// SigInfoSize is sizeof(siginfo_t).
const SigInfoSize = 128

// Encode writes info as siginfo_t into b (SigInfoSize bytes).
func (i *SigInfo) Encode(b []byte) {
	clear(b[:SigInfoSize])
	le := binary.LittleEndian
	le.PutUint32(b[0:], uint32(i.Signo))
	le.PutUint32(b[4:], uint32(i.Errno))
	le.PutUint32(b[8:], uint32(i.Code))
	// The union at offset 16 is _sigfault for faults the kernel raised,
	// _kill/_rt/_timer/_sigchld (pid, uid, value) otherwise.
	if i.Code > 0 && synchronousMask&Bit(int(i.Signo)) != 0 {
		le.PutUint64(b[16:], i.Addr)
		return
	}
	if i.Poll {
		le.PutUint64(b[16:], uint64(i.Band))
		le.PutUint32(b[24:], uint32(i.FD))
		return
	}
	le.PutUint32(b[16:], uint32(i.PID))
	le.PutUint32(b[20:], uint32(i.UID))
	le.PutUint64(b[24:], i.Value)
}

// DecodeSigInfo reads what rt_sigqueueinfo callers pass.
func DecodeSigInfo(b []byte) SigInfo {
	le := binary.LittleEndian
	return SigInfo{
		Signo: int32(le.Uint32(b[0:])), Errno: int32(le.Uint32(b[4:])), Code: int32(le.Uint32(b[8:])),
		PID: int32(le.Uint32(b[16:])), UID: int32(le.Uint32(b[20:])), Value: le.Uint64(b[24:]),
	}
}

// Action is what a default disposition does (signal(7)).
type Action int

const (
	ActTerm Action = iota
	ActCore
	ActIgnore
	ActStop
	ActContinue
)

// DefaultAction is sig's action under SIG_DFL.
func DefaultAction(sig int) Action {
	switch unix.Signal(sig) {
	case unix.SIGCHLD, unix.SIGURG, unix.SIGWINCH:
		return ActIgnore
	case unix.SIGCONT:
		return ActContinue
	case unix.SIGSTOP, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU:
		return ActStop
	case unix.SIGQUIT, unix.SIGILL, unix.SIGTRAP, unix.SIGABRT, unix.SIGBUS, unix.SIGFPE,
		unix.SIGSEGV, unix.SIGXCPU, unix.SIGXFSZ, unix.SIGSYS:
		return ActCore
	}
	return ActTerm
}

// ignored reports whether act discards sig: SIG_IGN, or SIG_DFL whose
// default is to ignore or to continue (SIGCONT resumes the process when
// sent, jobctl.go, whatever its disposition).
func ignored(sig int, act SigAction) bool {
	if act.Handler == SIG_IGN {
		return true
	}
	if act.Handler != SIG_DFL {
		return false
	}
	switch DefaultAction(sig) {
	case ActIgnore, ActContinue:
		return true
	}
	return false
}

// maxQueued bounds the real-time signals queued in one process, like
// RLIMIT_SIGPENDING: the guest cannot make the monitor allocate without end.
const maxQueued = 4096

// sigQueue is a set of pending signals; real-time ones keep every
// instance, standard ones coalesce into one.
type sigQueue struct {
	set   uint64
	infos [NSIG + 1][]SigInfo
}

// add queues info. A real-time signal past limit (RLIMIT_SIGPENDING) or
// maxQueued fails (EAGAIN), unless kill sent it: then, as Linux's
// __send_signal_locked, it is only marked pending (kill may not fail),
// which adds nothing when it already is.
func (q *sigQueue) add(info SigInfo, total *int, limit uint64) bool {
	sig := int(info.Signo)
	if sig < SIGRTMIN && q.set&Bit(sig) != 0 {
		return true
	}
	if sig >= SIGRTMIN {
		if *total >= maxQueued || uint64(*total) >= limit {
			if info.Code != SI_USER {
				return false
			}
			if q.set&Bit(sig) != 0 {
				return true
			}
		}
		*total++
	}
	q.infos[sig] = append(q.infos[sig], info)
	q.set |= Bit(sig)
	return true
}

func (q *sigQueue) take(sig int, total *int) SigInfo {
	info := q.infos[sig][0]
	q.infos[sig] = q.infos[sig][1:]
	if len(q.infos[sig]) == 0 {
		q.infos[sig] = nil
		q.set &^= Bit(sig)
	}
	if sig >= SIGRTMIN {
		*total--
	}
	return info
}

// next is the signal to deliver from set: synchronous ones first, then
// the lowest number, as Linux's next_signal picks.
func next(set uint64) int {
	if s := set & synchronousMask; s != 0 {
		set = s
	}
	for sig := 1; sig <= NSIG; sig++ {
		if set&Bit(sig) != 0 {
			return sig
		}
	}
	return 0
}

// SignalHandlers are a process's signal dispositions and its shared
// pending set. Its lock also guards every task's mask and pending set, as
// Linux's siglock does, so a sender can pick a target atomically.
type SignalHandlers struct {
	mu     sync.Mutex
	act    [NSIG + 1]SigAction
	shared sigQueue
	queued int // real-time signals queued in the process

	q waiter.Queue // signalfds: notified of every signal queued
}

// Swap sets the action for sig (when act != nil) and returns the old one.
// SIGKILL and SIGSTOP cannot be changed.
func (s *SignalHandlers) Swap(sig int, act *SigAction) (SigAction, unix.Errno) {
	if sig < 1 || sig > NSIG {
		return SigAction{}, unix.EINVAL
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.act[sig]
	if act != nil {
		if sig == int(unix.SIGKILL) || sig == int(unix.SIGSTOP) {
			return old, unix.EINVAL
		}
		a := *act
		a.Mask &^= UnblockableMask
		s.act[sig] = a
		// Setting a disposition that ignores a signal discards its pending
		// instances (POSIX.1: sigaction).
		if ignored(sig, a) {
			s.shared.discard(sig, &s.queued)
		}
	}
	return old, 0
}

func (q *sigQueue) discard(sig int, total *int) {
	for q.set&Bit(sig) != 0 {
		q.take(sig, total)
	}
}

// AltStack is stack_t.
type AltStack struct {
	SP    uint64
	Flags int32
	Size  uint64
}

// sigaltstack flags.
const (
	SS_ONSTACK    = 1
	SS_DISABLE    = 2
	SS_AUTODISARM = 1 << 31
	MINSIGSTKSZ   = 2048
)

// Enabled reports whether the alternate stack is set up.
func (a AltStack) Enabled() bool { return a.Flags&SS_DISABLE == 0 && a.Size != 0 }

// On reports whether sp is on the alternate stack.
func (a AltStack) On(sp uint64) bool { return a.Enabled() && sp > a.SP && sp-a.SP <= a.Size }
