package vfs_test

import (
	"strings"
	"testing"

	"github.com/rumpgo/rumpgo/posix/fs/tmpfs"
	"github.com/rumpgo/rumpgo/posix/vfs"
	"golang.org/x/sys/unix"
)

// jailEnv is a tree whose guest root (the FSContext's, as after chroot) is
// /jail, with a file outside it, symlinks that try to leave it (absolute,
// "../..", through a mount) and one symlink whose target the fuzzer picks.
type jailEnv struct {
	v        *vfs.VFS
	ctx      *vfs.Context
	fsc      *vfs.FSContext
	realRoot vfs.Path
	jail     vfs.Path
	dir      vfs.Path // /jail/d, the start of RESOLVE_BENEATH/IN_ROOT opens
}

func newJail(t *testing.T, linkTarget string) *jailEnv {
	v := vfs.New(tmpfs.New(tmpfs.Options{Mode: 0o755}), "rootfs", 0, "")
	ctx := vfs.RootContext()
	fsc := vfs.NewFSContext(v.Root())
	must := func(what string, e unix.Errno) {
		if e != 0 {
			t.Fatalf("%s: %v", what, e)
		}
	}
	for _, d := range []string{"/secret", "/jail", "/jail/d", "/jail/d/e", "/jail/m"} {
		must(d, v.Mkdir(ctx, fsc, vfs.Path{}, d, 0o755, 0))
	}
	for _, f := range []string{"/secret/key", "/jail/f", "/jail/d/g"} {
		file, e := v.Open(ctx, fsc, vfs.Path{}, f, vfs.OpenHow{Flags: unix.O_WRONLY | unix.O_CREAT, Mode: 0o644})
		must(f, e)
		file.Write([]byte("x"))
		file.Close()
	}
	_, e := v.MountPath("/jail/m", tmpfs.New(tmpfs.Options{Mode: 0o755}), "tmpfs", 0, "")
	must("mount", e)
	must("/jail/m/x", v.Mkdir(ctx, fsc, vfs.Path{}, "/jail/m/x", 0o755, 0))
	for link, target := range map[string]string{
		"/jail/up":      "../..",
		"/jail/abs":     "/secret/key",
		"/jail/d/root":  "/",
		"/jail/d/dots":  "../../../../..",
		"/jail/loop":    "loop",
		"/jail/m/x/out": "../../../secret",
		"/jail/chain":   "d/root",
	} {
		must(link, v.Symlink(ctx, fsc, target, vfs.Path{}, link))
	}
	if linkTarget != "" && len(linkTarget) < 4096 && !strings.ContainsRune(linkTarget, 0) {
		v.Symlink(ctx, fsc, linkTarget, vfs.Path{}, "/jail/fz")
	}
	jail, e := v.Lookup(ctx, fsc, vfs.Path{}, "/jail", 0)
	must("lookup /jail", e)
	dir, e := v.Lookup(ctx, fsc, vfs.Path{}, "/jail/d", 0)
	must("lookup /jail/d", e)
	realRoot := v.Root()
	fsc.SetRoot(jail)
	fsc.SetCwd(dir)
	return &jailEnv{v: v, ctx: ctx, fsc: fsc, realRoot: realRoot, jail: jail, dir: dir}
}

// inside fails the test when p is not /jail or below it.
func (j *jailEnv) inside(t *testing.T, what string, p, under vfs.Path) {
	name, e := j.v.PathName(j.ctx, j.realRoot, p)
	if e != 0 {
		return // removed since, or too deep to name: nothing to check
	}
	base, e := j.v.PathName(j.ctx, j.realRoot, under)
	if e != 0 {
		t.Fatalf("%s: cannot name the scope: %v", what, e)
	}
	if name != base && !strings.HasPrefix(name, base+"/") {
		t.Fatalf("%s escaped %s: resolved to %q", what, base, name)
	}
}

// FuzzResolve resolves random paths (symlinks, "..", mounts, trailing
// slashes, long names) with random lookup and openat2 RESOLVE_* flags in a
// chrooted tree. It checks that resolution never panics, never leaves the
// root (nor the start directory under RESOLVE_BENEATH/IN_ROOT), and that a
// result's name resolves back to the same file.
//
//	go test ./posix/vfs -run '^$' -fuzz FuzzResolve -fuzztime 20000x
func FuzzResolve(f *testing.F) {
	for _, s := range []struct {
		path, link string
		flags, res uint8
		openFlags  uint32
	}{
		{"/f", "", 1, 0, 0},
		{"../../../../secret/key", "", 1, 0, 0},
		{"/up/secret", "", 1, 0, 0},
		{"/abs", "", 1, 0, 0},
		{"root/secret/key", "", 1, 0x08, 0},
		{"dots/d/g", "", 1, 0x10, 0},
		{"/m/x/out/key", "", 1, 0, 0},
		{"/fz/key", "../../secret", 1, 0, 0},
		{"/fz", "/proc/self/root/..", 1, 0x10, 0},
		{"/chain/../m/..//./f/", "", 3, 0, unix.O_DIRECTORY},
		{"e/../../fz/../f", "/../../..", 1, 0x18, unix.O_CREAT | unix.O_EXCL},
		{"/loop", "", 1, 0x04, unix.O_PATH},
		{"new", "", 0, 0x08, unix.O_CREAT | unix.O_WRONLY},
		{"/fz/new", "d", 0, 0, unix.O_CREAT | unix.O_NOFOLLOW},
		{strings.Repeat("../", 300), "", 1, 0x01, 0},
		{"/" + strings.Repeat("n", 300), "", 0, 0, 0},
	} {
		f.Add(s.path, s.link, s.flags, s.res, s.openFlags)
	}
	f.Fuzz(func(t *testing.T, path, link string, flags, res uint8, openFlags uint32) {
		if len(path) > 8192 {
			return
		}
		j := newJail(t, link)
		lflags := int(flags) & (vfs.LookupFollow | vfs.LookupDirectory | vfs.LookupEmpty)
		p, e := j.v.Lookup(j.ctx, j.fsc, vfs.Path{}, path, lflags)
		if e == 0 {
			j.inside(t, "Lookup("+path+")", p, j.jail)
			// The name from the guest's root resolves to the same file.
			name, e := j.v.PathName(j.ctx, j.jail, p)
			if e == 0 {
				if strings.HasPrefix(name, "(unreachable)") {
					t.Fatalf("Lookup(%q) is outside the root: %q", path, name)
				}
				q, e := j.v.Lookup(j.ctx, j.fsc, vfs.Path{}, name, 0)
				if e != 0 || !q.Same(p) {
					t.Fatalf("Lookup(%q) = %q, which resolves to %v (%v)", path, name, q, e)
				}
			}
		}
		// The same path through openat2 from /jail/d with RESOLVE_* flags
		// and (masked) open flags: no tmpfile, which is unsupported anyway.
		how := vfs.OpenHow{
			Flags:   int(openFlags) &^ (unix.O_TMPFILE &^ unix.O_DIRECTORY),
			Mode:    0o644,
			Resolve: int(res) & vfs.ResolveAll,
		}
		file, e := j.v.Open(j.ctx, j.fsc, j.dir, path, how)
		if e != 0 {
			return
		}
		defer file.Close()
		vf, ok := file.(*vfs.File)
		if !ok {
			return // a magic link's file
		}
		scope := j.jail
		if how.Resolve&(vfs.RESOLVE_BENEATH|vfs.RESOLVE_IN_ROOT) != 0 {
			scope = j.dir
		}
		j.inside(t, "Open("+path+")", vf.Path(), scope)
	})
}
