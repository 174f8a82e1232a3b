// Command pollsys exercises pipes, eventfds, epoll, poll, select and
// timerfds through raw system calls and prints what it sees; the output
// must not depend on timing, so that a native run and a rumpgo run print
// the same.
package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func check(what string, err error) {
	if err != nil {
		fmt.Printf("%s: %v\n", what, err)
		os.Exit(1)
	}
}

func errName(err error) string {
	if err == nil {
		return "ok"
	}
	if e, ok := err.(syscall.Errno); ok {
		return unix.ErrnoName(e)
	}
	return err.Error()
}

// The calls below retry EINTR as real programs must: Go's runtime
// preempts threads with SIGURG, and poll, select and epoll_wait return
// EINTR when a handler ran, whatever SA_RESTART says.
func poll(fds []unix.PollFd, ms int) (int, error) {
	for {
		n, err := unix.Poll(fds, ms)
		if err != unix.EINTR {
			return n, err
		}
	}
}

func ppoll(fds []unix.PollFd, ts *unix.Timespec) (int, error) {
	for {
		n, err := unix.Ppoll(fds, ts, nil)
		if err != unix.EINTR {
			return n, err
		}
	}
}

func sel(nfd int, r, w *syscall.FdSet, tv *syscall.Timeval) (int, error) {
	for {
		n, err := syscall.Select(nfd, r, w, nil, tv)
		if err != syscall.EINTR {
			return n, err
		}
	}
}

func epollWait(ep int, evs []unix.EpollEvent, ms int) (int, error) {
	for {
		n, err := unix.EpollWait(ep, evs, ms)
		if err != unix.EINTR {
			return n, err
		}
	}
}

func pipe(flags int) (int, int) {
	var p [2]int
	check("pipe2", unix.Pipe2(p[:], flags))
	return p[0], p[1]
}

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint64(b, v)
	return b
}

