package tmpfs_test

import (
	"fmt"
	"testing"

	"github.com/rumpgo/rumpgo/posix/fs/tmpfs"
	"github.com/rumpgo/rumpgo/posix/vfs"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// What a guest keeps in a tmpfs lives in the monitor's memory, so
// everything in it is bounded by the size: data (TestSizeLimit), the
// number of inodes (and with them names and symlink targets), and
// extended attributes, each ending in ENOSPC.
func TestMetadataLimits(t *testing.T) {
	ctx := vfs.RootContext()
	t.Run("inodes scale with the size", func(t *testing.T) {
		fs := tmpfs.New(tmpfs.Options{Size: 2048 * tmpfs.PageSize})
		var errno unix.Errno
		n := 0
		for ; n < 1<<20; n++ {
			if _, errno = fs.Root().Create(ctx, fmt.Sprint("f", n), vfs.CreateAttr{Mode: vfs.S_IFREG | 0o644}); errno != 0 {
				break
			}
		}
		require.Equal(t, unix.ENOSPC, errno)
		require.Equal(t, 2048-1, n, "one inode per page of size (the root is one)")
	})
	t.Run("xattrs", func(t *testing.T) {
		fs := tmpfs.New(tmpfs.Options{Size: 1024 * tmpfs.PageSize}) // 1024 inodes: 1 MiB for xattrs
		f, errno := fs.Root().Create(ctx, "f", vfs.CreateAttr{Mode: vfs.S_IFREG | 0o644})
		require.Zero(t, errno)
		x := f.(vfs.XattrInode)
		value := make([]byte, 64<<10)
		n := 0
		for ; n < 1000; n++ {
			if errno = x.SetXattr(ctx, fmt.Sprint("user.a", n), value, 0); errno != 0 {
				break
			}
		}
		require.Equal(t, unix.ENOSPC, errno)
		require.Equal(t, 15, n, "16 values of 64 KiB and their names pass 1 MiB")
		// Removing one makes room again; replacing by a smaller one too.
		require.Zero(t, x.RemoveXattr(ctx, "user.a0"))
		require.Zero(t, x.SetXattr(ctx, "user.b", value, 0))
		require.Equal(t, unix.ENOSPC, x.SetXattr(ctx, "user.c", value, 0))
		require.Zero(t, x.SetXattr(ctx, "user.b", nil, unix.XATTR_REPLACE))
		require.Zero(t, x.SetXattr(ctx, "user.c", value, 0))
		// Unlinking the file gives its room back.
		require.Zero(t, fs.Root().Unlink(ctx, "f", false))
		g, errno := fs.Root().Create(ctx, "g", vfs.CreateAttr{Mode: vfs.S_IFREG | 0o644})
		require.Zero(t, errno)
		for i := 0; i < 15; i++ {
			require.Zero(t, g.(vfs.XattrInode).SetXattr(ctx, fmt.Sprint("user.a", i), value, 0))
		}
	})
}
