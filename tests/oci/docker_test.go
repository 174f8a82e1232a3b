package oci

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The engines run in network and mount namespaces of the test's own
// (unshare -mn, as tests/nat_test.go): Docker's bridge, its iptables
// rules and its mounts then never touch the host's, and the host's lo
// (which has only ::1 here) is not needed: the namespace's lo has
// 127.0.0.1.

// inPrivateNamespaces re-runs the calling test in new network and mount
// namespaces and reports whether this is that run; the outer run only
// relays its result.
func inPrivateNamespaces(t *testing.T) bool {
	t.Helper()
	const env = "RUMPGO_OCI_PRIVATE_NS"
	if os.Getenv(env) == "1" {
		if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
			t.Fatalf("ip link set lo up: %v: %s", err, out)
		}
		return true
	}
	if os.Geteuid() != 0 {
		t.Fatalf("the engines' tests need root (dockerd, containerd)")
	}
	if err := exec.Command("unshare", "-mn", "true").Run(); err != nil {
		t.Fatalf("unshare -mn: %v", err)
	}
	cmd := exec.Command("unshare", "-mn", os.Args[0], "-test.run", "^"+t.Name()+"$", "-test.v", "-test.count=1", "-test.timeout=20m")
	cmd.Env = append(os.Environ(), env+"=1")
	out, err := cmd.CombinedOutput()
	t.Logf("in private namespaces:\n%s", out)
	if err != nil {
		t.Fatalf("the run in private namespaces failed: %v", err)
	}
	return false
}

// need fails when a tool of a Debian package is missing: the package
// belongs in tests/debian-packages, which .ci/run installs.
func need(t *testing.T, tool, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		t.Fatalf("needs %s (Debian package %s, in tests/debian-packages): %v", tool, pkg, err)
	}
	return p
}

// dockerd is a Docker daemon of the test's own: its data, state and
// socket under a temporary directory, rumpgo-oci registered as the
// runtime "rumpgo". It starts its own containerd.
type dockerd struct {
	*engine
	sock string
	cli  string
}

func startDockerd(t *testing.T) *dockerd {
	t.Helper()
	bin := need(t, "dockerd", "docker.io")
	need(t, "containerd", "containerd")
	need(t, "iptables", "iptables")
	dir := t.TempDir()
	d := &dockerd{cli: "/usr/bin/docker", sock: filepath.Join(dir, "docker.sock")}
	if _, err := os.Stat(d.cli); err != nil {
		t.Fatalf("needs /usr/bin/docker (Debian package docker.io): %v", err)
	}
	d.engine = startEngine(t, "dockerd", dir, bin, []string{
		"--data-root", filepath.Join(dir, "data"),
		"--exec-root", filepath.Join(dir, "exec"),
		"--pidfile", filepath.Join(dir, "dockerd.pid"),
		"--host", "unix://" + d.sock,
		"--add-runtime", "rumpgo=" + runtimeBin,
		"--log-level", "warn"},
		func() bool { return d.run(nil, "version").code == 0 })
	return d
}

// docker runs the Docker client against this daemon.
func (d *dockerd) docker(args ...string) (string, error) {
	r := d.run(nil, args...)
	if r.code != 0 {
		return r.stdout, fmt.Errorf("docker %s: exit %d: %s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout, nil
}

func (d *dockerd) run(stdin io.Reader, args ...string) result {
	return runClient([]string{"DOCKER_HOST=unix://" + d.sock}, stdin, d.cli, args...)
}

// importImage makes an image of files (path -> content, mode from the
// name: bin/ files are executable) with docker import.
func (d *dockerd) importImage(name string, files map[string][]byte) {
	d.t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	for _, dir := range []string{"bin", "etc", "tmp", "data"} {
		mode := int64(0o755)
		if dir == "tmp" {
			mode = 0o1777
		}
		require.NoError(d.t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: mode}))
		dirs[dir] = true
	}
	for p, data := range files {
		if dir := filepath.Dir(p); !dirs[dir] {
			require.NoError(d.t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: 0o755}))
			dirs[dir] = true
		}
		mode := int64(0o644)
		if strings.Contains(p, "bin/") || strings.HasSuffix(p, ".so") || strings.Contains(p, ".so.") {
			mode = 0o755
		}
		require.NoError(d.t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: p, Mode: mode, Size: int64(len(data))}))
		_, err := tw.Write(data)
		require.NoError(d.t, err)
	}
	require.NoError(d.t, tw.Close())
	r := d.run(&buf, "import", "-", name)
	require.Equal(d.t, 0, r.code, "docker import: %s", r.stderr)
}