func pipes() {
	fmt.Println("== pipes")
	r, w := pipe(unix.O_NONBLOCK | unix.O_CLOEXEC)
	buf := make([]byte, 100000)
	_, err := unix.Read(r, buf)
	fmt.Println("empty read:", errName(err))
	fl, _ := unix.FcntlInt(uintptr(r), unix.F_GETFL, 0)
	fmt.Printf("read end flags: %#x\n", fl&^unix.O_LARGEFILE)
	fl, _ = unix.FcntlInt(uintptr(w), unix.F_GETFL, 0)
	fmt.Printf("write end flags: %#x\n", fl&^unix.O_LARGEFILE)
	sz, err := unix.FcntlInt(uintptr(w), unix.F_GETPIPE_SZ, 0)
	fmt.Println("pipe size:", sz, errName(err))

	// Fill with 1000-byte writes: Linux counts pages, not bytes.
	writes, total := 0, 0
	chunk := make([]byte, 1000)
	for {
		n, err := unix.Write(w, chunk)
		if err != nil {
			fmt.Println("fill stopped:", errName(err))
			break
		}
		writes++
		total += n
	}
	fmt.Println("filled:", writes, "writes,", total, "bytes")
	_, err = unix.FcntlInt(uintptr(w), unix.F_SETPIPE_SZ, 4096)
	fmt.Println("shrink full pipe:", errName(err))
	got := 0
	for {
		n, err := unix.Read(r, buf[:3000])
		if err != nil {
			fmt.Println("drain stopped:", errName(err))
			break
		}
		got += n
	}
	fmt.Println("drained:", got)
	sz, err = unix.FcntlInt(uintptr(w), unix.F_SETPIPE_SZ, 5000)
	fmt.Println("set size 5000:", sz, errName(err))
	n, err := unix.Write(w, make([]byte, 10000))
	fmt.Println("big write into small pipe:", n, errName(err))
	n, _ = unix.Read(r, buf)
	fmt.Println("read back:", n)

	// An atomic write either fits or fails.
	unix.Write(w, make([]byte, 4096))
	unix.Write(w, make([]byte, 4000))
	n, err = unix.Write(w, make([]byte, 200))
	fmt.Println("atomic write into 96 free bytes:", n, errName(err))
	n, err = unix.Write(w, make([]byte, 96))
	fmt.Println("write of exactly the room:", n, errName(err))
	for {
		if _, err := unix.Read(r, buf); err != nil {
			break
		}
	}

	// readv and writev.
	_, err = unix.Writev(w, [][]byte{[]byte("ab"), []byte("cde"), []byte("f")})
	check("writev", err)
	a, b := make([]byte, 4), make([]byte, 10)
	n, err = unix.Readv(r, [][]byte{a, b})
	fmt.Printf("readv: %d %q %q %s\n", n, a, b[:n-4], errName(err))

	_, err = unix.FcntlInt(uintptr(r), unix.F_GETPIPE_SZ, 0)
	fmt.Println("F_GETPIPE_SZ ok on read end:", err == nil)
	efd, _ := unix.Eventfd(0, unix.EFD_CLOEXEC)
	_, err = unix.FcntlInt(uintptr(efd), unix.F_GETPIPE_SZ, 0)
	fmt.Println("F_GETPIPE_SZ on eventfd:", errName(err))
	unix.Close(efd)

	// EOF once the writer is gone, and EPIPE once the reader is.
	unix.Write(w, []byte("last"))
	unix.Close(w)
	n, _ = unix.Read(r, buf)
	fmt.Printf("after close: %q\n", buf[:n])
	n, err = unix.Read(r, buf)
	fmt.Println("eof:", n, errName(err))
	unix.Close(r)

	r, w = pipe(unix.O_CLOEXEC)
	unix.Close(r)
	signal.Ignore(syscall.SIGPIPE)
	_, err = unix.Write(w, []byte("x"))
	fmt.Println("write without reader:", errName(err))
	unix.Close(w)

	// Blocking read and write, woken by another thread.
	r, w = pipe(unix.O_CLOEXEC)
	go func() {
		time.Sleep(30 * time.Millisecond)
		unix.Write(w, []byte("wake"))
	}()
	n, err = unix.Read(r, buf)
	fmt.Printf("blocking read: %q %s\n", buf[:n], errName(err))
	done := make(chan int)
	go func() {
		total := 0
		for total < 200000 {
			n, err := unix.Read(r, buf)
			if err != nil {
				break
			}
			total += n
		}
		done <- total
	}()
	// A signal (Go's own preemption) can end a blocking pipe write early
	// with the count written so far, on Linux too: write the rest, as
	// programs must.
	big, n := make([]byte, 200000), 0
	for err = nil; n < len(big) && (err == nil || err == unix.EINTR); {
		var m int
		if m, err = unix.Write(w, big[n:]); m > 0 {
			n += m
		}
	}
	fmt.Println("blocking big write:", n, errName(err), "reader got", <-done)
	go func() {
		time.Sleep(30 * time.Millisecond)
		unix.Close(w)
	}()
	n, err = unix.Read(r, buf)
	fmt.Println("blocking read to eof:", n, errName(err))
	unix.Close(r)

	// Packet mode: each write is one read.
	r, w = pipe(unix.O_DIRECT | unix.O_NONBLOCK)
	unix.Write(w, []byte("abc"))
	unix.Write(w, []byte("defgh"))
	unix.Write(w, []byte("ij"))
	n, _ = unix.Read(r, buf)
	fmt.Printf("packet 1: %q\n", buf[:n])
	n, _ = unix.Read(r, buf[:2])
	fmt.Printf("packet 2 cut: %q\n", buf[:n])
	n, _ = unix.Read(r, buf)
	fmt.Printf("packet 3: %q\n", buf[:n])
	unix.Close(r)
	unix.Close(w)

	// Toggling O_NONBLOCK with F_SETFL.
	r, w = pipe(unix.O_CLOEXEC)
	check("setnonblock", unix.SetNonblock(r, true))
	_, err = unix.Read(r, buf)
	fmt.Println("read after F_SETFL O_NONBLOCK:", errName(err))
	unix.Close(r)
	unix.Close(w)
}

