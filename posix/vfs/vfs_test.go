package vfs_test

import (
	"strings"
	"testing"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/fs/tmpfs"
	"github.com/rumpgo/rumpgo/posix/vfs"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

type env struct {
	v   *vfs.VFS
	ctx *vfs.Context
	fsc *vfs.FSContext
}

func newEnv(t *testing.T) *env {
	v := vfs.New(tmpfs.New(tmpfs.Options{Mode: 0o755}), "rootfs", 0, "")
	e := &env{v: v, ctx: vfs.RootContext(), fsc: vfs.NewFSContext(v.Root())}
	for _, d := range []string{"/a", "/a/b", "/tmp", "/mnt", "/ro"} {
		require.Zero(t, v.Mkdir(e.ctx, e.fsc, vfs.Path{}, d, 0o755, 0))
	}
	e.write(t, "/a/file", "data")
	require.Zero(t, v.Symlink(e.ctx, e.fsc, "file", vfs.Path{}, "/a/rel"))
	require.Zero(t, v.Symlink(e.ctx, e.fsc, "/a/file", vfs.Path{}, "/a/abs"))
	require.Zero(t, v.Symlink(e.ctx, e.fsc, "loop", vfs.Path{}, "/a/loop"))
	require.Zero(t, v.Symlink(e.ctx, e.fsc, "b", vfs.Path{}, "/a/tob"))
	require.Zero(t, v.Symlink(e.ctx, e.fsc, "../..", vfs.Path{}, "/a/b/up"))
	_, errno := v.MountPath("/mnt", tmpfs.New(tmpfs.Options{}), "tmpfs", 0, "")
	require.Zero(t, errno)
	e.write(t, "/mnt/inner", "x")
	_, errno = v.MountPath("/ro", tmpfs.New(tmpfs.Options{}), "tmpfs", vfs.MS_RDONLY, "")
	require.Zero(t, errno)
	return e
}

func (e *env) write(t *testing.T, path, data string) {
	f, errno := e.v.Open(e.ctx, e.fsc, vfs.Path{}, path, vfs.OpenHow{Flags: unix.O_WRONLY | unix.O_CREAT | unix.O_TRUNC, Mode: 0o644})
	require.Zero(t, errno, path)
	n, errno := f.Write([]byte(data))
	require.Zero(t, errno)
	require.Equal(t, len(data), n)
	f.Close()
}

func TestLookup(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		path  string
		flags int
		want  string // path of the result, or errno name
	}{
		{"/", vfs.LookupFollow, "/"},
		{"/a/file", vfs.LookupFollow, "/a/file"},
		{"/a/rel", vfs.LookupFollow, "/a/file"},
		{"/a/abs", vfs.LookupFollow, "/a/file"},
		{"/a/tob/up", 0, "/a/b/up"},
		{"/a/tob/up/a/file", 0, "/a/file"},
		{"/a/loop", vfs.LookupFollow, "ELOOP"},
		{"/a/loop", 0, "/a/loop"},
		{"/a/file/", vfs.LookupFollow, "ENOTDIR"},
		{"/a/rel/", 0, "ENOTDIR"},
		{"/a/tob/", 0, "/a/b"},
		{"/a/missing", 0, "ENOENT"},
		{"/a/file/x", 0, "ENOTDIR"},
		{"/..", 0, "/"},
		{"/mnt/..", 0, "/"},
		{"/mnt/inner", 0, "/mnt/inner"},
		{"/mnt/../a/./b/..", 0, "/a"},
		{"", 0, "ENOENT"},
		{"", vfs.LookupEmpty, "/"},
		{"/" + strings.Repeat("n", 256), 0, "ENAMETOOLONG"},
		{"/a/file", vfs.LookupDirectory, "ENOTDIR"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			p, errno := e.v.Lookup(e.ctx, e.fsc, vfs.Path{}, tc.path, tc.flags)
			if errno != 0 {
				require.Equal(t, tc.want, unix.ErrnoName(errno))
				return
			}
			want, errno := e.v.Lookup(e.ctx, e.fsc, vfs.Path{}, tc.want, 0)
			require.Zero(t, errno, tc.want)
			require.True(t, p.Same(want), "got %v", p)
		})
	}
}

func TestSymlinkLimit(t *testing.T) {
	e := newEnv(t)
	prev := "/a/file"
	for i := 0; i < 41; i++ {
		name := "/a/l" + string(rune('A'+i))
		require.Zero(t, e.v.Symlink(e.ctx, e.fsc, prev, vfs.Path{}, name))
		prev = name
	}
	_, errno := e.v.Lookup(e.ctx, e.fsc, vfs.Path{}, "/a/l"+string(rune('A'+39)), vfs.LookupFollow)
	require.Zero(t, errno, "40 links resolve")
	_, errno = e.v.Lookup(e.ctx, e.fsc, vfs.Path{}, prev, vfs.LookupFollow)
	require.Equal(t, unix.ELOOP, errno, "41 do not")
}

