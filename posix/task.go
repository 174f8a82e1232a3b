package posix

import (
	"sort"
	"sync"
	"sync/atomic"

	"github.com/rumpgo/rumpgo/posix/mm"
	"golang.org/x/sys/unix"
)

// ExitStatus is how a thread group ended.
type ExitStatus struct {
	Code   int  // exit code, when Signal is 0
	Signal int  // the signal that killed it, or 0
	Core   bool // the signal dumped core
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

	mu       sync.Mutex
	tasks    map[int]*Task
	exiting  bool
	status   ExitStatus
	killedBy *SigInfo      // the SIGKILL that ended it, when one was sent (Kill)
	dying    chan struct{} // closed when the group starts to exit
	gone     chan struct{} // closed when its last task is gone (process.go: Ended)

	endedCPU CPUTimes // of the tasks that ended (cputime.go); guarded by mu
	childCPU CPUTimes // of the children reaped, and theirs; guarded by mu

	vforkDone     chan struct{} // process.go: Vfork
	vforkReleased bool

	// Job control (jobctl.go).
	stopped atomic.Bool // written under mu; read without it

	// unkillable is Linux's SIGNAL_UNKILLABLE: the group is its PID
	// namespace's init (sigtask.go: initIgnores).
	unkillable atomic.Bool

	continued  chan struct{} // closed by SIGCONT
	stopReport int           // the stop signal a WUNTRACED wait has not seen yet
	contReport bool          // a continue a WCONTINUED wait has not seen yet

	// Guarded by procs.mu (process.go).
	procs      *Processes
	parent     *ThreadGroup
	children   map[*ThreadGroup]struct{}
	childEvent chan struct{}
	pgid, sid  int
	exitSignal int
	execed     bool
	zombie     bool
	uid        uint32 // the real uid when it ended

	attrsOnce sync.Once
	attrs     *ProcAttrs // identity and scheduling, made on first use

	// CoreDump is the core dump under way, stored once by the thread
	// that dumps (syscalls/core_dump.go); the other tasks leave their
	// registers in it as they end.
	CoreDump atomic.Value
}

// NewThreadGroup makes the first process of a new process table, with PID
// pid and no tasks yet.
func NewThreadGroup(pid int, as *mm.AddressSpace, fds *FDTable) *ThreadGroup {
	p := NewProcesses()
	p.nextID = pid
	g, _ := p.NewProcess(nil, 0)
	g.MM, g.FDs = as, fds
	return g
}

func newThreadGroup(p *Processes, pid int) *ThreadGroup {
	return &ThreadGroup{
		PID:        pid,
		Signals:    &SignalHandlers{},
		Limits:     DefaultLimits(),
		tasks:      map[int]*Task{},
		dying:      make(chan struct{}),
		gone:       make(chan struct{}),
		procs:      p,
		children:   map[*ThreadGroup]struct{}{},
		childEvent: make(chan struct{}),
	}
}

// Processes is the table the process belongs to.
func (g *ThreadGroup) Processes() *Processes { return g.procs }

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
	doomed    atomic.Bool   // another thread execs: end (KillOthers)
	sleep     atomic.Uint32 // 'S' or 'D' while it sleeps in a call (SetSleeping)

	// cpu reads how much processor time the task has used (SetCPUClock);
	// others read it, for /proc and getrusage.
	cpu atomic.Pointer[CPUClock]

	// Guarded by Group.Signals.mu.
	mask        uint64
	realBlocked uint64 // the mask before UnblockForWait, while it waits
	pending     sigQueue
	kick        func()

	savedMask    uint64 // the task's own thread only
	hasSavedMask bool
}

// NewTask adds a task to the group; the first task gets TID == PID, the
// others fresh ids from the process table.
func (g *ThreadGroup) NewTask() (*Task, bool) {
	p := g.procs
	p.mu.Lock()
	defer p.mu.Unlock()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.exiting || g.zombie {
		return nil, false
	}
	tid := g.PID
	if p.tasks[tid] != nil || len(g.tasks) > 0 {
		tid = p.allocID()
	}
	t := &Task{TID: tid, Group: g, interrupt: make(chan struct{}, 1)}
	g.tasks[t.TID] = t
	p.tasks[t.TID] = t
	return t, true
}

// Exit removes the task; it reports whether it was the last one, in which
// case the group exits with code (exit(2) of the last thread ends the
// process, as on Linux).
func (t *Task) Exit(code int) (last bool) {
	g := t.Group
	used := t.CPUTime() // while its CPU still runs it
	t.cpu.Store(nil)
	g.procs.mu.Lock()
	delete(g.procs.tasks, t.TID)
	g.procs.mu.Unlock()
	g.mu.Lock()
	delete(g.tasks, t.TID)
	g.endedCPU = g.endedCPU.Add(used)
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
// Every task is kicked out of guest code, to end at its next return.
func (g *ThreadGroup) ExitGroup(s ExitStatus) {
	g.mu.Lock()
	if g.exiting {
		g.mu.Unlock()
		return
	}
	g.exiting, g.status = true, s
	close(g.dying)
	tasks := make([]*Task, 0, len(g.tasks))
	for _, t := range g.tasks {
		tasks = append(tasks, t)
	}
	g.mu.Unlock()
	g.Signals.mu.Lock()
	for _, t := range tasks {
		t.wakeLocked()
	}
	g.Signals.mu.Unlock()
}

// Kill ends the group for a SIGKILL sent to it (kill, tgkill, a limit),
// and keeps who sent it for the report of the death: no thread of the
// process sees a SIGKILL, so none can describe it as it does the other
// fatal signals.
func (g *ThreadGroup) Kill(info SigInfo) {
	g.mu.Lock()
	if !g.exiting {
		g.killedBy = &info
	}
	g.mu.Unlock()
	g.ExitGroup(ExitStatus{Signal: int(unix.SIGKILL)})
}

// KilledBy is the SIGKILL that ended the group, when Kill ended it (not
// when a timeout or a machine failure did, which say so themselves).
func (g *ThreadGroup) KilledBy() (SigInfo, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.killedBy == nil || g.status.Signal != int(unix.SIGKILL) {
		return SigInfo{}, false
	}
	return *g.killedBy, true
}

// Exiting reports whether the group has started to exit.
// It is on every syscall's way back to the guest, so it takes no lock:
// dying is closed exactly when exiting is set.
func (g *ThreadGroup) Exiting() bool {
	select {
	case <-g.dying:
		return true
	default:
		return false
	}
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

// Task states as /proc/PID/stat shows them (fs/proc/array.c).
const (
	TaskRunning  = 'R'
	TaskSleeping = 'S' // interruptible: a signal ends the wait
	TaskDiskWait = 'D' // uninterruptible (Linux's killable waits, vfork)
	TaskStopped  = 'T'
	TaskZombie   = 'Z'
)

// SetSleeping marks the task as waiting in a call in state (TaskSleeping
// or TaskDiskWait), or running again with 0; harnesses poll /proc for
// "the child sleeps" before they signal it.
func (t *Task) SetSleeping(state byte) { t.sleep.Store(uint32(state)) }

// State is the task's state letter for /proc: stopped by job control,
// sleeping in a call, or running (in guest code or a call's work).
func (t *Task) State() byte {
	if _, stopped := t.Group.Stopped(); stopped {
		return TaskStopped
	}
	if s := t.sleep.Load(); s != 0 {
		return byte(s)
	}
	return TaskRunning
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
