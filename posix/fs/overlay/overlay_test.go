package overlay_test

import (
	"bytes"
	"sort"
	"testing"

	"github.com/rumpgo/rumpgo/image"
	"github.com/rumpgo/rumpgo/posix/fs/imagefs"
	"github.com/rumpgo/rumpgo/posix/fs/overlay"
	"github.com/rumpgo/rumpgo/posix/fs/tmpfs"
	"github.com/rumpgo/rumpgo/posix/vfs"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

type env struct {
	v     *vfs.VFS
	ctx   *vfs.Context
	fsc   *vfs.FSContext
	im    *image.Image
	upper *tmpfs.FS
}

// newEnv is an overlay over an image holding /etc/conf, /data/{a,b,sub/c}
// and /lnk -> /etc/conf.
func newEnv(t *testing.T) *env {
	b := image.NewBuilder()
	require.NoError(t, b.AddFile("/bin/p", 0o755, []byte("prog")))
	require.NoError(t, b.AddFile("/etc/conf", 0o644, []byte("lower conf")))
	require.NoError(t, b.AddFile("/data/a", 0o600, []byte("A")))
	require.NoError(t, b.AddFile("/data/b", 0o644, []byte("B")))
	require.NoError(t, b.AddFile("/data/sub/c", 0o644, []byte("C")))
	require.NoError(t, b.AddSymlink("/lnk", "/etc/conf"))
	var buf bytes.Buffer
	require.NoError(t, b.Write(&buf, &image.Manifest{Entry: "/bin/p", Argv: []string{"/bin/p"}}, image.Options{}))
	im, err := image.Read(bytes.NewReader(buf.Bytes()), int64(buf.Len()), "t.img")
	require.NoError(t, err)
	upper := tmpfs.New(tmpfs.Options{Mode: 0o755})
	v := vfs.New(overlay.New(upper, imagefs.New(im)), "overlay", 0, "")
	return &env{v: v, ctx: vfs.RootContext(), fsc: vfs.NewFSContext(v.Root()), im: im, upper: upper}
}

func (e *env) read(t *testing.T, path string) string {
	f, errno := e.v.Open(e.ctx, e.fsc, vfs.Path{}, path, vfs.OpenHow{Flags: unix.O_RDONLY})
	require.Zero(t, errno, path)
	defer f.Close()
	b := make([]byte, 100)
	n, _ := f.Read(b)
	return string(b[:n])
}

func (e *env) write(t *testing.T, path, data string, flags int) {
	f, errno := e.v.Open(e.ctx, e.fsc, vfs.Path{}, path, vfs.OpenHow{Flags: unix.O_WRONLY | flags, Mode: 0o644})
	require.Zero(t, errno, path)
	defer f.Close()
	_, errno = f.Write([]byte(data))
	require.Zero(t, errno)
}

func (e *env) names(t *testing.T, path string) []string {
	f, errno := e.v.Open(e.ctx, e.fsc, vfs.Path{}, path, vfs.OpenHow{Flags: unix.O_RDONLY | unix.O_DIRECTORY})
	require.Zero(t, errno, path)
	defer f.Close()
	var out []string
	f.(*vfs.File).ReadDir(e.ctx, func(d vfs.Dirent) bool {
		if d.Name != "." && d.Name != ".." {
			out = append(out, d.Name)
		}
		return true
	})
	sort.Strings(out)
	return out
}

func (e *env) stat(t *testing.T, path string) (vfs.Stat, unix.Errno) {
	p, errno := e.v.Lookup(e.ctx, e.fsc, vfs.Path{}, path, 0)
	if errno != 0 {
		return vfs.Stat{}, errno
	}
	return e.v.Stat(e.ctx, p)
}

// lowerIntact checks the image still holds what it was built with.
func (e *env) lowerIntact(t *testing.T) {
	for path, want := range map[string]string{"/etc/conf": "lower conf", "/data/a": "A", "/data/b": "B", "/data/sub/c": "C"} {
		n := e.im.Lookup(path)
		require.NotNil(t, n, path)
		b := make([]byte, 64)
		c, _ := e.im.ReadAt(n, b, 0)
		require.Equal(t, want, string(b[:c]), path)
	}
}

func TestCopyUpKeepsIdentity(t *testing.T) {
	e := newEnv(t)
	before, errno := e.stat(t, "/etc/conf")
	require.Zero(t, errno)
	e.write(t, "/etc/conf", "upper", unix.O_TRUNC)
	require.Equal(t, "upper", e.read(t, "/etc/conf"))
	after, _ := e.stat(t, "/etc/conf")
	require.Equal(t, before.Ino, after.Ino, "copy-up keeps the inode number")
	require.Equal(t, "upper", e.read(t, "/lnk"))
	e.lowerIntact(t)

	// chmod of a lower file copies it up with its data.
	p, _ := e.v.Lookup(e.ctx, e.fsc, vfs.Path{}, "/data/a", 0)
	require.Zero(t, e.v.Chmod(e.ctx, p, 0o640))
	st, _ := e.stat(t, "/data/a")
	require.Equal(t, uint32(0o640), st.Mode&0o7777)
	require.Equal(t, "A", e.read(t, "/data/a"))
	e.lowerIntact(t)
}

func TestWhiteoutsAndOpaque(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name string
		op   func() unix.Errno
		want unix.Errno
	}{
		{"unlink lower file", func() unix.Errno { return e.v.Unlink(e.ctx, e.fsc, vfs.Path{}, "/data/a") }, 0},
		{"rmdir non-empty lower dir", func() unix.Errno { return e.v.Rmdir(e.ctx, e.fsc, vfs.Path{}, "/data/sub") }, unix.ENOTEMPTY},
		{"unlink lower c", func() unix.Errno { return e.v.Unlink(e.ctx, e.fsc, vfs.Path{}, "/data/sub/c") }, 0},
		{"rmdir emptied lower dir", func() unix.Errno { return e.v.Rmdir(e.ctx, e.fsc, vfs.Path{}, "/data/sub") }, 0},
		{"mkdir over it", func() unix.Errno { return e.v.Mkdir(e.ctx, e.fsc, vfs.Path{}, "/data/sub", 0o755, 0) }, 0},
	} {
		require.Equal(t, tc.want, tc.op(), tc.name)
	}
	_, errno := e.stat(t, "/data/a")
	require.Equal(t, unix.ENOENT, errno)
	require.Equal(t, []string{"b", "sub"}, e.names(t, "/data"))
	require.Empty(t, e.names(t, "/data/sub"), "the new directory is opaque: no lower c")
	e.write(t, "/data/a", "new a", unix.O_CREAT|unix.O_EXCL)
	require.Equal(t, "new a", e.read(t, "/data/a"))
	require.Equal(t, []string{"a", "b", "sub"}, e.names(t, "/data"))
	e.lowerIntact(t)
	// Whiteouts and the opaque marker are the layer's business only.
	p, _ := e.v.Lookup(e.ctx, e.fsc, vfs.Path{}, "/data/sub", 0)
	_, errno = p.Inode.(vfs.XattrInode).GetXattr(e.ctx, "trusted.overlay.opaque")
	require.Equal(t, unix.ENODATA, errno)
}