func eventfds() {
	fmt.Println("== eventfd")
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	check("eventfd", err)
	b := make([]byte, 8)
	_, err = unix.Read(fd, b)
	fmt.Println("empty:", errName(err))
	unix.Write(fd, u64(3))
	unix.Write(fd, u64(4))
	n, err := unix.Read(fd, b)
	fmt.Println("read:", n, binary.LittleEndian.Uint64(b), errName(err))
	_, err = unix.Read(fd, b[:4])
	fmt.Println("short read:", errName(err))
	_, err = unix.Write(fd, u64(^uint64(0)))
	fmt.Println("write max:", errName(err))
	_, err = unix.Write(fd, u64(^uint64(0)-1))
	fmt.Println("write max-1:", errName(err))
	_, err = unix.Write(fd, u64(1))
	fmt.Println("overflow:", errName(err))
	unix.Close(fd)

	fd, _ = unix.Eventfd(2, unix.EFD_SEMAPHORE|unix.EFD_NONBLOCK)
	for i := 0; i < 3; i++ {
		n, err := unix.Read(fd, b)
		fmt.Println("semaphore read:", n, binary.LittleEndian.Uint64(b), errName(err))
	}
	unix.Close(fd)

	fd, _ = unix.Eventfd(0, 0)
	go func() {
		time.Sleep(20 * time.Millisecond)
		unix.Write(fd, u64(5))
	}()
	n, err = unix.Read(fd, b)
	fmt.Println("blocking read:", n, binary.LittleEndian.Uint64(b), errName(err))
	unix.Close(fd)
	_, err = unix.Eventfd(0, 0x1234)
	fmt.Println("bad flags:", errName(err))
}

func wait(ep int, ms int) string {
	evs := make([]unix.EpollEvent, 8)
	n, err := epollWait(ep, evs, ms)
	if err != nil {
		return errName(err)
	}
	s := fmt.Sprint(n)
	for _, e := range evs[:n] {
		s += fmt.Sprintf(" [fd %d ev %#x]", e.Fd, e.Events)
	}
	return s
}

