// Package oci tests rumpgo's OCI runtime (cmd/rumpgo-oci, package oci):
// runtime_test.go drives the runtime's command line as containerd's runc
// shim does, on real bundles; docker_test.go and containerd_test.go run
// the real engines with it, against runc.
//
// Tests that boot a guest skip only when /dev/kvm cannot be opened
// read-write; the engines' tests also need root and Debian's docker.io
// and containerd packages (.ci/run installs them).
package oci

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

var (
	moduleRoot string
	buildDir   string
	runtimeBin string // rumpgo-oci
	probeBin   string // tests/testdata/ociprobe
	buildErr   error

	kvmOnce sync.Once
	kvmErr  error
)

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	root, err := filepath.Abs("../..")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	moduleRoot = root
	dir, err := os.MkdirTemp("", "rumpgo-oci-tests-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755) // the engines' processes read the binaries
	buildDir = dir
	runtimeBin = filepath.Join(dir, "rumpgo-oci")
	probeBin = filepath.Join(dir, "ociprobe")
	buildErr = errors.Join(goBuild(runtimeBin, "./cmd/rumpgo-oci"), goBuild(probeBin, "./tests/testdata/ociprobe"))
	// As containerd's shim is: the monitor create leaves behind becomes
	// this process's child when create exits, and its exit status is the
	// container's.
	unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	return m.Run()
}

