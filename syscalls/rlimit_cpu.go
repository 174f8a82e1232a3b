package syscalls

import (
	"sync"
	"time"

	"github.com/rumpgo/rumpgo/posix"
	"golang.org/x/sys/unix"
)

// RLIMIT_CPU, as Linux's check_process_timers enforces it: once the
// process has used its soft limit of CPU seconds it gets SIGXCPU, and the
// soft limit moves one second on (another SIGXCPU a second later) until
// the hard limit, where it gets SIGKILL. A process's CPU time is the sum
// of its threads' host CPU clocks (each guest thread runs on a host thread
// of its own), those that ended included.

// procCPU is the CPU accounting of one process.
type procCPU struct {
	mu       sync.Mutex
	threads  map[*Thread]struct{}
	ended    time.Duration // CPU time of threads that left
	watching bool          // a watchdog goroutine runs
}

var procCPUs sync.Map // *posix.ThreadGroup -> *procCPU

func cpuOf(g *posix.ThreadGroup) *procCPU {
	if p, ok := procCPUs.Load(g); ok {
		return p.(*procCPU)
	}
	p, _ := procCPUs.LoadOrStore(g, &procCPU{threads: map[*Thread]struct{}{}})
	return p.(*procCPU)
}

// cpuJoin counts t's CPU time in its process's, and starts the watchdog
// when the process has a CPU limit (a forked child inherits one).
func (t *Thread) cpuJoin() {
	p := cpuOf(t.Task.Group)
	p.mu.Lock()
	p.threads[t] = struct{}{}
	p.mu.Unlock()
	t.watchCPULimit()
}

// cpuLeave keeps the CPU time of a thread that ends.
func (t *Thread) cpuLeave() {
	g := t.Task.Group
	p := cpuOf(g)
	p.mu.Lock()
	if _, ok := p.threads[t]; ok {
		delete(p.threads, t)
		if t.cpu != nil {
			p.ended += t.cpu.CPUTime()
		}
	}
	p.mu.Unlock()
}

// used is the process's CPU time.
func (p *procCPU) used() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	d := p.ended
	for th := range p.threads {
		if th.cpu != nil {
			d += th.cpu.CPUTime()
		}
	}
	return d
}

// watchCPULimit starts the process's watchdog if it has a finite
// RLIMIT_CPU and none runs yet.
func (t *Thread) watchCPULimit() {
	g := t.Task.Group
	if g.Limits == nil || g.Limits.Get(unix.RLIMIT_CPU).Cur == posix.RLIM_INFINITY {
		return
	}
	p := cpuOf(g)
	p.mu.Lock()
	if p.watching {
		p.mu.Unlock()
		return
	}
	p.watching = true
	p.mu.Unlock()
	go cpuWatchdog(g, p)
}

// cpuWatchdog sends SIGXCPU and SIGKILL as the process's CPU time passes
// its limits; it ends with the process.
func cpuWatchdog(g *posix.ThreadGroup, p *procCPU) {
	defer procCPUs.Delete(g)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-g.Dying():
			return
		case <-tick.C:
		}
		lim := g.Limits.Get(unix.RLIMIT_CPU)
		if lim.Cur == posix.RLIM_INFINITY {
			continue // raised to unlimited since: nothing to watch
		}
		secs := uint64(p.used() / time.Second)
		switch {
		case lim.Max != posix.RLIM_INFINITY && secs >= lim.Max:
			g.Send(posix.SigInfo{Signo: int32(unix.SIGKILL), Code: posix.SI_KERNEL})
			return
		case secs >= lim.Cur:
			g.Send(posix.SigInfo{Signo: int32(unix.SIGXCPU), Code: posix.SI_KERNEL})
			lim.Cur++ // the next SIGXCPU a second later, as Linux moves rlim_cur
			g.Limits.Set(unix.RLIMIT_CPU, lim, true)
		}
	}
}
