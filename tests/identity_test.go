package tests

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestIdentityDifferential runs testdata/identity's host-independent checks
// (limits, EMFILE, prctl, scheduling, set*id within one's own ids, EFAULT
// and EINVAL cases) natively and under rumpgo as the host's user, and
// requires the same output.
func TestIdentityDifferential(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	bin := program(t, "identity")
	user := fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid())
	native := run(t, os.Environ(), nil, bin, "diff")
	require.Equal(t, 0, native.status, "native run failed:\n%s", native.stderr)
	guest := run(t, os.Environ(), nil, rumpgo, "run", "--user", user, bin, "diff")
	require.Equal(t, 0, guest.status, "rumpgo stderr:\n%s", guest.stderr)
	require.Equal(t, native.stdout, guest.stdout)
}

// TestIdentityRoot checks the default identity: root with every capability,
// which may raise hard limits and use real-time policies, can keep root as
// its saved uid and come back, and cannot once it gives it up.
func TestIdentityRoot(t *testing.T) {
	requireNativeGuests(t)
	r := run(t, os.Environ(), nil, requireRumpgo(t), "run", program(t, "identity"), "root")
	require.Equal(t, 0, r.status, "stderr:\n%s", r.stderr)
	requireIdentityLines(t, r.stdout,
		"uid 0 gid 0",
		"groups: [0]",
		"caps: ok eff 0x1ffffffffff prm 0x1ffffffffff",
		"PR_CAPBSET_READ 24: 1",
		"stack: 8388608 true",
		"raise nofile hard: ok",
		"sched_setscheduler FIFO 10: 0",
		"priority: 10",
		"FIFO interval: 0 0",
		"RR interval: 0 100000000",
		"getpriority: 25",
		"umask: 18", // 022
		"setresuid 1000 1000 0: 0",
		"caps: ok eff 0x000000000 prm 0x1ffffffffff",
		"euid 0",
		"resuid: 1000 1000 1000",
		"resgid: 1000 1000 1000",
		"caps: ok eff 0x000000000 prm 0x000000000",
		"setuid 0: EPERM",
		"PR_GET_DUMPABLE: 0",
		"raise nofile hard: EPERM",
	)
}

// TestIdentityUser checks --user 1000:1000: no capabilities, so only moves
// among its own ids succeed.
func TestIdentityUser(t *testing.T) {
	requireNativeGuests(t)
	r := run(t, os.Environ(), nil, requireRumpgo(t), "run", "--user", "1000:1000", program(t, "identity"), "user")
	require.Equal(t, 0, r.status, "stderr:\n%s", r.stderr)
	require.Equal(t, `uid 1000 euid 1000 gid 1000 egid 1000
groups: [1000]
caps: ok eff 0x000000000 prm 0x000000000
setuid 0: EPERM
setuid 1000: 0
setgid 0: EPERM
setgroups: EPERM
setreuid -1 0: EPERM
setresuid 1000 1000 1000: 0
setresgid 0 -1 -1: EPERM
setfsuid 0: 1000
setfsuid -1: 1000
raise nofile hard: EPERM
lower nofile hard: ok
raise it back: EPERM
setpriority -1: EACCES
setpriority 5: 0
setpriority 0: EACCES
sched_setscheduler FIFO 10: EPERM
sched_setscheduler IDLE: 0
sched_setscheduler OTHER: EPERM
PR_CAPBSET_DROP: EPERM
capset raise: EPERM
`, r.stdout)
}

func TestIdentityBadUserFlag(t *testing.T) {
	for _, u := range []string{"root", "1000:", "-1", "4294967295", "1:2:3"} {
		r := run(t, os.Environ(), nil, requireRumpgo(t), "run", "--user", u, "/bin/true")
		require.Equal(t, 125, r.status, "--user %s", u)
		require.Contains(t, r.stderr, "rumpgo: --user", "--user %s", u)
	}
}

// requireIdentityLines requires each line to appear in out, in order.
func requireIdentityLines(t *testing.T, out string, lines ...string) {
	t.Helper()
	rest := out
	for _, l := range lines {
		i := strings.Index(rest, l+"\n")
		require.GreaterOrEqual(t, i, 0, "missing (in order) %q in:\n%s", l, out)
		rest = rest[i+len(l)+1:]
	}
}
