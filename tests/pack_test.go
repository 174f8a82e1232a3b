package tests

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// Packaging whole trees (issue 20): rumpgo build --rootfs DIR, the
// libraries of every ELF of an image (dlopen'ed modules included), and
// rumpgo inspect's account of the space.

// packTree makes a small root file system the way distributions lay
// theirs out: glibc's ld.so and libc in /usr/lib/x86_64-linux-gnu behind
// a /lib -> usr/lib symlink, /lib64's ld.so an absolute symlink,
// busybox as /bin/sh, packprobe in /opt/app/bin with its libA through
// RUNPATH $ORIGIN/../lib, a module dlopen'ed by path whose libC only
// the tree's ld.so.conf directory /opt/extra/lib holds (its ld.so.cache
// made by ldconfig -r), a FIFO, and /opt/app/bin/broken whose libraries
// are nowhere (libnowhere.so) or only in an ld.so.conf directory the
// cache does not list (libstale.so).
func packTree(t *testing.T) string {
	t.Helper()
	need(t, "gcc", "gcc")
	ldconfig := "/sbin/ldconfig"
	if _, err := os.Stat(ldconfig); err != nil {
		t.Fatalf("needs %s (Debian package libc-bin): %v", ldconfig, err)
	}
	root := filepath.Join(t.TempDir(), "root")
	src := t.TempDir()
	mk := func(p string) string {
		p = filepath.Join(root, p)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		return p
	}
	gcc := func(args ...string) {
		out, err := exec.Command("gcc", args...).CombinedOutput()
		require.NoError(t, err, "gcc %v: %s", args, out)
	}
	write := func(p, s string) string {
		f := filepath.Join(src, p)
		require.NoError(t, os.WriteFile(f, []byte(s), 0o644))
		return f
	}
	copyHost := func(host, dst string) {
		real, err := filepath.EvalSymlinks(host)
		require.NoError(t, err)
		b, err := os.ReadFile(real)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(mk(dst), b, 0o755))
	}
	libdir := "usr/lib/x86_64-linux-gnu"
	copyHost("/lib64/ld-linux-x86-64.so.2", libdir+"/ld-linux-x86-64.so.2")
	copyHost("/lib/x86_64-linux-gnu/libc.so.6", libdir+"/libc.so.6")
	require.NoError(t, os.Symlink("usr/lib", filepath.Join(root, "lib")))
	require.NoError(t, os.Symlink("/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", mk("lib64/ld-linux-x86-64.so.2")))
	copyHost(busyboxStatic, "usr/bin/busybox")
	require.NoError(t, os.Symlink("busybox", mk("usr/bin/sh")))
	require.NoError(t, os.Symlink("usr/bin", filepath.Join(root, "bin")))

	gcc("-shared", "-fPIC", "-o", mk("opt/app/lib/libA.so"), write("a.c", "int a(void){return 42;}\n"))
	gcc("-shared", "-fPIC", "-Wl,-soname,libC.so.1", "-o", mk("opt/extra/lib/libC.so.1"), write("c.c", "int c(void){return 7;}\n"))
	gcc("-shared", "-fPIC", "-o", mk("opt/app/plugins/plug.so"), write("plug.c", "int c(void); int plug(void){return c()*6;}\n"),
		"-L"+filepath.Join(root, "opt/extra/lib"), "-l:libC.so.1")
	gcc("-O1", "-o", mk("opt/app/bin/packprobe"), filepath.Join(moduleRoot, "tests/testdata/packprobe/main.c"),
		"-L"+filepath.Join(root, "opt/app/lib"), "-lA", "-Wl,-rpath,$ORIGIN/../lib")
	// broken: built against libraries then taken away or left uncached.
	gcc("-shared", "-fPIC", "-Wl,-soname,libnowhere.so", "-o", filepath.Join(src, "libnowhere.so"), write("n.c", "int n(void){return 1;}\n"))
	gcc("-shared", "-fPIC", "-Wl,-soname,libstale.so", "-o", filepath.Join(src, "libstale.so"), write("s.c", "int s(void){return 1;}\n"))
	gcc("-o", mk("opt/app/bin/broken"), write("b.c", "int n(void); int s(void); int main(void){return n()+s();}\n"),
		"-L"+src, "-lnowhere", "-lstale")

	require.NoError(t, os.WriteFile(mk("etc/ld.so.conf"), []byte("include /etc/ld.so.conf.d/*.conf\n"), 0o644))
	require.NoError(t, os.WriteFile(mk("etc/ld.so.conf.d/extra.conf"), []byte("# the tree's own\n/opt/extra/lib\n/opt/stale/lib\n"), 0o644))
	out, err := exec.Command(ldconfig, "-r", root).CombinedOutput()
	require.NoError(t, err, "ldconfig -r: %s", out)
	// After the cache: ld.so will not find it there.
	b, err := os.ReadFile(filepath.Join(src, "libstale.so"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(mk("opt/stale/lib/libstale.so"), b, 0o755))
	require.NoError(t, unix.Mkfifo(mk("run/fifo"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "tmp"), 0o1777))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "proc"), 0o555))
	return root
}

