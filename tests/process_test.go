package tests

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// Processes: fork, vfork, execve and wait, from C, from Go's os/exec and
// from a shell, each run natively and under rumpgo with the same output
// and exit status; and a fork bomb held at --pids. All of it on both
// --kernel paths: under the guest kernel every process has a root pair
// of its own (kernel.Machine.NewSpace).

func TestProcesses(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	for _, tc := range []struct {
		name string
		bin  func(t *testing.T) string
	}{
		{"C fork, execve, wait", func(t *testing.T) string { return cProgram(t, "cprocess") }},
		{"Go os/exec", func(t *testing.T) string { return program(t, "goexec") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin := tc.bin(t)
			native := run(t, os.Environ(), nil, bin)
			for _, kernel := range kernelPaths() {
				guest := run(t, os.Environ(), nil, rumpgo, "run", "--kernel", kernel, bin)
				require.Equal(t, native.stdout, guest.stdout, "--kernel %s: rumpgo stderr:\n%s", kernel, guest.stderr)
				require.Equal(t, native.status, guest.status, "--kernel %s: rumpgo stderr:\n%s", kernel, guest.stderr)
				require.Equal(t, native.stderr, guest.stderr, "--kernel %s", kernel)
			}
		})
	}
}

// TestShell runs busybox sh: pipelines, command substitution and
// subshells fork, and applets run through /proc/self/exe.
func TestShell(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	if _, err := os.Stat(busyboxStatic); err != nil {
		t.Fatalf("needs %s (apt-get install busybox-static): %v", busyboxStatic, err)
	}
	for _, script := range []string{
		"echo a b | wc -w",
		`x=$(echo hi); echo "got $x"; false || echo fallback; (exit 3); echo "subshell said $?"`,
		"for i in 1 2 3; do echo $i; done | sort -r | head -n 2",
		"sh -c 'exit 4'; echo inner $?; kill -TERM $$",
		"echo to stderr >&2; exit 5",
	} {
		t.Run(script, func(t *testing.T) {
			native := run(t, os.Environ(), nil, busyboxStatic, "sh", "-c", script)
			for _, kernel := range kernelPaths() {
				guest := run(t, os.Environ(), nil, rumpgo, "run", "--kernel", kernel, busyboxStatic, "sh", "-c", script)
				require.Equal(t, native.stdout, guest.stdout, "--kernel %s: rumpgo stderr:\n%s", kernel, guest.stderr)
				require.Equal(t, native.status, guest.status, "--kernel %s: rumpgo stderr:\n%s", kernel, guest.stderr)
			}
		})
	}
}

// TestForkBomb forks until --pids stops it: fork fails with EAGAIN, the
// children are killed and reaped, and rumpgo exits normally. (Not run
// natively: there the host's limit is the host's.)
func TestForkBomb(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	bin := cProgram(t, "cprocess")
	for _, kernel := range kernelPaths() {
		guest := run(t, os.Environ(), nil, rumpgo, "run", "--kernel", kernel, "--pids", "12", bin, "bomb", "1000")
		require.Equal(t, 0, guest.status, "--kernel %s: %s", kernel, guest.stderr)
		require.Equal(t, "fork failed after some children: Resource temporarily unavailable\nreaped them all\n", guest.stdout, "--kernel %s", kernel)
	}
}