func goBuild(out, pkg string) error {
	cmd := exec.Command("go", "build", "-buildvcs=false", "-o", out, pkg)
	cmd.Dir = moduleRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

func requireBuilt(t *testing.T) {
	t.Helper()
	if buildErr != nil {
		t.Fatal(buildErr)
	}
}

func requireKVM(t *testing.T) {
	t.Helper()
	kvmOnce.Do(func() {
		f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
		if err != nil {
			kvmErr = err
			return
		}
		f.Close()
	})
	if kvmErr != nil {
		t.Skipf("needs /dev/kvm: %v", kvmErr)
	}
}

// spec is a config.json as `runc spec` writes it (namespaces, the usual
// mounts), running args.
func spec(args ...string) map[string]any {
	return map[string]any{
		"ociVersion": "1.0.2",
		"process": map[string]any{
			"terminal": false,
			"user":     map[string]any{"uid": 0, "gid": 0},
			"args":     args,
			"env":      []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"},
			"cwd":      "/",
			"rlimits":  []any{map[string]any{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}},
		},
		"root":     map[string]any{"path": "rootfs", "readonly": true},
		"hostname": "runc",
		"mounts": []any{
			map[string]any{"destination": "/proc", "type": "proc", "source": "proc"},
			map[string]any{"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			map[string]any{"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
			map[string]any{"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
			map[string]any{"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": []string{"nosuid", "noexec", "nodev"}},
			map[string]any{"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": []string{"nosuid", "noexec", "nodev", "ro"}},
			map[string]any{"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
		},
		"linux": map[string]any{
			"namespaces": []any{
				map[string]any{"type": "pid"}, map[string]any{"type": "network"}, map[string]any{"type": "ipc"},
				map[string]any{"type": "uts"}, map[string]any{"type": "mount"},
			},
			"maskedPaths":   []string{"/proc/kcore", "/proc/keys"},
			"readonlyPaths": []string{"/proc/bus", "/proc/sys"},
		},
	}
}

// bundle writes a bundle: rootfs with ociprobe at /bin/probe, and
// config.json from s.
func bundle(t *testing.T, s map[string]any) string {
	t.Helper()
	dir := t.TempDir()
	rootfs := filepath.Join(dir, "rootfs")
	require.NoError(t, os.MkdirAll(filepath.Join(rootfs, "bin"), 0o755))
	data, err := os.ReadFile(probeBin)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(rootfs, "bin", "probe"), data, 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(rootfs, "etc"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(rootfs, "etc", "motd"), []byte("from the image\n"), 0o644))
	writeSpec(t, dir, s)
	return dir
}

func writeSpec(t *testing.T, dir string, s map[string]any) {
	data, err := json.MarshalIndent(s, "", " ")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config.json"), data, 0o644))
}

// shim plays containerd's runc shim: it runs the runtime's commands
// with --root and --log as the shim passes them.
type shim struct {
	t    *testing.T
	root string
	log  string
}

func newShim(t *testing.T) *shim {
	dir := t.TempDir()
	return &shim{t: t, root: filepath.Join(dir, "state"), log: filepath.Join(dir, "log.json")}
}

type result struct {
	stdout, stderr string
	code           int
}

func (s *shim) run(args ...string) result {
	s.t.Helper()
	cmd := exec.Command(runtimeBin, append([]string{"--root", s.root, "--log", s.log, "--log-format", "json"}, args...)...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	code, err := exitCode(cmd.Run())
	require.NoError(s.t, err)
	return result{out.String(), errb.String(), code}
}

// container is one created container with its stdio in files.
type container struct {
	s              *shim
	id             string
	pid            int
	stdout, stderr *os.File
}

// create runs `create --bundle B --pid-file P ID` with stdout and stderr
// going to files, as the shim's fifos.
func (s *shim) create(id, bundle string, extra ...string) (*container, result) {
	s.t.Helper()
	dir := s.t.TempDir()
	out, err := os.Create(filepath.Join(dir, "stdout"))
	require.NoError(s.t, err)
	errf, err := os.Create(filepath.Join(dir, "stderr"))
	require.NoError(s.t, err)
	s.t.Cleanup(func() { out.Close(); errf.Close() })
	pidFile := filepath.Join(dir, "pid")
	args := append([]string{"--root", s.root, "--log", s.log, "--log-format", "json", "create", "--bundle", bundle, "--pid-file", pidFile}, extra...)
	cmd := exec.Command(runtimeBin, append(args, id)...)
	// The monitor inherits create's stdio, which are the container's: a
	// pipe here would stay open as long as the container runs.
	cmd.Stdout, cmd.Stderr = out, errf
	err = cmd.Run()
	msg, _ := os.ReadFile(errf.Name())
	r := result{stderr: string(msg)}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
		return nil, r
	}
	require.NoError(s.t, err)
	b, err := os.ReadFile(pidFile)
	require.NoError(s.t, err)
	c := &container{s: s, id: id, stdout: out, stderr: errf}
	_, err = fmt.Sscan(string(b), &c.pid)
	require.NoError(s.t, err)
	return c, r
}

func (s *shim) state(id string) map[string]any {
	s.t.Helper()
	r := s.run("state", id)
	require.Equal(s.t, 0, r.code, r.stderr)
	var st map[string]any
	require.NoError(s.t, json.Unmarshal([]byte(r.stdout), &st))
	return st
}

// wait reaps the container's monitor, as the shim does, and returns its
// exit status the way the shim reports it (128+N for a signal).
func (c *container) wait(limit time.Duration) int {
	c.s.t.Helper()
	type res struct {
		ws  unix.WaitStatus
		err error
	}
	done := make(chan res, 1)
	go func() {
		var ws unix.WaitStatus
		_, err := unix.Wait4(c.pid, &ws, 0, nil)
		done <- res{ws, err}
	}()
	select {
	case r := <-done:
		require.NoError(c.s.t, r.err)
		if r.ws.Signaled() {
			return 128 + int(r.ws.Signal())
		}
		return r.ws.ExitStatus()
	case <-time.After(limit):
		unix.Kill(c.pid, unix.SIGKILL)
		c.s.t.Fatalf("container %s still running after %v; stdout %q stderr %q", c.id, limit, c.output(), c.errors())
		return -1
	}
}

// outcome is what became of the container's monitor within limit:
// "exit N", "signal N", or "running".
func (c *container) outcome(limit time.Duration) string {
	c.s.t.Helper()
	return waitOutcome(c.s.t, c.pid, limit)
}

func waitOutcome(t *testing.T, pid int, limit time.Duration) string {
	t.Helper()
	for deadline := time.Now().Add(limit); ; time.Sleep(5 * time.Millisecond) {
		var ws unix.WaitStatus
		n, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil)
		require.NoError(t, err)
		switch {
		case n == pid && ws.Signaled():
			return fmt.Sprintf("signal %d", ws.Signal())
		case n == pid:
			return fmt.Sprintf("exit %d", ws.ExitStatus())
		case time.Now().After(deadline):
			return "running"
		}
	}
}

// runcCreatedKill creates a container of the same bundle with runc
// itself, sends sig before starting it and returns the outcome (a still
// running one is then killed and deleted).
func runcCreatedKill(t *testing.T, runc, sig string) string {
	t.Helper()
	root, dir := t.TempDir(), t.TempDir()
	id := "runc-created-" + sig
	pidFile := filepath.Join(dir, "pid")
	// Files, not pipes: runc init holds create's stdio until it ends.
	out, err := os.Create(filepath.Join(dir, "out"))
	require.NoError(t, err)
	defer out.Close()
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command(runc, append([]string{"--root", root}, args...)...)
		cmd.Stdout, cmd.Stderr = out, out
		err := cmd.Run()
		msg, _ := os.ReadFile(out.Name())
		require.NoError(t, err, "runc %s: %s", strings.Join(args, " "), msg)
	}
	run("create", "--bundle", bundle(t, spec("/bin/probe", "sleep")), "--pid-file", pidFile, id)
	t.Cleanup(func() { exec.Command(runc, "--root", root, "delete", "--force", id).Run() })
	b, err := os.ReadFile(pidFile)
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	require.NoError(t, err)
	run("kill", id, sig)
	got := waitOutcome(t, pid, time.Second)
	if got == "running" {
		run("kill", id, "KILL")
		waitOutcome(t, pid, time.Minute)
	}
	run("delete", id)
	return got
}

func (c *container) output() string { b, _ := os.ReadFile(c.stdout.Name()); return string(b) }
func (c *container) errors() string { b, _ := os.ReadFile(c.stderr.Name()); return string(b) }

// requireGone checks that delete left nothing: no state, no process.
func (s *shim) requireGone(c *container) {
	s.t.Helper()
	_, err := os.Stat(filepath.Join(s.root, c.id))
	require.True(s.t, os.IsNotExist(err), "state of %s left behind", c.id)
	if c.pid > 0 { // the shim's wait reaps it
		require.Eventually(s.t, func() bool { return unix.Kill(c.pid, 0) != nil }, 10*time.Second, 5*time.Millisecond,
			"monitor %d still alive", c.pid)
	}
}

// TestLifecycle runs a container through create, state, start, state,
// its exit and delete, as containerd's shim does, and checks what the
// program saw of config.json.
func TestLifecycle(t *testing.T) {
	requireBuilt(t)
	requireKVM(t)
	s := newShim(t)
	sp := spec("/bin/probe", "info", "7")
	p := sp["process"].(map[string]any)
	p["env"] = append(p["env"].([]string), "PROBE_A=1", "PROBE_B=two words", "PROBE_FILES=/etc/motd,/etc/hostname")
	p["cwd"] = "/etc"
	p["user"] = map[string]any{"uid": 1000, "gid": 1001}
	p["rlimits"] = []any{map[string]any{"type": "RLIMIT_NOFILE", "hard": 512, "soft": 256}}
	sp["hostname"] = "probe-host"
	b := bundle(t, sp)

	c, r := s.create("life", b)
	require.NotNil(t, c, "create: %s", r.stderr)
	st := s.state("life")
	require.Equal(t, "created", st["status"])
	require.EqualValues(t, c.pid, st["pid"])
	require.Equal(t, b, st["bundle"])
	require.Equal(t, "", c.output(), "the program runs only after start")

	r = s.run("start", "life")
	require.Equal(t, 0, r.code, r.stderr)
	status := c.wait(time.Minute)
	require.Equal(t, 7, status, "stderr: %s", c.errors())
	require.Equal(t, "args: info 7\ncwd: /etc\nuid: 1000 gid: 1001\nhostname: probe-host\n"+
		"env: PROBE_A=1 PROBE_B=two words PROBE_FILES=/etc/motd,/etc/hostname\n"+
		"file /etc/motd: \"from the image\\n\"\nfile /etc/hostname: \"probe-host\\n\"\n"+
		"nofile: 511 512\n", c.output()) // Go raises the soft limit at start-up, natively too
	require.Equal(t, "stopped", s.state("life")["status"])
	r = s.run("start", "life")
	require.NotEqual(t, 0, r.code, "start of a stopped container")

	r = s.run("delete", "life")
	require.Equal(t, 0, r.code, r.stderr)
	s.requireGone(c)
	r = s.run("state", "life")
	require.NotEqual(t, 0, r.code)
	require.Contains(t, r.stderr, "does not exist")
}

// TestKill: kill's signal reaches the guest — a handler runs, or the
// default action ends it with 128+N — and delete --force ends a running
// container.
func TestKill(t *testing.T) {
	requireBuilt(t)
	requireKVM(t)
	s := newShim(t)
	for _, tc := range []struct {
		name, mode, signal string
		want               int
		out                string
	}{
		{"handled", "wait", "TERM", 0, "waiting\ngot terminated\n"},
		// The guest is an init, as a container's process under runc: Go's
		// runtime re-raises a SIGTERM it does not handle, which an init
		// ignores, and exits 2.
		{"unhandled", "sleep", "SIGTERM", 2, "sleeping\n"},
		{"kill", "sleep", "9", 137, "sleeping\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, r := s.create("kill-"+tc.name, bundle(t, spec("/bin/probe", tc.mode)))
			require.NotNil(t, c, r.stderr)
			require.Equal(t, 0, s.run("start", c.id).code)
			require.Eventually(t, func() bool { return c.output() != "" }, time.Minute, 10*time.Millisecond)
			require.Equal(t, "running", s.state(c.id)["status"])
			r = s.run("kill", c.id, tc.signal)
			require.Equal(t, 0, r.code, r.stderr)
			require.Equal(t, tc.want, c.wait(time.Minute))
			require.Equal(t, tc.out, c.output())
			require.Equal(t, 0, s.run("delete", c.id).code)
			s.requireGone(c)
		})
	}
	t.Run("delete-force", func(t *testing.T) {
		c, r := s.create("kill-force", bundle(t, spec("/bin/probe", "sleep")))
		require.NotNil(t, c, r.stderr)
		require.Equal(t, 0, s.run("start", c.id).code)
		require.Eventually(t, func() bool { return c.output() != "" }, time.Minute, 10*time.Millisecond)
		r = s.run("delete", c.id)
		require.NotEqual(t, 0, r.code, "delete of a running container without --force")
		go c.wait(time.Minute) // the shim reaps it
		r = s.run("delete", "--force", c.id)
		require.Equal(t, 0, r.code, r.stderr)
		s.requireGone(c)
	})
	// A created container's process is, under runc, `runc init` waiting
	// for start: a Go program that is the PID namespace's init, so a
	// signal Go's runtime ends a program on makes it exit 2 (the re-raised
	// signal is an init's to ignore), any other is dropped. rumpgo's
	// monitor answers the same, compared with runc itself; once ended,
	// the container is stopped, start refuses it and delete leaves nothing.
	runc := need(t, "runc", "runc")
	for _, sig := range []string{"TERM", "HUP", "QUIT", "USR1", "WINCH", "KILL"} {
		t.Run("created-"+sig, func(t *testing.T) {
			c, r := s.create("kill-created-"+sig, bundle(t, spec("/bin/probe", "sleep")))
			require.NotNil(t, c, r.stderr)
			require.Equal(t, "created", s.state(c.id)["status"])
			r = s.run("kill", c.id, sig)
			require.Equal(t, 0, r.code, r.stderr)
			got := c.outcome(time.Second)
			require.Equal(t, runcCreatedKill(t, runc, sig), got, "runc's created container and rumpgo's, after SIG%s", sig)
			if got == "running" {
				require.Equal(t, "created", s.state(c.id)["status"])
				require.Equal(t, 0, s.run("kill", c.id, "KILL").code)
				require.Equal(t, 137, c.wait(time.Minute))
			}
			require.Equal(t, "stopped", s.state(c.id)["status"])
			r = s.run("start", c.id)
			require.Equal(t, 1, r.code)
			require.Contains(t, r.stderr, "is stopped: cannot start it")
			r = s.run("kill", c.id, "TERM")
			require.Equal(t, 1, r.code)
			require.Contains(t, r.stderr, "is not running")
			require.Equal(t, 0, s.run("delete", c.id).code)
			s.requireGone(c)
			require.Equal(t, "", c.output())
		})
	}
	t.Run("delete-created", func(t *testing.T) {
		c, r := s.create("kill-created", bundle(t, spec("/bin/probe", "sleep")))
		require.NotNil(t, c, r.stderr)
		go c.wait(time.Minute)
		r = s.run("delete", c.id)
		require.Equal(t, 0, r.code, r.stderr)
		s.requireGone(c)
		require.Equal(t, "", c.output())
	})
}

