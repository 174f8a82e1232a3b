package tests

import (
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/require"
)

// Issue 22: calls that once crashed rumpgo (a Go panic: the whole VM
// died) or hung it where Linux returns. tests/testdata/crobust has one
// mode per defect; each runs natively and under rumpgo, and the output and
// exit status must match. A mode that would block forever on a wrong
// answer arms an alarm and prints "alarm" (exit 3) instead of hanging the
// test. docs/security.md lists them.

type robustCase struct {
	mode string
	// netns runs the native side in a network namespace of its own with
	// loopback up and ping sockets allowed (the host's lo has only ::1,
	// and ping_group_range may exclude root).
	netns bool
	// report is a line rumpgo's stderr must hold (a death's report).
	report string
}

var robustCases = []robustCase{
	// Panics.
	{mode: "icmp6-pktinfo", netns: true},
	{mode: "deleted-dir"},
	// Hangs.
	{mode: "splice-pipes"},
	{mode: "sendfile-count"},
	{mode: "pipe-close-reader"},
	{mode: "tgkill-signalfd"},
	{mode: "unix-sndtimeo"},
	{mode: "unix-zero-dgram"},
	{mode: "errqueue", netns: true},
	{mode: "sockopts", netns: true},
	{mode: "fown"},
	{mode: "waitid-nochild"},
	{mode: "rlimit-cpu"},
	{mode: "rlimit-cpu-handled", report: "rumpgo: guest killed by SIGKILL: its CPU time (2 s) reached RLIMIT_CPU's hard limit"},
	{mode: "robust"},
	{mode: "altstack-overflow"},
	// Wrong answers.
	{mode: "wuntraced"},
	{mode: "kill-perm"},
	{mode: "clone3"},
	{mode: "mxcsr"},
	{mode: "passcred"},
	{mode: "readv-max"},
	{mode: "threads"},
}

// TestRobust runs every crobust mode natively and under rumpgo.
func TestRobust(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	bin := cProgram(t, "crobust")
	for _, tc := range robustCases {
		t.Run(tc.mode, func(t *testing.T) {
			argv := []string{bin, tc.mode}
			if tc.netns {
				argv = nativeNetns(t, argv...)
			}
			native := run(t, os.Environ(), nil, argv...)
			require.NotEqual(t, 3, native.status, "natively it blocked; stdout:\n%s", native.stdout)
			// --timeout is against a hang, and above the rlimit modes'
			// alarm: their seconds of CPU take far longer on a busy host.
			r := run(t, os.Environ(), nil, rumpgo, "run", "--timeout", "90s", bin, tc.mode)
			requireNoMonitorFailure(t, r.stderr)
			require.Equal(t, native.stdout, r.stdout, "stderr:\n%s", r.stderr)
			require.Equal(t, native.status, r.status, "stderr:\n%s", r.stderr)
			if tc.report != "" {
				require.Contains(t, r.stderr, tc.report)
			}
		})
	}
}

// TestRobustUnprivileged: ptrace, new namespaces and a chosen pid answer
// what Linux answers a process without the privilege (EPERM), where
// rumpgo once answered ENOSYS and callers waited for a child that never
// stopped or started. Natively root may do all of these, so only rumpgo
// runs; the answers are the unprivileged Linux ones.
func TestRobustUnprivileged(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	bin := cProgram(t, "crobust")
	r := run(t, os.Environ(), nil, rumpgo, "run", "--timeout", "30s", bin, "noperm")
	requireNoMonitorFailure(t, r.stderr)
	require.Equal(t, 0, r.status, "stderr:\n%s", r.stderr)
	require.Equal(t, `ptrace TRACEME: EPERM
unshare CLONE_NEWUSER: EPERM
unshare CLONE_NEWNS: EPERM
clone3 CLONE_NEWPID: EPERM
clone3 set_tid: EPERM
fork with CLONE_NEWNET: EPERM
`, r.stdout)
}

// nativeNetns wraps argv to run in a new network namespace with lo up and
// ICMP ping sockets open to every group; it skips where unshare cannot
// make one.
func nativeNetns(t *testing.T, argv ...string) []string {
	t.Helper()
	if out, err := exec.Command("unshare", "-n", "true").CombinedOutput(); err != nil {
		t.Skipf("needs unshare -n for the native side: %v: %s", err, out)
	}
	script := `ip link set lo up && echo 0 2147483647 > /proc/sys/net/ipv4/ping_group_range && exec "$@"`
	return append([]string{"unshare", "-n", "sh", "-c", script, "sh"}, argv...)
}
