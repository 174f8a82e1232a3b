package procfs_test

import (
	"strings"
	"testing"
	"time"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/fs/devfs"
	"github.com/rumpgo/rumpgo/posix/fs/procfs"
	"github.com/rumpgo/rumpgo/posix/fs/tmpfs"
	"github.com/rumpgo/rumpgo/posix/mm"
	"github.com/rumpgo/rumpgo/posix/vfs"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestProcAndDev(t *testing.T) {
	v := vfs.New(tmpfs.New(tmpfs.Options{Mode: 0o755}), "rootfs", 0, "")
	ctx := vfs.RootContext()
	ctx.PID, ctx.TID = 1, 1
	g := posix.NewThreadGroup(1, mm.New(nil, 0), posix.NewFDTable())
	g.NewTask()
	r, w := posix.NewPipe(0)
	g.FDs.Install(r, 0, false, 10)
	g.FDs.Install(w, 0, false, 10)
	fsc := vfs.NewFSContext(v.Root())
	proc := &procfs.Process{Group: g, FS: fsc, Argv: []string{"prog", "a"}, Env: []string{"K=V"}, Start: time.Now(),
		Attrs: func() *posix.ProcAttrs {
			return posix.AttrsOf(g, func() *posix.ProcAttrs { return posix.NewProcAttrs(0, 0, nil, "prog") })
		}}
	pfs := procfs.New(v, procfs.System{Hostname: func() string { return "h" }, Release: "6.1", CPUs: 2, MemBytes: 1 << 30,
		Boot: time.Now(), Process: func(pid int) *procfs.Process {
			if pid == 1 {
				return proc
			}
			return nil
		}, PIDs: func() []int { return []int{1} }})
	_, errno := v.MountPath("/proc", pfs, "proc", 0, "")
	require.Zero(t, errno)
	_, errno = v.MountPath("/dev", devfs.New(v, devfs.Options{}), "devtmpfs", 0, "")
	require.Zero(t, errno)

	read := func(path string) (string, unix.Errno) {
		f, errno := v.Open(ctx, fsc, vfs.Path{}, path, vfs.OpenHow{Flags: unix.O_RDONLY})
		if errno != 0 {
			return "", errno
		}
		defer f.Close()
		b := make([]byte, 4096)
		n, errno := f.Read(b)
		return string(b[:n]), errno
	}
	for _, tc := range []struct {
		path, want string
		errno      unix.Errno
	}{
		{"/proc/self/cmdline", "prog\x00a\x00", 0},
		{"/proc/1/environ", "K=V\x00", 0},
		{"/proc/sys/kernel/hostname", "h\n", 0},
		{"/proc/sys/net/core/somaxconn", "4096\n", 0},
		{"/proc/self/comm", "prog\n", 0},
		{"/proc/2/cmdline", "", unix.ENOENT},
		{"/proc/self/mounts", "rootfs / tmpfs rw,relatime 0 0\nproc /proc proc rw,relatime 0 0\n", 0},
		{"/dev/zero", "", 0}, // reads up to the buffer: checked below
		{"/dev/ptmx", "", unix.ENOENT},
	} {
		got, errno := read(tc.path)
		require.Equal(t, tc.errno, errno, tc.path)
		if tc.path == "/dev/zero" {
			require.Equal(t, strings.Repeat("\x00", 4096), got)
			continue
		}
		if tc.path == "/proc/self/mounts" {
			require.True(t, strings.HasPrefix(got, tc.want), got)
			continue
		}
		require.Equal(t, tc.want, got, tc.path)
	}
	link, errno := v.Readlink(ctx, fsc, vfs.Path{}, "/proc/self/fd/0")
	require.Zero(t, errno)
	require.Regexp(t, `^pipe:\[\d+\]$`, link)
	link, errno = v.Readlink(ctx, fsc, vfs.Path{}, "/proc/self")
	require.Zero(t, errno)
	require.Equal(t, "1", link)
	// Opening /proc/self/fd/0 of a pipe reaches the pipe, which has no path.
	_, f, errno := v.LookupFile(ctx, fsc, vfs.Path{}, "/dev/stdin", vfs.LookupFollow)
	require.Zero(t, errno)
	require.Equal(t, r, f)
	var fds []string
	d, _ := v.Open(ctx, fsc, vfs.Path{}, "/proc/self/fd", vfs.OpenHow{Flags: unix.O_RDONLY | unix.O_DIRECTORY})
	require.Zero(t, d.(*vfs.File).ReadDir(ctx, func(e vfs.Dirent) bool { fds = append(fds, e.Name); return true }))
	require.Equal(t, []string{".", "..", "0", "1"}, fds)
}
