package tmpfs_test

import (
	"testing"

	"github.com/rumpgo/rumpgo/posix/fs/tmpfs"
	"github.com/rumpgo/rumpgo/posix/vfs"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestAdopt(t *testing.T) {
	ctx := vfs.RootContext()
	open := func(t *testing.T, size int64) (*vfs.File, *vfs.VFS) {
		v := vfs.New(tmpfs.New(tmpfs.Options{Size: size}), "tmpfs", 0, "")
		f, e := v.Open(ctx, vfs.NewFSContext(v.Root()), vfs.Path{}, "/prog", vfs.OpenHow{Flags: unix.O_RDWR | unix.O_CREAT, Mode: 0o755})
		require.Zero(t, e)
		t.Cleanup(func() { f.Close() })
		return f.(*vfs.File), v
	}
	data := make([]byte, 3*tmpfs.PageSize)
	copy(data[tmpfs.PageSize:], "second page")
	for _, tc := range []struct {
		name   string
		size   int64 // the file system's
		data   []byte
		length int64
		want   unix.Errno
	}{
		{"adopted", 16 * tmpfs.PageSize, data, 2*tmpfs.PageSize + 100, 0},
		{"data shorter than its pages", 16 * tmpfs.PageSize, data[:tmpfs.PageSize], tmpfs.PageSize + 1, unix.EINVAL},
		{"past the size", 2 * tmpfs.PageSize, data, 3 * tmpfs.PageSize, unix.ENOSPC},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := open(t, tc.size)
			require.Equal(t, tc.want, tmpfs.Adopt(f.Impl(), tc.data, tc.length))
			if tc.want != 0 {
				return
			}
			buf := make([]byte, 11)
			n, e := f.Pread(ctx, buf, tmpfs.PageSize)
			require.Zero(t, e)
			require.Equal(t, "second page", string(buf[:n]))
			n, e = f.Pread(ctx, make([]byte, 4*tmpfs.PageSize), 0)
			require.Zero(t, e)
			require.EqualValues(t, tc.length, n, "the file is length long")
			require.Equal(t, unix.EEXIST, tmpfs.Adopt(f.Impl(), tc.data, tc.length), "only an empty file adopts")
		})
	}
}
