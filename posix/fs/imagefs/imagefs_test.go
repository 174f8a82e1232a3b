package imagefs_test

import (
	"bytes"
	"testing"

	"github.com/rumpgo/rumpgo/image"
	"github.com/rumpgo/rumpgo/posix/fs/imagefs"
	"github.com/rumpgo/rumpgo/posix/vfs"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestImageFS(t *testing.T) {
	b := image.NewBuilder()
	big := bytes.Repeat([]byte("0123456789abcdef"), 1000)
	require.NoError(t, b.AddFile("/p", 0o755, []byte("prog")))
	require.NoError(t, b.AddFile("/d/big", 0o644, big))
	require.NoError(t, b.AddFile("/d/a", 0o600, []byte("a")))
	require.NoError(t, b.AddSymlink("/d/l", "big"))
	var buf bytes.Buffer
	require.NoError(t, b.Write(&buf, &image.Manifest{Entry: "/p", Argv: []string{"/p"}}, image.Options{}))
	im, err := image.Read(bytes.NewReader(buf.Bytes()), int64(buf.Len()), "t.img")
	require.NoError(t, err)
	fs := imagefs.New(im)
	ctx := vfs.RootContext()

	d, errno := fs.Root().Lookup(ctx, "d")
	require.Zero(t, errno)
	var names []string
	var next uint64
	d.ReadDir(ctx, vfs.FirstPos, func(de vfs.Dirent) bool {
		names = append(names, de.Name)
		next = de.Next
		return len(names) < 2
	})
	d.ReadDir(ctx, next, func(de vfs.Dirent) bool { names = append(names, de.Name); return true })
	require.Equal(t, []string{"a", "big", "l"}, names, "sorted, resumable")

	f, errno := d.Lookup(ctx, "big")
	require.Zero(t, errno)
	st, _ := f.Stat(ctx)
	require.Equal(t, int64(len(big)), st.Size)
	fi, errno := f.Open(ctx, unix.O_RDONLY)
	require.Zero(t, errno)
	p := make([]byte, 10)
	n, errno := fi.ReadAt(ctx, p, 15995)
	require.Zero(t, errno)
	require.Equal(t, "bcdef", string(p[:n]), "a short read at the end")
	_, errno = f.Open(ctx, unix.O_RDWR)
	require.Equal(t, unix.EROFS, errno)
	require.Equal(t, unix.EROFS, f.SetAttr(ctx, &vfs.SetAttr{Mask: vfs.SetMode}))
	_, errno = d.Create(ctx, "x", vfs.CreateAttr{Mode: vfs.S_IFREG})
	require.Equal(t, unix.EROFS, errno)
	l, _ := d.Lookup(ctx, "l")
	target, errno := l.Readlink(ctx)
	require.Zero(t, errno)
	require.Equal(t, "big", target)
	parent, _ := d.Lookup(ctx, "..")
	require.Equal(t, fs.Root().Ino(), parent.Ino())
}