// chrootRun runs argv natively inside root, with a /proc of its own
// there (ld.so takes $ORIGIN from /proc/self/exe), in new mount and PID
// namespaces (and a user namespace when not root).
func chrootRun(t *testing.T, root string, env []string, argv ...string) result {
	t.Helper()
	unshare, err := exec.LookPath("unshare")
	require.NoError(t, err)
	chroot, err := exec.LookPath("chroot")
	require.NoError(t, err)
	cmd := []string{unshare, "-m", "-p", "-f", "--mount-proc=" + filepath.Join(root, "proc")}
	if os.Geteuid() != 0 {
		cmd = append(cmd, "-r")
	}
	return run(t, env, nil, append(append(cmd, chroot, root), argv...)...)
}

// TestBuildRootfs: an image of a whole tree runs its program as the same
// tree does natively under chroot; build warns about what it left out
// and about every library found nowhere, naming the ELF; inspect says
// what takes the space.
func TestBuildRootfs(t *testing.T) {
	rumpgo := requireRumpgo(t)
	root := packTree(t)
	img := filepath.Join(t.TempDir(), "tree.img")
	b := run(t, os.Environ(), nil, rumpgo, "build", "-o", img, "--rootfs", root, "-e", "PATH=/opt/app/bin:/usr/bin", "packprobe", "one", "two")
	require.Equal(t, 0, b.status, "rumpgo build: %s", b.stderr)
	require.Contains(t, b.stderr, "rumpgo build: warning: left out 1 file(s) an image cannot hold")
	require.Contains(t, b.stderr, "/run/fifo (a FIFO)")
	require.Contains(t, b.stderr, "rumpgo build: warning: library not found: /opt/app/bin/broken: libnowhere.so not found\n")
	require.Contains(t, b.stderr, "rumpgo build: warning: library not found: /opt/app/bin/broken: libstale.so not found: in /opt/stale/lib (named by ld.so.conf) but not in /etc/ld.so.cache")
	require.Equal(t, 3, strings.Count(b.stderr, "warning:"), "nothing else is missing: %s", b.stderr)

	insp := run(t, os.Environ(), nil, rumpgo, "inspect", img)
	require.Equal(t, 0, insp.status, insp.stderr)
	for _, s := range []string{"entry:   /opt/app/bin/packprobe", `argv:    ["packprobe","one","two"]`,
		"space: ", "the largest directories:", "/usr/lib/x86_64-linux-gnu/\n", "the largest files:", "/usr/bin/busybox\n",
		"/lib64/ld-linux-x86-64.so.2 -> /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "/lib -> usr/lib"} {
		require.Contains(t, insp.stdout, s)
	}
	require.NotContains(t, insp.stdout, "/run/fifo")

	env := []string{"PATH=/opt/app/bin:/usr/bin"}
	n := chrootRun(t, root, env, "packprobe", "one", "two")
	require.Equal(t, 0, n.status, "native: %s", n.stderr)
	require.Contains(t, n.stdout, "plug()=42\n")
	requireKVM(t)
	for _, kernel := range kernelPaths() {
		g := run(t, os.Environ(), nil, rumpgo, "run", "--kernel", kernel, img)
		require.Equal(t, 0, g.status, "rumpgo run --kernel %s: %s", kernel, g.stderr)
		require.Equal(t, strings.Replace(n.stdout, "/run/fifo: present", "/run/fifo: absent", 1), g.stdout, "--kernel %s: the FIFO is the one difference", kernel)
	}

	// A shell script of the tree's own /bin/sh (busybox).
	script := `for f in /etc/ld.so.conf /etc/ld.so.conf.d/extra.conf /nonexistent; do if [ -r $f ]; then read -r line <$f; printf '%s: %s\n' $f "$line"; else echo "$f: unreadable"; fi; done; echo $((6*7)) $PATH; sh -c 'echo child $0' of; exit 3`
	n = chrootRun(t, root, env, "sh", "-c", script)
	require.Equal(t, 3, n.status, "native: %s", n.stderr)
	si := filepath.Join(t.TempDir(), "script.img")
	b = run(t, os.Environ(), nil, rumpgo, "build", "-o", si, "--rootfs", root, "-e", env[0], "sh", "-c", script)
	require.Equal(t, 0, b.status, b.stderr)
	for _, kernel := range kernelPaths() {
		g := run(t, os.Environ(), nil, rumpgo, "run", "--kernel", kernel, si)
		require.Equal(t, n.status, g.status, "--kernel %s: %s", kernel, g.stderr)
		require.Equal(t, n.stdout, g.stdout, "--kernel %s", kernel)
		require.Equal(t, n.stderr, g.stderr, "--kernel %s", kernel)
	}

	// broken fails the same way natively and in the image: ld.so's own words.
	n = chrootRun(t, root, nil, "/opt/app/bin/broken")
	bi := filepath.Join(t.TempDir(), "broken.img")
	b = run(t, os.Environ(), nil, rumpgo, "build", "-o", bi, "--rootfs", root, "/opt/app/bin/broken")
	require.Equal(t, 0, b.status, b.stderr)
	for _, kernel := range kernelPaths() {
		g := run(t, os.Environ(), nil, rumpgo, "run", "--kernel", kernel, bi)
		require.Equal(t, n.status, g.status, "--kernel %s: native %s\nrumpgo %s", kernel, n.stderr, g.stderr)
		require.Equal(t, n.stderr, g.stderr, "--kernel %s", kernel)
	}

	// Bad input: one clear line each.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--rootfs", filepath.Join(root, "nonexistent"), "x"}, "no such file or directory"},
		{[]string{"--rootfs", root, "nosuchprogram"}, `"nosuchprogram": executable file not found in $PATH`},
		{[]string{"--rootfs", root, "/etc/ld.so.conf"}, "permission denied"},
		{[]string{"--rootfs", root, "--entry", "/x", "packprobe"}, "--entry is for a host PROGRAM"},
	} {
		r := run(t, os.Environ(), nil, append([]string{rumpgo, "build", "-o", filepath.Join(t.TempDir(), "x.img")}, tc.args...)...)
		require.Equal(t, 125, r.status, "%v: %s", tc.args, r.stderr)
		require.Contains(t, r.stderr, tc.want, "%v", tc.args)
		require.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line: %s", r.stderr)
	}
}

