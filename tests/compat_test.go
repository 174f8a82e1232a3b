package tests

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Issue 7: `go test -exec "rumpgo run --test"` and the compat runner.

// goTestExec runs `go test -exec "RUMPGO run --test" ARGS...` from the
// module root with extra environment and returns its combined output and
// exit code.
func goTestExec(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command("go", append([]string{"test", "-count=1", "-exec", requireRumpgo(t) + " run --test"}, args...)...)
	cmd.Dir = moduleRoot
	cmd.Env = append(os.Environ(), append([]string{"CGO_ENABLED=0"}, env...)...)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	}
	require.NoError(t, err, "%s", out)
	return string(out), 0
}

// TestExecMode: the package directory (testdata) and the module root are
// there read-write at their host paths, the guest starts in the package
// directory with go test's environment, the host's other directories are
// not visible, and a failing test makes go test fail.
func TestExecMode(t *testing.T) {
	requireNativeGuests(t)
	pkgDir := filepath.Join(moduleRoot, "tests", "testdata", "gotestexec")
	env := []string{"GOTESTEXEC_UNDER=1", "GOTESTEXEC_MARK=42", "GOTESTEXEC_DIR=" + pkgDir}
	out, code := goTestExec(t, env, "-v", "./tests/testdata/gotestexec")
	require.Equal(t, 0, code, "%s", out)
	for _, name := range []string{"TestSeesPackageDir", "TestWritable", "TestEnvAndIsolation"} {
		require.Contains(t, out, "--- PASS: "+name, "%s", out)
	}
	require.Contains(t, out, "ok  \tgithub.com/rumpgo/rumpgo/tests/testdata/gotestexec")

	out, code = goTestExec(t, append(env, "GOTESTEXEC_FAIL=1"), "./tests/testdata/gotestexec")
	require.NotEqual(t, 0, code, "%s", out)
	require.Contains(t, out, "--- FAIL: TestEnvAndIsolation")
	require.Contains(t, out, "FAIL\tgithub.com/rumpgo/rumpgo/tests/testdata/gotestexec")

	// A standard library package, as the README shows.
	out, code = goTestExec(t, nil, "-short", "errors")
	require.Equal(t, 0, code, "%s", out)
	require.True(t, strings.HasPrefix(out, "ok  \terrors"), "%s", out)
}

// TestCompatSmoke runs tests/compat on two small packages: every test that
// passes natively passes under rumpgo, and both files are written.
// smokePkgs are packages whose whole test suites pass under rumpgo (see
// docs/compat.md): CI runs them through the compat runner, and any test
// that stops passing there is a regression.
var smokePkgs = []string{"errors", "unicode/utf8", "bufio", "sort", "io"}

func TestCompatSmoke(t *testing.T) {
	requireNativeGuests(t)
	outDir := t.TempDir()
	cmd := exec.Command("go", "run", "./tests/compat", "-rumpgo", requireRumpgo(t), "-pkgs", strings.Join(smokePkgs, ","), "-o", outDir, "-timeout", "2m")
	cmd.Dir = moduleRoot
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	md, err := os.ReadFile(filepath.Join(outDir, "compat.md"))
	require.NoError(t, err)
	require.Contains(t, string(md), "| errors |")
	var rep struct {
		NativePass, RumpgoPass int
		Packages               []struct {
			Package        string
			Native, Rumpgo struct{ Pass, Fail, Skip, Exit int }
		}
	}
	js, err := os.ReadFile(filepath.Join(outDir, "compat.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(js, &rep))
	require.Len(t, rep.Packages, len(smokePkgs))
	for _, p := range rep.Packages {
		require.NotZero(t, p.Native.Pass, "%s: no tests counted natively", p.Package)
		require.Equal(t, p.Native.Pass, p.Rumpgo.Pass, "%s", p.Package)
		require.Zero(t, p.Rumpgo.Fail, "%s", p.Package)
		require.Zero(t, p.Rumpgo.Exit, "%s", p.Package)
	}
	require.Equal(t, rep.NativePass, rep.RumpgoPass)
}