func TestOpenResolve(t *testing.T) {
	e := newEnv(t)
	dir, errno := e.v.Lookup(e.ctx, e.fsc, vfs.Path{}, "/a", vfs.LookupFollow)
	require.Zero(t, errno)
	for _, tc := range []struct {
		path    string
		resolve int
		want    unix.Errno
	}{
		{"file", vfs.RESOLVE_BENEATH, 0},
		{"b/../file", vfs.RESOLVE_BENEATH, 0},
		{"../a/file", vfs.RESOLVE_BENEATH, unix.EXDEV},
		{"/a/file", vfs.RESOLVE_BENEATH, unix.EXDEV},
		{"abs", vfs.RESOLVE_BENEATH, unix.EXDEV},
		{"abs", vfs.RESOLVE_IN_ROOT, unix.ENOENT}, // /a/file inside /a is /a/a/file
		{"b/up", vfs.RESOLVE_IN_ROOT, 0},          // ../.. stops at the root
		{"rel", vfs.RESOLVE_NO_SYMLINKS, unix.ELOOP},
		{"../mnt/inner", vfs.RESOLVE_NO_XDEV, unix.EXDEV},
		{"file", vfs.RESOLVE_NO_XDEV, 0},
	} {
		t.Run(tc.path, func(t *testing.T) {
			f, errno := e.v.Open(e.ctx, e.fsc, dir, tc.path, vfs.OpenHow{Flags: unix.O_RDONLY, Resolve: tc.resolve})
			require.Equal(t, tc.want, errno)
			if f != nil {
				f.Close()
			}
		})
	}
}

func TestOpenFlags(t *testing.T) {
	e := newEnv(t)
	open := func(path string, flags int) unix.Errno {
		f, errno := e.v.Open(e.ctx, e.fsc, vfs.Path{}, path, vfs.OpenHow{Flags: flags, Mode: 0o600})
		if f != nil {
			f.Close()
		}
		return errno
	}
	for _, tc := range []struct {
		path  string
		flags int
		want  unix.Errno
	}{
		{"/a/file", unix.O_CREAT | unix.O_EXCL | unix.O_WRONLY, unix.EEXIST},
		{"/a/new", unix.O_CREAT | unix.O_EXCL | unix.O_WRONLY, 0},
		{"/a/new/", unix.O_CREAT | unix.O_WRONLY, unix.EISDIR},
		{"/a", unix.O_WRONLY, unix.EISDIR},
		{"/a", unix.O_RDONLY | unix.O_CREAT, unix.EISDIR},
		{"/a/file", unix.O_RDONLY | unix.O_DIRECTORY, unix.ENOTDIR},
		{"/a/rel", unix.O_RDONLY | unix.O_NOFOLLOW, unix.ELOOP},
		{"/a/rel", unix.O_PATH | unix.O_NOFOLLOW, 0},
		{"/ro/x", unix.O_CREAT | unix.O_WRONLY, unix.EROFS},
		{"/a/file", unix.O_RDONLY | unix.O_TMPFILE, unix.EINVAL},
		{"/a", unix.O_RDWR | unix.O_TMPFILE | unix.O_CREAT, unix.EINVAL},
		{"/a/file", unix.O_RDWR | unix.O_TMPFILE, unix.ENOTDIR},
		{"/a", unix.O_RDWR | unix.O_TMPFILE, 0},
		{"/ro", unix.O_WRONLY | unix.O_TMPFILE, unix.EROFS},
	} {
		require.Equal(t, tc.want, open(tc.path, tc.flags), "%s %#o", tc.path, tc.flags)
	}
}