// TestBadBundles: what create cannot run gets one clear error and leaves
// nothing behind.
func TestBadBundles(t *testing.T) {
	requireBuilt(t)
	s := newShim(t)
	good := spec("/bin/probe", "info")
	for _, tc := range []struct {
		name  string
		setup func(dir string)
		want  string
	}{
		{"broken-json", func(dir string) {
			os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"ociVersion": "1.0.2", "process": {`), 0o644)
		}, "config.json: unexpected end of JSON input"},
		{"no-config", func(dir string) { os.Remove(filepath.Join(dir, "config.json")) }, "reading the bundle's config.json"},
		{"missing-rootfs", func(dir string) { os.RemoveAll(filepath.Join(dir, "rootfs")) }, "root.path rootfs: stat"},
		{"missing-program", func(dir string) {
			sp := spec("nosuch", "x")
			writeSpec(t, dir, sp)
		}, `exec: "nosuch": executable file not found in $PATH`},
		{"user-namespace", func(dir string) {
			sp := spec("/bin/probe")
			l := sp["linux"].(map[string]any)
			l["namespaces"] = append(l["namespaces"].([]any), map[string]any{"type": "user"})
			writeSpec(t, dir, sp)
		}, "user namespaces are not supported"},
		{"unknown-annotation", func(dir string) {
			sp := spec("/bin/probe")
			sp["annotations"] = map[string]string{"rumpgo.memroy": "64"}
			writeSpec(t, dir, sp)
		}, "annotation rumpgo.memroy: unknown"},
		{"tiny-memory", func(dir string) {
			sp := spec("/bin/probe")
			sp["linux"].(map[string]any)["resources"] = map[string]any{"memory": map[string]any{"limit": 4 << 20}}
			writeSpec(t, dir, sp)
		}, "needs at least 16 MiB"},
		{"nfs-mount", func(dir string) {
			sp := spec("/bin/probe")
			sp["mounts"] = append(sp["mounts"].([]any), map[string]any{"destination": "/data", "type": "nfs", "source": "server:/x"})
			writeSpec(t, dir, sp)
		}, `/data of type "nfs"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := bundle(t, good)
			tc.setup(b)
			c, r := s.create("bad-"+tc.name, b)
			require.Nil(t, c)
			require.Equal(t, 1, r.code)
			require.Contains(t, r.stderr, tc.want)
			require.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line: %q", r.stderr)
			log, _ := os.ReadFile(s.log)
			require.Contains(t, string(log), `"level":"error"`)
			_, err := os.Stat(filepath.Join(s.root, "bad-"+tc.name))
			require.True(t, os.IsNotExist(err), "state left behind")
		})
	}
	t.Run("duplicate", func(t *testing.T) {
		requireKVM(t)
		c, r := s.create("dup", bundle(t, spec("/bin/probe", "sleep")))
		require.NotNil(t, c, r.stderr)
		_, r = s.create("dup", bundle(t, spec("/bin/probe", "sleep")))
		require.Contains(t, r.stderr, "container dup already exists")
		go c.wait(time.Minute)
		require.Equal(t, 0, s.run("delete", "--force", "dup").code)
		s.requireGone(c)
	})
}

// TestFeatures: features prints the runtime-spec features document.
func TestFeatures(t *testing.T) {
	requireBuilt(t)
	r := newShim(t).run("features")
	require.Equal(t, 0, r.code, r.stderr)
	var f map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &f))
	require.Equal(t, "1.0.0", f["ociVersionMin"])
	require.Contains(t, f["linux"].(map[string]any)["namespaces"], "network")
}

