package syscalls

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/rumpglue"
	"golang.org/x/sys/unix"
)

// Kernel is the emulation state of one machine: what every thread's calls
// share.
type Kernel struct {
	Machine rumpglue.Machine
	// Procs is the machine's process table.
	Procs *posix.Processes
	// Loader builds programs for execve; nil answers ENOEXEC... see sys_exec.go.
	Loader Loader
	Info   SystemInfo
	// Strace, when set, receives one line per syscall in strace's format.
	Strace io.Writer
	// Crashes receives a one-line report when the guest dies of a signal or
	// the machine fails; nil discards them.
	Crashes io.Writer
	// Images are the ELFs the monitor loaded (program, interpreter), for
	// the backtrace of a crash report (crash_report.go).
	Images []Image
	// Core, when set, receives an ELF core file when the guest dies of a
	// core-dumping signal (--core, core_dump.go).
	Core CoreFile
	// CorePattern, when set, says where the guest's own core dumps go:
	// its kernel.core_pattern and kernel.core_uses_pid (core_guest.go).
	CorePattern func() (pattern string, usesPID bool)
	// Clock, when set, answers the clock system calls and the timers'
	// clocks from the same source as the guest's vDSO page
	// (libc/vdso.Clock), so the two paths agree; nil reads the host's.
	Clock Clock
	auxv  []byte // the initial auxv, for the core file's NT_AUXV (SaveAuxv)

	futexes *posix.Futexes // keyed by futexKey (sys_thread.go)

	fasync fasyncs // file owners and O_ASYNC (sys_fasync.go)

	shmOnce sync.Once
	shm     *sysvShm // System V shared memory segments (sys_shm.go)
	semOnce sync.Once
	sem     *sysvSem // System V semaphore sets (sys_sem.go)
	msgOnce sync.Once
	msg     *sysvMsg // System V message queues (sys_msg.go)

	timersMu   sync.Mutex
	procTimers map[*posix.ThreadGroup]*timers // sys_timer.go

	utsOnce sync.Once
	utsName *utsName // sys_uts.go

	fs      *FS      // file systems (fs.go)
	net     *Network // sockets (sys_socket.go)
	netOnce sync.Once

	straceMu sync.Mutex
	stats    stats
	times    timings                     // time per syscall (timing.go)
	threads  threadSet                   // live threads, for observers (inspect.go)
	symCache symCache                    // parsed ELFs, for symbolizers (inspect.go)
	debugger atomic.Pointer[debuggerBox] // debug.go
	failure  atomic.Pointer[error]
}

// SystemInfo is what uname, getrandom and friends report about the machine.
type SystemInfo struct {
	Hostname string
	Release  string // uname -r
	CPUs     int
	MemBytes uint64
	UID, GID uint32    // the guest's user (--user); its groups are [GID]
	Comm     string    // the first thread's name: the program's base name
	Boot     time.Time // when the machine booted, for sysinfo and times
}

type stats struct {
	calls  atomic.Uint64
	mu     sync.Mutex
	enosys map[uint64]uint64
}

// NewKernel returns a kernel for machine m.
func NewKernel(m rumpglue.Machine, info SystemInfo) *Kernel {
	return &Kernel{Machine: m, Procs: posix.NewProcesses(), futexes: posix.NewFutexes(), Info: info, stats: stats{enosys: map[uint64]uint64{}}}
}

// Unsupported lists the unimplemented syscalls the guest made, with counts,
// for the exit summary ("name×count"), or nil.
func (k *Kernel) Unsupported() []string {
	k.stats.mu.Lock()
	defer k.stats.mu.Unlock()
	var out []string
	for nr, n := range k.stats.enosys {
		out = append(out, fmt.Sprintf("%s×%d", Name(nr), n))
	}
	sort.Strings(out)
	return out
}

// countUnsupported records an ENOSYS for a call (or a variant of one) that
// is not implemented, for the exit summary.
func (k *Kernel) countUnsupported(nr uint64) {
	k.stats.mu.Lock()
	k.stats.enosys[nr]++
	k.stats.mu.Unlock()
}

// Calls is how many syscalls the guest made.
func (k *Kernel) Calls() uint64 {
	return k.stats.calls.Load()
}

// Failure is the machine failure that ended the guest, if any.
func (k *Kernel) Failure() error {
	if p := k.failure.Load(); p != nil {
		return *p
	}
	return nil
}

