package posix

import "time"

// CPUTimes is processor time split as rusage and /proc split it: in user
// mode and in the kernel (here: in the guest's code and in the monitor's
// handling of its calls, as the host accounted them).
type CPUTimes struct{ User, System time.Duration }

// Add returns the sum.
func (c CPUTimes) Add(o CPUTimes) CPUTimes {
	return CPUTimes{User: c.User + o.User, System: c.System + o.System}
}

// CPUClock reads a task's processor time; any goroutine may call it.
type CPUClock interface {
	// Total is the time used, cheaply (clock_gettime's CPU clocks).
	Total() time.Duration
	// Split is the time used as user and system time.
	Split() CPUTimes
}

// SetCPUClock sets how the task's processor time is read, when its thread
// starts on a CPU.
func (t *Task) SetCPUClock(clock CPUClock) { t.cpu.Store(&clock) }

// CPUTime is the processor time the task has used, zero without a clock.
func (t *Task) CPUTime() CPUTimes {
	if c := t.cpu.Load(); c != nil {
		return (*c).Split()
	}
	return CPUTimes{}
}

// CPUTotal is CPUTime's sum, for the CPU clocks.
func (t *Task) CPUTotal() time.Duration {
	if c := t.cpu.Load(); c != nil {
		return (*c).Total()
	}
	return 0
}

// CPUTime is the processor time of the process: its live tasks' and its
// ended tasks' (RUSAGE_SELF, times' tms_utime).
func (g *ThreadGroup) CPUTime() CPUTimes {
	g.mu.Lock()
	sum := g.endedCPU
	tasks := make([]*Task, 0, len(g.tasks))
	for _, t := range g.tasks {
		tasks = append(tasks, t)
	}
	g.mu.Unlock()
	for _, t := range tasks {
		sum = sum.Add(t.CPUTime())
	}
	return sum
}

// ChildrenCPUTime is the processor time of the children the process has
// waited for, and of theirs (RUSAGE_CHILDREN, tms_cutime): a child only
// counts once reaped, as on Linux.
func (g *ThreadGroup) ChildrenCPUTime() CPUTimes {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.childCPU
}

// CPUTotal is CPUTime's sum, for CLOCK_PROCESS_CPUTIME_ID.
func (g *ThreadGroup) CPUTotal() time.Duration {
	g.mu.Lock()
	sum := g.endedCPU.User + g.endedCPU.System
	tasks := make([]*Task, 0, len(g.tasks))
	for _, t := range g.tasks {
		tasks = append(tasks, t)
	}
	g.mu.Unlock()
	for _, t := range tasks {
		sum += t.CPUTotal()
	}
	return sum
}