// TestExec: exec starts a new process in a running container's guest,
// with its own args, env, cwd and user, its stdout and exit status
// wired through (as the shim runs it: --process, and --detach with
// --pid-file), and signals sent to its PID reaching it.
func TestExec(t *testing.T) {
	requireBuilt(t)
	requireKVM(t)
	s := newShim(t)
	c, r := s.create("exec", bundle(t, spec("/bin/probe", "sleep")))
	require.NotNil(t, c, r.stderr)
	go c.wait(2 * time.Minute)
	t.Cleanup(func() { s.run("delete", "--force", c.id) })
	require.Equal(t, 0, s.run("start", c.id).code)
	require.Eventually(t, func() bool { return c.output() != "" }, time.Minute, 10*time.Millisecond)

	dir := t.TempDir()
	process := func(args ...string) string {
		p := spec(args...)["process"].(map[string]any)
		p["env"] = append(p["env"].([]string), "PROBE_EXEC=yes")
		p["cwd"] = "/etc"
		p["user"] = map[string]any{"uid": 1000, "gid": 1000}
		data, err := json.Marshal(p)
		require.NoError(t, err)
		f := filepath.Join(dir, fmt.Sprintf("process-%d.json", time.Now().UnixNano()))
		require.NoError(t, os.WriteFile(f, data, 0o644))
		return f
	}
	r = s.run("exec", "--process", process("probe", "info", "3"), c.id)
	require.Equal(t, 3, r.code, r.stderr)
	require.Equal(t, "args: info 3\ncwd: /etc\nuid: 1000 gid: 1000\nhostname: runc\nenv: PROBE_EXEC=yes\nnofile: 1024 1024\n", r.stdout)

	r = s.run("exec", c.id, "/bin/probe", "info")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "args: info\ncwd: /\nuid: 0 gid: 0\n")

	r = s.run("exec", "--process", process("nosuch"), c.id)
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "executable file not found")

	// Detached, as the shim runs it: the PID file's process is the one
	// to wait for and signal, and its stdio are files (the shim's fifos)
	// that the guest process holds until it ends.
	pidFile := filepath.Join(dir, "exec.pid")
	read := func(f *os.File) string { b, _ := os.ReadFile(f.Name()); return string(b) }
	detached := func(args ...string) (pid int, out *os.File) {
		out, err := os.Create(filepath.Join(dir, fmt.Sprintf("out-%d", time.Now().UnixNano())))
		require.NoError(t, err)
		t.Cleanup(func() { out.Close() })
		cmd := exec.Command(runtimeBin, append([]string{"--root", s.root, "--log", s.log, "--log-format", "json",
			"exec", "--detach", "--pid-file", pidFile, "--process", process(args...)}, c.id)...)
		cmd.Stdout, cmd.Stderr = out, out // a pipe would stay open as long as the process runs
		require.NoError(t, cmd.Run(), read(out))
		b, err := os.ReadFile(pidFile)
		require.NoError(t, err)
		_, err = fmt.Sscan(string(b), &pid)
		require.NoError(t, err)
		return pid, out
	}
	pid, out := detached("/bin/probe", "wait")
	ps := s.run("ps", "--format", "json", c.id)
	require.Contains(t, ps.stdout, strconv.Itoa(pid))
	// The guest process has its handler once it says so.
	require.Eventually(t, func() bool { return read(out) == "waiting\n" }, 30*time.Second, 10*time.Millisecond)
	require.NoError(t, unix.Kill(pid, unix.SIGTERM))
	var ws unix.WaitStatus
	_, err := unix.Wait4(pid, &ws, 0, nil) // a subreaper's child since exec exited
	require.NoError(t, err)
	require.True(t, ws.Exited(), "status %v", ws)
	require.Equal(t, 0, ws.ExitStatus())
	require.Equal(t, "waiting\ngot terminated\n", read(out))
	require.Equal(t, "sleeping\n", c.output(), "the container's own output is unchanged")

	pid, _ = detached("/bin/probe", "sleep")
	require.NoError(t, unix.Kill(pid, unix.SIGKILL))
	_, err = unix.Wait4(pid, &ws, 0, nil)
	require.NoError(t, err)
	require.Equal(t, "running", s.state(c.id)["status"], "killing an exec leaves the container running")
}

