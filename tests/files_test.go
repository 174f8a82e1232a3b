package tests

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// Images and volumes (issue 4, part 2): the file-system differential on
// an image path and on a volume, escapes, durability, build determinism
// and bad images.

// buildImage runs `rumpgo build` and returns the image's path.
func buildImage(t *testing.T, args ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "test.img")
	r := run(t, os.Environ(), nil, append([]string{requireRumpgo(t), "build", "-o", out}, args...)...)
	require.Equal(t, 0, r.status, "rumpgo build: %s", r.stderr)
	return out
}

// withEnv returns the environment with k set to v.
func withEnv(k, v string) []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, k+"=") {
			env = append(env, e)
		}
	}
	return append(env, k+"="+v)
}

// TestFSOnImageAndVolume runs tests/testdata/fsops with its scratch
// directory on the image's tree (through the writable layer) and on a
// volume, and natively on a host directory: the same output.
func TestFSOnImageAndVolume(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	bin := program(t, "fsops")
	native := run(t, withEnv("TMPDIR", t.TempDir()), nil, bin, "arg1")
	require.Equal(t, 0, native.status, "native run: %s", native.stderr)

	t.Run("image", func(t *testing.T) {
		img := buildImage(t, "--volume", "/data", "-e", "TMPDIR=/data", bin, "--", "arg1")
		for _, kernel := range kernelPaths() {
			guest := run(t, os.Environ(), nil, rumpgo, "run", "--kernel", kernel, img)
			require.Equal(t, 0, guest.status, "--kernel %s: rumpgo stderr:\n%s", kernel, guest.stderr)
			requireSameLines(t, native.stdout, guest.stdout)
		}
	})
	t.Run("volume", func(t *testing.T) {
		vol := t.TempDir()
		guest := run(t, os.Environ(), nil, rumpgo, "run", "-v", vol+":/data", "-e", "TMPDIR=/data", bin, "arg1")
		require.Equal(t, 0, guest.status, "rumpgo stderr:\n%s", guest.stderr)
		requireSameLines(t, native.stdout, guest.stdout)
	})
}

// snapshot describes every file below dir: type, mode, size, contents,
// link target, link count, xattrs, and mtimes set to the past.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		desc := fmt.Sprintf("mode=%o", st.Mode)
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			desc += fmt.Sprintf(" size=%d sha=%x nlink=%d", st.Size, sha256.Sum256(b), st.Nlink)
		case unix.S_IFLNK:
			target, _ := os.Readlink(p)
			desc += " -> " + target
		}
		if st.Mtim.Sec < time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC).Unix() {
			desc += fmt.Sprintf(" mtime=%d.%09d", st.Mtim.Sec, st.Mtim.Nsec)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFLNK {
			buf := make([]byte, 4096)
			if n, err := unix.Llistxattr(p, buf); err == nil && n > 0 {
				names := strings.Split(strings.TrimRight(string(buf[:n]), "\x00"), "\x00")
				sort.Strings(names)
				for _, k := range names {
					v := make([]byte, 256)
					m, _ := unix.Lgetxattr(p, k, v)
					desc += fmt.Sprintf(" %s=%q", k, v[:max(m, 0)])
				}
			}
		}
		out[rel] = desc
		return nil
	})
	require.NoError(t, err)
	return out
}

// TestVolumeTree leaves a tree of files on a volume and natively: the
// host sees the same files afterwards.
func TestVolumeTree(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	bin := program(t, "fsvol")
	nativeDir := t.TempDir()
	native := run(t, os.Environ(), nil, bin, "tree", nativeDir)
	require.Equal(t, 0, native.status, native.stderr)
	want := snapshot(t, nativeDir)
	for _, kernel := range kernelPaths() {
		volDir := t.TempDir()
		guest := run(t, os.Environ(), nil, rumpgo, "run", "--kernel", kernel, "-v", volDir+":/srv/vol", bin, "tree", "/srv/vol")
		require.Equal(t, 0, guest.status, "--kernel %s: %s", kernel, guest.stderr)
		require.Equal(t, native.stdout, guest.stdout, "--kernel %s", kernel)
		got := snapshot(t, volDir)
		require.Equal(t, want, got, "--kernel %s", kernel)
		require.Contains(t, got["a/file"], "user.note=\"xattr value\"")
	}
}

