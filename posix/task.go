package posix

import (
	"sort"
	"sync"
	"sync/atomic"

	"github.com/rumpgo/rumpgo/posix/mm"
)

// ExitStatus is how a thread group ended.
type ExitStatus struct {
	Code   int // exit code, when Signal is 0
	Signal int // the signal that killed it, or 0
}

// WaitStatus is the status as a shell reports it: the code, or 128+signal.
func (s ExitStatus) WaitStatus() int {
	if s.Signal != 0 {
		return 128 + s.Signal
	}
	return s.Code
}

// ThreadGroup is a process: the tasks sharing one address space, fd table,
// signal dispositions and limits.
type ThreadGroup struct {
	PID     int
	MM      *mm.AddressSpace
	FDs     *FDTable
	Signals *SignalHandlers
	Limits  *Limits

	mu      sync.Mutex
	tasks   map[int]*Task
	nextTID int
	exiting bool
	status  ExitStatus
	dying   chan struct{} // closed when the group starts to exit

	attrsOnce sync.Once
	attrs     *ProcAttrs // identity and scheduling, made on first use
}

// NewThreadGroup makes a process with no tasks yet.
func NewThreadGroup(pid int, as *mm.AddressSpace, fds *FDTable) *ThreadGroup {
	return &ThreadGroup{
		PID: pid, MM: as, FDs: fds,
		Signals: &SignalHandlers{},
		Limits:  DefaultLimits(),
		tasks:   map[int]*Task{},
		nextTID: pid,
		dying:   make(chan struct{}),
	}
}

// Task is one thread.
type Task struct {
	TID   int
	Group *ThreadGroup

	// Fields below belong to the task's own thread.
	AltStack      AltStack
	ClearChildTID uint64 // set_tid_address / CLONE_CHILD_CLEARTID
	RobustList    uint64
	RobustLen     uint64
	// Affinity is sched_setaffinity's CPU mask (bytes, as the guest
	// passed it, trimmed to its CPUs); nil means every CPU. Other threads
	// read and set it (pid arguments), so it is replaced, never changed.
	Affinity atomic.Pointer[[]byte]

	interrupt chan struct{} // a signal became deliverable (buffered 1)

	// Guarded by Group.Signals.mu.
	mask    uint64
	pending sigQueue
	kick    func()

	savedMask    uint64 // the task's own thread only
	hasSavedMask bool
}

// NewTask adds a task to the group; the first task gets TID == PID.
func (g *ThreadGroup) NewTask() (*Task, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.exiting {
		return nil, false
	}
	t := &Task{TID: g.nextTID, Group: g, interrupt: make(chan struct{}, 1)}
	g.nextTID++
	g.tasks[t.TID] = t
	return t, true
}

// Exit removes the task; it reports whether it was the last one, in which
// case the group exits with code (exit(2) of the last thread ends the
// process, as on Linux).
func (t *Task) Exit(code int) (last bool) {
	g := t.Group
	g.mu.Lock()
	delete(g.tasks, t.TID)
	last = len(g.tasks) == 0
	g.mu.Unlock()
	if last {
		g.ExitGroup(ExitStatus{Code: code})
	} else {
		g.retargetSignals()
	}
	return last
}

// ExitGroup starts the group's exit with status; the first call wins.
func (g *ThreadGroup) ExitGroup(s ExitStatus) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.exiting {
		return
	}
	g.exiting, g.status = true, s
	close(g.dying)
}

// Dying is closed once the group exits; blocking calls select on it.
func (g *ThreadGroup) Dying() <-chan struct{} { return g.dying }

// Status is the exit status, valid once Dying is closed.
func (g *ThreadGroup) Status() ExitStatus {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.status
}

// NumTasks is the number of live tasks.
func (g *ThreadGroup) NumTasks() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.tasks)
}

// HasTask reports whether tid is a live task of the group.
func (g *ThreadGroup) HasTask(tid int) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.tasks[tid]
	return ok
}

// Interrupt returns a channel that receives when a signal becomes
// deliverable to the task. Any stale token is drained first, so a caller
// checks SignalPending after taking the channel and before blocking.
func (t *Task) Interrupt() <-chan struct{} {
	select {
	case <-t.interrupt:
	default:
	}
	return t.interrupt
}

// Task returns the live task tid, or nil.
func (g *ThreadGroup) Task(tid int) *Task {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.tasks[tid]
}

// TIDs returns the live tasks' ids, sorted, for /proc/PID/task.
func (g *ThreadGroup) TIDs() []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]int, 0, len(g.tasks))
	for tid := range g.tasks {
		out = append(out, tid)
	}
	sort.Ints(out)
	return out
}
