package posix

import (
	"testing"
	"time"

	"github.com/rumpgo/rumpgo/posix/waiter"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// The host-side buffers a guest can make the monitor allocate are bounded,
// and past the bound the guest gets an errno (EAGAIN, as a full buffer)
// instead of the monitor growing (issue 10). tests/hardening_test.go
// (TestBufferLimits) proves the same from a guest.

// TestPipeHostBudget: many pipes, each set to 1 MiB and filled, hold at
// most PipeHostPages pages between them; a writer that found the budget
// spent is woken when another pipe is read, and closing gives every page
// back.
func TestPipeHostBudget(t *testing.T) {
	old := PipeHostPages
	t.Cleanup(func() { PipeHostPages = old })
	base := PipePagesHeld()
	PipeHostPages = base + 64 // 256 KiB for this test's pipes

	type pipe struct{ r, w *PipeEnd }
	var pipes []pipe
	page := make([]byte, pipePage)
	stored := 0
	for i := 0; i < 8; i++ {
		r, w := NewPipe(unix.O_NONBLOCK)
		_, e := w.Pipe().SetSize(PipeMaxSize, false)
		require.Zero(t, e)
		pipes = append(pipes, pipe{r, w})
		for {
			n, e := w.Write(page)
			if e == unix.EAGAIN {
				break
			}
			require.Zero(t, e)
			stored += n
		}
	}
	require.Equal(t, 64*pipePage, stored, "8 pipes of 1 MiB hold only the budget")
	require.Equal(t, PipeHostPages, PipePagesHeld())

	// The last pipe is empty and far from full, yet not writable.
	last := pipes[len(pipes)-1]
	require.Zero(t, last.w.Readiness(waiter.EPOLLOUT))
	entry, woken := waiter.NewChannelEntry(waiter.EPOLLOUT)
	last.w.EventRegister(entry)
	defer last.w.EventUnregister(entry)

	// Reading two pages of the first pipe gives one back (the other
	// stays as that pipe's spare) and wakes the last pipe's writer.
	buf := make([]byte, 2*pipePage)
	n, e := pipes[0].r.Read(buf)
	require.Zero(t, e)
	require.Equal(t, 2*pipePage, n)
	select {
	case <-woken:
	case <-time.After(5 * time.Second):
		t.Fatal("a writer waiting for the pipe budget was not woken")
	}
	require.NotZero(t, last.w.Readiness(waiter.EPOLLOUT))
	n, e = last.w.Write(page)
	require.Zero(t, e)
	require.Equal(t, pipePage, n)

	for _, p := range pipes {
		require.Zero(t, p.r.Close())
		require.Zero(t, p.w.Close())
	}
	require.Equal(t, base, PipePagesHeld(), "closed pipes keep no pages")
}

// TestUnixQueueBounded: messages that carry little or no data still cost
// the receiver's buffer, so a peer that never reads cannot make the queue
// grow without bound; a zero-length stream write queues nothing.
func TestUnixQueueBounded(t *testing.T) {
	for _, tc := range []struct {
		name string
		typ  int
		msg  []byte
	}{
		{"seqpacket, empty messages", unix.SOCK_SEQPACKET, nil},
		{"seqpacket, one byte", unix.SOCK_SEQPACKET, []byte{1}},
		{"stream, one byte", unix.SOCK_STREAM, []byte{1}},
		{"dgram, empty messages", unix.SOCK_DGRAM, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := NewUnixNamespace()
			a, b, e := ns.UnixPair(tc.typ|unix.SOCK_NONBLOCK, 0, Ucred{})
			require.Zero(t, e)
			defer a.Close()
			defer b.Close()
			sent := 0
			for ; sent < 1<<20; sent++ {
				_, e := a.SendMsg(tc.msg, nil, nil, 0)
				if e == unix.EAGAIN {
					break
				}
				require.Zero(t, e)
			}
			require.Less(t, sent, 1<<20, "the queue never filled")
			b.mu.Lock()
			queued := len(b.rq)
			b.mu.Unlock()
			require.LessOrEqual(t, queued, SockMaxBuf/unixMsgOverhead+1)
			require.False(t, a.Readiness(waiter.EPOLLOUT)&waiter.EPOLLOUT != 0, "a full peer is not writable")
		})
	}
	t.Run("stream, zero length", func(t *testing.T) {
		ns := NewUnixNamespace()
		a, b, e := ns.UnixPair(unix.SOCK_STREAM|unix.SOCK_NONBLOCK, 0, Ucred{})
		require.Zero(t, e)
		defer a.Close()
		defer b.Close()
		for i := 0; i < 1000; i++ {
			n, e := a.SendMsg(nil, nil, nil, 0)
			require.Zero(t, e)
			require.Zero(t, n)
		}
		_, e = b.RecvMsg(make([]byte, 8), 0)
		require.Equal(t, unix.EAGAIN, e, "nothing was queued")
	})
}
