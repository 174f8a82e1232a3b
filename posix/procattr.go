package posix

import (
	"sync"

	"golang.org/x/sys/unix"
)

// TASK_COMM_LEN is the size of a thread's name, NUL included.
const TASK_COMM_LEN = 16

// Scheduling policies (linux/sched.h).
const (
	SCHED_OTHER         = 0
	SCHED_FIFO          = 1
	SCHED_RR            = 2
	SCHED_BATCH         = 3
	SCHED_IDLE          = 5
	SCHED_DEADLINE      = 6
	SCHED_RESET_ON_FORK = 0x40000000
	MAX_RT_PRIO         = 100
	MIN_NICE, MAX_NICE  = -20, 19
)

// prctl defaults and values.
const (
	DefaultTimerSlackNs = 50000 // what init starts with and children inherit
	SUID_DUMP_DISABLE   = 0
	SUID_DUMP_USER      = 1
	DefaultUmask        = 0o022
	afterSetidDumpable  = SUID_DUMP_DISABLE // fs.suid_dumpable's default
)

// ValidPolicy reports whether p (without SCHED_RESET_ON_FORK) is a policy.
func ValidPolicy(p int) bool {
	switch p {
	case SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_IDLE, SCHED_DEADLINE:
		return true
	}
	return false
}

// RTPolicy reports whether p is a real-time policy.
func RTPolicy(p int) bool { return p == SCHED_FIFO || p == SCHED_RR }

// Sched is a thread's scheduling policy and real-time priority.
type Sched struct {
	Policy      int
	Priority    int
	ResetOnFork bool
}

// CanNice reports whether a process may set nice value nice: RLIMIT_NICE
// (in the 20-nice form) or CAP_SYS_NICE allows it, as Linux's can_nice.
func CanNice(nice int, rlimNice uint64, capable bool) bool {
	return uint64(20-nice) <= rlimNice || capable
}

// CheckSched applies sched_setscheduler(2)'s rules to a change from cur to
// next for a process at nice value nice with the given RLIMIT_RTPRIO and
// RLIMIT_NICE soft limits; capable is CAP_SYS_NICE.
func CheckSched(cur, next Sched, nice int, rlimRTPrio, rlimNice uint64, capable bool) unix.Errno {
	if !ValidPolicy(next.Policy) {
		return unix.EINVAL
	}
	if next.Priority < 0 || next.Priority > MAX_RT_PRIO-1 {
		return unix.EINVAL
	}
	// SCHED_DEADLINE needs sched_setattr's runtime and period; through the
	// older calls its parameters are always invalid.
	if next.Policy == SCHED_DEADLINE || RTPolicy(next.Policy) != (next.Priority != 0) {
		return unix.EINVAL
	}
	if capable {
		return 0
	}
	if RTPolicy(next.Policy) {
		// Without the capability, RLIMIT_RTPRIO bounds real-time priorities;
		// lowering one's own is always allowed.
		if next.Policy != cur.Policy && rlimRTPrio == 0 {
			return unix.EPERM
		}
		if next.Priority > cur.Priority && uint64(next.Priority) > rlimRTPrio {
			return unix.EPERM
		}
	}
	// Leaving SCHED_IDLE is raising one's priority.
	if cur.Policy == SCHED_IDLE && next.Policy != SCHED_IDLE && !CanNice(nice, rlimNice, false) {
		return unix.EPERM
	}
	if cur.ResetOnFork && !next.ResetOnFork {
		return unix.EPERM
	}
	return 0
}

// ThreadAttrs are the per-thread attributes of prctl.
type ThreadAttrs struct {
	Comm       [TASK_COMM_LEN]byte // PR_SET_NAME; NUL-terminated
	PdeathSig  int                 // PR_SET_PDEATHSIG
	TimerSlack uint64              // PR_SET_TIMERSLACK, in ns
}