func TestRenameLowerDir(t *testing.T) {
	e := newEnv(t)
	require.Zero(t, e.v.Rename(e.ctx, e.fsc, vfs.Path{}, "/data", vfs.Path{}, "/moved", 0))
	_, errno := e.stat(t, "/data")
	require.Equal(t, unix.ENOENT, errno)
	require.Equal(t, []string{"a", "b", "sub"}, e.names(t, "/moved"))
	require.Equal(t, "C", e.read(t, "/moved/sub/c"))
	require.Zero(t, e.v.Mkdir(e.ctx, e.fsc, vfs.Path{}, "/data", 0o755, 0))
	require.Empty(t, e.names(t, "/data"))
	// Over an existing file, and exchanging.
	require.Zero(t, e.v.Rename(e.ctx, e.fsc, vfs.Path{}, "/moved/a", vfs.Path{}, "/moved/b", 0))
	require.Equal(t, "A", e.read(t, "/moved/b"))
	require.Equal(t, []string{"b", "sub"}, e.names(t, "/moved"))
	require.Zero(t, e.v.Rename(e.ctx, e.fsc, vfs.Path{}, "/etc/conf", vfs.Path{}, "/moved/b", vfs.RENAME_EXCHANGE))
	require.Equal(t, "A", e.read(t, "/etc/conf"))
	require.Equal(t, "lower conf", e.read(t, "/moved/b"))
	e.lowerIntact(t)
}

func TestLinksAndCwd(t *testing.T) {
	e := newEnv(t)
	require.Zero(t, e.v.Link(e.ctx, e.fsc, vfs.Path{}, "/data/b", vfs.Path{}, "/data/b2", 0))
	e.write(t, "/data/b2", "b!", unix.O_TRUNC)
	require.Equal(t, "b!", e.read(t, "/data/b"), "both names are one file")
	st, _ := e.stat(t, "/data/b")
	require.Equal(t, uint32(2), st.Nlink)
	// A working directory that gets copied up stays the same directory.
	p, _ := e.v.Lookup(e.ctx, e.fsc, vfs.Path{}, "/data/sub", vfs.LookupFollow)
	require.Zero(t, e.v.Chdir(e.ctx, e.fsc, p))
	e.write(t, "new", "n", unix.O_CREAT)
	cwd, errno := e.v.Getcwd(e.ctx, e.fsc)
	require.Zero(t, errno)
	require.Equal(t, "/data/sub", cwd)
	require.Equal(t, []string{"c", "new"}, e.names(t, "/data/sub"))
	e.lowerIntact(t)
}
