package posix

import (
	"sync"

	"golang.org/x/sys/unix"
)

// NSIG is the number of signals (1..64).
const NSIG = 64

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

// SignalHandlers are a process's signal dispositions.
type SignalHandlers struct {
	mu  sync.Mutex
	act [NSIG + 1]SigAction
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
	}
	return old, 0
}

// UnblockableMask is SIGKILL and SIGSTOP, which no mask can hold.
const UnblockableMask = 1<<(unix.SIGKILL-1) | 1<<(unix.SIGSTOP-1)

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