// consoleSocket listens where create and exec send a terminal's master,
// as the shim's console socket does.
type consoleSocket struct {
	t    *testing.T
	path string
	fd   int
}

func newConsoleSocket(t *testing.T) *consoleSocket {
	dir, err := os.MkdirTemp("", "console")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	c := &consoleSocket{t: t, path: filepath.Join(dir, "sock")}
	c.fd, err = unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	t.Cleanup(func() { unix.Close(c.fd) })
	require.NoError(t, unix.Bind(c.fd, &unix.SockaddrUnix{Name: c.path}))
	require.NoError(t, unix.Listen(c.fd, 4))
	return c
}

// master accepts one connection and returns the terminal's master it
// carries, with what is read from it gathered in the background.
func (c *consoleSocket) master() *terminal {
	nfd, _, err := unix.Accept4(c.fd, unix.SOCK_CLOEXEC)
	require.NoError(c.t, err)
	defer unix.Close(nfd)
	buf, oob := make([]byte, 256), make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := unix.Recvmsg(nfd, buf, oob, 0)
	require.NoError(c.t, err)
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	require.NoError(c.t, err)
	require.Len(c.t, msgs, 1)
	fds, err := unix.ParseUnixRights(&msgs[0])
	require.NoError(c.t, err)
	require.Len(c.t, fds, 1)
	term := &terminal{f: os.NewFile(uintptr(fds[0]), "master")}
	c.t.Cleanup(func() { term.f.Close() })
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := term.f.Read(b)
			term.mu.Lock()
			term.out.Write(b[:n])
			term.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return term
}