// TestBuildPythonModules: Python from the host with its standard library
// given as a module tree (--file /usr/lib/python3.11): the extension
// modules Python dlopens from lib-dynload bring their own libraries
// (libsqlite3, libssl, libffi, liblzma, libbz2, ...), and the issue's
// imports print what they print natively.
func TestBuildPythonModules(t *testing.T) {
	rumpgo := requireRumpgo(t)
	py := "/usr/bin/python3.11"
	if _, err := os.Stat(py); err != nil {
		t.Fatalf("needs %s (Debian package python3): %v", py, err)
	}
	script := `import sqlite3, ssl, ctypes, zlib, lzma, bz2, json, decimal
c = sqlite3.connect(":memory:")
c.execute("create table t (k text, v int)")
c.executemany("insert into t values (?, ?)", [("a", 1), ("b", 2)])
print(sqlite3.sqlite_version, c.execute("select sum(v) from t").fetchone()[0])
print(len(zlib.compress(b"x" * 1000)), len(bz2.compress(b"y" * 1000)), len(lzma.compress(b"z" * 1000)))
print(json.dumps({"d": str(decimal.Decimal(1) / 7)}), ssl.OPENSSL_VERSION.split()[0], ctypes.sizeof(ctypes.c_long))`
	img := buildImage(t, "--entry", py, "--file", "/usr/lib/python3.11:/usr/lib/python3.11", py, "--", "-S", "-c", script)
	insp := run(t, os.Environ(), nil, rumpgo, "inspect", img)
	require.Equal(t, 0, insp.status, insp.stderr)
	for _, lib := range []string{"libsqlite3.so.0", "libssl.so.3", "libffi.so.8", "liblzma.so.5", "libbz2.so.1.0"} {
		require.Contains(t, insp.stdout, "/x86_64-linux-gnu/"+lib+"\n", "packed for a lib-dynload module")
	}
	n := run(t, []string{"PATH=/usr/bin:/bin"}, nil, py, "-S", "-c", script)
	require.Equal(t, 0, n.status, n.stderr)
	requireKVM(t)
	for _, kernel := range kernelPaths() {
		g := run(t, os.Environ(), nil, rumpgo, "run", "--kernel", kernel, img)
		require.Equal(t, 0, g.status, "rumpgo run --kernel %s: %s", kernel, g.stderr)
		require.Equal(t, n.stdout, g.stdout, "--kernel %s", kernel)
	}
}