// TestVolumeEscapes runs a guest that tries to leave its volume and to
// change a read-only one. The volume is mounted at its own host path, so
// the guest's paths name the host's files: none may be reached.
func TestVolumeEscapes(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	bin := program(t, "fsvol")
	for _, kernel := range kernelPaths() {
		base := t.TempDir()
		vol, ro := filepath.Join(base, "vol"), filepath.Join(base, "ro")
		for _, d := range []string{vol, ro, filepath.Join(base, "other")} {
			require.NoError(t, os.Mkdir(d, 0o755))
		}
		require.NoError(t, os.WriteFile(filepath.Join(base, "secret"), []byte("host secret"), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(base, "other", "keep"), []byte("keep"), 0o644))
		for _, d := range []string{vol, ro} {
			require.NoError(t, os.WriteFile(filepath.Join(d, "inside"), []byte("inside"), 0o644))
		}
		require.NoError(t, os.Symlink("../secret", filepath.Join(vol, "planted-rel")))
		require.NoError(t, os.Symlink(filepath.Join(base, "secret"), filepath.Join(vol, "planted-abs")))
		outside := func() map[string]string { return snapshotOutside(t, base, "vol") }
		before := outside()

		guest := run(t, os.Environ(), nil, rumpgo, "run", "--kernel", kernel, "-v", vol+":"+vol, "-v", ro+":"+ro+":ro", bin, "escape", vol, ro)
		require.Equal(t, 0, guest.status, "--kernel %s: stdout:\n%s\nstderr:\n%s", guest.stdout, guest.stderr)
		require.Equal(t, before, outside(), "the host outside the volume changed; the guest said:\n%s", guest.stdout)

		results := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(guest.stdout), "\n") {
			if i := strings.LastIndex(line, " "); i > 0 {
				results[strings.TrimSpace(line[:i])] = line[i+1:]
			}
		}
		for _, tc := range []struct{ attempt, want string }{
			{"link VOL file to /tmp", "EXDEV"},
			{"link /etc/passwd into VOL", "EXDEV"},
			{"rename VOL file to /tmp", "EXDEV"},
			{"rename VOL file to VOL/../x", "EXDEV"},
			{"openat2 RESOLVE_BENEATH ../secret", "EXDEV"},
			{"ro: create", "EROFS"},
			{"ro: write existing", "EROFS"},
			{"ro: open O_RDWR", "EROFS"},
			{"ro: truncate", "EROFS"},
			{"ro: unlink", "EROFS"},
			{"ro: rename", "EROFS"},
			{"ro: mkdir", "EROFS"},
			{"ro: symlink", "EROFS"},
			{"ro: link", "EROFS"},
			{"ro: chmod", "EROFS"},
			{"ro: chown", "EROFS"},
			{"ro: utimes", "EROFS"},
			{"ro: setxattr", "EROFS"},
			{"ro: mkfifo", "EROFS"},
			{"ro: open O_RDONLY", "ok"},
			{"ro: mmap shared writable", "EACCES"},
			{"ro: reads", `"inside"`},
		} {
			require.Equal(t, tc.want, results[tc.attempt], "--kernel %s: %s; the guest said:\n%s", kernel, tc.attempt, guest.stdout)
		}
	}
}