func epolls() {
	fmt.Println("== epoll")
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	check("epoll_create1", err)
	r, w := pipe(unix.O_NONBLOCK)
	check("add", unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, r, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLET, Fd: 100}))
	fmt.Println("et empty:", wait(ep, 0))
	unix.Write(w, []byte("x"))
	fmt.Println("et after write:", wait(ep, 0))
	fmt.Println("et again:", wait(ep, 0))
	unix.Write(w, []byte("y"))
	fmt.Println("et second write:", wait(ep, 0))
	fmt.Println("add twice:", errName(unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, r, &unix.EpollEvent{Events: unix.EPOLLIN})))
	fmt.Println("mod to level:", errName(unix.EpollCtl(ep, unix.EPOLL_CTL_MOD, r, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: 100})))
	fmt.Println("lt:", wait(ep, 0))
	fmt.Println("lt again:", wait(ep, 0))
	fmt.Println("mod exclusive:", errName(unix.EpollCtl(ep, unix.EPOLL_CTL_MOD, r, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLEXCLUSIVE})))
	fmt.Println("add write end:", errName(unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, w, &unix.EpollEvent{Events: unix.EPOLLOUT, Fd: 200})))
	fmt.Println("both:", wait(ep, 0))
	fmt.Println("del write end:", errName(unix.EpollCtl(ep, unix.EPOLL_CTL_DEL, w, nil)))
	fmt.Println("del again:", errName(unix.EpollCtl(ep, unix.EPOLL_CTL_DEL, w, nil)))
	fmt.Println("mod missing:", errName(unix.EpollCtl(ep, unix.EPOLL_CTL_MOD, w, &unix.EpollEvent{Events: unix.EPOLLIN})))
	fmt.Println("self:", errName(unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, ep, &unix.EpollEvent{Events: unix.EPOLLIN})))
	fmt.Println("bad op:", errName(unix.EpollCtl(ep, 99, w, &unix.EpollEvent{Events: unix.EPOLLIN})))
	fmt.Println("not epoll:", errName(unix.EpollCtl(r, unix.EPOLL_CTL_ADD, w, &unix.EpollEvent{Events: unix.EPOLLIN})))
	fmt.Println("bad fd:", errName(unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, 555, &unix.EpollEvent{Events: unix.EPOLLIN})))
	_, err = unix.EpollWait(ep, nil, 0)
	fmt.Println("maxevents 0:", errName(err))
	_, err = unix.EpollWait(r, make([]unix.EpollEvent, 1), 0)
	fmt.Println("wait on pipe:", errName(err))
	_, err = unix.EpollCreate(0)
	fmt.Println("create(0):", errName(err))

	// Drain, then close the writer: EPOLLHUP.
	buf := make([]byte, 10)
	unix.Read(r, buf)
	fmt.Println("drained:", wait(ep, 0))
	unix.Close(w)
	fmt.Println("hangup:", wait(ep, 0))
	// Closing the only descriptor drops the watch.
	unix.Close(r)
	fmt.Println("after close:", wait(ep, 0))

	// One-shot.
	efd, _ := unix.Eventfd(0, unix.EFD_NONBLOCK)
	unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, efd, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLONESHOT, Fd: 300})
	unix.Write(efd, u64(1))
	fmt.Println("oneshot:", wait(ep, 0))
	unix.Write(efd, u64(1))
	fmt.Println("oneshot disarmed:", wait(ep, 0))
	unix.EpollCtl(ep, unix.EPOLL_CTL_MOD, efd, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLONESHOT, Fd: 300})
	fmt.Println("oneshot rearmed:", wait(ep, 0))
	fmt.Println("exclusive add:", errName(unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, efd+100, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLEXCLUSIVE})))

	// Epoll of epoll, and loops.
	ep2, _ := unix.EpollCreate1(0)
	fmt.Println("nest:", errName(unix.EpollCtl(ep2, unix.EPOLL_CTL_ADD, ep, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: 400})))
	fmt.Println("outer sees inner ready:", wait(ep2, 0))
	fmt.Println("loop:", errName(unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, ep2, &unix.EpollEvent{Events: unix.EPOLLIN})))
	fmt.Println("exclusive on epoll:", errName(unix.EpollCtl(ep2, unix.EPOLL_CTL_ADD, efd, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLEXCLUSIVE, Fd: 300})))
	b := make([]byte, 8)
	unix.Read(efd, b)
	unix.Read(efd, b)
	fmt.Println("outer after drain:", wait(ep2, 0))

	// A deep chain is refused.
	chain := []int{ep2}
	var last error
	for i := 0; i < 6; i++ {
		e, _ := unix.EpollCreate1(0)
		last = unix.EpollCtl(e, unix.EPOLL_CTL_ADD, chain[len(chain)-1], &unix.EpollEvent{Events: unix.EPOLLIN})
		chain = append(chain, e)
		if last != nil {
			fmt.Println("chain depth", i, errName(last))
			break
		}
	}

	// Blocking wait woken by another thread, and a timeout.
	go func() {
		time.Sleep(20 * time.Millisecond)
		unix.Write(efd, u64(9))
	}()
	fmt.Println("blocking wait:", wait(ep2, -1))
	unix.Read(efd, b)
	start := time.Now()
	res := wait(ep2, 50)
	fmt.Println("timeout:", res, time.Since(start) >= 45*time.Millisecond)
	unix.Close(efd)
	unix.Close(ep)
	unix.Close(ep2)
}