type terminal struct {
	f   *os.File
	mu  sync.Mutex
	out strings.Builder
}

func (t *terminal) output() string { t.mu.Lock(); defer t.mu.Unlock(); return t.out.String() }

// TestTerminal: process.terminal gives the guest a terminal whose master
// goes to --console-socket, sized as consoleSize says; resizing the
// master reaches the guest as SIGWINCH; exec --tty gets a terminal of its
// own the same way.
func TestTerminal(t *testing.T) {
	requireBuilt(t)
	requireKVM(t)
	s := newShim(t)
	cs := newConsoleSocket(t)
	sp := spec("/bin/probe", "winch")
	sp["process"].(map[string]any)["terminal"] = true
	sp["process"].(map[string]any)["consoleSize"] = map[string]any{"height": 24, "width": 80}
	b := bundle(t, sp)
	r := s.run("create", "--bundle", b, "--console-socket", "/nonexistent/sock", "tty-bad")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "--console-socket /nonexistent/sock")
	r = s.run("create", "--bundle", b, "tty-none")
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "no --console-socket")

	type created struct {
		c *container
		r result
	}
	done := make(chan created, 1)
	go func() {
		c, r := s.create("tty", b, "--console-socket", cs.path)
		done <- created{c, r}
	}()
	term := cs.master()
	cr := <-done
	require.NotNil(t, cr.c, cr.r.stderr)
	c := cr.c
	t.Cleanup(func() { s.run("delete", "--force", c.id) })
	require.Equal(t, 0, s.run("start", c.id).code)
	require.Eventually(t, func() bool { return term.output() == "size: 24 80\r\n" }, time.Minute, 10*time.Millisecond, "%q", term.output())
	require.NoError(t, unix.IoctlSetWinsize(int(term.f.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 40, Col: 100}))
	require.Equal(t, 0, c.wait(time.Minute))
	require.Eventually(t, func() bool { return term.output() == "size: 24 80\r\nresized: 40 100\r\n" }, 10*time.Second, 10*time.Millisecond, "%q", term.output())
	require.Equal(t, "", c.output(), "the terminal, not create's stdout, is the guest's")
	require.Equal(t, 0, s.run("delete", c.id).code)

	// exec --tty into a running container.
	c2, r := s.create("tty-exec", bundle(t, spec("/bin/probe", "sleep")))
	require.NotNil(t, c2, r.stderr)
	go c2.wait(2 * time.Minute)
	t.Cleanup(func() { s.run("delete", "--force", c2.id) })
	require.Equal(t, 0, s.run("start", c2.id).code)
	p := spec("/bin/probe", "tty")["process"].(map[string]any)
	p["terminal"] = true
	data, err := json.Marshal(p)
	require.NoError(t, err)
	pf := filepath.Join(t.TempDir(), "process.json")
	require.NoError(t, os.WriteFile(pf, data, 0o644))
	execDone := make(chan result, 1)
	go func() { execDone <- s.run("exec", "--tty", "--console-socket", cs.path, "--process", pf, c2.id) }()
	term2 := cs.master()
	r = <-execDone
	require.Equal(t, 0, r.code, r.stderr)
	require.Eventually(t, func() bool { return strings.Contains(term2.output(), "fd 2 terminal: true\r\n") }, 30*time.Second, 10*time.Millisecond, "%q", term2.output())
	require.True(t, strings.HasPrefix(term2.output(), "fd 0 terminal: true\r\nfd 1 terminal: true\r\n"), "%q", term2.output())
}