// TestVolumeDurability: data a guest fsyncs on a volume is on the host
// after rumpgo is killed with SIGKILL.
func TestVolumeDurability(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	bin := program(t, "fsvol")
	vol := t.TempDir()
	cmd := exec.Command(rumpgo, "run", "-v", vol+":/data", bin, "durable", "/data/file")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	defer cmd.Process.Kill()
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- s
	}()
	var got string
	select {
	case got = <-line:
	case <-time.After(runTimeout):
		t.Fatalf("no \"synced\" from the guest; stderr:\n%s", stderr.String())
	}
	require.True(t, strings.HasPrefix(got, "synced "), "guest said %q; stderr:\n%s", got, stderr.String())
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	cmd.Wait()
	b, err := os.ReadFile(filepath.Join(vol, "file"))
	require.NoError(t, err)
	require.Equal(t, strings.TrimSpace(strings.TrimPrefix(got, "synced ")), fmt.Sprintf("%x", sha256.Sum256(b)))
}

// TestBuildDeterministic: two builds of the same inputs are the same
// bytes, even when the sources' times change in between, and inspect
// describes the image.
func TestBuildDeterministic(t *testing.T) {
	bin := program(t, "hello")
	src := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(src, "static", "css"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(src, "static", "index.html"), []byte("<h1>hi</h1>"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(src, "static", "css", "a.css"), []byte("a{}"), 0o600))
	require.NoError(t, os.Symlink("index.html", filepath.Join(src, "static", "home.html")))
	require.NoError(t, os.WriteFile(filepath.Join(src, "app.conf"), []byte("mode=prod\n"), 0o644))
	args := []string{"--file", filepath.Join(src, "static") + ":/srv/static", "--file", filepath.Join(src, "app.conf") + ":/etc/app.conf",
		"-e", "MODE=prod", "-w", "/srv", "-p", "8080", bin, "--", "--config", "/etc/app.conf"}
	one := buildImage(t, args...)
	later := time.Now().Add(time.Hour)
	require.NoError(t, os.Chtimes(filepath.Join(src, "app.conf"), later, later))
	two := buildImage(t, args...)
	a, err := os.ReadFile(one)
	require.NoError(t, err)
	b, err := os.ReadFile(two)
	require.NoError(t, err)
	require.True(t, bytes.Equal(a, b), "two builds differ")

	r := run(t, os.Environ(), nil, requireRumpgo(t), "inspect", one)
	require.Equal(t, 0, r.status, r.stderr)
	for _, s := range []string{"entry:   /bin/hello", `argv:    ["/bin/hello","--config","/etc/app.conf"]`, "env:     MODE=prod",
		"workdir: /srv", "port:    8080", "static executable", "Go:      go1.", "/srv/static/home.html -> index.html", "-rw------- 0:0"} {
		require.Contains(t, r.stdout, s)
	}
	// Standard tar lists it.
	if tarBin, err := exec.LookPath("tar"); err == nil {
		out, err := exec.Command(tarBin, "tf", one).CombinedOutput()
		require.NoError(t, err, string(out))
		require.True(t, strings.HasPrefix(string(out), "manifest.json\nrootfs/\n"), string(out))
	}
}

// TestImageRun: the manifest's argv, env, workdir and user, each
// overridable.
func TestImageRun(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	bin := program(t, "hello")
	img := buildImage(t, "-e", "RUMPGO_TEST_VAR=from image", "-w", "/srv", bin, "--", "x", "y")
	for _, kernel := range kernelPaths() {
		r := run(t, os.Environ(), nil, rumpgo, "run", "--kernel", kernel, img)
		require.Equal(t, 0, r.status, "--kernel %s: %s", kernel, r.stderr)
		require.True(t, strings.HasPrefix(r.stdout, "hello, world\nx\ny\nRUMPGO_TEST_VAR=\"from image\"\n"), "--kernel %s: %s", kernel, r.stdout)
		r = run(t, os.Environ(), nil, rumpgo, "run", "--kernel", kernel, "-e", "RUMPGO_TEST_VAR=override", img, "z")
		require.Equal(t, 0, r.status, "--kernel %s: %s", kernel, r.stderr)
		require.True(t, strings.HasPrefix(r.stdout, "hello, world\nz\nRUMPGO_TEST_VAR=\"override\"\n"), "--kernel %s: %s", kernel, r.stdout)
	}
}