func probeImage(t *testing.T, d *dockerd) {
	data, err := os.ReadFile(probeBin)
	require.NoError(t, err)
	d.importImage("probe:1", map[string][]byte{"bin/probe": data, "etc/motd": []byte("from the image\n")})
}

// dockerTest starts what a Docker test needs — the built binaries, KVM,
// private namespaces, a dockerd with the probe image — and returns nil
// in the outer run, which only relays the inner one's result.
func dockerTest(t *testing.T) *dockerd {
	t.Helper()
	requireBuilt(t)
	requireKVM(t)
	if !inPrivateNamespaces(t) {
		return nil
	}
	d := startDockerd(t)
	probeImage(t, d)
	return d
}

// TestDockerRun: docker run --runtime=rumpgo of a static Go program
// prints and exits as under runc, with docker run's options.
func TestDockerRun(t *testing.T) {
	d := dockerTest(t)
	if d == nil {
		return // the run in private namespaces was the test
	}
	vol := t.TempDir()
	tools := t.TempDir() // a program on a volume
	data, err := os.ReadFile(probeBin)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(tools, "probe2"), data, 0o755))
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"status", []string{"-h", "probe", "probe:1", "/bin/probe", "info", "3"}},
		{"env-workdir-user", []string{"-h", "probe", "-e", "PROBE_X=x y", "-e", "PROBE_FILES=/etc/motd", "-w", "/data", "-u", "1000:1001", "probe:1", "/bin/probe", "info"}},
		{"volume", []string{"-v", vol + ":/vol", "probe:1", "/bin/probe", "write", "/vol/f"}},
		{"tmpfs", []string{"--tmpfs", "/scratch", "probe:1", "/bin/probe", "write", "/scratch/f"}},
		{"read-only", []string{"--read-only", "probe:1", "/bin/probe", "write", "/etc/f"}},
		{"read-only-tmpfs", []string{"--read-only", "--tmpfs", "/tmp", "probe:1", "/bin/probe", "write", "/tmp/f"}},
		{"writable-layer", []string{"probe:1", "/bin/probe", "write", "/etc/motd"}},
		{"memory", []string{"-h", "probe", "--memory", "128m", "probe:1", "/bin/probe", "info"}},
		{"network-none", []string{"-h", "probe", "--network", "none", "probe:1", "/bin/probe", "info"}},
		{"hosts-file", []string{"-h", "probe", "-e", "PROBE_FILES=/etc/hostname", "probe:1", "/bin/probe", "info"}},
		// Docker's --init: /sbin/docker-init (tini) is a file's bind mount
		// and the guest's first process, the program its child.
		{"init", []string{"--init", "-h", "probe", "-e", "PROBE_FILES=/proc/1/cmdline", "probe:1", "/bin/probe", "info", "3"}},
		{"program-on-volume", []string{"-h", "probe", "-v", tools + ":/tools:ro", "probe:1", "/tools/probe2", "info"}},
		{"program-on-volume-path", []string{"-h", "probe", "-v", tools + ":/tools:ro", "-e", "PATH=/tools:/bin", "probe:1", "probe2", "info"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			native := d.run(nil, append([]string{"run", "--rm", "--runtime=runc"}, tc.args...)...)
			guest := d.run(nil, append([]string{"run", "--rm", "--runtime=rumpgo"}, tc.args...)...)
			require.Equal(t, native.stdout, guest.stdout, "runc stderr: %s\nrumpgo stderr: %s", native.stderr, guest.stderr)
			require.Equal(t, native.code, guest.code, "rumpgo stderr: %s", guest.stderr)
		})
	}
	b, err := os.ReadFile(filepath.Join(vol, "f"))
	require.NoError(t, err)
	require.Equal(t, "written\n", string(b), "the volume's file, on the host")
}

