package syscalls

import (
	"fmt"
	"sync"
	"time"

	"github.com/rumpgo/rumpgo/posix"
	"golang.org/x/sys/unix"
)

// RLIMIT_CPU, as Linux's check_process_timers enforces it: once the
// process has used its soft limit of CPU seconds it gets SIGXCPU, and the
// soft limit moves one second on (another SIGXCPU a second later) until
// the hard limit, where it gets SIGKILL. The process's CPU time is posix's
// (ThreadGroup.CPUTotal: its live and ended threads'), the same clock
// CLOCK_PROCESS_CPUTIME_ID and getrusage read.

// cpuWatched holds the processes a watchdog goroutine watches.
var cpuWatched sync.Map // *posix.ThreadGroup -> struct{}

// watchCPULimit starts the process's watchdog if it has a finite
// RLIMIT_CPU and none runs yet (a forked child inherits the limit and
// starts its own when its first thread attaches).
func (t *Thread) watchCPULimit() {
	g := t.Task.Group
	if g.Limits == nil || g.Limits.Get(unix.RLIMIT_CPU).Cur == posix.RLIM_INFINITY {
		return
	}
	if _, running := cpuWatched.LoadOrStore(g, struct{}{}); running {
		return
	}
	go cpuWatchdog(g)
}

// cpuWatchdog sends SIGXCPU and SIGKILL as the process's CPU time passes
// its limits; it ends with the process.
func cpuWatchdog(g *posix.ThreadGroup) {
	defer cpuWatched.Delete(g)
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
		secs := uint64(g.CPUTotal() / time.Second)
		switch {
		case lim.Max != posix.RLIM_INFINITY && secs >= lim.Max:
			killReasons.Store(g, fmt.Sprintf("its CPU time (%d s) reached RLIMIT_CPU's hard limit", secs))
			g.Send(posix.SigInfo{Signo: int32(unix.SIGKILL), Code: posix.SI_KERNEL})
			return
		case secs >= lim.Cur:
			g.Send(posix.SigInfo{Signo: int32(unix.SIGXCPU), Code: posix.SI_KERNEL})
			lim.Cur++ // the next SIGXCPU a second later, as Linux moves rlim_cur
			g.Limits.Set(unix.RLIMIT_CPU, lim, true)
		}
	}
}