func polls() {
	fmt.Println("== poll/select")
	r, w := pipe(unix.O_NONBLOCK)
	fds := []unix.PollFd{{Fd: int32(r), Events: unix.POLLIN}, {Fd: int32(w), Events: unix.POLLOUT}, {Fd: -1, Events: unix.POLLIN}, {Fd: 777, Events: unix.POLLIN}}
	n, err := poll(fds, 0)
	fmt.Println("poll:", n, errName(err), fds[0].Revents, fds[1].Revents, fds[2].Revents, fds[3].Revents)
	start := time.Now()
	n, err = poll(fds[:1], 40)
	fmt.Println("poll timeout:", n, errName(err), time.Since(start) >= 35*time.Millisecond)
	go func() {
		time.Sleep(20 * time.Millisecond)
		unix.Write(w, []byte("z"))
	}()
	n, err = poll(fds[:1], -1)
	fmt.Println("poll woken:", n, errName(err), fds[0].Revents)

	ts := unix.Timespec{Sec: 0, Nsec: 10 * 1e6}
	n, err = ppoll(fds[:1], &ts)
	fmt.Println("ppoll ready:", n, errName(err), fds[0].Revents)
	_, err = unix.Ppoll(fds[:1], &unix.Timespec{Nsec: 2e9}, nil)
	fmt.Println("ppoll bad timespec:", errName(err))

	// select: syscall.Select is the select system call itself (x/sys's
	// goes through pselect6 with a copy of the timeout).
	var rs, ws unix.FdSet
	var srs, sws syscall.FdSet
	sset(&srs, r)
	sset(&sws, w)
	tv := syscall.Timeval{Sec: 1}
	n, err = sel(w+1, &srs, &sws, &tv)
	fmt.Println("select:", n, errName(err), sisset(&srs, r), sisset(&sws, w), tv.Sec == 0 && tv.Usec > 0 || tv.Sec == 1 && tv.Usec == 0)
	buf := make([]byte, 10)
	unix.Read(r, buf)
	srs = syscall.FdSet{}
	sset(&srs, r)
	tv = syscall.Timeval{Usec: 30000}
	start = time.Now()
	n, err = sel(r+1, &srs, nil, &tv)
	fmt.Println("select timeout:", n, errName(err), sisset(&srs, r), tv.Sec, tv.Usec, time.Since(start) >= 25*time.Millisecond)
	srs = syscall.FdSet{}
	sset(&srs, 50)
	_, err = sel(51, &srs, nil, &syscall.Timeval{})
	fmt.Println("select bad fd:", errName(err))
	_, err = sel(-1, nil, nil, &syscall.Timeval{})
	fmt.Println("select nfds -1:", errName(err))
	_, err = sel(1, nil, nil, &syscall.Timeval{Usec: -1})
	fmt.Println("select negative timeout:", errName(err))
	tv = syscall.Timeval{Usec: 2500000}
	srs = syscall.FdSet{}
	sset(&srs, r)
	unix.Write(w, []byte("q"))
	n, err = sel(r+1, &srs, nil, &tv)
	fmt.Println("select usec carry:", n, errName(err), tv.Sec == 2 || tv.Sec == 1)
	unix.Read(r, buf)
	// Go's runtime holds descriptors above 64 only when the program
	// opens many; select clamps nfds to the table.
	srs = syscall.FdSet{}
	sset(&srs, 1000)
	_, err = sel(1001, &srs, nil, &syscall.Timeval{})
	fmt.Println("select past the table:", errName(err))
	rs.Zero()
	rs.Set(r)
	ws.Zero()
	ws.Set(w)
	pts := unix.Timespec{Sec: 0, Nsec: 20e6}
	for {
		n, err = unix.Pselect(w+1, &rs, &ws, nil, &pts, nil)
		if err != unix.EINTR {
			break
		}
	}
	fmt.Println("pselect:", n, errName(err), rs.IsSet(r), ws.IsSet(w))

	// Hang-up and error: the other end closed.
	unix.Close(w)
	fds = []unix.PollFd{{Fd: int32(r), Events: unix.POLLIN}}
	n, _ = poll(fds, 0)
	fmt.Println("poll after writer closed:", n, fds[0].Revents)
	unix.Close(r)
	r, w = pipe(0)
	unix.Close(r)
	fds = []unix.PollFd{{Fd: int32(w), Events: unix.POLLOUT}}
	n, _ = poll(fds, 0)
	fmt.Println("poll after reader closed:", n, fds[0].Revents)
	unix.Close(w)
}