// TestDockerPublish: docker run -d -p of an HTTP server under rumpgo is
// answered on the host port (Docker's bridge: the guest owns the
// container's veth), then docker logs shows its output and docker stop
// ends it within the grace period.
func TestDockerPublish(t *testing.T) {
	d := dockerTest(t)
	if d == nil {
		return // the run in private namespaces was the test
	}
	id, err := d.docker("run", "-d", "--runtime=rumpgo", "-p", "8080:80", "probe:1", "/bin/probe", "serve", "80")
	require.NoError(t, err)
	id = strings.TrimSpace(id)
	var body string
	t.Cleanup(func() {
		if t.Failed() {
			r := d.run(nil, "logs", id)
			t.Logf("docker logs: %s %s", r.stdout, r.stderr)
			d.run(nil, "rm", "-f", id)
		}
	})
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://127.0.0.1:8080/")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		return true
	}, 20*time.Second, 100*time.Millisecond, "no answer on the published port")
	require.Equal(t, "hello from ociprobe\n", body)
	logs, err := d.docker("logs", id)
	require.NoError(t, err)
	require.Equal(t, "serving on 80\n", logs)
	start := time.Now()
	_, err = d.docker("stop", "-t", "10", id)
	require.NoError(t, err)
	require.Less(t, time.Since(start), 9*time.Second, "SIGTERM ended the guest before the grace period")
	code, err := d.docker("inspect", "-f", "{{.State.ExitCode}}", id)
	require.NoError(t, err)
	// As under runc: the Go runtime of the container's init re-raises the
	// SIGTERM it does not handle, an init ignores that, and it exits 2.
	require.Equal(t, "2\n", code, "SIGTERM ended the guest")
	_, err = d.docker("rm", id)
	require.NoError(t, err)

	// --network host: the server's port is the host's, under runc and
	// rumpgo alike, and is gone with the container.
	for _, rt := range []string{"runc", "rumpgo"} {
		id, err := d.docker("run", "-d", "--runtime="+rt, "--network", "host", "probe:1", "/bin/probe", "serve", "8081")
		require.NoError(t, err, rt)
		id = strings.TrimSpace(id)
		body, err := httpGet("http://127.0.0.1:8081/", 20*time.Second)
		if err != nil {
			logs := d.run(nil, "logs", id)
			st, _ := d.docker("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} {{.State.Error}}", id)
			t.Fatalf("%s: no answer on the host network's port: %v; docker logs: %s %s; state %s", rt, err, logs.stdout, logs.stderr, st)
		}
		require.Equal(t, "hello from ociprobe\n", body, rt)
		_, err = d.docker("rm", "-f", id)
		require.NoError(t, err, rt)
		_, err = http.Get("http://127.0.0.1:8081/")
		require.Error(t, err, "%s: the port outlived its container", rt)
	}
}

