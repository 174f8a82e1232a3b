package posix

import (
	"sort"
	"sync"

	"golang.org/x/sys/unix"
)

// This file is the process half of the task model: the machine's process
// table (one PID space for processes and threads, as Linux's), parents and
// children, process groups and sessions, zombies and wait.

// Processes is a machine's process table.
type Processes struct {
	mu     sync.Mutex
	groups map[int]*ThreadGroup // live and zombie processes, by PID
	tasks  map[int]*Task        // live threads of every process, by TID
	nextID int
	// Limit is how many processes (zombies included) may exist; 0 is no
	// limit. Set it before the first process.
	Limit int
}

// NewProcesses returns an empty table; the first process gets PID 1.
func NewProcesses() *Processes {
	return &Processes{groups: map[int]*ThreadGroup{}, tasks: map[int]*Task{}, nextID: 1}
}

// allocID returns an unused PID/TID (p.mu held).
func (p *Processes) allocID() int {
	for {
		id := p.nextID
		p.nextID++
		if p.nextID > 1<<22 { // pid_max's default
			p.nextID = 2
		}
		if p.groups[id] == nil && p.tasks[id] == nil {
			return id
		}
	}
}

// NewProcess makes a process with no tasks yet, the child of parent (nil
// for the first), in parent's process group and session. It fails with
// EAGAIN past Limit.
func (p *Processes) NewProcess(parent *ThreadGroup, exitSignal int) (*ThreadGroup, unix.Errno) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.Limit > 0 && len(p.groups) >= p.Limit {
		return nil, unix.EAGAIN
	}
	g := newThreadGroup(p, p.allocID())
	g.exitSignal = exitSignal
	g.pgid, g.sid = g.PID, g.PID
	if parent != nil {
		if parent.zombie {
			return nil, unix.EAGAIN
		}
		g.parent = parent
		g.pgid, g.sid = parent.pgid, parent.sid
		parent.children[g] = struct{}{}
	}
	p.groups[g.PID] = g
	return g, 0
}

// Group returns the live or zombie process pid, or nil.
func (p *Processes) Group(pid int) *ThreadGroup {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.groups[pid]
}

// Task returns the live thread tid of any process, or nil.
func (p *Processes) Task(tid int) *Task {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tasks[tid]
}

// PIDs lists the processes that have not been reaped, for /proc.
func (p *Processes) PIDs() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]int, 0, len(p.groups))
	for pid := range p.groups {
		out = append(out, pid)
	}
	sort.Ints(out)
	return out
}

// Select returns the live processes pick accepts, for kill of a group or
// of everything.
func (p *Processes) Select(pick func(g *ThreadGroup) bool) []*ThreadGroup {
	p.mu.Lock()
	var live []*ThreadGroup
	for _, g := range p.groups {
		if !g.zombie {
			live = append(live, g)
		}
	}
	p.mu.Unlock()
	var out []*ThreadGroup
	for _, g := range live {
		if pick(g) {
			out = append(out, g)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PID < out[j].PID })
	return out
}

// PPID is the parent's PID, 0 for the first process.
func (g *ThreadGroup) PPID() int {
	g.procs.mu.Lock()
	defer g.procs.mu.Unlock()
	if g.parent == nil {
		return 0
	}
	return g.parent.PID
}

// PGID and SID are the process group and session.
func (g *ThreadGroup) PGID() int {
	g.procs.mu.Lock()
	defer g.procs.mu.Unlock()
	return g.pgid
}

func (g *ThreadGroup) SID() int {
	g.procs.mu.Lock()
	defer g.procs.mu.Unlock()
	return g.sid
}

// SetSID is setsid(2): a process that leads no group starts a session and
// a group named after itself.
func (g *ThreadGroup) SetSID() (int, unix.Errno) {
	p := g.procs
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, o := range p.groups {
		if o.pgid == g.PID {
			return 0, unix.EPERM
		}
	}
	g.pgid, g.sid = g.PID, g.PID
	return g.PID, 0
}

// SetPGID is setpgid(2) called by caller on target (caller itself or one of
// its children): pgid 0 means target's PID; the group must exist in the
// caller's session unless it is new.
func (caller *ThreadGroup) SetPGID(target *ThreadGroup, pgid int) unix.Errno {
	p := caller.procs
	p.mu.Lock()
	defer p.mu.Unlock()
	if target != caller {
		if target.parent != caller {
			return unix.ESRCH
		}
		if target.sid != caller.sid {
			return unix.EPERM
		}
		if target.execed {
			return unix.EACCES
		}
	}
	if target.sid == target.PID {
		return unix.EPERM // a session leader keeps its group
	}
	if pgid == 0 {
		pgid = target.PID
	}
	if pgid != target.PID {
		found := false
		for _, o := range p.groups {
			if o.pgid == pgid && o.sid == caller.sid && !o.zombie {
				found = true
				break
			}
		}
		if !found {
			return unix.EPERM
		}
	}
	target.pgid = pgid
	return 0
}