// TestBadImages: hostile and broken images are refused by run and
// inspect with one clear line, status 126, and write nothing.
func TestBadImages(t *testing.T) {
	rumpgo := requireRumpgo(t)
	dir := t.TempDir()
	manifest := `{"version":1,"entry":"/p","argv":["/p"]}`
	mk := func(entries ...tar.Header) []byte {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		tw.WriteHeader(&tar.Header{Name: "manifest.json", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(manifest))})
		tw.Write([]byte(manifest))
		tw.WriteHeader(&tar.Header{Name: "rootfs/", Typeflag: tar.TypeDir, Mode: 0o755})
		for _, h := range entries {
			if h.Mode == 0 {
				h.Mode = 0o755
			}
			tw.WriteHeader(&h)
			if h.Typeflag == tar.TypeReg {
				tw.Write(make([]byte, h.Size))
			}
		}
		tw.Close()
		return buf.Bytes()
	}
	good := mk(tar.Header{Name: "rootfs/p", Typeflag: tar.TypeReg, Size: 600})
	corrupt := bytes.Clone(good)
	corrupt[1024+148] ^= 0x7f // the second header's checksum
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"dotdot", mk(tar.Header{Name: "rootfs/../../pwned", Typeflag: tar.TypeReg, Size: 1}), `".." in the name`},
		{"absolute", mk(tar.Header{Name: "/tmp/pwned", Typeflag: tar.TypeReg, Size: 1}), "absolute name"},
		{"device", mk(tar.Header{Name: "rootfs/p", Typeflag: tar.TypeReg, Size: 1}, tar.Header{Name: "rootfs/kmem", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 2}), "device nodes"},
		{"duplicate", mk(tar.Header{Name: "rootfs/p", Typeflag: tar.TypeReg, Size: 1}, tar.Header{Name: "rootfs/p", Typeflag: tar.TypeReg, Size: 1}), "duplicate entry"},
		{"truncated", good[:len(good)-1500], "truncated"},
		{"corrupted", corrupt, "corrupted archive"},
		{"not an image", []byte(strings.Repeat("garbage ", 200)), "not a valid image"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name+".img")
			require.NoError(t, os.WriteFile(path, tc.data, 0o644))
			for _, cmd := range []string{"run", "inspect"} {
				c := exec.Command(rumpgo, cmd, path)
				c.Dir = dir
				var stderr bytes.Buffer
				c.Stderr = &stderr
				err := c.Run()
				var ee *exec.ExitError
				require.ErrorAs(t, err, &ee, cmd)
				require.Equal(t, 126, ee.ExitCode(), "%s: %s", cmd, stderr.String())
				require.True(t, strings.HasPrefix(stderr.String(), "rumpgo: image "+path+": "), "%s: %q", cmd, stderr.String())
				require.Contains(t, stderr.String(), tc.want, cmd)
				require.Equal(t, 1, strings.Count(stderr.String(), "\n"), "one line")
			}
			for _, p := range []string{filepath.Join(dir, "pwned"), filepath.Join(filepath.Dir(dir), "pwned"), "/tmp/pwned"} {
				_, err := os.Lstat(p)
				require.True(t, os.IsNotExist(err), "%s was written", p)
			}
		})
	}
}

// snapshotOutside is snapshot of base without the volume directory vol in
// it: what a guest given only vol must leave unchanged.
func snapshotOutside(t *testing.T, base, vol string) map[string]string {
	s := snapshot(t, base)
	for k := range s {
		if k == vol || strings.HasPrefix(k, vol+"/") {
			delete(s, k)
		}
	}
	return s
}