// TestDockerExec: docker exec into a running rumpgo container (the shim
// runs rumpgo-oci exec --process --detach --pid-file) prints, reads its
// stdin and exits as the same docker exec into a runc container.
func TestDockerExec(t *testing.T) {
	d := dockerTest(t)
	if d == nil {
		return // the run in private namespaces was the test
	}
	ids := map[string]string{}
	for _, rt := range []string{"runc", "rumpgo"} {
		id, err := d.docker("run", "-d", "--runtime="+rt, "-h", "probe", "-e", "PROBE_C=container", "probe:1", "/bin/probe", "sleep")
		require.NoError(t, err)
		ids[rt] = strings.TrimSpace(id)
		t.Cleanup(func() { d.run(nil, "rm", "-f", ids[rt]) })
	}
	for _, tc := range []struct {
		name       string
		opts, args []string
		stdin      string
	}{
		{"status", nil, []string{"/bin/probe", "info", "3"}, ""},
		{"env-workdir-user", []string{"-e", "PROBE_X=x y", "-e", "PROBE_FILES=/etc/motd", "-w", "/etc", "-u", "1000:1001"}, []string{"/bin/probe", "info"}, ""},
		{"path-lookup", nil, []string{"probe", "info"}, ""},
		{"stdin", []string{"-i"}, []string{"/bin/probe", "cat"}, "one\ntwo\n"},
		{"stdin-closed", nil, []string{"/bin/probe", "cat"}, "unread\n"},
		{"missing", nil, []string{"/bin/nosuch"}, ""},
		{"not-in-path", nil, []string{"nosuch"}, ""},
		{"not-executable", nil, []string{"/etc/motd"}, ""},
		{"missing-cwd", []string{"-w", "/nosuch"}, []string{"/bin/probe", "info"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var res [2]result
			for i, rt := range []string{"runc", "rumpgo"} {
				args := append(append(append([]string{"exec"}, tc.opts...), ids[rt]), tc.args...)
				res[i] = d.run(strings.NewReader(tc.stdin), args...)
			}
			native, guest := res[0], res[1]
			require.Equal(t, native.stdout, guest.stdout, "runc stderr: %s\nrumpgo stderr: %s", native.stderr, guest.stderr)
			require.Equal(t, native.code, guest.code, "runc stderr: %s\nrumpgo stderr: %s", native.stderr, guest.stderr)
		})
	}
	logs, err := d.docker("logs", ids["rumpgo"])
	require.NoError(t, err)
	require.Equal(t, "sleeping\n", logs, "the execs' output is not the container's")
	// docker top lists the host processes the runtime's ps names: the
	// monitor, whose command line ends in the guest's.
	top, err := d.docker("top", ids["rumpgo"])
	require.NoError(t, err)
	require.Contains(t, top, "__monitor")
	require.Contains(t, top, " -- /bin/probe sleep\n")
	state, err := d.docker("inspect", "-f", "{{.State.Status}}", ids["rumpgo"])
	require.NoError(t, err)
	require.Equal(t, "running\n", state)

	// docker pause and unpause, and docker commit of a running container
	// (which pauses it meanwhile).
	for _, rt := range []string{"runc", "rumpgo"} {
		_, err := d.docker("pause", ids[rt])
		require.NoError(t, err, rt)
		state, err := d.docker("inspect", "-f", "{{.State.Status}}", ids[rt])
		require.NoError(t, err)
		require.Equal(t, "paused\n", state, rt)
		_, err = d.docker("unpause", ids[rt])
		require.NoError(t, err, rt)
		_, err = d.docker("commit", ids[rt], "committed-"+rt+":1")
		require.NoError(t, err, rt)
		state, err = d.docker("inspect", "-f", "{{.State.Status}}", ids[rt])
		require.NoError(t, err)
		require.Equal(t, "running\n", state, rt)
	}
	r := d.run(nil, "exec", ids["rumpgo"], "/bin/probe", "info")
	require.Equal(t, 0, r.code, "exec after unpause: %s", r.stderr)
}

