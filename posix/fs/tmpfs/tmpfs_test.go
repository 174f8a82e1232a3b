package tmpfs_test

import (
	"testing"

	"github.com/rumpgo/rumpgo/posix/fs/tmpfs"
	"github.com/rumpgo/rumpgo/posix/vfs"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func open(t *testing.T, fs *tmpfs.FS, name string) vfs.FileImpl {
	ctx := vfs.RootContext()
	ino, errno := fs.Root().Create(ctx, name, vfs.CreateAttr{Mode: vfs.S_IFREG | 0o644})
	require.Zero(t, errno)
	f, errno := ino.Open(ctx, unix.O_RDWR)
	require.Zero(t, errno)
	return f
}

func TestSparseAndTruncate(t *testing.T) {
	fs := tmpfs.New(tmpfs.Options{})
	f := open(t, fs, "f")
	_, errno := f.WriteAt(nil, []byte("x"), 1<<30)
	require.Zero(t, errno)
	require.Equal(t, int64(tmpfs.PageSize), fs.Used(), "one page for a 1 GiB sparse file")
	b := make([]byte, 4)
	n, _ := f.ReadAt(nil, b, 100)
	require.Equal(t, 4, n)
	require.Equal(t, []byte{0, 0, 0, 0}, b)
	seek := f.(vfs.Seeker)
	off, errno := seek.Seek(nil, 0, vfs.SEEK_DATA, 0)
	require.Zero(t, errno)
	require.Equal(t, int64(1<<30), off)
	off, _ = seek.Seek(nil, 0, vfs.SEEK_HOLE, 0)
	require.Equal(t, int64(0), off)
	for _, tc := range []struct {
		size int64
		used int64
	}{{1 << 30, 0}, {0, 0}} {
		st, _ := fs.Root().Lookup(nil, "f")
		require.Zero(t, st.SetAttr(nil, &vfs.SetAttr{Mask: vfs.SetSize, Size: tc.size}))
		require.Equal(t, tc.used, fs.Used())
	}
}

func TestSizeLimit(t *testing.T) {
	fs := tmpfs.New(tmpfs.Options{Size: 2 * tmpfs.PageSize})
	f := open(t, fs, "f")
	n, errno := f.WriteAt(nil, make([]byte, 3*tmpfs.PageSize), 0)
	require.Zero(t, errno, "a short write first")
	require.Equal(t, 2*tmpfs.PageSize, n)
	_, errno = f.WriteAt(nil, []byte("x"), 3*tmpfs.PageSize)
	require.Equal(t, unix.ENOSPC, errno)
	require.Equal(t, unix.ENOSPC, f.(vfs.Allocator).Allocate(nil, 0, 10*tmpfs.PageSize, tmpfs.PageSize))
	require.Zero(t, f.(vfs.Allocator).Allocate(nil, tmpfs.FALLOC_FL_PUNCH_HOLE|tmpfs.FALLOC_FL_KEEP_SIZE, 0, tmpfs.PageSize))
	require.Equal(t, int64(tmpfs.PageSize), fs.Used())
}

func TestDirectoryOps(t *testing.T) {
	fs := tmpfs.New(tmpfs.Options{})
	ctx := vfs.RootContext()
	root := fs.Root()
	d, errno := root.Create(ctx, "d", vfs.CreateAttr{Mode: vfs.S_IFDIR | 0o755})
	require.Zero(t, errno)
	_, errno = root.Create(ctx, "d", vfs.CreateAttr{Mode: vfs.S_IFREG})
	require.Equal(t, unix.EEXIST, errno)
	f, _ := d.Create(ctx, "f", vfs.CreateAttr{Mode: vfs.S_IFREG | 0o644})
	require.Zero(t, root.Link(ctx, "hard", f))
	st, _ := f.Stat(ctx)
	require.EqualValues(t, 2, st.Nlink)
	require.Equal(t, unix.ENOTEMPTY, root.Unlink(ctx, "d", true))
	require.Equal(t, unix.EISDIR, root.Unlink(ctx, "d", false))
	require.Zero(t, d.Unlink(ctx, "f", false))
	st, _ = f.Stat(ctx)
	require.EqualValues(t, 1, st.Nlink)
	require.Zero(t, root.Rename(ctx, "hard", d, "moved", 0))
	var names []string
	require.Zero(t, d.ReadDir(ctx, vfs.FirstPos, func(e vfs.Dirent) bool { names = append(names, e.Name); return true }))
	require.Equal(t, []string{"moved"}, names)
	parent, _ := d.Lookup(ctx, "..")
	require.Equal(t, root.Ino(), parent.Ino())
	x := f.(vfs.XattrInode)
	require.Zero(t, x.SetXattr(ctx, "user.a", []byte("1"), 0))
	require.Equal(t, unix.EEXIST, x.SetXattr(ctx, "user.a", []byte("1"), unix.XATTR_CREATE))
	v, errno := x.GetXattr(ctx, "user.a")
	require.Zero(t, errno)
	require.Equal(t, "1", string(v))
	_, errno = x.GetXattr(ctx, "other.a")
	require.Equal(t, unix.EOPNOTSUPP, errno)
}
