package oci

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// containerd is a containerd of the test's own: its root, state and
// socket under a temporary directory, the CRI plugin off; ctr drives it.
type containerd struct {
	*engine
	sock string
}

func startContainerd(t *testing.T) *containerd {
	t.Helper()
	bin := need(t, "containerd", "containerd")
	need(t, "ctr", "containerd")
	need(t, "containerd-shim-runc-v2", "containerd")
	dir := t.TempDir()
	c := &containerd{sock: filepath.Join(dir, "containerd.sock")}
	config := filepath.Join(dir, "config.toml")
	require.NoError(t, os.WriteFile(config, []byte(fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = %q
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), c.sock)), 0o644))
	c.engine = startEngine(t, "containerd", dir, bin, []string{"--config", config, "--log-level", "warn"},
		func() bool { return c.ctr(nil, "version").code == 0 })
	return c
}

func (c *containerd) ctr(stdin io.Reader, args ...string) result {
	return runClient(nil, stdin, "ctr", append([]string{"--address", c.sock}, args...)...)
}

// rootfs is a fresh copy of the probe's root file system.
func probeRootfs(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "rootfs")
	for _, d := range []string{"bin", "etc", "tmp"} {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, d), 0o755))
	}
	require.NoError(t, os.Chmod(filepath.Join(dir, "tmp"), 0o1777))
	data, err := os.ReadFile(probeBin)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bin", "probe"), data, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "etc", "motd"), []byte("from the image\n"), 0o644))
	return dir
}

// TestContainerdRun: ctr run with containerd's runc shim naming
// rumpgo-oci as its binary (--runc-binary, the BinaryName option) prints,
// exits, execs and is killed as the same ctr run under runc.
func TestContainerdRun(t *testing.T) {
	requireBuilt(t)
	requireKVM(t)
	if !inPrivateNamespaces(t) {
		return
	}
	c := startContainerd(t)
	runtimes := map[string][]string{"runc": nil, "rumpgo": {"--runc-binary", runtimeBin}}
	both := func(t *testing.T, f func(rt string, flags []string) result) {
		t.Helper()
		native, guest := f("runc", runtimes["runc"]), f("rumpgo", runtimes["rumpgo"])
		require.Equal(t, native.stdout, guest.stdout, "runc stderr: %s\nrumpgo stderr: %s", native.stderr, guest.stderr)
		require.Equal(t, native.code, guest.code, "runc stderr: %s\nrumpgo stderr: %s", native.stderr, guest.stderr)
	}
	for _, tc := range []struct {
		name  string
		flags []string
		args  []string
	}{
		{"status", nil, []string{"/bin/probe", "info", "3"}},
		{"env-cwd", []string{"--env", "PROBE_X=x y", "--env", "PROBE_FILES=/etc/motd", "--cwd", "/etc"}, []string{"/bin/probe", "info"}},
		{"write", nil, []string{"/bin/probe", "write", "/etc/motd"}},
		{"read-only", []string{"--read-only"}, []string{"/bin/probe", "write", "/tmp/f"}},
		{"missing", nil, []string{"/bin/nosuch"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			both(t, func(rt string, flags []string) result {
				args := append(append(append([]string{"run", "--rm", "--rootfs"}, flags...), tc.flags...), probeRootfs(t), "run-"+tc.name+"-"+rt)
				return c.ctr(nil, append(args, tc.args...)...)
			})
		})
	}

	// TERM handled (0), or not: the Go runtime of a PID 1 re-raises it,
	// an init ignores that, and it exits 2 (a rumpgo guest is an init).
	for _, mode := range []string{"wait", "sleep"} {
		t.Run("exec-kill-"+mode, func(t *testing.T) {
			ids := map[string]string{}
			for rt, flags := range runtimes {
				ids[rt] = mode + "-" + rt
				args := append(append([]string{"run", "-d", "--rootfs"}, flags...), probeRootfs(t), ids[rt], "/bin/probe", mode)
				r := c.ctr(nil, args...)
				require.Equal(t, 0, r.code, r.stderr)
				t.Cleanup(func() {
					c.ctr(nil, "task", "kill", "-s", "KILL", ids[rt])
					c.ctr(nil, "task", "delete", "--force", ids[rt])
					c.ctr(nil, "container", "delete", ids[rt])
				})
			}
			for _, tc := range []struct{ flags, args []string }{
				{nil, []string{"/bin/probe", "info", "5"}},
				{[]string{"--cwd", "/etc"}, []string{"/bin/probe", "info"}},
				{nil, []string{"/bin/nosuch"}},
			} {
				both(t, func(rt string, _ []string) result {
					args := append(append([]string{"task", "exec", "--exec-id", fmt.Sprintf("x%d", time.Now().UnixNano())}, tc.flags...), ids[rt])
					return c.ctr(nil, append(args, tc.args...)...)
				})
			}
			time.Sleep(200 * time.Millisecond) // "wait" has its handler by now (its exec'd siblings ran)
			both(t, func(rt string, _ []string) result {
				r := c.ctr(nil, "task", "kill", "-s", "TERM", ids[rt])
				require.Equal(t, 0, r.code, r.stderr)
				var ls result
				require.Eventually(t, func() bool {
					ls = c.ctr(nil, "task", "ls")
					for _, line := range strings.Split(ls.stdout, "\n") {
						if f := strings.Fields(line); len(f) == 3 && f[0] == ids[rt] {
							return f[2] == "STOPPED"
						}
					}
					return false
				}, 30*time.Second, 50*time.Millisecond, "%s", ls.stdout)
				r = c.ctr(nil, "task", "delete", ids[rt]) // its status is the task's
				// ctr prints a status other than 0 in a warning.
				if i := strings.Index(r.stderr, "exit with non-zero exit code"); i >= 0 {
					r.stdout = r.stderr[i:]
				}
				return r
			})
		})
	}
}