// ProcAttrs is what the identity, scheduling and prctl calls keep about a
// process: its credentials, umask, nice value and scheduling policy (one
// for the whole process: Linux keeps them per thread, but set on one
// thread they apply to all here), dumpable and no_new_privs flags, and
// each thread's prctl attributes.
type ProcAttrs struct {
	Creds *Creds

	mu         sync.Mutex
	umask      uint32
	nice       int
	sched      Sched
	dumpable   int
	noNewPrivs bool
	comm       [TASK_COMM_LEN]byte // the name threads start with
	threads    map[int]*ThreadAttrs
	oomAdj     int    // /proc/PID/oom_score_adj
	oomAdjMin  int    // the least a process without CAP_SYS_RESOURCE may set
	persona    uint32 // personality(2)
}

// NewProcAttrs makes the attributes of a process started as uid:gid with
// groups, whose threads are named comm (the program's base name).
func NewProcAttrs(uid, gid uint32, groups []uint32, comm string) *ProcAttrs {
	p := &ProcAttrs{
		Creds:    NewCreds(NewCred(uid, gid, groups)),
		umask:    DefaultUmask,
		dumpable: SUID_DUMP_USER,
		threads:  map[int]*ThreadAttrs{},
	}
	copy(p.comm[:TASK_COMM_LEN-1], comm)
	return p
}

// Umask sets the file creation mask and returns the old one.
func (p *ProcAttrs) Umask(mask uint32) uint32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.umask
	p.umask = mask & 0o777
	return old
}

// CurrentUmask returns the file creation mask, for the file system calls.
func (p *ProcAttrs) CurrentUmask() uint32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.umask
}

// Nice returns the nice value.
func (p *ProcAttrs) Nice() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.nice
}

// SetNice sets the nice value as setpriority(2): it is clamped to
// [-20, 19], and lowering it needs RLIMIT_NICE room or CAP_SYS_NICE
// (EACCES).
func (p *ProcAttrs) SetNice(nice int, rlimNice uint64, capable bool) unix.Errno {
	nice = min(max(nice, MIN_NICE), MAX_NICE)
	p.mu.Lock()
	defer p.mu.Unlock()
	if nice < p.nice && !CanNice(nice, rlimNice, capable) {
		return unix.EACCES
	}
	p.nice = nice
	return 0
}

// Sched returns the scheduling policy.
func (p *ProcAttrs) Sched() Sched {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sched
}

// SetSched changes the scheduling policy under CheckSched's rules.
func (p *ProcAttrs) SetSched(next Sched, rlimRTPrio, rlimNice uint64, capable bool) unix.Errno {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e := CheckSched(p.sched, next, p.nice, rlimRTPrio, rlimNice, capable); e != 0 {
		return e
	}
	p.sched = next
	return 0
}

// Dumpable is PR_GET_DUMPABLE.
func (p *ProcAttrs) Dumpable() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dumpable
}

// SetDumpable is PR_SET_DUMPABLE: only 0 and 1 may be set.
func (p *ProcAttrs) SetDumpable(v int) unix.Errno {
	if v != SUID_DUMP_DISABLE && v != SUID_DUMP_USER {
		return unix.EINVAL
	}
	p.mu.Lock()
	p.dumpable = v
	p.mu.Unlock()
	return 0
}

// NoNewPrivs is PR_GET_NO_NEW_PRIVS.
func (p *ProcAttrs) NoNewPrivs() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.noNewPrivs
}

// SetNoNewPrivs is PR_SET_NO_NEW_PRIVS: it cannot be unset.
func (p *ProcAttrs) SetNoNewPrivs() {
	p.mu.Lock()
	p.noNewPrivs = true
	p.mu.Unlock()
}

// CredsChanged applies what Linux does when the effective ids change
// (IDsChanged): the process is no longer dumpable and the calling thread
// forgets its parent-death signal.
func (p *ProcAttrs) CredsChanged(tid int) {
	p.mu.Lock()
	p.dumpable = afterSetidDumpable
	p.mu.Unlock()
	p.UpdateThread(tid, func(t *ThreadAttrs) { t.PdeathSig = 0 })
}

