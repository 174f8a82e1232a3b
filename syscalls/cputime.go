package syscalls

import (
	"bytes"
	"encoding/binary"
	"os"
	"strconv"
	"time"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/rumpglue"
	"golang.org/x/sys/unix"
)

// taskClock is a task's processor time, read from the CPU that runs it:
// the CPU's clock since the task started on it (a CPU runs one task at a
// time, but is reused). The host's accounting of the CPU's thread splits
// it into user and system time; the split is read from the host's
// /proc/self/task/TID/stat (in ticks) only when asked.
type taskClock struct {
	cpu               rumpglue.CPU
	tid               int
	base              time.Duration
	baseUser, baseSys int64
}

// newTaskClock runs on the CPU's own thread, when the task starts there.
func newTaskClock(cpu rumpglue.CPU) *taskClock {
	c := &taskClock{cpu: cpu, tid: unix.Gettid(), base: cpu.CPUTime()}
	c.baseUser, c.baseSys = hostThreadTicks(c.tid)
	return c
}

func (c *taskClock) Total() time.Duration { return max(c.cpu.CPUTime()-c.base, 0) }

func (c *taskClock) Split() posix.CPUTimes {
	total := c.Total()
	u, s := hostThreadTicks(c.tid)
	u, s = u-c.baseUser, s-c.baseSys
	var sys time.Duration
	if u >= 0 && s > 0 {
		sys = time.Duration(float64(total) * float64(s) / float64(u+s))
	}
	return posix.CPUTimes{User: total - sys, System: sys}
}

// hostThreadTicks reads utime and stime (fields 14 and 15) of a thread of
// this host process, or zeros.
func hostThreadTicks(tid int) (user, sys int64) {
	b, err := os.ReadFile("/proc/self/task/" + strconv.Itoa(tid) + "/stat")
	if err != nil {
		return 0, 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0
	}
	f := bytes.Fields(b[i+1:]) // from field 3
	if len(f) < 13 {
		return 0, 0
	}
	user, _ = strconv.ParseInt(string(f[11]), 10, 64)
	sys, _ = strconv.ParseInt(string(f[12]), 10, 64)
	return user, sys
}

// putRusage encodes struct rusage with the times given (ru_utime,
// ru_stime); the counters not kept are zero.
func putRusage(c posix.CPUTimes, maxrss int64) []byte {
	b := make([]byte, rusageSize)
	le := binary.LittleEndian
	le.PutUint64(b[0:], uint64(c.User/time.Second))
	le.PutUint64(b[8:], uint64(c.User%time.Second/time.Microsecond))
	le.PutUint64(b[16:], uint64(c.System/time.Second))
	le.PutUint64(b[24:], uint64(c.System%time.Second/time.Microsecond))
	le.PutUint64(b[32:], uint64(maxrss))
	return b
}

// clockTicks is a duration in USER_HZ ticks, as times and /proc count.
func clockTicks(d time.Duration) uint64 { return uint64(d / (time.Second / USER_HZ)) }
