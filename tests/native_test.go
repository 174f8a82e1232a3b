package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

var (
	nativeOnce sync.Once
	nativeErr  string
)

// requireNativeGuests skips tests whose guests need the CPU itself (every Go
// binary uses SSE) when the host's KVM only emulates guest instructions, as
// this project's PVM hosts do today. `rumpgo doctor` makes the same probe, and
// .ci/run prints it, so the skip is always visible in the log.
func requireNativeGuests(t *testing.T) {
	t.Helper()
	requireKVM(t)
	nativeOnce.Do(func() {
		out, _ := exec.Command(requireRumpgo(t), "doctor").CombinedOutput()
		if !strings.Contains(string(out), "native execution: yes") {
			nativeErr = strings.TrimSpace(string(out))
		}
	})
	if nativeErr != "" {
		t.Skipf("needs a KVM that executes guest code natively; `rumpgo doctor` says:\n%s", nativeErr)
	}
}

// asmProgram assembles testdata/asmhello: a static program without libc or
// SSE, which runs even where KVM emulates every guest instruction.
func asmProgram(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"as", "ld"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("needs binutils (%s): %v", tool, err)
		}
	}
	dir := t.TempDir()
	obj, bin := filepath.Join(dir, "hello.o"), filepath.Join(dir, "asmhello")
	src := filepath.Join(moduleRoot, "tests", "testdata", "asmhello", "hello.S")
	out, err := exec.Command("as", "--64", "-o", obj, src).CombinedOutput()
	require.NoError(t, err, "%s", out)
	out, err = exec.Command("ld", "-static", "-o", bin, obj).CombinedOutput()
	require.NoError(t, err, "%s", out)
	return bin
}

func TestDifferentialAsm(t *testing.T) {
	requireKVM(t)
	rumpgo := requireRumpgo(t)
	bin := asmProgram(t)
	for _, args := range [][]string{nil, {"a"}, {"a", "b c", "d"}} {
		native := run(t, os.Environ(), nil, append([]string{bin}, args...)...)
		guest := run(t, os.Environ(), nil, append([]string{rumpgo, "run", bin}, args...)...)
		require.Equal(t, native.stdout, guest.stdout, "stderr:\n%s", guest.stderr)
		require.Equal(t, native.status, guest.status)
		require.Equal(t, native.stderr, guest.stderr)
		require.Equal(t, 41+len(args), guest.status)
	}
}

func TestStrace(t *testing.T) {
	requireKVM(t)
	r := run(t, os.Environ(), nil, requireRumpgo(t), "run", "--strace", asmProgram(t), "x")
	require.Equal(t, 42, r.status, "stderr:\n%s", r.stderr)
	require.Equal(t, "hello from asm, argc=2\n", r.stdout)
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	require.Equal(t, []string{
		`write(1, "hello from asm, argc=", 21) = 21`,
		`write(1, "2\n", 2) = 2`,
		`exit_group(42) = ?`,
	}, lines[:3])
	require.Contains(t, lines[3], "3 syscalls")
}
