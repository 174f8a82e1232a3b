package launch

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/rumpgo/rumpgo/posix/fs/tmpfs"
	"github.com/rumpgo/rumpgo/posix/vfs"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// libsTestTree builds a sysroot: a program needing libA (found through
// DT_RUNPATH $ORIGIN/../lib) which needs libB (found through the standard
// directory /usr/lib/x86_64-linux-gnu behind a /lib -> usr/lib symlink
// and a soname symlink), and a dlopen note naming libplug.
func libsTestTree(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("needs gcc")
	}
	root := t.TempDir()
	mk := func(p string) string {
		p = filepath.Join(root, p)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		return p
	}
	src := mk("src/x.c")
	gcc := func(args ...string) {
		b, err := exec.Command("gcc", args...).CombinedOutput()
		require.NoError(t, err, "%s", b)
	}
	require.NoError(t, os.WriteFile(src, []byte("int b(void){return 2;}\n"), 0o644))
	gcc("-shared", "-fPIC", "-Wl,-soname,libB.so.1", "-o", mk("usr/lib/x86_64-linux-gnu/libB.so.1.0"), src)
	require.NoError(t, os.Symlink("libB.so.1.0", mk("usr/lib/x86_64-linux-gnu/libB.so.1")))
	require.NoError(t, os.Symlink("usr/lib", filepath.Join(root, "lib")))
	require.NoError(t, os.WriteFile(src, []byte("int b(void); int a(void){return b();}\n"), 0o644))
	gcc("-shared", "-fPIC", "-o", mk("opt/app/lib/libA.so"), src, "-L"+filepath.Join(root, "usr/lib/x86_64-linux-gnu"), "-l:libB.so.1")
	gcc("-shared", "-fPIC", "-o", mk("opt/app/lib/libplug.so"), src, "-L"+filepath.Join(root, "usr/lib/x86_64-linux-gnu"), "-l:libB.so.1")
	require.NoError(t, os.WriteFile(src, []byte(`
#include <stdint.h>
#define J "[{\"soname\":[\"libnope.so\",\"libplug.so\"]}]"
__attribute__((used, section(".note.dlopen"), aligned(4))) static const struct {
	uint32_t namesz, descsz, type; char name[4]; char desc[(sizeof J + 3) & ~3];
} note = {4, (sizeof J + 3) & ~3, 0x407c0c0a, "FDO", J};
int a(void); int main(void){return a();}
`), 0o644))
	gcc("-o", mk("opt/app/bin/prog"), src, "-L"+filepath.Join(root, "opt/app/lib"), "-lA",
		"-Wl,-rpath,$ORIGIN/../lib", "-Wl,--allow-shlib-undefined", "-Wl,-rpath-link,"+filepath.Join(root, "usr/lib/x86_64-linux-gnu"))
	return root
}

func TestResolveLibs(t *testing.T) {
	root := libsTestTree(t)
	libs, missing, err := ResolveLibs(filepath.Join(root, "opt/app/bin/prog"), LibOptions{Sysroot: root})
	require.NoError(t, err)
	paths := map[string]string{}
	for _, l := range libs {
		paths[l.Path] = l.Why
		want, err := filepath.EvalSymlinks(filepath.Join(root, l.Path))
		require.NoError(t, err)
		require.Equal(t, want, l.Host, "the host file, its symlinks resolved in the root")
	}
	// The sysroot has no libc or ld.so: those are missing, the rest found.
	require.Equal(t, "needed by /opt/app/bin/prog", paths["/opt/app/lib/libA.so"], "%v", paths)
	require.Equal(t, "needed by /opt/app/lib/libA.so", paths["/lib/x86_64-linux-gnu/libB.so.1"])
	require.Equal(t, "dlopened by /opt/app/bin/prog", paths["/opt/app/lib/libplug.so"])
	var names []string
	for _, m := range missing {
		names = append(names, m.Name)
	}
	require.Contains(t, names, "libc.so.6")
	require.NotContains(t, names, "libnope.so", "a dlopen alternative that is absent is not missing")

	t.Run("install", func(t *testing.T) {
		v := vfs.New(tmpfs.New(tmpfs.Options{Mode: 0o755}), "rootfs", 0, "")
		require.NoError(t, InstallLibs(v, root, libs))
		ctx, fsc := vfs.RootContext(), vfs.NewFSContext(v.Root())
		target, e := v.Readlink(ctx, fsc, vfs.Path{}, "/lib")
		require.Zero(t, e)
		require.Equal(t, "usr/lib", target, "the host's symlinks are reproduced")
		for _, p := range []string{"/lib/x86_64-linux-gnu/libB.so.1", "/usr/lib/x86_64-linux-gnu/libB.so.1.0", "/opt/app/lib/libA.so", "/opt/app/lib/libplug.so"} {
			f, e := v.Open(ctx, fsc, vfs.Path{}, p, vfs.OpenHow{Flags: unix.O_RDONLY})
			require.Zero(t, e, p)
			f.Close()
		}
		// Installing again keeps what is there.
		require.NoError(t, InstallLibs(v, root, libs))
	})
}

// TestResolveHostLibs resolves a dynamic host program against the host:
// its interpreter, libc, the NSS modules and the ld.so cache.
func TestResolveHostLibs(t *testing.T) {
	f, err := elf.Open("/bin/true")
	if err != nil {
		t.Skip("no /bin/true")
	}
	f.Close()
	libs, missing, err := ResolveLibs("/bin/true", LibOptions{})
	require.NoError(t, err)
	require.Empty(t, missing)
	whys := map[string]string{}
	for _, l := range libs {
		whys[filepath.Base(l.Path)] = l.Why
	}
	require.Equal(t, "interpreter", whys["ld-linux-x86-64.so.2"])
	require.Contains(t, whys["libc.so.6"], "needed by")
	if _, err := os.Stat("/lib/x86_64-linux-gnu/libnss_files.so.2"); err == nil {
		require.Equal(t, "NSS module", whys["libnss_files.so.2"])
	}
	if _, err := os.Stat("/etc/ld.so.cache"); err == nil {
		require.Equal(t, "ld.so cache", whys["ld.so.cache"])
		require.NotEmpty(t, readLdSoCache("/etc/ld.so.cache")["libc.so.6"])
	}
}