// TestMkdirExistingMountPoint: mkdir of an existing name answers EEXIST
// before the parent's write permission, a volume's mount point included
// (PostgreSQL's initdb runs mkdir -p on its data volume as the postgres
// user): busybox mkdir as an unprivileged user, natively and under
// rumpgo with the volume at the same path.
func TestMkdirExistingMountPoint(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	if os.Geteuid() != 0 {
		t.Skip("runs the native side as another user: needs root")
	}
	if _, err := os.Stat(busyboxStatic); err != nil {
		t.Fatalf("needs %s (apt-get install busybox-static): %v", busyboxStatic, err)
	}
	base := t.TempDir()
	require.NoError(t, os.Chmod(filepath.Dir(base), 0o755)) // searchable, not writable by the user
	require.NoError(t, os.Chmod(base, 0o755))
	for _, tc := range []struct {
		name string
		args []string // @ is the mount point
	}{
		{"mkdir -p below", []string{"mkdir", "-p", "@/data"}},
		{"mkdir -p itself", []string{"mkdir", "-p", "@"}},
		{"mkdir itself", []string{"mkdir", "@"}},
		{"mkdir beside", []string{"mkdir", "@-sibling"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := filepath.Join(base, strings.ReplaceAll(tc.name, " ", "_"))
			native, copied := filepath.Join(d, "pgdata"), filepath.Join(d, "vol")
			for _, p := range []string{native, copied} {
				require.NoError(t, os.MkdirAll(p, 0o755))
				require.NoError(t, os.Chown(p, 1000, 1000))
			}
			require.NoError(t, os.Chmod(d, 0o755))
			args := make([]string, len(tc.args))
			for i, a := range tc.args {
				args[i] = strings.ReplaceAll(a, "@", native)
			}
			cmd := exec.Command(busyboxStatic, args...)
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 1000, Gid: 1000}}
			var nout, nerr strings.Builder
			cmd.Stdout, cmd.Stderr = &nout, &nerr
			nstatus := 0
			if err := cmd.Run(); err != nil {
				ee, ok := err.(*exec.ExitError)
				require.True(t, ok, "%v", err)
				nstatus = ee.ExitCode()
			}
			g := run(t, os.Environ(), nil, append([]string{rumpgo, "run", "--user", "1000:1000", "-v", copied + ":" + native, busyboxStatic}, args...)...)
			require.Equal(t, nerr.String(), g.stderr)
			require.Equal(t, nout.String(), g.stdout)
			require.Equal(t, nstatus, g.status)
			require.Equal(t, treeOf(t, native), treeOf(t, copied), "the files left behind")
		})
	}
}

// debScript is the imports, each used, printing what differs
// between libraries if a wrong one were loaded.
const debScript = `import sqlite3, ssl, ctypes, zlib, lzma, bz2, json, decimal
c = sqlite3.connect(":memory:")
c.execute("create table t (k text, v int)")
c.executemany("insert into t values (?, ?)", [("a", 1), ("b", 2)])
print(sqlite3.sqlite_version, c.execute("select sum(v) from t").fetchone()[0])
print(len(zlib.compress(b"x" * 1000)), len(bz2.compress(b"y" * 1000)), len(lzma.compress(b"z" * 1000)))
print(json.dumps({"d": str(decimal.Decimal(1) / 7)}), ssl.OPENSSL_VERSION, ctypes.sizeof(ctypes.c_long))
import sys; print(sys.prefix, sys.path)`

