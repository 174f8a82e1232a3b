package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestFS runs tests/testdata/fsops — every file-system call on a fresh
// directory under /tmp, path-resolution edge cases, locks, FIFOs, copies,
// file mappings, /proc/self, /dev and bad pointers — natively and under
// rumpgo, and requires the same output.
func TestFS(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	bin := program(t, "fsops")
	native := run(t, os.Environ(), nil, bin, "arg1")
	require.Equal(t, 0, native.status, "native run: %s", native.stderr)
	for _, kernel := range kernelPaths() {
		guest := run(t, os.Environ(), nil, rumpgo, "run", "--kernel", kernel, bin, "arg1")
		require.Equal(t, native.status, guest.status, "--kernel %s: rumpgo stderr:\n%s", kernel, guest.stderr)
		requireSameLines(t, native.stdout, guest.stdout)
	}
}

// requireSameLines compares outputs line by line, so a difference names
// the call that differs.
func requireSameLines(t *testing.T, want, got string) {
	t.Helper()
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) && i < len(g); i++ {
		require.Equal(t, w[i], g[i], "line %d differs (native first)", i+1)
	}
	require.Equal(t, len(w), len(g), "line counts differ:\nnative:\n%s\nrumpgo:\n%s", want, got)
}

// TestFSExecutable checks what a program learns about itself and its
// surroundings at start: os.Executable, the working directory, /etc.
func TestFSExecutable(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	bin := program(t, "fsops")
	dir := t.TempDir()
	copied := filepath.Join(dir, "prog")
	b, err := os.ReadFile(bin)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(copied, b, 0o755))
	guest := run(t, os.Environ(), nil, rumpgo, "run", copied, "x")
	require.Equal(t, 0, guest.status, guest.stderr)
	require.Contains(t, guest.stdout, "exe matches argv0 path: true")
	require.Contains(t, guest.stdout, "cwd link matches: true")
}
