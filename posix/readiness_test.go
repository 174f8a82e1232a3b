package posix

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/rumpgo/rumpgo/posix/waiter"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint64(b, v)
	return b
}

func TestPipe(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, r, w *PipeEnd)
	}{
		{"empty read is EAGAIN", func(t *testing.T, r, w *PipeEnd) {
			_, e := r.Read(make([]byte, 10))
			require.Equal(t, unix.EAGAIN, e)
		}},
		{"data round trip", func(t *testing.T, r, w *PipeEnd) {
			n, e := w.Write([]byte("hello"))
			require.Equal(t, 5, n)
			require.Zero(t, e)
			buf := make([]byte, 10)
			n, _ = r.Read(buf)
			require.Equal(t, "hello", string(buf[:n]))
		}},
		{"capacity counts pages", func(t *testing.T, r, w *PipeEnd) {
			writes := 0
			for {
				if _, e := w.Write(make([]byte, 1000)); e != 0 {
					require.Equal(t, unix.EAGAIN, e)
					break
				}
				writes++
			}
			require.Equal(t, 64, writes) // 4 per page, 16 pages
			require.Zero(t, w.Readiness(waiter.EPOLLOUT))
		}},
		{"atomic write fits or fails", func(t *testing.T, r, w *PipeEnd) {
			for i := 0; i < 15; i++ {
				w.Write(make([]byte, PIPE_BUF))
			}
			w.Write(make([]byte, 4000))
			_, e := w.Write(make([]byte, 200))
			require.Equal(t, unix.EAGAIN, e)
			n, e := w.Write(make([]byte, 96))
			require.Equal(t, 96, n)
			require.Zero(t, e)
		}},
		{"large write is partial", func(t *testing.T, r, w *PipeEnd) {
			n, e := w.Write(make([]byte, 100000))
			require.Zero(t, e)
			require.Equal(t, PipeDefaultSize, n)
		}},
		{"eof after last writer", func(t *testing.T, r, w *PipeEnd) {
			w.Write([]byte("x"))
			w.Close()
			require.Equal(t, uint32(waiter.EPOLLIN|waiter.EPOLLHUP), r.Readiness(waiter.EPOLLIN))
			buf := make([]byte, 4)
			n, e := r.Read(buf)
			require.Equal(t, 1, n)
			require.Zero(t, e)
			n, e = r.Read(buf)
			require.Zero(t, n)
			require.Zero(t, e)
		}},
		{"epipe without readers", func(t *testing.T, r, w *PipeEnd) {
			r.Close()
			_, e := w.Write([]byte("x"))
			require.Equal(t, unix.EPIPE, e)
			require.Equal(t, uint32(waiter.EPOLLOUT|waiter.EPOLLERR), w.Readiness(waiter.EPOLLOUT))
		}},
		{"packet mode", func(t *testing.T, r, w *PipeEnd) {
			w.SetFlags(unix.O_DIRECT)
			w.Write([]byte("abc"))
			w.Write([]byte("defgh"))
			buf := make([]byte, 10)
			n, _ := r.Read(buf)
			require.Equal(t, "abc", string(buf[:n]))
			n, _ = r.Read(buf[:2])
			require.Equal(t, "de", string(buf[:n]))
			_, e := r.Read(buf)
			require.Equal(t, unix.EAGAIN, e)
		}},
		{"set size", func(t *testing.T, r, w *PipeEnd) {
			p := w.Pipe()
			n, e := p.SetSize(5000, false)
			require.Zero(t, e)
			require.Equal(t, 8192, n)
			_, e = p.SetSize(2<<20, false)
			require.Equal(t, unix.EPERM, e)
			w.Write(make([]byte, 8192))
			_, e = p.SetSize(1, false)
			require.Equal(t, unix.EBUSY, e)
			require.Equal(t, 8192, p.Size())
		}},
		{"writes notify readers", func(t *testing.T, r, w *PipeEnd) {
			entry, ch := waiter.NewChannelEntry(waiter.EPOLLIN)
			r.EventRegister(entry)
			defer r.EventUnregister(entry)
			w.Write([]byte("x"))
			select {
			case <-ch:
			default:
				t.Fatal("no notification")
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, w := NewPipe(unix.O_NONBLOCK)
			require.Equal(t, unix.O_RDONLY|unix.O_NONBLOCK, r.Flags())
			require.Equal(t, unix.O_WRONLY|unix.O_NONBLOCK, w.Flags())
			tc.run(t, r, w)
		})
	}
}