// Thread returns thread tid's attributes. A thread that never set any has
// the defaults: the process's name and the default timer slack.
func (p *ProcAttrs) Thread(tid int) ThreadAttrs {
	p.mu.Lock()
	defer p.mu.Unlock()
	return *p.threadLocked(tid)
}

// UpdateThread changes thread tid's attributes.
func (p *ProcAttrs) UpdateThread(tid int, f func(*ThreadAttrs)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.threadLocked(tid)
	f(t)
	p.threads[tid] = t
}

func (p *ProcAttrs) threadLocked(tid int) *ThreadAttrs {
	if t, ok := p.threads[tid]; ok {
		return t
	}
	return &ThreadAttrs{Comm: p.comm, TimerSlack: DefaultTimerSlackNs}
}

// AttrsOf returns g's attributes, made by mk on first use.
func AttrsOf(g *ThreadGroup, mk func() *ProcAttrs) *ProcAttrs {
	g.attrsOnce.Do(func() { g.attrs = mk() })
	return g.attrs
}

// Fork returns the attributes of a child process forked by thread tid:
// the same credentials (a copy), umask, nice value, policy and flags, its
// threads named as tid is.
func (p *ProcAttrs) Fork(tid int) *ProcAttrs {
	comm := p.Thread(tid).Comm
	p.mu.Lock()
	defer p.mu.Unlock()
	return &ProcAttrs{
		Creds: NewCreds(p.Creds.Get()),
		umask: p.umask, nice: p.nice, sched: p.sched,
		dumpable: p.dumpable, noNewPrivs: p.noNewPrivs,
		comm: comm, threads: map[int]*ThreadAttrs{},
		oomAdj: p.oomAdj, oomAdjMin: p.oomAdjMin, persona: p.persona,
	}
}

// Exec is what execve does to the attributes: the threads are named after
// the new program (its base name), and their prctl settings start over.
func (p *ProcAttrs) Exec(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	clear(p.comm[:])
	copy(p.comm[:TASK_COMM_LEN-1], name)
	p.threads = map[int]*ThreadAttrs{}
}

// SetAttrs gives a new process its attributes, before any task runs.
func SetAttrs(g *ThreadGroup, a *ProcAttrs) {
	g.attrsOnce.Do(func() { g.attrs = a })
}

// OOM_SCORE_ADJ_MIN and OOM_SCORE_ADJ_MAX bound oom_score_adj
// (uapi/linux/oom.h).
const (
	OOM_SCORE_ADJ_MIN = -1000
	OOM_SCORE_ADJ_MAX = 1000
)

// OOMScoreAdj is /proc/PID/oom_score_adj. There is no OOM killer to
// consult it: the value is kept for the programs that set and read it.
func (p *ProcAttrs) OOMScoreAdj() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.oomAdj
}

// SetOOMScoreAdj is a write of oom_score_adj, as __set_oom_adj checks it:
// EINVAL out of range, EACCES below the process's minimum without
// CAP_SYS_RESOURCE (privileged), whose writes set the minimum.
func (p *ProcAttrs) SetOOMScoreAdj(v int, privileged bool) unix.Errno {
	if v < OOM_SCORE_ADJ_MIN || v > OOM_SCORE_ADJ_MAX {
		return unix.EINVAL
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if v < p.oomAdjMin && !privileged {
		return unix.EACCES
	}
	p.oomAdj = v
	if privileged {
		p.oomAdjMin = v
	}
	return 0
}

// SwapPersona sets the execution domain (personality(2)) unless set is
// false, and returns the old one; fork and exec keep it.
func (p *ProcAttrs) SwapPersona(v uint32, set bool) uint32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.persona
	if set {
		p.persona = v
	}
	return old
}