// TestDockerWritableLayer: what a rumpgo container writes lands in its
// Docker container layer with the writer's owner, as under runc: docker
// diff lists the same changes, docker export has the same files, and an
// image committed from it has them.
func TestDockerWritableLayer(t *testing.T) {
	d := dockerTest(t)
	if d == nil {
		return // the run in private namespaces was the test
	}
	type outcome struct{ diff, files, committed string }
	results := map[string]outcome{}
	for _, rt := range []string{"runc", "rumpgo"} {
		var o outcome
		for _, run := range []struct {
			name string
			args []string
		}{
			{"root", []string{"/bin/probe", "write", "/etc/motd"}},
			{"user", []string{"-u", "1000:1001", "/bin/probe", "write", "/tmp/f"}},
		} {
			name := "layer-" + rt + "-" + run.name
			args := append([]string{"run", "--name", name, "--runtime=" + rt}, run.args[:len(run.args)-3]...)
			args = append(append(args, "probe:1"), run.args[len(run.args)-3:]...)
			out, err := d.docker(args...)
			require.NoError(t, err)
			require.Equal(t, "written\n", out)
			t.Cleanup(func() { d.run(nil, "rm", "-f", name) })
			diff, err := d.docker("diff", name)
			require.NoError(t, err)
			o.diff += run.name + ":\n" + diff
			r := d.run(nil, "export", name)
			require.Equal(t, 0, r.code, r.stderr)
			tr := tar.NewReader(strings.NewReader(r.stdout))
			for {
				h, err := tr.Next()
				if err == io.EOF {
					break
				}
				require.NoError(t, err)
				if h.Name == "etc/motd" || h.Name == "tmp/f" {
					b, _ := io.ReadAll(tr)
					o.files += fmt.Sprintf("%s: %d:%d %o %q\n", h.Name, h.Uid, h.Gid, h.Mode, b)
				}
			}
			img := name + ":committed"
			_, err = d.docker("commit", name, img)
			require.NoError(t, err)
			out, err = d.docker("run", "--rm", "--runtime=runc", "-h", "probe", "-e", "PROBE_FILES=/etc/motd,/tmp/f", img, "/bin/probe", "info")
			require.NoError(t, err)
			o.committed += out
		}
		results[rt] = o
	}
	require.Equal(t, results["runc"], results["rumpgo"])
	require.Contains(t, results["rumpgo"].files, `tmp/f: 1000:1001 100644 "written\n"`)
}

// TestDockerTerminal: docker run -t and docker exec -t give the rumpgo
// guest's process a terminal on its stdio (the console socket's pty), as
// runc's: same output, line endings included, same status.
func TestDockerTerminal(t *testing.T) {
	d := dockerTest(t)
	if d == nil {
		return // the run in private namespaces was the test
	}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"tty", []string{"/bin/probe", "tty"}},
		{"status", []string{"/bin/probe", "info", "3"}},
	} {
		t.Run("run-"+tc.name, func(t *testing.T) {
			native := d.run(nil, append([]string{"run", "--rm", "-t", "-h", "probe", "--runtime=runc", "probe:1"}, tc.args...)...)
			guest := d.run(nil, append([]string{"run", "--rm", "-t", "-h", "probe", "--runtime=rumpgo", "probe:1"}, tc.args...)...)
			require.Equal(t, native.stdout, guest.stdout, "runc stderr: %s\nrumpgo stderr: %s", native.stderr, guest.stderr)
			require.Equal(t, native.code, guest.code, "rumpgo stderr: %s", guest.stderr)
			if tc.name == "tty" {
				require.Contains(t, guest.stdout, "fd 0 terminal: true\r\nfd 1 terminal: true\r\nfd 2 terminal: true\r\n")
			}
		})
	}
	ids := map[string]string{}
	for _, rt := range []string{"runc", "rumpgo"} {
		id, err := d.docker("run", "-d", "-h", "probe", "--runtime="+rt, "probe:1", "/bin/probe", "sleep")
		require.NoError(t, err)
		ids[rt] = strings.TrimSpace(id)
		t.Cleanup(func() { d.run(nil, "rm", "-f", ids[rt]) })
	}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"tty", []string{"/bin/probe", "tty"}},
		{"status", []string{"/bin/probe", "info", "3"}},
	} {
		t.Run("exec-"+tc.name, func(t *testing.T) {
			native := d.run(nil, append([]string{"exec", "-t", ids["runc"]}, tc.args...)...)
			guest := d.run(nil, append([]string{"exec", "-t", ids["rumpgo"]}, tc.args...)...)
			require.Equal(t, native.stdout, guest.stdout, "runc stderr: %s\nrumpgo stderr: %s", native.stderr, guest.stderr)
			require.Equal(t, native.code, guest.code, "rumpgo stderr: %s", guest.stderr)
			if tc.name == "tty" {
				require.Contains(t, guest.stdout, "fd 0 terminal: true\r\nfd 1 terminal: true\r\nfd 2 terminal: true\r\n")
			}
		})
	}
}

