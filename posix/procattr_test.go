package posix

import (
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestCheckSched(t *testing.T) {
	other := Sched{Policy: SCHED_OTHER}
	for _, tc := range []struct {
		name      string
		cur, next Sched
		nice      int
		rtprio    uint64
		capable   bool
		err       unix.Errno
	}{
		{"other", other, Sched{Policy: SCHED_OTHER}, 0, 0, false, 0},
		{"other with priority", other, Sched{Policy: SCHED_OTHER, Priority: 1}, 0, 0, true, unix.EINVAL},
		{"fifo without priority", other, Sched{Policy: SCHED_FIFO}, 0, 0, true, unix.EINVAL},
		{"fifo 100", other, Sched{Policy: SCHED_FIFO, Priority: 100}, 0, 0, true, unix.EINVAL},
		{"bad policy", other, Sched{Policy: 4}, 0, 0, true, unix.EINVAL},
		{"deadline", other, Sched{Policy: SCHED_DEADLINE}, 0, 0, true, unix.EINVAL},
		{"fifo privileged", other, Sched{Policy: SCHED_FIFO, Priority: 99}, 0, 0, true, 0},
		{"fifo unprivileged", other, Sched{Policy: SCHED_FIFO, Priority: 1}, 0, 0, false, unix.EPERM},
		{"fifo within RLIMIT_RTPRIO", other, Sched{Policy: SCHED_RR, Priority: 5}, 0, 10, false, 0},
		{"fifo past RLIMIT_RTPRIO", other, Sched{Policy: SCHED_RR, Priority: 11}, 0, 10, false, unix.EPERM},
		{"lower own rt priority", Sched{Policy: SCHED_FIFO, Priority: 50}, Sched{Policy: SCHED_FIFO, Priority: 10}, 0, 0, false, 0},
		{"batch", other, Sched{Policy: SCHED_BATCH}, 0, 0, false, 0},
		{"into idle", other, Sched{Policy: SCHED_IDLE}, 0, 0, false, 0},
		{"out of idle", Sched{Policy: SCHED_IDLE}, other, 0, 0, false, unix.EPERM},
		{"out of idle privileged", Sched{Policy: SCHED_IDLE}, other, 0, 0, true, 0},
		{"clear reset-on-fork", Sched{ResetOnFork: true}, other, 0, 0, false, unix.EPERM},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.err, CheckSched(tc.cur, tc.next, tc.nice, tc.rtprio, 0, tc.capable))
		})
	}
}

func TestNice(t *testing.T) {
	p := NewProcAttrs(1000, 1000, nil, "prog")
	require.Zero(t, p.SetNice(5, 0, false))
	require.Equal(t, 5, p.Nice())
	require.Equal(t, unix.EACCES, p.SetNice(4, 0, false), "lowering needs CAP_SYS_NICE")
	require.Zero(t, p.SetNice(4, 20-4, false), "or RLIMIT_NICE room")
	require.Zero(t, p.SetNice(100, 0, false))
	require.Equal(t, MAX_NICE, p.Nice(), "clamped")
	require.Zero(t, p.SetNice(-100, 0, true))
	require.Equal(t, MIN_NICE, p.Nice())
}

func TestThreadAttrs(t *testing.T) {
	p := NewProcAttrs(0, 0, nil, "a-very-long-program-name")
	th := p.Thread(7)
	require.Equal(t, "a-very-long-pro\x00", string(th.Comm[:]), "15 bytes and a NUL")
	require.Equal(t, uint64(DefaultTimerSlackNs), th.TimerSlack)
	p.UpdateThread(7, func(a *ThreadAttrs) { a.PdeathSig = 9 })
	require.Equal(t, 9, p.Thread(7).PdeathSig)
	require.Zero(t, p.Thread(8).PdeathSig)
	require.Equal(t, SUID_DUMP_USER, p.Dumpable())
	p.CredsChanged(7)
	require.Zero(t, p.Thread(7).PdeathSig)
	require.Equal(t, SUID_DUMP_DISABLE, p.Dumpable())
	require.Equal(t, unix.EINVAL, p.SetDumpable(2))
	require.Equal(t, uint32(0o022), p.Umask(0o7777))
	require.Equal(t, uint32(0o777), p.CurrentUmask())
}
