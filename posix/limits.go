package posix

import (
	"sync"

	"golang.org/x/sys/unix"
)

// RLIM_NLIMITS is the number of resource limits (asm-generic/resource.h).
const RLIM_NLIMITS = 16

// RLIM_INFINITY as the 64-bit ABI spells it.
const RLIM_INFINITY = ^uint64(0)

// Rlimit is struct rlimit64.
type Rlimit struct{ Cur, Max uint64 }

// Limits are a process's resource limits (RLIMIT_*).
type Limits struct {
	mu sync.Mutex
	r  [RLIM_NLIMITS]Rlimit
}

// DefaultLimits are what a process on a default Debian system starts with.
func DefaultLimits() *Limits {
	l := &Limits{}
	for i := range l.r {
		l.r[i] = Rlimit{RLIM_INFINITY, RLIM_INFINITY}
	}
	l.r[unix.RLIMIT_STACK] = Rlimit{8 << 20, RLIM_INFINITY}
	l.r[unix.RLIMIT_NOFILE] = Rlimit{1024, 4096}
	l.r[unix.RLIMIT_CORE] = Rlimit{0, RLIM_INFINITY}
	l.r[unix.RLIMIT_NPROC] = Rlimit{4096, 4096}
	l.r[unix.RLIMIT_MEMLOCK] = Rlimit{8 << 20, 8 << 20}
	l.r[unix.RLIMIT_SIGPENDING] = Rlimit{4096, 4096}
	l.r[unix.RLIMIT_MSGQUEUE] = Rlimit{819200, 819200}
	l.r[unix.RLIMIT_NICE] = Rlimit{0, 0}
	l.r[unix.RLIMIT_RTPRIO] = Rlimit{0, 0}
	return l
}

// Get returns limit r.
func (l *Limits) Get(r int) Rlimit {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r[r]
}

// Set changes limit r as prlimit(2) does and returns the limit it
// replaced: Cur must not exceed Max (EINVAL), only a process with
// CAP_SYS_RESOURCE (privileged) may raise Max (EPERM), and RLIMIT_NOFILE's
// Max is bounded by fs.nr_open even then (EPERM).
func (l *Limits) Set(r int, v Rlimit, privileged bool) (Rlimit, unix.Errno) {
	if v.Cur > v.Max {
		return Rlimit{}, unix.EINVAL
	}
	if r == unix.RLIMIT_NOFILE && v.Max > nrOpenMax {
		return Rlimit{}, unix.EPERM
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	old := l.r[r]
	if v.Max > old.Max && !privileged {
		return old, unix.EPERM
	}
	l.r[r] = v
	return old, 0
}

// nrOpenMax is fs.nr_open's default.
const nrOpenMax = 1 << 20