// TestPause: pause freezes a running container (state paused, the guest
// makes no progress), resume continues it without the guest seeing a
// SIGCONT (ociprobe wait would not notice one; a handled SIGTERM after
// resume still ends it 0), and delete --force ends a paused one.
func TestPause(t *testing.T) {
	requireBuilt(t)
	requireKVM(t)
	s := newShim(t)
	c, r := s.create("pause", bundle(t, spec("/bin/probe", "wait")))
	require.NotNil(t, c, r.stderr)
	require.Equal(t, 0, s.run("start", c.id).code)
	require.Eventually(t, func() bool { return c.output() == "waiting\n" }, time.Minute, 10*time.Millisecond)
	r = s.run("resume", c.id)
	require.Equal(t, 1, r.code)
	require.Contains(t, r.stderr, "is running, not paused")
	r = s.run("pause", c.id)
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, "paused", s.state(c.id)["status"])
	r = s.run("exec", c.id, "/bin/probe", "info")
	require.Equal(t, 1, r.code, "exec into a paused container")
	require.Equal(t, 0, s.run("kill", c.id, "TERM").code)
	time.Sleep(300 * time.Millisecond)
	require.Equal(t, "waiting\n", c.output(), "a paused guest runs nothing")
	r = s.run("resume", c.id)
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, 0, c.wait(time.Minute), "the SIGTERM sent while paused, handled")
	require.Equal(t, "waiting\ngot terminated\n", c.output())
	require.Equal(t, 0, s.run("delete", c.id).code)

	c, r = s.create("pause-delete", bundle(t, spec("/bin/probe", "sleep")))
	require.NotNil(t, c, r.stderr)
	require.Equal(t, 0, s.run("start", c.id).code)
	require.Eventually(t, func() bool { return c.output() != "" }, time.Minute, 10*time.Millisecond)
	require.Equal(t, 0, s.run("pause", c.id).code)
	go c.wait(time.Minute)
	r = s.run("delete", "--force", c.id)
	require.Equal(t, 0, r.code, r.stderr)
	s.requireGone(c)
}