func TestRenameAndRemove(t *testing.T) {
	e := newEnv(t)
	v, ctx, fsc := e.v, e.ctx, e.fsc
	P := vfs.Path{}
	require.Zero(t, v.Mkdir(ctx, fsc, P, "/a/b/c", 0o755, 0))
	e.write(t, "/a/b/c/f", "1")
	e.write(t, "/a/g", "2")
	require.Equal(t, unix.EINVAL, v.Rename(ctx, fsc, P, "/a/b", P, "/a/b/c/d", 0))
	require.Equal(t, unix.ENOTEMPTY, v.Rmdir(ctx, fsc, P, "/a/b/c"))
	require.Equal(t, unix.EISDIR, v.Unlink(ctx, fsc, P, "/a/b"))
	require.Equal(t, unix.ENOTDIR, v.Rmdir(ctx, fsc, P, "/a/g"))
	require.Equal(t, unix.EISDIR, v.Rename(ctx, fsc, P, "/a/g", P, "/a/b", 0))
	require.Equal(t, unix.ENOTDIR, v.Rename(ctx, fsc, P, "/a/b", P, "/a/g", 0))
	require.Equal(t, unix.EXDEV, v.Rename(ctx, fsc, P, "/a/g", P, "/mnt/g", 0))
	require.Equal(t, unix.EEXIST, v.Rename(ctx, fsc, P, "/a/g", P, "/a/file", vfs.RENAME_NOREPLACE))
	require.Zero(t, v.Rename(ctx, fsc, P, "/a/g", P, "/a/file", vfs.RENAME_EXCHANGE))
	require.Equal(t, unix.EBUSY, v.Rmdir(ctx, fsc, P, "/mnt"))
	require.Zero(t, v.Rename(ctx, fsc, P, "/a/b/c", P, "/a/c2", 0))
	p, errno := v.Lookup(ctx, fsc, P, "/a/c2/f", 0)
	require.Zero(t, errno)
	st, errno := v.Stat(ctx, p)
	require.Zero(t, errno)
	require.EqualValues(t, 1, st.Size)
}

func TestPermissions(t *testing.T) {
	root := posix.NewCred(0, 0, nil)
	user := posix.NewCred(1000, 1000, []uint32{1000})
	for _, tc := range []struct {
		cred posix.Cred
		st   vfs.Stat
		want int
		ok   bool
	}{
		{user, vfs.Stat{Mode: vfs.S_IFREG | 0o600, UID: 1000}, vfs.MayRead | vfs.MayWrite, true},
		{user, vfs.Stat{Mode: vfs.S_IFREG | 0o600, UID: 1}, vfs.MayRead, false},
		{user, vfs.Stat{Mode: vfs.S_IFREG | 0o060, UID: 1, GID: 1000}, vfs.MayWrite, true},
		{user, vfs.Stat{Mode: vfs.S_IFREG | 0o604, UID: 1000}, vfs.MayRead, true},
		{user, vfs.Stat{Mode: vfs.S_IFREG | 0o066, UID: 1000}, vfs.MayRead, false}, // the owner class decides
		{root, vfs.Stat{Mode: vfs.S_IFREG | 0o000, UID: 1}, vfs.MayRead | vfs.MayWrite, true},
		{root, vfs.Stat{Mode: vfs.S_IFREG | 0o000, UID: 1}, vfs.MayExec, false},
		{root, vfs.Stat{Mode: vfs.S_IFREG | 0o001, UID: 1}, vfs.MayExec, true},
		{root, vfs.Stat{Mode: vfs.S_IFDIR | 0o000, UID: 1}, vfs.MayExec, true},
	} {
		require.Equal(t, tc.ok, vfs.Permission(tc.cred, &tc.st, tc.want) == 0, "%+v", tc)
	}
}

func TestGetcwdAndNames(t *testing.T) {
	e := newEnv(t)
	p, errno := e.v.Lookup(e.ctx, e.fsc, vfs.Path{}, "/mnt", vfs.LookupFollow)
	require.Zero(t, errno)
	require.Zero(t, e.v.Chdir(e.ctx, e.fsc, p))
	cwd, errno := e.v.Getcwd(e.ctx, e.fsc)
	require.Zero(t, errno)
	require.Equal(t, "/mnt", cwd)
	f, errno := e.v.Open(e.ctx, e.fsc, vfs.Path{}, "inner", vfs.OpenHow{Flags: unix.O_RDONLY})
	require.Zero(t, errno)
	require.Equal(t, "/mnt/inner", f.(*vfs.File).Name(e.ctx, e.fsc.Root()))
	require.Zero(t, e.v.Unlink(e.ctx, e.fsc, vfs.Path{}, "/mnt/inner"))
	require.Equal(t, "/mnt/inner (deleted)", f.(*vfs.File).Name(e.ctx, e.fsc.Root()))
}

