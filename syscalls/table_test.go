package syscalls

import (
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestTableNamesMatchLinux(t *testing.T) {
	for nr, e := range Table() {
		require.Equal(t, linuxNames[uint64(nr)], e.Name, "syscall %d", nr)
		require.NotNil(t, e.fn, e.Name)
		if e.Support != Supported {
			require.NotEmpty(t, e.Note, "%s: partial and error entries say why", e.Name)
		}
		for i, k := range e.args {
			if k == aBufIn {
				require.Less(t, i+1, len(e.args), "%s: aBufIn takes its length from the next argument", e.Name)
			}
		}
	}
}

func TestGoRuntimeCallsAreRegistered(t *testing.T) {
	// What a static Go binary calls before main and in an ordinary run; the
	// foundation issue promises each of them.
	for _, nr := range []uint64{
		unix.SYS_ARCH_PRCTL, unix.SYS_SCHED_GETAFFINITY, unix.SYS_OPENAT, unix.SYS_READ,
		unix.SYS_CLOSE, unix.SYS_MMAP, unix.SYS_MUNMAP, unix.SYS_MADVISE, unix.SYS_MPROTECT,
		unix.SYS_BRK, unix.SYS_RT_SIGACTION, unix.SYS_RT_SIGPROCMASK, unix.SYS_SIGALTSTACK,
		unix.SYS_CLONE, unix.SYS_FUTEX, unix.SYS_GETTID, unix.SYS_GETPID, unix.SYS_TGKILL,
		unix.SYS_NANOSLEEP, unix.SYS_CLOCK_GETTIME, unix.SYS_SCHED_YIELD, unix.SYS_EXIT,
		unix.SYS_EXIT_GROUP, unix.SYS_WRITE, unix.SYS_FCNTL, unix.SYS_PRLIMIT64,
		unix.SYS_GETRANDOM, unix.SYS_UNAME,
	} {
		require.NotNil(t, Lookup(nr), Name(nr))
	}
	require.Nil(t, Lookup(maxSyscall+5))
	require.Equal(t, "syscall_999", Name(999))
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"hello\n":      `"hello\n"`,
		"a\"b\\c":      `"a\"b\\c"`,
		"\x00\x01\xff": `"\0\1\377"`,
		"tab\there":    `"tab\there"`,
	} {
		require.Equal(t, want, quote([]byte(in)))
	}
}

func TestFlagStrings(t *testing.T) {
	require.Equal(t, "PROT_READ|PROT_WRITE", flagString(unix.PROT_READ|unix.PROT_WRITE, protNames))
	require.Equal(t, "MAP_PRIVATE|MAP_ANONYMOUS|0x80000000", flagString(unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|0x80000000, mapNames))
	require.Equal(t, "FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME", futexOpString(FUTEX_WAIT_BITSET|FUTEX_PRIVATE_FLAG|FUTEX_CLOCK_REALTIME))
	require.Equal(t, "SIGRTMIN+2", sigName(36))
	require.Equal(t, "SIGURG", sigName(int(unix.SIGURG)))
}
