package oci

import (
	"archive/tar"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rumpgo/rumpgo/launch"
	"github.com/stretchr/testify/require"
)

// rumpgo build --image (issue 20): an image docker builds and saves runs
// under rumpgo with the output and status of docker run under runc.

var (
	rumpgoOnce sync.Once
	rumpgoBin  string
	rumpgoErr  error
)

func requireRumpgo(t *testing.T) string {
	t.Helper()
	rumpgoOnce.Do(func() {
		rumpgoBin = filepath.Join(buildDir, "rumpgo")
		rumpgoErr = goBuild(rumpgoBin, "./cmd/rumpgo")
	})
	if rumpgoErr != nil {
		t.Fatal(rumpgoErr)
	}
	return rumpgoBin
}

// debianBase is the tar of a small Debian-shaped root file system for
// docker import: merged /usr (/bin, /lib, /lib64 symlinks), busybox's
// applets for the shell work, the host's own coreutils ls (a dynamic
// glibc program) with the libraries it needs, users in /etc/passwd.
func debianBase(t *testing.T) []byte {
	const busybox = "/bin/busybox"
	if _, err := os.Stat(busybox); err != nil {
		t.Fatalf("needs %s (Debian package busybox-static): %v", busybox, err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	var dir func(p string)
	dir = func(p string) {
		if p == "." || dirs[p] {
			return
		}
		dir(filepath.Dir(p))
		dirs[p] = true
		mode := int64(0o755)
		if p == "tmp" {
			mode = 0o1777
		}
		require.NoError(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: p + "/", Mode: mode}))
	}
	file := func(p string, mode int64, data []byte) {
		dir(filepath.Dir(p))
		require.NoError(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: p, Mode: mode, Size: int64(len(data))}))
		_, err := tw.Write(data)
		require.NoError(t, err)
	}
	link := func(p, target string) {
		dir(filepath.Dir(p))
		require.NoError(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: p, Linkname: target, Mode: 0o777}))
	}
	host := func(src, dst string) {
		real, err := filepath.EvalSymlinks(src)
		require.NoError(t, err)
		b, err := os.ReadFile(real)
		require.NoError(t, err)
		file(dst, 0o755, b)
	}
	for _, d := range []string{"usr/bin", "usr/lib/x86_64-linux-gnu", "usr/lib64", "etc", "tmp", "root", "home/app", "dev", "proc", "sys"} {
		dir(d)
	}
	link("bin", "usr/bin")
	link("sbin", "usr/bin")
	link("lib", "usr/lib")
	link("lib64", "usr/lib64")
	host(busybox, "usr/bin/busybox")
	for _, a := range []string{"sh", "rm", "mkdir", "cat", "id", "echo", "test", "pwd"} {
		link("usr/bin/"+a, "busybox")
	}
	host("/usr/bin/ls", "usr/bin/ls")
	libs, missing, err := launch.ResolveLibs("/usr/bin/ls", launch.LibOptions{NoNSS: true})
	require.NoError(t, err)
	require.Empty(t, missing)
	for _, l := range libs {
		p := strings.TrimPrefix(l.Path, "/")
		for _, pre := range []string{"lib/", "lib64/"} {
			if strings.HasPrefix(p, pre) {
				p = "usr/" + p
			}
		}
		host(l.Host, p)
	}
	file("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\napp:x:1234:1234::/home/app:/bin/sh\n"))
	file("etc/group", 0o644, []byte("root:x:0:\napp:x:1234:\n"))
	file("etc/motd", 0o644, []byte("removed by a later layer\n"))
	require.NoError(t, tw.Close())
	return buf.Bytes()
}

const entryScript = `#!/bin/sh
echo "argc=$# args=$*"
echo "uid=$(id -u) gid=$(id -g) pwd=$(pwd)"
echo "PATH=$PATH"
echo "APP_MODE=$APP_MODE APP_NAME=$APP_NAME"
echo "opt/old: $(ls /opt/old)"
if test -e /etc/motd; then echo "motd present"; else echo "motd gone"; fi
ls -d /data /opt/old/kept
cat /opt/old/kept
exit 3
`

const dockerfile = `FROM debian-base:1
COPY entry.sh /usr/local/bin/entry.sh
RUN rm /etc/motd && mkdir -p /opt/old /srv && echo old > /opt/old/gone
RUN rm -rf /opt/old && mkdir /opt/old && echo new > /opt/old/kept
ENV APP_MODE=prod APP_NAME="x y"
WORKDIR /srv
USER app
EXPOSE 8080/tcp
VOLUME /data
ENTRYPOINT ["/usr/local/bin/entry.sh"]
CMD ["a", "b c"]
`