func TestLocks(t *testing.T) {
	e := newEnv(t)
	open := func() *vfs.File {
		f, errno := e.v.Open(e.ctx, e.fsc, vfs.Path{}, "/a/file", vfs.OpenHow{Flags: unix.O_RDWR})
		require.Zero(t, errno)
		return f.(*vfs.File)
	}
	f1, f2 := open(), open()
	p1, p2 := vfs.RecordOwner{PID: 1}, vfs.RecordOwner{PID: 2}
	require.Zero(t, f1.SetLock(nil, p1, vfs.Lock{Type: unix.F_WRLCK, Start: 0, End: 9}, false))
	require.Equal(t, unix.EAGAIN, f2.SetLock(nil, p2, vfs.Lock{Type: unix.F_RDLCK, Start: 5, End: 5}, false))
	require.Zero(t, f2.SetLock(nil, p2, vfs.Lock{Type: unix.F_RDLCK, Start: 10, End: 20}, false))
	got := f2.TestLock(p2, vfs.Lock{Type: unix.F_WRLCK, Start: 0, End: 100})
	require.EqualValues(t, unix.F_WRLCK, got.Type)
	require.EqualValues(t, 1, got.PID)
	// Unlocking the middle splits the lock.
	require.Zero(t, f1.SetLock(nil, p1, vfs.Lock{Type: unix.F_UNLCK, Start: 3, End: 4}, false))
	require.Zero(t, f2.SetLock(nil, p2, vfs.Lock{Type: unix.F_RDLCK, Start: 3, End: 4}, false))
	f1.ReleasePOSIX(1)
	require.Zero(t, f2.SetLock(nil, p2, vfs.Lock{Type: unix.F_WRLCK, Start: 0, End: 9}, false))
	require.Zero(t, f1.Flock(nil, unix.LOCK_SH))
	require.Zero(t, f2.Flock(nil, unix.LOCK_SH))
	require.Equal(t, unix.EWOULDBLOCK, f2.Flock(nil, unix.LOCK_EX|unix.LOCK_NB))
	f1.Close()
	require.Zero(t, f2.Flock(nil, unix.LOCK_EX|unix.LOCK_NB))
}

// TestDeletedDirectoryNames: a directory whose parent was removed, and a
// file in it, still have a name ("... (deleted)") and a path walk through
// them ends in ENOENT, never a nil dereference (issue 22: chdir through
// /proc/self/fd/N of such a directory killed rumpgo in PathName).
func TestDeletedDirectoryNames(t *testing.T) {
	e := newEnv(t)
	v, ctx, fsc := e.v, e.ctx, e.fsc
	P := vfs.Path{}
	require.Zero(t, v.Mkdir(ctx, fsc, P, "/tmp/d", 0o755, 0))
	require.Zero(t, v.Mkdir(ctx, fsc, P, "/tmp/d/e", 0o755, 0))
	e.write(t, "/tmp/d/e/f", "x")
	dir, errno := v.Open(ctx, fsc, P, "/tmp/d/e", vfs.OpenHow{Flags: unix.O_RDONLY | unix.O_DIRECTORY})
	require.Zero(t, errno)
	file, errno := v.Open(ctx, fsc, P, "/tmp/d/e/f", vfs.OpenHow{Flags: unix.O_RDONLY})
	require.Zero(t, errno)
	require.Zero(t, v.Unlink(ctx, fsc, P, "/tmp/d/e/f"))
	require.Zero(t, v.Rmdir(ctx, fsc, P, "/tmp/d/e"))
	require.Zero(t, v.Rmdir(ctx, fsc, P, "/tmp/d"))
	for _, f := range []*vfs.File{dir.(*vfs.File), file.(*vfs.File)} {
		require.Contains(t, []string{"/tmp/d/e (deleted)", "/tmp/d/e/f (deleted)"}, f.Name(ctx, fsc.Root()))
		_, errno := v.PathName(ctx, fsc.Root(), f.Path())
		require.Equal(t, unix.ENOENT, errno)
	}
	// The zero Path (no mount, no inode) has no name either.
	_, errno = v.PathName(ctx, fsc.Root(), vfs.Path{})
	require.Equal(t, unix.ENOENT, errno)
	// A walk from the removed directory: ".." and new names.
	d := dir.(*vfs.File).Path()
	require.Zero(t, v.Chdir(ctx, fsc, d))
	_, errno = v.Getcwd(ctx, fsc)
	require.Equal(t, unix.ENOENT, errno)
	require.Equal(t, "/tmp/d/e (deleted)", v.DisplayName(ctx, fsc.Root(), d), "/proc/self/cwd")
	_, errno = v.Lookup(ctx, fsc, P, "..", vfs.LookupFollow)
	require.Zero(t, errno, "Linux: .. of a removed directory is still its old parent")
	require.Equal(t, unix.ENOENT, v.Mkdir(ctx, fsc, P, "z", 0o755, 0))
	_, errno = v.Open(ctx, fsc, P, "x", vfs.OpenHow{Flags: unix.O_RDWR | unix.O_CREAT, Mode: 0o644})
	require.Equal(t, unix.ENOENT, errno)
}