// TestRefused: what rumpgo-oci does not have gets one clear line saying
// why (the shim shows it, docker update prints it), and exit 1.
func TestRefused(t *testing.T) {
	requireBuilt(t)
	s := newShim(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"checkpoint", "x"}, "checkpoint: not supported by rumpgo: a running guest's memory"},
		{[]string{"restore", "x"}, "restore: not supported by rumpgo"},
		{[]string{"update", "--memory", "64m", "x"}, "update: not supported by rumpgo: a guest's memory, CPU count and process limit are fixed when it boots"},
		{[]string{"events", "--stats", "x"}, "events: not supported by rumpgo"},
		{[]string{"create", "--preserve-fds", "1", "--bundle", ".", "x"}, "--preserve-fds is not supported"},
		{[]string{"exec", "--preserve-fds", "2", "x", "/bin/probe"}, "--preserve-fds is not supported"},
	} {
		t.Run(tc.args[0], func(t *testing.T) {
			r := s.run(tc.args...)
			require.Equal(t, 1, r.code)
			require.Contains(t, r.stderr, tc.want)
			require.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line: %q", r.stderr)
		})
	}
}

// TestHostNetwork: a spec with no network namespace, or naming the
// runtime's own (Docker's --network host), shares the host's network:
// the guest's servers are listened on in the host's namespace (here the
// test's own), as runc's container's are, and no longer once it ends;
// the host's interfaces keep their addresses.
func TestHostNetwork(t *testing.T) {
	requireBuilt(t)
	requireKVM(t)
	if !inPrivateNamespaces(t) {
		return
	}
	for _, args := range [][]string{{"link", "add", "host0", "type", "veth", "peer", "name", "host1"}, {"addr", "add", "10.99.0.1/24", "dev", "host0"}, {"link", "set", "host0", "up"}} {
		out, err := exec.Command("ip", args...).CombinedOutput()
		require.NoError(t, err, "ip %v: %s", args, out)
	}
	s := newShim(t)
	for i, ns := range []map[string]any{
		{"type": "mount"},
		{"type": "network", "path": fmt.Sprintf("/proc/%d/ns/net", os.Getpid())},
	} {
		id := fmt.Sprintf("hostnet-%d", i)
		port := strconv.Itoa(8082 + i)
		sp := spec("/bin/probe", "serve", port)
		sp["linux"].(map[string]any)["namespaces"] = []any{map[string]any{"type": "pid"}, ns}
		c, r := s.create(id, bundle(t, sp))
		require.NotNil(t, c, r.stderr)
		t.Cleanup(func() { s.run("delete", "--force", c.id) })
		require.Equal(t, 0, s.run("start", c.id).code)
		body, err := httpGet("http://127.0.0.1:"+port+"/", 30*time.Second)
		require.NoError(t, err, "no answer on the host's port; stdout %q stderr %q", c.output(), c.errors())
		require.Equal(t, "hello from ociprobe\n", body)
		out, err := exec.Command("ip", "-4", "addr", "show", "host0").CombinedOutput()
		require.NoError(t, err)
		require.Contains(t, string(out), "10.99.0.1/24", "the host's interface is not the guest's")
		require.Equal(t, 0, s.run("kill", c.id, "KILL").code)
		require.Equal(t, 137, c.wait(time.Minute))
		_, err = http.Get("http://127.0.0.1:" + port + "/")
		require.Error(t, err, "the port outlived the container")
	}
}