func TestEventFD(t *testing.T) {
	b := make([]byte, 8)
	tests := []struct {
		name      string
		init      uint64
		semaphore bool
		writes    []uint64
		wantWrite unix.Errno // of the last write
		reads     []uint64   // values read; 0 means EAGAIN
	}{
		{name: "counter", writes: []uint64{3, 4}, reads: []uint64{7, 0}},
		{name: "semaphore", init: 2, semaphore: true, reads: []uint64{1, 1, 0}},
		{name: "overflow", writes: []uint64{^uint64(0) - 1, 1}, wantWrite: unix.EAGAIN, reads: []uint64{^uint64(0) - 1}},
		{name: "max is invalid", writes: []uint64{^uint64(0)}, wantWrite: unix.EINVAL, reads: []uint64{0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			flags := 0
			if tc.semaphore {
				flags = unix.EFD_SEMAPHORE
			}
			e := NewEventFD(tc.init, flags)
			var last unix.Errno
			for _, v := range tc.writes {
				_, last = e.Write(u64(v))
			}
			require.Equal(t, tc.wantWrite, last)
			for _, want := range tc.reads {
				n, errno := e.Read(b)
				if want == 0 {
					require.Equal(t, unix.EAGAIN, errno)
					require.Zero(t, e.Readiness(waiter.EPOLLIN))
					continue
				}
				require.Equal(t, 8, n)
				require.Equal(t, want, binary.LittleEndian.Uint64(b))
			}
		})
	}
	_, errno := NewEventFD(1, 0).Read(make([]byte, 4))
	require.Equal(t, unix.EINVAL, errno)
}

func TestTimerFD(t *testing.T) {
	tf := NewTimerFD(unix.CLOCK_MONOTONIC, unix.O_NONBLOCK)
	b := make([]byte, 8)
	_, e := tf.Read(b)
	require.Equal(t, unix.EAGAIN, e)
	entry, ch := waiter.NewChannelEntry(waiter.EPOLLIN)
	tf.EventRegister(entry)
	defer tf.EventUnregister(entry)
	tf.Set(time.Now().Add(10*time.Millisecond), 10*time.Millisecond)
	v, iv := tf.Get()
	require.Equal(t, 10*time.Millisecond, iv)
	require.Greater(t, v, time.Duration(0))
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("timer never fired")
	}
	time.Sleep(25 * time.Millisecond)
	n, e := tf.Read(b)
	require.Zero(t, e)
	require.Equal(t, 8, n)
	require.GreaterOrEqual(t, binary.LittleEndian.Uint64(b), uint64(3))
	oldV, oldI := tf.Set(time.Time{}, 0)
	require.Equal(t, 10*time.Millisecond, oldI)
	require.LessOrEqual(t, oldV, 10*time.Millisecond)
	v, iv = tf.Get()
	require.Zero(t, v)
	require.Zero(t, iv)
	// A time in the past expires at once.
	tf.Set(time.Now().Add(-time.Second), 0)
	require.Equal(t, uint32(waiter.EPOLLIN), tf.Readiness(waiter.EPOLLIN))
	tf.Close()
}

func open(t *testing.T, f File) *OpenFile {
	fds := NewFDTable()
	fd, e := fds.Install(f, 0, false, 1024)
	require.Zero(t, e)
	of, _ := fds.Get(fd)
	return of
}