// TestDockerSaveImage: an image built by docker build on a Debian-shaped
// base (a whiteout, an opaque directory, a #! entrypoint, ENV, WORKDIR,
// USER by name, EXPOSE, VOLUME, ENTRYPOINT and CMD), docker save'd, then
// rumpgo build --image: rumpgo run prints what docker run under runc
// prints and exits with its status; a COMMAND given to build replaces
// CMD as one given to docker run does.
func TestDockerSaveImage(t *testing.T) {
	requireBuilt(t)
	rumpgo := requireRumpgo(t)
	requireKVM(t)
	if !inPrivateNamespaces(t) {
		return
	}
	d := startDockerd(t)
	r := d.run(bytes.NewReader(debianBase(t)), "import", "-", "debian-base:1")
	require.Equal(t, 0, r.code, "docker import: %s", r.stderr)
	ctx := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte(dockerfile), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(ctx, "entry.sh"), []byte(entryScript), 0o755))
	os.Setenv("DOCKER_BUILDKIT", "0") // the classic builder: no BuildKit daemon in this namespace
	_, err := d.docker("build", "--network", "none", "-t", "app:1", ctx)
	require.NoError(t, err)
	saved := filepath.Join(t.TempDir(), "app.tar")
	_, err = d.docker("save", "-o", saved, "app:1")
	require.NoError(t, err)

	// The layers hold what the test is about: a whiteout and an opaque
	// directory (overlay2's diff of rm and of rm -rf then mkdir).
	wh := whiteoutsIn(t, saved)
	require.Contains(t, wh, "etc/.wh.motd")
	require.Contains(t, wh, "opt/old/.wh..wh..opq")

	for _, tc := range []struct {
		name    string
		command []string
	}{
		{"entrypoint and cmd", nil},
		{"command replaces cmd", []string{"one", "two three"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := filepath.Join(t.TempDir(), "app.img")
			b := exec.Command(rumpgo, append([]string{"build", "-o", img, "--image", saved}, tc.command...)...)
			out, err := b.CombinedOutput()
			require.NoError(t, err, "rumpgo build: %s", out)
			require.NotContains(t, string(out), "warning", "nothing is missing: %s", out)

			native := d.run(nil, append([]string{"run", "--rm", "--runtime=runc", "app:1"}, tc.command...)...)
			require.Equal(t, 3, native.code, "docker run: %s", native.stderr)
			cmd := exec.Command(rumpgo, "run", img)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err = cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, native.stdout, stdout.String(), "docker run stderr: %s\nrumpgo stderr: %s", native.stderr, stderr.String())
			require.Equal(t, native.code, code, "rumpgo stderr: %s", stderr.String())
			t.Logf("docker run and rumpgo run:\n%s", native.stdout)
			require.Contains(t, native.stdout, "motd gone\n")
			require.Contains(t, native.stdout, "opt/old: kept\n")
			require.Contains(t, native.stdout, "uid=1234 gid=1234 pwd=/srv\n")

			insp, err := exec.Command(rumpgo, "inspect", img).CombinedOutput()
			require.NoError(t, err, "%s", insp)
			for _, s := range []string{"user:    1234:1234", "port:    8080/tcp", "volume:  /data", "workdir: /srv",
				"env:     APP_MODE=prod", "entry:   /usr/bin/busybox", `["/bin/sh","/usr/local/bin/entry.sh"`} {
				require.Contains(t, string(insp), s)
			}
		})
	}
}

// whiteoutsIn lists the whiteout entries of a docker save tarball's layers.
func whiteoutsIn(t *testing.T, saved string) []string {
	f, err := os.Open(saved)
	require.NoError(t, err)
	defer f.Close()
	var out []string
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		if !strings.HasSuffix(h.Name, "layer.tar") && !strings.HasPrefix(h.Name, "blobs/") {
			continue
		}
		inner := tar.NewReader(tr)
		for {
			ih, err := inner.Next()
			if err != nil {
				break
			}
			if strings.Contains(filepath.Base(ih.Name), ".wh.") {
				out = append(out, strings.TrimPrefix(ih.Name, "./"))
			}
		}
	}
	return out
}