// Thread is one guest thread: a posix task on a CPU of the machine.
type Thread struct {
	K    *Kernel
	Task *posix.Task
	cpu  rumpglue.CPU
	gone bool // the task exited: release the CPU
	left bool // the task has left its group (leave)

	fault     *rumpglue.Fault   // the fault being turned into a signal, for sigcontext
	faultDesc string            // what it was, for a crash report
	debugSeen int32             // a fault's signal the debugger already saw (debug.go)
	call      call              // the syscall being returned from
	held      []*posix.OpenFile // files the call in progress holds (file)
	initFPU   []byte            // the XSAVE image a clone child starts with (childThread)
	insp      inspection        // what observers see (inspect.go)
}

// NewThread binds task to the kernel.
func (k *Kernel) NewThread(task *posix.Task) *Thread { return &Thread{K: k, Task: task} }

// childThread is the Thread of a task t's clone made: it starts with t's
// FPU, SSE and AVX state (MXCSR's rounding mode and flush-to-zero, x87
// control word), as Linux's fork copies the parent's fpstate.
func (t *Thread) childThread(task *posix.Task) *Thread {
	c := t.K.NewThread(task)
	buf := make([]byte, xsaveMax)
	if n, err := t.cpu.ExtendedState(buf); err == nil && n > 0 {
		c.initFPU = buf
	}
	return c
}

// Syscall implements rumpglue.Thread.
func (t *Thread) Syscall(cpu rumpglue.CPU) rumpglue.Resume {
	t.cpu = cpu
	t.dispatch(cpu.Regs())
	return t.Finish(cpu)
}

// dispatch runs the call in r and leaves its result in t.call.
func (t *Thread) dispatch(r *rumpglue.Regs) {
	nr := r.RAX
	a := Args{r.RDI, r.RSI, r.RDX, r.R10, r.R8, r.R9}
	e := Lookup(nr)
	var ret uint64
	var errno unix.Errno
	k := t.K
	t.enterCall(nr, r)
	start := time.Now()
	if e == nil {
		errno = unix.ENOSYS
	} else {
		ret, errno = e.fn(t, a)
	}
	k.times.record(nr, time.Since(start))
	t.leaveCall()
	t.putHeld()
	k.stats.calls.Add(1)
	// Unknown calls, and calls the table deliberately answers ENOSYS
	// (rseq), are reported; handlers count the variants they refuse.
	if e == nil || (errno == unix.ENOSYS && e.Support == Error) {
		k.countUnsupported(nr)
	}
	if errno != 0 {
		ret = negErrno(errno)
	}
	if k.Strace != nil {
		k.strace(t, nr, e, a, ret, errno)
	}
	t.call = call{nr: nr, ret: ret, errno: errno}
}

// call is a dispatched syscall on its way back to the guest.
type call struct {
	nr, ret uint64
	errno   unix.Errno
}

// Finish implements rumpglue.AwayThread: the return to guest code, where
// RAX gets the result and signals are delivered.
func (t *Thread) Finish(cpu rumpglue.CPU) rumpglue.Resume {
	t.cpu = cpu
	if t.gone {
		t.leave(0)
		return rumpglue.Stop
	}
	c := t.call
	cpu.Regs().RAX = c.ret
	t.runHooks(cpu)
	return t.deliverSignals(c.nr, c.errno)
}

// needsCPU are the calls that cannot run away from their vCPU: they set
// registers other than RAX, the FS base or FPU state, or end the thread.
var needsCPU = [maxSyscall]bool{
	unix.SYS_RT_SIGRETURN: true, unix.SYS_ARCH_PRCTL: true,
	unix.SYS_CLONE: true, unix.SYS_CLONE3: true, unix.SYS_FORK: true, unix.SYS_VFORK: true,
	unix.SYS_EXECVE: true, unix.SYS_EXECVEAT: true,
	unix.SYS_EXIT: true, unix.SYS_EXIT_GROUP: true,
	unix.SYS_RT_SIGSUSPEND: true, unix.SYS_PAUSE: true,
}

// SyscallAway implements rumpglue.AwayThread.
func (t *Thread) SyscallAway(cpu rumpglue.CPU) (handled, finish bool) {
	r := cpu.Regs()
	if r.RAX >= maxSyscall || table[r.RAX] == nil || needsCPU[r.RAX] || t.Task.SignalPending() {
		return false, false
	}
	t.cpu = cpu
	before := *r
	t.dispatch(r)
	c := t.call
	r.RAX = c.ret
	before.RAX = c.ret
	restart := c.errno == ERESTARTSYS || c.errno == ERESTARTNOINTR || c.errno == ERESTARTNOHAND || c.errno == ERESTART_RESTARTBLOCK
	return true, restart || t.gone || *r != before || t.Task.SignalPending() || t.hooksPending()
}

