package tests

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCLinux runs testdata/clinux's groups natively and under rumpgo, as
// root and as an unprivileged user (the program drops to uid 1000 itself,
// natively as in the guest), and requires the same output: the kernel
// behaviour C test suites check.
//
// proc: task states in /proc/PID/stat and status (S for a sleeping
// child, T stopped, Z a zombie, D a vfork parent), kill of a zombie,
// /proc/PID/task/TID and /proc/TID of a thread, CPU times in stat,
// times, getrusage and wait4 (self and reaped children),
// oom_score_adj writes and their checks, the /proc/sys files and who may
// open them for writing, one kernel release in uname and /proc, sysinfo
// against meminfo, cpuinfo's hypervisor flag, the status lines (Vm*,
// Sig*), mlock in VmLck, pagemap.
//
// sys: calls that answered ENOSYS — personality, setting the clock
// (EPERM after Linux's argument checks), adjtimex's query, sethostname's
// checks, userfaultfd, readahead, sync_file_range, fadvise, fchmodat2 —
// and errnos: fsync of a pipe, waitpid(INT_MIN), mkdir of an existing
// name in an unwritable parent (EEXIST), MAP_SHARED_VALIDATE; RLIMIT_FSIZE
// for write, pwrite and truncate (EFBIG, SIGXFSZ).
//
// others: sched_*, setpriority/getpriority (process and group),
// sched_setaffinity/getaffinity, rt_sigqueueinfo and kill aimed at a
// child, and at another user's process by an unprivileged one.
//
// signals: core dumps as core_pattern and RLIMIT_CORE say (the file and
// the wait status's core bit, none when not dumpable or for SIGTERM),
// SA_RESETHAND resetting only the handler, SIGSEGV (catchable) for a
// frame that cannot be written, RLIMIT_SIGPENDING; a child's crash puts
// no report on the guest's stderr.
func TestCLinux(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	bin := cProgram(t, "clinux")
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"proc", []string{"proc"}},
		{"proc as user", []string{"proc", "user"}},
		{"sys", []string{"sys"}},
		{"sys as user", []string{"sys", "user"}},
		{"others", []string{"others"}},
		{"others as user", []string{"others", "user"}},
		{"signals", []string{"signals"}},
		{"signals as user", []string{"signals", "user"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			native := run(t, os.Environ(), nil, append([]string{bin}, tc.args...)...)
			require.Equal(t, 0, native.status, "native stderr:\n%s", native.stderr)
			guest := run(t, os.Environ(), nil, append([]string{rumpgo, "run", bin}, tc.args...)...)
			require.Equal(t, native.stdout, guest.stdout, "rumpgo stderr:\n%s", guest.stderr)
			require.Equal(t, native.status, guest.status, "rumpgo stderr:\n%s", guest.stderr)
			require.NotContains(t, guest.stderr, "rumpgo:", "children's deaths are their parent's business")
		})
	}
}

// TestSysctlWrites checks what a root guest may set for itself and reads
// back, which no test may do natively (the host's values): sysctls,
// oom_score_adj below zero, the host name through /proc and sethostname.
func TestSysctlWrites(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	script := `echo '|/bin/false %p' > /proc/sys/kernel/core_pattern && cat /proc/sys/kernel/core_pattern &&
echo 1 > /proc/sys/vm/overcommit_memory && cat /proc/sys/vm/overcommit_memory &&
echo 32768 > /proc/sys/kernel/pid_max && cat /proc/sys/kernel/pid_max &&
(echo nonsense > /proc/sys/kernel/pid_max || echo refused) &&
echo -1000 > /proc/self/oom_score_adj && cat /proc/self/oom_score_adj &&
echo guesthost > /proc/sys/kernel/hostname && uname -n && hostname other && cat /proc/sys/kernel/hostname`
	r := run(t, os.Environ(), nil, rumpgo, "run", busyboxStatic, "sh", "-c", script)
	require.Equal(t, 0, r.status, r.stderr)
	require.Equal(t, "|/bin/false %p\n1\n32768\nrefused\n-1000\nguesthost\nother\n", r.stdout, r.stderr)
}
