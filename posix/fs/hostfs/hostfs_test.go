package hostfs_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/fs/hostfs"
	"github.com/rumpgo/rumpgo/posix/fs/tmpfs"
	"github.com/rumpgo/rumpgo/posix/vfs"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// newEnv mounts host directory <tmp>/vol at /vol (and read-only at /ro)
// in a tmpfs root; <tmp>/secret lies beside it and must stay out of reach.
func newEnv(t *testing.T) (*vfs.VFS, *vfs.FSContext, string) {
	host := t.TempDir()
	vol := filepath.Join(host, "vol")
	require.NoError(t, os.MkdirAll(filepath.Join(vol, "d"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(host, "secret"), []byte("secret"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(vol, "f"), []byte("inside"), 0o644))
	require.NoError(t, os.Symlink("../secret", filepath.Join(vol, "rel")))
	require.NoError(t, os.Symlink(filepath.Join(host, "secret"), filepath.Join(vol, "abs")))
	require.NoError(t, os.Symlink("../../secret", filepath.Join(vol, "d", "up2")))
	v := vfs.New(tmpfs.New(tmpfs.Options{Mode: 0o755}), "rootfs", 0, "")
	for _, m := range []struct {
		at string
		ro bool
	}{{"/vol", false}, {"/ro", true}} {
		fs, err := hostfs.New(vol, hostfs.Options{ReadOnly: m.ro})
		require.NoError(t, err)
		flags := 0
		if m.ro {
			flags = vfs.MS_RDONLY
		}
		_, errno := v.MountPath(m.at, fs, vol, flags, "")
		require.Zero(t, errno)
	}
	return v, vfs.NewFSContext(v.Root()), host
}

func read(t *testing.T, v *vfs.VFS, fsc *vfs.FSContext, path string) (string, unix.Errno) {
	f, errno := v.Open(vfs.RootContext(), fsc, vfs.Path{}, path, vfs.OpenHow{Flags: unix.O_RDONLY})
	if errno != 0 {
		return "", errno
	}
	defer f.Close()
	b := make([]byte, 64)
	n, errno := f.Read(b)
	return string(b[:n]), errno
}

func TestEscapes(t *testing.T) {
	v, fsc, host := newEnv(t)
	ctx := vfs.RootContext()
	// Guest-side files named like the host's, to see which one is reached.
	for _, tc := range []struct {
		path string
		want string
		err  unix.Errno
	}{
		{"/vol/f", "inside", 0},
		{"/vol/../vol/f", "inside", 0},
		{"/vol/rel", "", unix.ENOENT},   // ../secret from /vol is /secret in the guest
		{"/vol/abs", "", unix.ENOENT},   // the host path means nothing in the guest
		{"/vol/d/up2", "", unix.ENOENT}, // ../../secret: /secret again
		{"/vol/d/../../vol/f", "inside", 0},
	} {
		got, errno := read(t, v, fsc, tc.path)
		require.Equal(t, tc.err, errno, tc.path)
		require.Equal(t, tc.want, got, tc.path)
	}
	// Nothing the guest does below /vol touches the host outside it.
	require.Equal(t, unix.EXDEV, v.Rename(ctx, fsc, vfs.Path{}, "/vol/f", vfs.Path{}, "/f", 0))
	require.Equal(t, unix.EXDEV, v.Link(ctx, fsc, vfs.Path{}, "/vol/f", vfs.Path{}, "/linked", 0))
	require.Zero(t, v.Symlink(ctx, fsc, "/etc", vfs.Path{}, "/vol/etc"))
	require.Equal(t, unix.ENOENT, v.Mkdir(ctx, fsc, vfs.Path{}, "/vol/etc/x", 0o755, 0), "no /etc in this guest")
	require.Equal(t, unix.EPERM, v.Mknod(ctx, fsc, vfs.Path{}, "/vol/mem", unix.S_IFCHR|0o600, unix.Mkdev(1, 1), 0))
	b, err := os.ReadFile(filepath.Join(host, "secret"))
	require.NoError(t, err)
	require.Equal(t, "secret", string(b))
	ents, err := os.ReadDir(host)
	require.NoError(t, err)
	require.Len(t, ents, 2, "only secret and vol on the host")

	// A read-only mount refuses every change, in vfs and in hostfs.
	for name, op := range map[string]func() unix.Errno{
		"create": func() unix.Errno {
			_, e := v.Open(ctx, fsc, vfs.Path{}, "/ro/new", vfs.OpenHow{Flags: unix.O_CREAT | unix.O_WRONLY, Mode: 0o644})
			return e
		},
		"write": func() unix.Errno {
			_, e := v.Open(ctx, fsc, vfs.Path{}, "/ro/f", vfs.OpenHow{Flags: unix.O_WRONLY})
			return e
		},
		"unlink": func() unix.Errno { return v.Unlink(ctx, fsc, vfs.Path{}, "/ro/f") },
		"mkdir":  func() unix.Errno { return v.Mkdir(ctx, fsc, vfs.Path{}, "/ro/x", 0o755, 0) },
		"rename": func() unix.Errno { return v.Rename(ctx, fsc, vfs.Path{}, "/ro/f", vfs.Path{}, "/ro/g", 0) },
	} {
		require.Equal(t, unix.EROFS, op(), name)
	}
	p, errno := v.Lookup(ctx, fsc, vfs.Path{}, "/ro/f", 0)
	require.Zero(t, errno)
	require.Equal(t, unix.EROFS, p.Inode.SetAttr(ctx, &vfs.SetAttr{Mask: vfs.SetMode, Mode: 0o777}), "hostfs itself")
	_, errno = p.Inode.Open(ctx, unix.O_RDWR)
	require.Equal(t, unix.EROFS, errno)
}

func TestNamesAreSingleComponents(t *testing.T) {
	fs, err := hostfs.New(t.TempDir(), hostfs.Options{})
	require.NoError(t, err)
	ctx := vfs.RootContext()
	for _, name := range []string{"a/b", "/etc", ".", ""} {
		_, errno := fs.Root().Lookup(ctx, name)
		require.Equal(t, unix.ENOENT, errno, name)
		_, errno = fs.Root().Create(ctx, name, vfs.CreateAttr{Mode: vfs.S_IFREG | 0o644})
		require.Equal(t, unix.EINVAL, errno, name)
	}
	root, _ := fs.Root().Lookup(ctx, "..")
	require.Equal(t, fs.Root().Ino(), root.Ino(), "the root's parent is itself")
}

func TestFileOps(t *testing.T) {
	dir := t.TempDir()
	fs, err := hostfs.New(dir, hostfs.Options{})
	require.NoError(t, err)
	ctx := vfs.RootContext()
	old := unix.Umask(0o077) // the host's umask must not change the guest's modes
	defer unix.Umask(old)
	ino, errno := fs.Root().Create(ctx, "f", vfs.CreateAttr{Mode: vfs.S_IFREG | 0o664})
	require.Zero(t, errno)
	st, _ := ino.Stat(ctx)
	require.Equal(t, uint32(0o664), st.Mode&0o777)
	f, errno := ino.Open(ctx, unix.O_RDWR)
	require.Zero(t, errno)
	_, errno = f.WriteAt(ctx, []byte("hello"), 0)
	require.Zero(t, errno)
	_, errno = f.WriteAt(ctx, []byte("!"), -1)
	require.Zero(t, errno)
	require.Zero(t, f.(vfs.Syncer).Sync(ctx, false))
	f.Release()
	b, _ := os.ReadFile(filepath.Join(dir, "f"))
	require.Equal(t, "hello!", string(b))
	sub, errno := fs.Root().Create(ctx, "d", vfs.CreateAttr{Mode: vfs.S_IFDIR | 0o750})
	require.Zero(t, errno)
	require.Zero(t, fs.Root().Rename(ctx, "f", sub, "g", 0))
	parent, _ := sub.Lookup(ctx, "..")
	require.Equal(t, fs.Root().Ino(), parent.Ino())
	var names []string
	sub.ReadDir(ctx, vfs.FirstPos, func(d vfs.Dirent) bool { names = append(names, d.Name); return true })
	require.Equal(t, []string{"g"}, names)
}

// TestFileMount: a regular file is a file system of one file, mounted on
// a file (a file's bind mount, as Docker's /etc/hosts): reads and writes
// reach the host file, a later change on the host is seen, unlink of the
// mount point is EBUSY, and one kind is never mounted on the other.
func TestFileMount(t *testing.T) {
	host := t.TempDir()
	file := filepath.Join(host, "hosts")
	require.NoError(t, os.WriteFile(file, []byte("one"), 0o644))
	v := vfs.New(tmpfs.New(tmpfs.Options{Mode: 0o755}), "rootfs", 0, "")
	fsc := vfs.NewFSContext(v.Root())
	ctx := vfs.RootContext()
	f, errno := v.Open(ctx, fsc, vfs.Path{}, "/hosts", vfs.OpenHow{Flags: unix.O_CREAT | unix.O_WRONLY, Mode: 0o644})
	require.Zero(t, errno)
	f.Close()
	fs, err := hostfs.New(file, hostfs.Options{})
	require.NoError(t, err)
	_, errno = v.MountPath("/hosts", fs, file, 0, "")
	require.Zero(t, errno)
	got, errno := read(t, v, fsc, "/hosts")
	require.Zero(t, errno)
	require.Equal(t, "one", got)
	require.NoError(t, os.WriteFile(file, []byte("two"), 0o644))
	got, _ = read(t, v, fsc, "/hosts")
	require.Equal(t, "two", got)
	f, errno = v.Open(ctx, fsc, vfs.Path{}, "/hosts", vfs.OpenHow{Flags: unix.O_WRONLY | unix.O_TRUNC})
	require.Zero(t, errno)
	_, errno = f.Write([]byte("three"))
	require.Zero(t, errno)
	f.Close()
	b, _ := os.ReadFile(file)
	require.Equal(t, "three", string(b))
	require.Equal(t, unix.EBUSY, v.Unlink(ctx, fsc, vfs.Path{}, "/hosts"))

	dirFS, err := hostfs.New(host, hostfs.Options{})
	require.NoError(t, err)
	_, errno = v.MountPath("/hosts", dirFS, host, 0, "")
	require.Equal(t, unix.ENOTDIR, errno, "a directory on a file")
	_, errno = v.MountPath("/dir", fs, file, 0, "")
	require.Equal(t, unix.ENOTDIR, errno, "a file on a directory")
	_, err = hostfs.New("/dev/null", hostfs.Options{})
	require.Error(t, err, "a device is no volume")
}

// TestOwners: with Options.Owners what the guest makes is its maker's
// (a root rumpgo chowns it), set-ID bits kept; without, the host's.
func TestOwners(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown to another user needs root")
	}
	for _, owners := range []bool{false, true} {
		host := t.TempDir()
		v := vfs.New(tmpfs.New(tmpfs.Options{Mode: 0o755}), "rootfs", 0, "")
		fs, err := hostfs.New(host, hostfs.Options{Owners: owners})
		require.NoError(t, err)
		_, errno := v.MountPath("/vol", fs, host, 0, "")
		require.Zero(t, errno)
		require.NoError(t, os.Chmod(host, 0o777))
		ctx := &vfs.Context{Cred: posix.NewCred(1000, 1001, []uint32{1001})}
		fsc := vfs.NewFSContext(v.Root())
		f, errno := v.Open(ctx, fsc, vfs.Path{}, "/vol/f", vfs.OpenHow{Flags: unix.O_CREAT | unix.O_WRONLY, Mode: 0o2755})
		require.Zero(t, errno)
		f.Close()
		require.Zero(t, v.Mkdir(ctx, fsc, vfs.Path{}, "/vol/d", 0o755, 0))
		want := uint32(0)
		if owners {
			want = 1000
		}
		for _, name := range []string{"f", "d"} {
			var st unix.Stat_t
			require.NoError(t, unix.Lstat(filepath.Join(host, name), &st))
			require.Equal(t, want, st.Uid, "%s (owners %v)", name, owners)
			if owners {
				require.Equal(t, uint32(1001), st.Gid, name)
			}
		}
		var st unix.Stat_t
		require.NoError(t, unix.Lstat(filepath.Join(host, "f"), &st))
		require.Equal(t, uint32(0o2755), st.Mode&0o7777, "owners %v", owners)
	}
}