func TestEpoll(t *testing.T) {
	type step struct {
		do   func(r, w *PipeEnd)
		want []EpollEvent
	}
	write := func(r, w *PipeEnd) { w.Write([]byte("x")) }
	drain := func(r, w *PipeEnd) { r.Read(make([]byte, 100)) }
	none := func(r, w *PipeEnd) {}
	in := []EpollEvent{{Events: waiter.EPOLLIN, Data: 7}}
	tests := []struct {
		name   string
		events uint32
		steps  []step
	}{
		{"level", waiter.EPOLLIN, []step{{none, nil}, {write, in}, {none, in}, {drain, nil}}},
		{"edge", waiter.EPOLLIN | EPOLLET, []step{{write, in}, {none, nil}, {write, in}, {drain, nil}}},
		{"oneshot", waiter.EPOLLIN | EPOLLONESHOT, []step{{write, in}, {none, nil}, {write, nil}}},
		{"hangup", waiter.EPOLLIN, []step{{func(r, w *PipeEnd) { w.Close() }, []EpollEvent{{Events: waiter.EPOLLHUP, Data: 7}}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, w := NewPipe(unix.O_NONBLOCK)
			ep := NewEpoll()
			require.Zero(t, ep.Add(open(t, r), 3, EpollEvent{Events: tc.events, Data: 7}))
			for i, s := range tc.steps {
				s.do(r, w)
				require.Equal(t, s.want, ep.Wait(10), "step %d", i)
			}
		})
	}

	t.Run("ctl rules", func(t *testing.T) {
		r, _ := NewPipe(0)
		ep := NewEpoll()
		of := open(t, r)
		require.Zero(t, ep.Add(of, 3, EpollEvent{Events: waiter.EPOLLIN}))
		require.Equal(t, unix.EEXIST, ep.Add(of, 3, EpollEvent{Events: waiter.EPOLLIN}))
		require.Zero(t, ep.Add(of, 4, EpollEvent{Events: waiter.EPOLLIN}), "another fd of the same file is another watch")
		require.Equal(t, unix.ENOENT, ep.Modify(of, 5, EpollEvent{}))
		require.Equal(t, unix.ENOENT, ep.Delete(of, 5))
		require.Zero(t, ep.Delete(of, 4))
		require.Equal(t, unix.EINVAL, ep.Add(open(t, ep), 9, EpollEvent{Events: waiter.EPOLLIN}))
		require.Equal(t, unix.EPERM, ep.Add(open(t, regular{}), 9, EpollEvent{Events: waiter.EPOLLIN}))
		require.Equal(t, unix.EINVAL, ep.Modify(of, 3, EpollEvent{Events: waiter.EPOLLIN | EPOLLEXCLUSIVE}))
	})

	t.Run("nesting and loops", func(t *testing.T) {
		a, b := NewEpoll(), NewEpoll()
		ofA, ofB := open(t, a), open(t, b)
		require.Zero(t, b.Add(ofA, 3, EpollEvent{Events: waiter.EPOLLIN}))
		require.Equal(t, unix.ELOOP, a.Add(ofB, 4, EpollEvent{Events: waiter.EPOLLIN}))
		r, w := NewPipe(0)
		require.Zero(t, a.Add(open(t, r), 5, EpollEvent{Events: waiter.EPOLLIN, Data: 1}))
		require.Empty(t, b.Wait(1))
		w.Write([]byte("x"))
		require.Equal(t, []EpollEvent{{Events: waiter.EPOLLIN, Data: 0}}, b.Wait(1))
		// A chain deeper than Linux allows is refused.
		top := b
		var err unix.Errno
		for i := 0; i < 6 && err == 0; i++ {
			next := NewEpoll()
			err = next.Add(open(t, top), 3, EpollEvent{Events: waiter.EPOLLIN})
			top = next
		}
		require.Equal(t, unix.ELOOP, err)
	})

	t.Run("last close drops the watch", func(t *testing.T) {
		r, w := NewPipe(0)
		fds := NewFDTable()
		fd, _ := fds.Install(r, 0, false, 1024)
		of, _ := fds.Get(fd)
		ep := NewEpoll()
		require.Zero(t, ep.Add(of, fd, EpollEvent{Events: waiter.EPOLLIN}))
		w.Write([]byte("x"))
		fds.Close(fd)
		require.Empty(t, ep.Wait(1))
	})
}

// regular is a file that cannot be waited on.
type regular struct{}

func (regular) Read([]byte) (int, unix.Errno)  { return 0, 0 }
func (regular) Write([]byte) (int, unix.Errno) { return 0, 0 }
func (regular) Close() unix.Errno              { return 0 }
func (regular) Flags() int                     { return unix.O_RDWR }

func TestReadinessDefault(t *testing.T) {
	require.Equal(t, uint32(waiter.EPOLLIN|waiter.EPOLLOUT), waiter.Readiness(regular{}, waiter.EPOLLIN|waiter.EPOLLOUT))
	require.Nil(t, waiter.Of(regular{}))
}

func TestHostFilePipe(t *testing.T) {
	var p [2]int
	require.NoError(t, unix.Pipe2(p[:], unix.O_CLOEXEC))
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	h := NewHostFile(p[0])
	require.True(t, h.Pollable())
	_, e := h.Read(make([]byte, 4))
	require.Equal(t, unix.EAGAIN, e, "a host pipe read must not block")
	entry, ch := waiter.NewChannelEntry(waiter.EPOLLIN)
	h.EventRegister(entry)
	defer h.EventUnregister(entry)
	unix.Write(p[1], []byte("hi"))
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("the host poller did not notify")
	}
	buf := make([]byte, 4)
	n, e := h.Read(buf)
	require.Zero(t, e)
	require.Equal(t, "hi", string(buf[:n]))
}
