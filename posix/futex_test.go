package posix

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestFutexWaitWake(t *testing.T) {
	f := NewFutexes()
	word := uint32(1)
	never := make(chan struct{})
	require.Equal(t, unix.EAGAIN, f.Wait(8, &word, 0, FUTEX_BITSET_MATCH_ANY, time.Time{}, never), "value changed")
	require.Equal(t, unix.ETIMEDOUT, f.Wait(8, &word, 1, FUTEX_BITSET_MATCH_ANY, time.Now().Add(5*time.Millisecond), never))
	require.Equal(t, unix.EINVAL, f.Wait(8, &word, 1, 0, time.Time{}, never))

	cancel := make(chan struct{})
	close(cancel)
	require.Equal(t, unix.EINTR, f.Wait(8, &word, 1, FUTEX_BITSET_MATCH_ANY, time.Time{}, cancel))

	done := make(chan unix.Errno)
	go func() { done <- f.Wait(8, &word, 1, 0b10, time.Time{}, never) }()
	require.Eventually(t, func() bool { return f.Wake(8, 1, 0b01) == 0 && f.Wake(8, 1, 0b10) == 1 }, time.Second, time.Millisecond,
		"a wake whose bitset misses the waiter's leaves it asleep")
	require.Equal(t, unix.Errno(0), <-done)
}

func TestFutexRequeue(t *testing.T) {
	f := NewFutexes()
	word := uint32(0)
	never := make(chan struct{})
	done := make(chan unix.Errno, 3)
	for i := 0; i < 3; i++ {
		go func() { done <- f.Wait(16, &word, 0, FUTEX_BITSET_MATCH_ANY, time.Time{}, never) }()
	}
	require.Eventually(t, func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.queues[16]) == 3
	}, time.Second, time.Millisecond)
	_, e := f.Requeue(16, 1, 2, 24, true, &word, 5)
	require.Equal(t, unix.EAGAIN, e, "CMP_REQUEUE checks the value first")
	n, e := f.Requeue(16, 1, 2, 24, true, &word, 0)
	require.Zero(t, e)
	require.Equal(t, 3, n, "one woken plus two moved")
	require.Equal(t, unix.Errno(0), <-done)
	require.Equal(t, 2, f.Wake(24, 10, FUTEX_BITSET_MATCH_ANY))
	require.Equal(t, unix.Errno(0), <-done)
	require.Equal(t, unix.Errno(0), <-done)
}

func TestFDTableLowestFree(t *testing.T) {
	fds := NewFDTable()
	for i := 0; i < 3; i++ {
		fd, e := fds.Install(NewHostFile(2), 0, false, 1024)
		require.Zero(t, e)
		require.Equal(t, i, fd)
	}
	require.Zero(t, fds.Close(1))
	fd, e := fds.Dup(0, 0, true, 1024)
	require.Zero(t, e)
	require.Equal(t, 1, fd, "lowest free descriptor")
	ce, _ := fds.CloseOnExec(1, nil)
	require.True(t, ce)
	_, e = fds.Dup(0, 0, false, 3)
	require.Equal(t, unix.EMFILE, e)
	require.Equal(t, unix.EBADF, fds.Close(7))
}
