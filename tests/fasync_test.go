package tests

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// What nginx's master and worker processes exposed (issue 20), each run
// natively and under rumpgo with the same output.

// TestFcntlOwner: fcntl F_SETOWN, F_GETOWN, F_SETOWN_EX, F_GETOWN_EX,
// F_SETSIG and F_GETSIG on a socketpair as nginx sets its channels
// (EINVAL before, which nginx's master logged once per worker), their
// errors (ESRCH, EINVAL, EFAULT, EBADF), the owner shared by a dup, and
// O_ASYNC's signal on input: SIGIO with SI_KERNEL, the F_SETSIG signal
// with POLL_IN, the band and si_fd, none once O_ASYNC is cleared or with
// no owner, and one for a child's write.
func TestFcntlOwner(t *testing.T) {
	need(t, "gcc", "gcc")
	rumpgo := requireRumpgo(t)
	prog := filepath.Join(cBuild(t, "cfasync", cmdOf("gcc", "-O1", "-Wall", "-o", "prog",
		filepath.Join(moduleRoot, "tests/testdata/cfasync/main.c"))), "prog")
	n := run(t, nil, nil, prog)
	require.Equal(t, 0, n.status, n.stderr)
	require.Contains(t, n.stdout, "F_SETSIG SIGUSR1, a write: SIGUSR1 code 1 band 0x41 fd the file's\n")
	requireNativeGuests(t)
	g := run(t, os.Environ(), nil, rumpgo, "run", prog)
	require.Equal(t, 0, g.status, g.stderr)
	require.Equal(t, n.stdout, g.stdout)
}

// TestReopenStdio: /dev/stdout, /dev/stderr and /dev/stdin (symlinks to
// /proc/self/fd/N) open again when they are pipes, as nginx -e
// /dev/stdout and shells' >/dev/stderr do (ENXIO before).
func TestReopenStdio(t *testing.T) {
	rumpgo := requireRumpgo(t)
	script := `echo to-stdout >/dev/stdout && echo to-stderr >/dev/stderr && cat /dev/stdin && cat /proc/self/fd/0; echo status $?`
	n := run(t, nil, []byte("from stdin\n"), busyboxStatic, "sh", "-c", script)
	require.Equal(t, 0, n.status, n.stderr)
	require.Equal(t, "to-stdout\nfrom stdin\nstatus 0\n", n.stdout)
	requireKVM(t)
	g := run(t, os.Environ(), []byte("from stdin\n"), rumpgo, "run", busyboxStatic, "sh", "-c", script)
	require.Equal(t, n.status, g.status, g.stderr)
	require.Equal(t, n.stdout, g.stdout)
	require.Equal(t, n.stderr, g.stderr)
}