// MarkExeced records that the process called execve, after which its
// parent may no longer change its process group (setpgid's EACCES).
func (g *ThreadGroup) MarkExeced() {
	g.procs.mu.Lock()
	g.execed = true
	g.procs.mu.Unlock()
}

// ChildEvent is a channel closed when a child of g changes state (ends,
// or is reaped elsewhere); take it before looking, then wait on it.
func (g *ThreadGroup) ChildEvent() <-chan struct{} {
	g.procs.mu.Lock()
	defer g.procs.mu.Unlock()
	return g.childEvent
}

func (g *ThreadGroup) notifyChildEventLocked() {
	close(g.childEvent)
	g.childEvent = make(chan struct{})
}

// WaitFilter says which children a wait call is for.
type WaitFilter struct {
	PID  int // > 0: that child
	PGID int // > 0: children in that group (PID == 0)
	// Clone selects children whose exit signal is not SIGCHLD
	// (__WCLONE), All every child (__WALL).
	Clone, All bool
	// Exited, Stopped and Continued are the changes asked for (WEXITED,
	// WUNTRACED/WSTOPPED, WCONTINUED).
	Exited, Stopped, Continued bool
}

func (f WaitFilter) matches(c *ThreadGroup) bool {
	switch {
	case f.PID > 0 && c.PID != f.PID:
		return false
	case f.PID <= 0 && f.PGID > 0 && c.pgid != f.PGID:
		return false
	}
	return f.All || (c.exitSignal == int(unix.SIGCHLD)) != f.Clone
}

// Zombie is a child's change as wait reports it: it ended with Status,
// or (job control) it stopped with signal Stopped, or it Continued.
type Zombie struct {
	PID       int
	UID       uint32
	Status    ExitStatus
	Stopped   int
	Continued bool
	// CPU is an ended child's processor time and its children's, for
	// wait4's rusage.
	CPU CPUTimes
}

// WaitChild looks for a child matching f with a change f asks for (it
// ended, stopped or continued), reaping an ended one and consuming the
// report of the others unless keep (WNOWAIT). any says whether some child
// matches at all (else the caller answers ECHILD).
func (g *ThreadGroup) WaitChild(f WaitFilter, keep bool) (z Zombie, found, any bool) {
	p := g.procs
	p.mu.Lock()
	defer p.mu.Unlock()
	var best *ThreadGroup
	for c := range g.children {
		if !f.matches(c) {
			continue
		}
		c.mu.Lock()
		zombie := c.zombie
		ready := f.Exited && zombie || f.Stopped && c.stopReport != 0 || f.Continued && c.contReport
		c.mu.Unlock()
		if zombie && !f.Exited {
			// An ended child will never stop or continue: a wait for
			// those alone does not count it (Linux's wait_task_zombie
			// leaves notask_error), so it answers ECHILD, not a wait
			// that never ends.
			continue
		}
		any = true
		if ready && (best == nil || c.PID < best.PID) {
			best = c
		}
	}
	if best == nil {
		return Zombie{}, false, any
	}
	z = Zombie{PID: best.PID, UID: best.uid}
	best.mu.Lock()
	switch {
	case f.Exited && best.zombie:
		z.Status = best.status
		z.CPU = best.endedCPU.Add(best.childCPU)
		best.mu.Unlock()
		if !keep {
			g.mu.Lock()
			g.childCPU = g.childCPU.Add(z.CPU)
			g.mu.Unlock()
			p.reapLocked(best)
		}
		return z, true, true
	case f.Stopped && best.stopReport != 0:
		z.Stopped = best.stopReport
		if !keep {
			best.stopReport = 0
		}
	default:
		z.Continued = true
		if !keep {
			best.contReport = false
		}
	}
	best.mu.Unlock()
	return z, true, true
}

func (p *Processes) reapLocked(c *ThreadGroup) {
	delete(p.groups, c.PID)
	if c.parent != nil {
		delete(c.parent.children, c)
		c.parent.notifyChildEventLocked()
	}
}

// Gone is closed once the process has ended: a zombie, or reaped (what
// a pidfd's poll waits for).
func (g *ThreadGroup) Gone() <-chan struct{} { return g.gone }

// Ended makes g a zombie once its last task is gone: its children go to
// the first process, and its parent is told (the returned signal, with
// info, is for the caller to send to parent), or reaps it at once when it
// ignores SIGCHLD or set SA_NOCLDWAIT. uid is the process's real uid, for
// siginfo and waitid.
func (g *ThreadGroup) Ended(uid uint32) (parent *ThreadGroup, info SigInfo) {
	p := g.procs
	p.mu.Lock()
	defer p.mu.Unlock()
	if !g.zombie {
		close(g.gone)
	}
	g.zombie, g.uid = true, uid
	g.mu.Lock()
	status := g.status
	g.stopReport, g.contReport = 0, false // its end is what a wait reports now
	g.mu.Unlock()
	if init := p.groups[1]; init != nil && init != g {
		for c := range g.children {
			c.parent = init
			init.children[c] = struct{}{}
			if c.zombie {
				init.notifyChildEventLocked()
			}
		}
	}
	g.children = map[*ThreadGroup]struct{}{}
	parent = g.parent
	if parent == nil {
		delete(p.groups, g.PID) // the first process has no one to wait for it
		return nil, SigInfo{}
	}
	info = SigInfo{Signo: int32(g.exitSignal), PID: int32(g.PID), UID: int32(uid)}
	info.Code, info.Value = status.ChildCode()
	if g.exitSignal == int(unix.SIGCHLD) && parent.Signals.noChildWait() {
		p.reapLocked(g) // POSIX: children of such a parent leave no zombie
	} else {
		parent.notifyChildEventLocked()
	}
	if g.exitSignal == 0 {
		return nil, SigInfo{}
	}
	return parent, info
}