func timerfds() {
	fmt.Println("== timerfd")
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_CLOEXEC|unix.TFD_NONBLOCK)
	check("timerfd_create", err)
	b := make([]byte, 8)
	_, err = unix.Read(fd, b)
	fmt.Println("unarmed read:", errName(err))
	var cur unix.ItimerSpec
	unix.TimerfdGettime(fd, &cur)
	fmt.Println("unarmed gettime:", cur)
	spec := unix.ItimerSpec{Value: unix.Timespec{Nsec: 20e6}, Interval: unix.Timespec{Nsec: 20e6}}
	check("settime", unix.TimerfdSettime(fd, 0, &spec, nil))
	unix.TimerfdGettime(fd, &cur)
	fmt.Println("armed interval:", cur.Interval, "value in range:", cur.Value.Sec == 0 && cur.Value.Nsec > 0 && cur.Value.Nsec <= 20e6)
	_, err = unix.Read(fd, b)
	fmt.Println("early read:", errName(err))
	unix.SetNonblock(fd, false)
	total := uint64(0)
	for i := 0; i < 3; i++ {
		n, err := unix.Read(fd, b)
		v := binary.LittleEndian.Uint64(b)
		total += v
		fmt.Println("periodic read:", n, errName(err), v >= 1)
	}
	time.Sleep(70 * time.Millisecond)
	unix.Read(fd, b)
	fmt.Println("missed ticks counted:", binary.LittleEndian.Uint64(b) >= 3)
	var old unix.ItimerSpec
	check("disarm", unix.TimerfdSettime(fd, 0, &unix.ItimerSpec{}, &old))
	fmt.Println("old interval:", old.Interval)
	unix.TimerfdGettime(fd, &cur)
	fmt.Println("disarmed gettime:", cur)

	// Absolute, one-shot, watched by poll.
	var now unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &now)
	at := unix.NsecToTimespec(now.Nano() + 30e6)
	check("abs settime", unix.TimerfdSettime(fd, unix.TFD_TIMER_ABSTIME, &unix.ItimerSpec{Value: at}, nil))
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := poll(fds, 2000)
	fmt.Println("abs poll:", n, errName(err), fds[0].Revents)
	unix.Read(fd, b)
	fmt.Println("abs ticks:", binary.LittleEndian.Uint64(b))
	unix.TimerfdGettime(fd, &cur)
	fmt.Println("expired gettime:", cur)
	// In the past: expires at once.
	check("past settime", unix.TimerfdSettime(fd, unix.TFD_TIMER_ABSTIME, &unix.ItimerSpec{Value: unix.Timespec{Sec: 1}}, nil))
	unix.Read(fd, b)
	fmt.Println("past ticks:", binary.LittleEndian.Uint64(b))
	err = unix.TimerfdSettime(fd, 0, &unix.ItimerSpec{Value: unix.Timespec{Nsec: 1e9}}, nil)
	fmt.Println("bad nsec:", errName(err))
	err = unix.TimerfdSettime(fd, 0x100, &unix.ItimerSpec{}, nil)
	fmt.Println("bad flags:", errName(err))
	_, err = unix.Write(fd, u64(1))
	fmt.Println("write:", errName(err))
	unix.Close(fd)
	_, err = unix.TimerfdCreate(unix.CLOCK_PROCESS_CPUTIME_ID, 0)
	fmt.Println("cpu clock:", errName(err))
	fd, err = unix.TimerfdCreate(unix.CLOCK_REALTIME, 0)
	fmt.Println("realtime:", errName(err))
	ep, _ := unix.EpollCreate1(0)
	unix.TimerfdSettime(fd, 0, &unix.ItimerSpec{Value: unix.Timespec{Nsec: 10e6}}, nil)
	unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: 42})
	fmt.Println("epoll on timerfd:", wait(ep, 2000))
	unix.Close(fd)
	unix.Close(ep)
}

func sset(s *syscall.FdSet, fd int) { s.Bits[fd/64] |= 1 << (uint(fd) % 64) }

func sisset(s *syscall.FdSet, fd int) bool { return s.Bits[fd/64]&(1<<(uint(fd)%64)) != 0 }

func main() {
	pipes()
	eventfds()
	epolls()
	polls()
	timerfds()
	fmt.Println("done")
}