// TestBuildDeb: rumpgo build --deb python3 resolves python3's
// dependencies from the host's apt lists (libsqlite3-0, libssl3, ...),
// fetches them (the host's apt cache, apt-get download), unpacks them as
// dpkg would into a merged-/usr tree and runs the imports as the
// image's own tree does natively under chroot (tar unpacks the image);
// the same packages give the same bytes; a .deb file is taken as given;
// bad input is one clear line.
func TestBuildDeb(t *testing.T) {
	rumpgo := requireRumpgo(t)
	need(t, "apt-get", "apt")
	need(t, "dpkg-deb", "dpkg")
	dir := t.TempDir()
	img := filepath.Join(dir, "py.img")
	b := run(t, os.Environ(), nil, rumpgo, "build", "-o", img, "--deb", "python3", "python3", "-c", debScript)
	require.Equal(t, 0, b.status, "rumpgo build: %s", b.stderr)
	for _, p := range []string{"python3 ", "python3.11-minimal ", "libsqlite3-0 ", "libssl3 ", "libffi8 ", "liblzma5 ", "libc6 "} {
		require.Contains(t, b.stderr, p, "resolved as a dependency")
	}
	require.NotContains(t, b.stderr, "warning: library not found", "every library of the tree is in the packages")
	insp := run(t, os.Environ(), nil, rumpgo, "inspect", img)
	require.Equal(t, 0, insp.status, insp.stderr)
	require.Contains(t, insp.stdout, "entry:   /usr/bin/python3.11")
	require.Contains(t, insp.stdout, "/bin -> usr/bin", "merged /usr as Debian 12 lays it out")

	again := filepath.Join(dir, "again.img")
	b2 := run(t, os.Environ(), nil, rumpgo, "build", "-o", again, "--deb", "python3", "python3", "-c", debScript)
	require.Equal(t, 0, b2.status, b2.stderr)
	x, err := os.ReadFile(img)
	require.NoError(t, err)
	y, err := os.ReadFile(again)
	require.NoError(t, err)
	require.True(t, bytes.Equal(x, y), "the same packages give the same bytes")

	root := filepath.Join(dir, "tree")
	require.NoError(t, os.MkdirAll(root, 0o755))
	out, err := exec.Command("tar", "-xf", img, "-C", root, "--strip-components=1", "rootfs").CombinedOutput()
	require.NoError(t, err, "%s", out)
	n := chrootRun(t, root, []string{"PATH=/usr/bin"}, "python3", "-c", debScript)
	require.Equal(t, 0, n.status, "native under chroot: %s", n.stderr)
	requireKVM(t)
	for _, kernel := range kernelPaths() {
		g := run(t, os.Environ(), nil, rumpgo, "run", "--kernel", kernel, img)
		require.Equal(t, 0, g.status, "rumpgo run --kernel %s: %s", kernel, g.stderr)
		require.Equal(t, n.stdout, g.stdout, "--kernel %s", kernel)
	}

	// --deb-exclude leaves out a dependency and what only it needs:
	// python3 without its libpython3-stdlib has no sqlite3 module.
	nx := filepath.Join(dir, "nostdlib.img")
	b = run(t, os.Environ(), nil, rumpgo, "build", "-o", nx, "--deb", "python3", "--deb-exclude", "libpython3-stdlib,python3.11", "python3.11", "-c", "import sqlite3")
	require.Equal(t, 0, b.status, b.stderr)
	require.NotContains(t, b.stderr, "libsqlite3-0 ")
	require.NotContains(t, b.stderr, "libpython3.11-stdlib ")
	g := run(t, os.Environ(), nil, rumpgo, "run", nx)
	require.NotEqual(t, 0, g.status)
	require.Contains(t, g.stderr, "ModuleNotFoundError: No module named 'sqlite3'")

	// A .deb file as given: busybox-static has no dependencies.
	dl := t.TempDir()
	os.Chmod(dl, 0o777) // apt's _apt user writes there
	cmd := exec.Command("apt-get", "download", "busybox-static")
	cmd.Dir = dl
	out, err = cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	debs, _ := filepath.Glob(filepath.Join(dl, "busybox-static_*.deb"))
	require.Len(t, debs, 1)
	bb := filepath.Join(dir, "bb.img")
	// A --file over a packaged file replaces it, as COPY over a base.
	over := filepath.Join(dir, "copyright")
	require.NoError(t, os.WriteFile(over, []byte("replaced by --file\n"), 0o644))
	b = run(t, os.Environ(), nil, rumpgo, "build", "-o", bb, "--deb", debs[0], "--file", over+":/usr/share/doc/busybox-static/copyright",
		"busybox", "sh", "-c", "echo from a .deb; cat /usr/share/doc/busybox-static/copyright")
	require.Equal(t, 0, b.status, b.stderr)
	require.Contains(t, b.stderr, "1 Debian package(s): busybox-static ")
	for _, kernel := range kernelPaths() {
		g = run(t, os.Environ(), nil, rumpgo, "run", "--kernel", kernel, bb)
		require.Equal(t, 0, g.status, "--kernel %s: %s", kernel, g.stderr)
		require.Equal(t, "from a .deb\nreplaced by --file\n", g.stdout, "--kernel %s", kernel)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--deb", "no-such-package-rumpgo", "x"}, "--deb no-such-package-rumpgo: no such Debian package in the host's apt lists"},
		{[]string{"--deb", "python3"}, "--deb needs COMMAND"},
		{[]string{"--deb", filepath.Join(dir, "missing.deb"), "x"}, "no such file or directory"},
		{[]string{"--deb", img + ".deb", "x"}, "no such file"},
		{[]string{"--deb", "busybox-static", "--image", img, "x"}, "two sources of the tree"},
		{[]string{"--deb", "busybox-static", "no-such-command"}, `"no-such-command": executable file not found in $PATH`},
		{[]string{"--deb", "python3", "--deb-exclude", "python3", "python3"}, "--deb python3 is also excluded"},
	} {
		r := run(t, os.Environ(), nil, append([]string{rumpgo, "build", "-o", filepath.Join(t.TempDir(), "x.img")}, tc.args...)...)
		require.Equal(t, 125, r.status, "%v: %s", tc.args, r.stderr)
		require.Contains(t, r.stderr, tc.want, "%v", tc.args)
	}
}

