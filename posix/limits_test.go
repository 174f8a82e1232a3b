package posix

import (
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestDefaultLimits(t *testing.T) {
	l := DefaultLimits()
	require.Equal(t, Rlimit{8 << 20, RLIM_INFINITY}, l.Get(unix.RLIMIT_STACK))
	require.Equal(t, Rlimit{1024, 4096}, l.Get(unix.RLIMIT_NOFILE))
	require.Equal(t, Rlimit{RLIM_INFINITY, RLIM_INFINITY}, l.Get(unix.RLIMIT_AS))
	require.Equal(t, Rlimit{0, RLIM_INFINITY}, l.Get(unix.RLIMIT_CORE))
}

func TestLimitRules(t *testing.T) {
	for _, tc := range []struct {
		name       string
		res        int
		set        Rlimit
		privileged bool
		err        unix.Errno
	}{
		{"lower soft", unix.RLIMIT_NOFILE, Rlimit{10, 4096}, false, 0},
		{"soft to hard", unix.RLIMIT_NOFILE, Rlimit{4096, 4096}, false, 0},
		{"soft above hard", unix.RLIMIT_NOFILE, Rlimit{4097, 4096}, false, unix.EINVAL},
		{"soft above hard, privileged", unix.RLIMIT_NOFILE, Rlimit{4097, 4096}, true, unix.EINVAL},
		{"lower hard", unix.RLIMIT_NOFILE, Rlimit{10, 100}, false, 0},
		{"raise hard", unix.RLIMIT_NOFILE, Rlimit{10, 8192}, false, unix.EPERM},
		{"raise hard, privileged", unix.RLIMIT_NOFILE, Rlimit{10, 8192}, true, 0},
		{"nofile above nr_open, privileged", unix.RLIMIT_NOFILE, Rlimit{10, nrOpenMax + 1}, true, unix.EPERM},
		{"infinity kept", unix.RLIMIT_AS, Rlimit{RLIM_INFINITY, RLIM_INFINITY}, false, 0},
		{"finite under infinity", unix.RLIMIT_AS, Rlimit{1 << 30, RLIM_INFINITY}, false, 0},
		{"core raise soft", unix.RLIMIT_CORE, Rlimit{RLIM_INFINITY, RLIM_INFINITY}, false, 0},
		{"memlock raise hard", unix.RLIMIT_MEMLOCK, Rlimit{8 << 20, 16 << 20}, false, unix.EPERM},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := DefaultLimits()
			before := l.Get(tc.res)
			old, err := l.Set(tc.res, tc.set, tc.privileged)
			require.Equal(t, tc.err, err)
			if err == 0 {
				require.Equal(t, before, old)
				require.Equal(t, tc.set, l.Get(tc.res))
			} else {
				require.Equal(t, before, l.Get(tc.res), "a refused change changes nothing")
			}
		})
	}
}

func TestLoweredHardLimitStaysLowered(t *testing.T) {
	l := DefaultLimits()
	_, err := l.Set(unix.RLIMIT_NOFILE, Rlimit{100, 100}, false)
	require.Zero(t, err)
	_, err = l.Set(unix.RLIMIT_NOFILE, Rlimit{100, 4096}, false)
	require.Equal(t, unix.EPERM, err)
}

func TestFDLimit(t *testing.T) {
	fds := NewFDTable()
	for i := 0; i < 3; i++ {
		fd, err := fds.Install(limitTestFile{}, 0, false, 3)
		require.Zero(t, err)
		require.Equal(t, i, fd)
	}
	_, err := fds.Install(limitTestFile{}, 0, false, 3)
	require.Equal(t, unix.EMFILE, err)
	_, err = fds.Dup(0, 0, false, 3)
	require.Equal(t, unix.EMFILE, err)
	require.Zero(t, fds.Close(1))
	fd, err := fds.Install(limitTestFile{}, 0, false, 3)
	require.Zero(t, err)
	require.Equal(t, 1, fd)
}

type limitTestFile struct{}

func (limitTestFile) Read(p []byte) (int, unix.Errno)  { return 0, 0 }
func (limitTestFile) Write(p []byte) (int, unix.Errno) { return len(p), 0 }
func (limitTestFile) Close() unix.Errno                { return 0 }
func (limitTestFile) Flags() int                       { return unix.O_RDWR }