// Attach implements rumpglue.Thread.
func (t *Thread) Attach(cpu rumpglue.CPU) {
	t.cpu = cpu
	if t.initFPU != nil {
		cpu.SetExtendedState(t.initFPU)
		t.initFPU = nil
	}
	t.Task.SetKick(cpu.Kick)
	t.K.addThread(t)
	t.runHooks(cpu) // an observer's stop at entry (launch.Config.Observe)
	t.debugStart(cpu)
	t.Task.SetCPUClock(newTaskClock(cpu))
	t.watchCPULimit()
}

// Interrupted implements rumpglue.Thread: a kick, usually a signal for
// this thread.
func (t *Thread) Interrupted(cpu rumpglue.CPU) rumpglue.Resume {
	t.cpu = cpu
	t.runHooks(cpu)
	return t.deliverSignals(0, 0)
}

// Fault implements rumpglue.Thread: a fault the address space cannot
// resolve becomes the signal Linux would send, forced on the thread.
func (t *Thread) Fault(cpu rumpglue.CPU, f rumpglue.Fault) rumpglue.Resume {
	t.cpu = cpu
	t.runHooks(cpu)
	info, what := faultSignal(t, f, cpu.Regs().RIP)
	if info.Signo != 0 {
		if sig := t.debugFault(cpu, f, int(info.Signo)); sig == 0 {
			return t.deliverSignals(0, 0)
		} else if sig != int(info.Signo) {
			info = posix.SigInfo{Signo: int32(sig), Code: posix.SI_KERNEL}
		}
		if t.K.debugger.Load() != nil {
			t.debugSeen = info.Signo
		}
	}
	if info.Signo != 0 {
		t.fault, t.faultDesc = &f, what
		t.Task.Force(info)
	}
	res := t.deliverSignals(0, 0)
	t.fault, t.faultDesc = nil, ""
	return res
}

// Crash implements rumpglue.Thread.
func (t *Thread) Crash(cpu rumpglue.CPU, err error) {
	t.K.failure.CompareAndSwap(nil, &err)
	t.K.report("rumpgo: machine failure: %v", err)
	t.Task.Group.ExitGroup(posix.ExitStatus{Signal: int(unix.SIGKILL)})
	t.K.Machine.Stop()
}

// crashes is where a death's report goes: the crash writer for the
// process the user started; for a child (whose death is its parent's
// business, never on the guest's stderr as Linux prints nothing) the
// --strace stream, when there is one.
func (t *Thread) crashes() io.Writer {
	if t.Task.Group.PID == 1 {
		return t.K.Crashes
	}
	return t.K.Strace
}

// crashReport writes a line of a death's report (crashes).
func (t *Thread) crashReport(format string, args ...any) {
	if w := t.crashes(); w != nil {
		fmt.Fprintf(w, format+"\n", args...)
	}
}

func (k *Kernel) report(format string, args ...any) {
	if k.Crashes != nil {
		fmt.Fprintf(k.Crashes, format+"\n", args...)
	}
}

// killReasons says why the kernel itself sent a process SIGKILL (a
// limit), for ReportKill; keyed by *posix.ThreadGroup.
var killReasons sync.Map

// ReportKill writes the one-line report of the guest's death by a SIGKILL
// that was sent to it: who sent it, or why the kernel did. die writes the
// report of every other fatal signal, from the thread that takes it; no
// thread takes a SIGKILL (posix ends the process as it is sent), so the
// caller that waits for the process's end asks for this one. Nothing is
// written when no SIGKILL was sent (a timeout or a machine failure ended
// it, and say so themselves).
func (k *Kernel) ReportKill(g *posix.ThreadGroup) {
	info, ok := g.KilledBy()
	if !ok {
		return
	}
	reason, _ := killReasons.LoadAndDelete(g)
	switch {
	case reason != nil:
		k.report("rumpgo: guest killed by SIGKILL: %s", reason)
	case info.Code == posix.SI_USER || info.Code == posix.SI_TKILL:
		k.report("rumpgo: guest killed by SIGKILL (sent by pid %d)", info.PID)
	default:
		k.report("rumpgo: guest killed by SIGKILL")
	}
}

func signalName(sig int) string {
	return strings.ToUpper(unix.SignalName(unix.Signal(sig)))
}