// Child codes of SIGCHLD's and waitid's siginfo (asm-generic/siginfo.h).
const (
	CLD_EXITED = 1
	CLD_KILLED = 2
	CLD_DUMPED = 3
)

// ChildCode is the si_code and si_status a parent sees.
func (s ExitStatus) ChildCode() (code int32, status uint64) {
	switch {
	case s.Signal == 0:
		return CLD_EXITED, uint64(s.Code)
	case s.Core:
		return CLD_DUMPED, uint64(s.Signal)
	}
	return CLD_KILLED, uint64(s.Signal)
}

// WaitStatus4 is the status word wait4 stores for z.
func (z Zombie) WaitStatus4() uint32 {
	switch {
	case z.Stopped != 0:
		return uint32(z.Stopped)<<8 | 0x7f
	case z.Continued:
		return 0xffff
	}
	return z.Status.WaitStatus4()
}

// ChildCode is the si_code and si_status waitid reports for z.
func (z Zombie) ChildCode() (int32, uint64) {
	switch {
	case z.Stopped != 0:
		return CLD_STOPPED, uint64(z.Stopped)
	case z.Continued:
		return CLD_CONTINUED, uint64(unix.SIGCONT)
	}
	return z.Status.ChildCode()
}

// WaitStatus4 is the status word wait4 stores: the code in bits 8-15, or
// the signal with 0x80 for a core dump.
func (s ExitStatus) WaitStatus4() uint32 {
	if s.Signal != 0 {
		st := uint32(s.Signal)
		if s.Core {
			st |= 0x80
		}
		return st
	}
	return uint32(s.Code&0xff) << 8
}

// noChildWait reports whether SIGCHLD is ignored or SA_NOCLDWAIT is set.
func (s *SignalHandlers) noChildWait() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.act[unix.SIGCHLD]
	return a.Handler == SIG_IGN || a.Flags&SA_NOCLDWAIT != 0
}

// Fork returns a copy of the dispositions for a child process: same
// actions, nothing pending.
func (s *SignalHandlers) Fork() *SignalHandlers {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &SignalHandlers{act: s.act}
}

// ResetForExec is what execve does to dispositions: handled signals go
// back to their default, ignored ones stay ignored.
func (s *SignalHandlers) ResetForExec() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sig := range s.act {
		if s.act[sig].Handler != SIG_IGN {
			s.act[sig] = SigAction{}
		} else {
			s.act[sig].Flags = 0
		}
	}
}

// Fork returns a copy of the limits.
func (l *Limits) Fork() *Limits {
	n := DefaultLimits()
	for r := range n.r {
		n.r[r] = l.Get(r)
	}
	return n
}

// Vfork returns the channel a vfork parent waits on: closed when the child
// execs or ends, releasing the address space they share.
func (g *ThreadGroup) Vfork() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.vforkDone == nil {
		g.vforkDone = make(chan struct{})
	}
	return g.vforkDone
}

// ReleaseVfork wakes the vfork parent, if any, once.
func (g *ThreadGroup) ReleaseVfork() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.vforkDone != nil && !g.vforkReleased {
		g.vforkReleased = true
		close(g.vforkDone)
	}
}

// KillOthers makes every task but keep end at its next return to the
// guest (execve's de_thread), and returns how many there were.
func (g *ThreadGroup) KillOthers(keep *Task) int {
	g.mu.Lock()
	var others []*Task
	for _, t := range g.tasks {
		if t != keep {
			t.doomed.Store(true)
			others = append(others, t)
		}
	}
	g.mu.Unlock()
	g.Signals.mu.Lock()
	for _, t := range others {
		t.wakeLocked()
	}
	g.Signals.mu.Unlock()
	return len(others)
}

// Doomed reports whether the task must end (KillOthers).
func (t *Task) Doomed() bool { return t.doomed.Load() }

// Discard removes a process that never ran (a fork that failed half way)
// from the table, telling no one.
func (g *ThreadGroup) Discard() {
	p := g.procs
	p.mu.Lock()
	defer p.mu.Unlock()
	g.zombie = true
	delete(p.groups, g.PID)
	if g.parent != nil {
		delete(g.parent.children, g)
	}
}