// TestVolumeOwners: what a guest user makes on a volume is that user's,
// on the host and in stat, as natively (PostgreSQL's initdb, as the
// postgres user, checks that its data directory on a volume is its own;
// rumpgo gave the files to the user running rumpgo).
func TestVolumeOwners(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	if os.Geteuid() != 0 {
		t.Skip("runs the native side as another user: needs root")
	}
	base := t.TempDir()
	require.NoError(t, os.Chmod(filepath.Dir(base), 0o755)) // searchable by the user
	require.NoError(t, os.Chmod(base, 0o755))
	native, copied := filepath.Join(base, "native"), filepath.Join(base, "vol")
	for _, d := range []string{native, copied} {
		require.NoError(t, os.Mkdir(d, 0o755))
		require.NoError(t, os.Chown(d, 1000, 1000))
	}
	script := `cd "$1" && mkdir d && echo x >f && mkdir -p d/e/f && ln -s f l && mkfifo p && stat -c '%n %u:%g %A' . d d/e/f f l p`
	cmd := exec.Command(busyboxStatic, "sh", "-c", script, "sh", native)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 1000, Gid: 1000}}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "d 1000:1000 drwxr-xr-x")
	g := run(t, os.Environ(), nil, rumpgo, "run", "--user", "1000:1000", "-v", copied+":"+native, busyboxStatic, "sh", "-c", script, "sh", native)
	require.Equal(t, 0, g.status, g.stderr)
	require.Equal(t, string(out), g.stdout)
	owners := func(dir string) map[string]string {
		m := map[string]string{}
		filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
			var st unix.Stat_t
			require.NoError(t, unix.Lstat(p, &st))
			rel, _ := filepath.Rel(dir, p)
			m[rel] = fmt.Sprintf("%d:%d", st.Uid, st.Gid)
			return nil
		})
		return m
	}
	require.Equal(t, owners(native), owners(copied), "the host's owners of what they made")
}