// TestDockerImages: images that are not one static Go program — a
// busybox shell script, a dynamic C program with the image's own ld.so
// and libc, children they start through PATH — run under rumpgo as
// under runc (stdout, exit status).
func TestDockerImages(t *testing.T) {
	requireBuilt(t)
	requireKVM(t)
	if !inPrivateNamespaces(t) {
		return
	}
	need(t, "gcc", "gcc")
	dyn := filepath.Join(t.TempDir(), "ocidyn")
	out, err := exec.Command("gcc", "-O2", "-o", dyn, filepath.Join(moduleRoot, "tests/testdata/ocidyn/main.c")).CombinedOutput()
	require.NoError(t, err, "%s", out)
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		return b
	}
	busybox := read(need(t, "busybox", "busybox-static"))
	d := startDockerd(t)
	d.importImage("images:1", map[string][]byte{
		"bin/probe":   read(probeBin),
		"bin/busybox": busybox,
		"bin/sh":      busybox, // busybox runs the applet its name says
		"bin/cat":     busybox,
		"bin/script.sh": []byte("#!/bin/sh\necho \"script: $0 $*\"\necho \"motd: $(cat /etc/motd)\"\n" +
			"for w in one two; do echo \"word $w\"; done\n/bin/probe info\nexit 4\n"),
		"bin/ocidyn": read(dyn),
		// The image's own: the interpreter at the path the ELF names
		// (a regular file here, a symlink on Debian) and libc.
		"lib64/ld-linux-x86-64.so.2":     read("/lib64/ld-linux-x86-64.so.2"),
		"lib/x86_64-linux-gnu/libc.so.6": read("/lib/x86_64-linux-gnu/libc.so.6"),
		"etc/motd":                       []byte("from the image\n"),
	})
	for _, tc := range []struct {
		name string
		args []string
		code int
		has  string // a line the output has, so that two like failures do not pass
	}{
		{"script", []string{"images:1", "/bin/script.sh", "a", "b c"}, 4, "word two\n"},
		{"script-via-sh", []string{"images:1", "sh", "-c", "echo $((6*7)); cat /etc/motd; /bin/script.sh x"}, 4, "42\nfrom the image\n"},
		{"dynamic-child", []string{"-e", "PROBE_X=x", "images:1", "/bin/ocidyn", "/bin/probe", "info", "3"}, 3, "args: info 3\n"},
		{"dynamic-user", []string{"-u", "1000:1000", "images:1", "/bin/ocidyn"}, 0, "uid 1000 gid 1000\nPROBE_X=(unset)\nmotd: from the image\n"},
		{"dynamic-path", []string{"images:1", "ocidyn", "sh", "-c", "echo from sh; exit 5"}, 5, "from sh\nchild exited 5\n"},
		{"dynamic-missing-child", []string{"images:1", "/bin/ocidyn", "nosuch"}, 127, "spawn nosuch: error 2\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			native := d.run(nil, append([]string{"run", "--rm", "-h", "probe", "--runtime=runc"}, tc.args...)...)
			guest := d.run(nil, append([]string{"run", "--rm", "-h", "probe", "--runtime=rumpgo"}, tc.args...)...)
			require.Equal(t, native.stdout, guest.stdout, "runc stderr: %s\nrumpgo stderr: %s", native.stderr, guest.stderr)
			require.Equal(t, native.code, guest.code, "runc stderr: %s\nrumpgo stderr: %s", native.stderr, guest.stderr)
			require.Equal(t, tc.code, guest.code)
			require.Contains(t, guest.stdout, tc.has)
		})
	}
}

// httpGet fetches url's body, retrying until it answers or limit passes.
func httpGet(url string, limit time.Duration) (string, error) {
	for deadline := time.Now().Add(limit); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(url)
		if err == nil {
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			return string(b), err
		}
		if time.Now().After(deadline) {
			return "", err
		}
	}
}
