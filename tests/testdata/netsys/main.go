// Command netsys exercises sockets through the Go net package and raw
// system calls and prints what it sees: TCP and UDP over loopback,
// non-blocking connect to a closed port, unix sockets passing a
// descriptor with SCM_RIGHTS and credentials, socket options,
// SO_RCVTIMEO/SO_SNDTIMEO on plain read and write, sendfile and splice
// with sockets, /proc/net against fstat, and the errnos of bad addresses,
// lengths and pointers. Its output must not
// depend on timing or on the host, so a native run (in a network
// namespace with only lo) and a rumpgo run print the same.
package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"
	"unsafe"

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
	if e, ok := err.(*os.SyscallError); ok {
		return errName(e.Err)
	}
	return err.Error()
}

// raw makes a system call and names its errno.
func raw(nr uintptr, a ...uintptr) string {
	var args [6]uintptr
	copy(args[:], a)
	_, _, e := unix.Syscall6(nr, args[0], args[1], args[2], args[3], args[4], args[5])
	if e != 0 {
		return unix.ErrnoName(e)
	}
	return "ok"
}

// connect is a blocking connect that survives a signal: after EINTR the
// connection goes on by itself (calling connect again gives EALREADY), so
// POSIX says to wait for the socket to be writable and read SO_ERROR.
func connect(fd int, sa unix.Sockaddr) error {
	err := unix.Connect(fd, sa)
	if err != unix.EINTR {
		return err
	}
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	if _, err := retry(func() (int, error) { return unix.Poll(fds, -1) }); err != nil {
		return err
	}
	if v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR); err != nil || v != 0 {
		if err == nil {
			err = unix.Errno(v)
		}
		return err
	}
	return nil
}

func retry[T any](f func() (T, error)) (T, error) {
	for {
		v, err := f()
		if err != unix.EINTR {
			return v, err
		}
	}
}

func tcpLoopback(network, addr string) {
	ln, err := net.Listen(network, addr)
	check("listen", err)
	defer ln.Close()
	done := make(chan string)
	go func() {
		c, err := ln.Accept()
		check("accept", err)
		defer c.Close()
		r := bufio.NewReader(c)
		line, _ := r.ReadString('\n')
		fmt.Fprintf(c, "echo %s", line)
		rest, err := io.ReadAll(r) // until the client's half-close
		done <- fmt.Sprintf("server got %q after the line, then %v", rest, err)
	}()
	c, err := net.Dial(network, ln.Addr().String())
	check("dial", err)
	fmt.Fprintf(c, "hello %s\n", network)
	reply, err := bufio.NewReader(c).ReadString('\n')
	check("read", err)
	fmt.Printf("%s: %s", network, reply)
	lh, _, _ := net.SplitHostPort(c.LocalAddr().String())
	rh, _, _ := net.SplitHostPort(c.RemoteAddr().String())
	fmt.Printf("%s: local %s remote %s\n", network, lh, rh)
	c.Write([]byte("tail"))
	c.(*net.TCPConn).CloseWrite()
	fmt.Println(network+":", <-done)
	c.Close()
}

func udpEcho() {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	check("listen udp", err)
	defer pc.Close()
	go func() {
		buf := make([]byte, 2048)
		for i := 0; i < 3; i++ {
			n, from, err := pc.ReadFrom(buf)
			check("readfrom", err)
			pc.WriteTo(append([]byte("echo "), buf[:n]...), from)
		}
	}()
	c, err := net.Dial("udp4", pc.LocalAddr().String())
	check("dial udp", err)
	defer c.Close()
	buf := make([]byte, 2048)
	for _, msg := range []string{"one", "two", strings.Repeat("x", 1400)} {
		c.Write([]byte(msg))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := c.Read(buf)
		check("udp read", err)
		fmt.Printf("udp: %d bytes, %q...\n", n, buf[:min(n, 10)])
	}
	// A datagram larger than the buffer is cut, with MSG_TRUNC.
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
	check("socket", err)
	defer unix.Close(s)
	check("bind", unix.Bind(s, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	sa, _ := unix.Getsockname(s)
	check("sendto", unix.Sendto(s, []byte("0123456789"), 0, sa))
	small := make([]byte, 4)
	n, _, flags, _, err := retryR(func() (struct {
		n, o, f int
		a       unix.Sockaddr
	}, error) {
		return recvmsg(s, small, 0)
	}).unpack()
	fmt.Printf("udp truncated: n=%d %q trunc=%v err=%s\n", n, small[:n], flags&unix.MSG_TRUNC != 0, errName(err))
	_, _, err = unix.Recvfrom(s, small, unix.MSG_DONTWAIT)
	fmt.Println("udp empty, MSG_DONTWAIT:", errName(err))
	check("sendto", unix.Sendto(s, []byte("0123456789"), 0, sa))
	n, _, err = retry3(func() (int, unix.Sockaddr, error) { return unix.Recvfrom(s, small, unix.MSG_TRUNC) })
	fmt.Println("udp MSG_TRUNC returns the real length:", n, errName(err))
}

func recvmsg(fd int, p []byte, flags int) (struct {
	n, o, f int
	a       unix.Sockaddr
}, error) {
	n, oob, fl, from, err := unix.Recvmsg(fd, p, nil, flags)
	return struct {
		n, o, f int
		a       unix.Sockaddr
	}{n, oob, fl, from}, err
}

type result struct {
	v struct {
		n, o, f int
		a       unix.Sockaddr
	}
	err error
}

func (r result) unpack() (int, int, int, unix.Sockaddr, error) {
	return r.v.n, r.v.o, r.v.f, r.v.a, r.err
}

func retryR(f func() (struct {
	n, o, f int
	a       unix.Sockaddr
}, error)) result {
	for {
		v, err := f()
		if err != unix.EINTR {
			return result{v, err}
		}
	}
}

func closedPort() {
	// Find a port nobody listens on: bind, learn it, close.
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	check("socket", err)
	check("bind", unix.Bind(s, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	sa, _ := unix.Getsockname(s)
	unix.Close(s)

	s, err = unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK, 0)
	check("socket", err)
	err = unix.Connect(s, sa)
	// Linux may refuse at once on loopback or report EINPROGRESS.
	fmt.Println("nonblocking connect to a closed port:", err == unix.EINPROGRESS || err == unix.ECONNREFUSED)
	if err == unix.EINPROGRESS {
		fds := []unix.PollFd{{Fd: int32(s), Events: unix.POLLOUT}}
		_, err := retry(func() (int, error) { return unix.Poll(fds, 5000) })
		check("poll", err)
		fmt.Println("  poll says writable:", fds[0].Revents&unix.POLLOUT != 0)
		v, err := unix.GetsockoptInt(s, unix.SOL_SOCKET, unix.SO_ERROR)
		check("SO_ERROR", err)
		fmt.Println("  SO_ERROR:", unix.ErrnoName(syscall.Errno(v)))
		v, _ = unix.GetsockoptInt(s, unix.SOL_SOCKET, unix.SO_ERROR)
		fmt.Println("  SO_ERROR again:", v)
	} else {
		fmt.Println("  poll says writable: true\n  SO_ERROR: ECONNREFUSED\n  SO_ERROR again: 0")
	}
	unix.Close(s)
	s, _ = unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	fmt.Println("blocking connect to a closed port:", errName(unix.Connect(s, sa)))
	unix.Close(s)
	_, err = net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", sa.(*unix.SockaddrInet4).Port))
	fmt.Println("net.Dial refused:", strings.Contains(fmt.Sprint(err), "connection refused"))
}

func tcpRaw() {
	ln, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	check("socket", err)
	defer unix.Close(ln)
	check("setsockopt", unix.SetsockoptInt(ln, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1))
	check("bind", unix.Bind(ln, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	check("listen", unix.Listen(ln, 8))
	v, _ := unix.GetsockoptInt(ln, unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
	fmt.Println("SO_ACCEPTCONN on a listener:", v)
	v, _ = unix.GetsockoptInt(ln, unix.SOL_SOCKET, unix.SO_REUSEADDR)
	fmt.Println("SO_REUSEADDR:", v != 0)
	sa, _ := unix.Getsockname(ln)
	c, _ := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	check("connect", connect(c, sa))
	a, _, err := unix.Accept4(ln, unix.SOCK_CLOEXEC)
	check("accept4", err)
	for _, o := range []struct {
		name       string
		level, opt int
	}{
		{"SO_TYPE", unix.SOL_SOCKET, unix.SO_TYPE}, {"SO_DOMAIN", unix.SOL_SOCKET, unix.SO_DOMAIN},
		{"SO_PROTOCOL", unix.SOL_SOCKET, unix.SO_PROTOCOL}, {"SO_ACCEPTCONN", unix.SOL_SOCKET, unix.SO_ACCEPTCONN},
		{"SO_ERROR", unix.SOL_SOCKET, unix.SO_ERROR}, {"SO_KEEPALIVE", unix.SOL_SOCKET, unix.SO_KEEPALIVE},
		{"TCP_NODELAY", unix.IPPROTO_TCP, unix.TCP_NODELAY}, {"IP_TTL", unix.IPPROTO_IP, unix.IP_TTL},
	} {
		v, err := unix.GetsockoptInt(a, o.level, o.opt)
		fmt.Printf("getsockopt %s = %d %s\n", o.name, v, errName(err))
	}
	fmt.Println("set TCP_NODELAY:", errName(unix.SetsockoptInt(a, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)))
	v, _ = unix.GetsockoptInt(a, unix.IPPROTO_TCP, unix.TCP_NODELAY)
	fmt.Println("TCP_NODELAY now:", v)
	fmt.Println("set TCP_KEEPIDLE 30:", errName(unix.SetsockoptInt(a, unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, 30)))
	v, _ = unix.GetsockoptInt(a, unix.IPPROTO_TCP, unix.TCP_KEEPIDLE)
	fmt.Println("TCP_KEEPIDLE now:", v)
	fmt.Println("set TCP_KEEPIDLE 0:", errName(unix.SetsockoptInt(a, unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, 0)))
	fmt.Println("set TCP_KEEPCNT 5:", errName(unix.SetsockoptInt(a, unix.IPPROTO_TCP, unix.TCP_KEEPCNT, 5)))
	fmt.Println("set SO_KEEPALIVE:", errName(unix.SetsockoptInt(a, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1)))
	fmt.Println("set SO_LINGER:", errName(unix.SetsockoptLinger(a, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 3})))
	l, _ := unix.GetsockoptLinger(a, unix.SOL_SOCKET, unix.SO_LINGER)
	fmt.Println("SO_LINGER now:", l.Onoff, l.Linger)
	fmt.Println("unknown SOL_SOCKET option:", errName(unix.SetsockoptInt(a, unix.SOL_SOCKET, 9999, 1)))
	fmt.Println("unknown TCP option:", errName(unix.SetsockoptInt(a, unix.IPPROTO_TCP, 9999, 1)))
	fmt.Println("short optlen:", raw(unix.SYS_SETSOCKOPT, uintptr(a), unix.SOL_SOCKET, unix.SO_KEEPALIVE, uintptr(unsafe.Pointer(&v)), 2))
	fmt.Println("negative optlen:", raw(unix.SYS_GETSOCKOPT, uintptr(a), unix.SOL_SOCKET, unix.SO_TYPE, uintptr(unsafe.Pointer(&v)), uintptr(unsafe.Pointer(&[]int32{-1}[0]))))
	fmt.Println("optval fault:", raw(unix.SYS_SETSOCKOPT, uintptr(a), unix.SOL_SOCKET, unix.SO_KEEPALIVE, 8, 4))
	tv := unix.Timeval{Sec: 0, Usec: 50000}
	fmt.Println("SO_RCVTIMEO:", errName(unix.SetsockoptTimeval(a, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)))
	buf := make([]byte, 16)
	_, _, err = retry3(func() (int, unix.Sockaddr, error) { return unix.Recvfrom(a, buf, 0) })
	fmt.Println("recv with SO_RCVTIMEO and no data:", errName(err))
	_, _, err = unix.Recvfrom(a, buf, unix.MSG_DONTWAIT)
	fmt.Println("recv MSG_DONTWAIT:", errName(err))
	start := time.Now()
	_, err = retry(func() (int, error) { return unix.Read(a, buf) })
	fmt.Println("read with SO_RCVTIMEO and no data:", errName(err), time.Since(start) >= 40*time.Millisecond)

	unix.Write(c, []byte("abcdef"))
	time.Sleep(50 * time.Millisecond)
	n, err := unix.IoctlGetInt(a, unix.SIOCINQ)
	fmt.Println("FIONREAD:", n, errName(err))
	n, _, _ = unix.Recvfrom(a, buf[:3], unix.MSG_PEEK)
	fmt.Printf("peek: %q\n", buf[:n])
	n, _, _ = unix.Recvfrom(a, buf, unix.MSG_WAITALL&0)
	fmt.Printf("recv: %q\n", buf[:n])
	waitAll(a, c)
	var ps [16]byte
	_ = ps
	pa, _ := unix.Getpeername(a)
	fmt.Println("getpeername port matches:", pa.(*unix.SockaddrInet4).Port != 0)
	fmt.Println("shutdown bad how:", errName(unix.Shutdown(a, 7)))
	// The peer shuts down after two bytes: MSG_WAITALL returns those two,
	// then end of file.
	unix.Write(c, []byte("12"))
	check("shutdown", unix.Shutdown(c, unix.SHUT_WR))
	n, _, err = retry3(func() (int, unix.Sockaddr, error) { return unix.Recvfrom(a, buf[:4], unix.MSG_WAITALL) })
	fmt.Printf("MSG_WAITALL, then the peer's SHUT_WR: %q %s\n", buf[:n], errName(err))
	n, _, err = unix.Recvfrom(a, buf, 0)
	fmt.Println("read after peer SHUT_WR:", n, errName(err))
	unix.Close(c)
	time.Sleep(50 * time.Millisecond)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGPIPE)
	// The peer is gone: the first send may land (and draw a reset), the
	// next ones fail with EPIPE (or ECONNRESET first).
	var errs []string
	for i := 0; i < 3; i++ {
		_, err := unix.SendmsgN(a, []byte("x"), nil, nil, unix.MSG_NOSIGNAL)
		errs = append(errs, errName(err))
		time.Sleep(20 * time.Millisecond)
	}
	fmt.Println("send to a closed peer eventually EPIPE:", errs[2] == "EPIPE")
	_, err = unix.Write(a, []byte("x"))
	fmt.Println("write to a closed peer:", errName(err))
	select {
	case s := <-sig:
		fmt.Println("got", s)
	case <-time.After(2 * time.Second):
		fmt.Println("no SIGPIPE")
	}
	signal.Stop(sig)
	unix.Close(a)
}

// sockTimeouts: plain read and write honour SO_RCVTIMEO and SO_SNDTIMEO
// on TCP and unix stream sockets: a read with no data and a write to a
// full buffer give up with EAGAIN, a write that moved some bytes returns
// their count.
func sockTimeouts() {
	pair := func(kind string) (int, int) {
		if kind == "unix" {
			fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
			check("socketpair", err)
			return fds[0], fds[1]
		}
		ln, _ := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
		defer unix.Close(ln)
		check("bind", unix.Bind(ln, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
		check("listen", unix.Listen(ln, 8))
		sa, _ := unix.Getsockname(ln)
		c, _ := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
		check("connect", connect(c, sa))
		a, _, err := unix.Accept(ln)
		check("accept", err)
		return a, c
	}
	for _, kind := range []string{"tcp", "unix"} {
		a, c := pair(kind)
		tv := unix.Timeval{Usec: 50000}
		check("SO_RCVTIMEO", unix.SetsockoptTimeval(a, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv))
		check("SO_SNDTIMEO", unix.SetsockoptTimeval(c, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv))
		start := time.Now()
		// A signal (Go's own preemption) ends a timed wait with EINTR, on
		// Linux too: retried, as programs do.
		_, err := retry(func() (int, error) { return unix.Read(a, make([]byte, 16)) })
		fmt.Println(kind, "read timeout:", errName(err), time.Since(start) >= 40*time.Millisecond)
		big := make([]byte, 64<<20)
		n, err := retry(func() (int, error) { return unix.Write(c, big) })
		fmt.Println(kind, "write past the buffer:", n > 0 && n < len(big), errName(err))
		// Linux's TCP may find room again as the peer's window grows: a
		// short count then; EAGAIN when nothing moved.
		start = time.Now()
		n, err = retry(func() (int, error) { return unix.Write(c, big) })
		fmt.Println(kind, "write to a full buffer gives up:", err == unix.EAGAIN || err == nil && n < len(big), time.Since(start) >= 40*time.Millisecond)
		unix.Close(a)
		unix.Close(c)
	}
}

// tcpPair is a connected TCP pair over IPv4 loopback: accepted, connected.
func tcpPair() (int, int) {
	ln, _ := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	defer unix.Close(ln)
	check("bind", unix.Bind(ln, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	check("listen", unix.Listen(ln, 8))
	sa, _ := unix.Getsockname(ln)
	c, _ := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	check("connect", connect(c, sa))
	a, _, err := unix.Accept(ln)
	check("accept", err)
	return a, c
}

// sendfileSplice: sendfile from a file into a socket (blocking: all of
// it; non-blocking: what fits, the offset saying so), splice between
// sockets and pipes, and the EINVALs of the pairs Linux refuses.
func sendfileSplice() {
	a, c := tcpPair()
	data := make([]byte, 300_000)
	for i := range data {
		data[i] = byte(i*13 + i>>10)
	}
	f, err := os.CreateTemp("", "netsys")
	check("createtemp", err)
	defer os.Remove(f.Name())
	f.Write(data)
	got := make(chan []byte)
	go func() {
		b := make([]byte, len(data))
		n := 0
		for n < len(b) {
			m, err := unix.Read(a, b[n:])
			if err == unix.EINTR {
				continue
			}
			if m <= 0 {
				break
			}
			n += m
		}
		got <- b[:n]
	}()
	off := int64(0)
	n, err := unix.Sendfile(c, int(f.Fd()), &off, len(data))
	fmt.Println("sendfile file to tcp:", n, errName(err), "offset", off)
	fmt.Println("  received the same:", string(<-got) == string(data))
	unix.Close(a)
	unix.Close(c)
	a, c = tcpPair()
	defer unix.Close(a)
	defer unix.Close(c)

	_, err = unix.Sendfile(int(f.Fd()), a, nil, 10)
	fmt.Println("sendfile from a socket to a file:", errName(err))
	p := make([]int, 2)
	check("pipe", unix.Pipe(p))
	unix.Write(c, []byte("hello splice"))
	time.Sleep(20 * time.Millisecond)
	n64, err := unix.Splice(a, nil, p[1], nil, 100, 0)
	buf := make([]byte, 100)
	m, _ := unix.Read(p[0], buf)
	fmt.Printf("splice socket to pipe: %d %s %q\n", n64, errName(err), buf[:m])
	unix.Write(p[1], []byte("via pipe"))
	n64, err = unix.Splice(p[0], nil, c, nil, 100, 0)
	m, _ = unix.Read(a, buf)
	fmt.Printf("splice pipe to socket: %d %s %q\n", n64, errName(err), buf[:m])
	_, err = unix.Splice(a, nil, c, nil, 100, 0)
	fmt.Println("splice socket to socket:", errName(err))
	unix.SetNonblock(a, true)
	_, err = unix.Splice(a, nil, p[1], nil, 100, 0)
	fmt.Println("splice an empty non-blocking socket:", errName(err))
	unix.SetNonblock(a, false)
	var so int64
	_, err = unix.Splice(a, &so, p[1], nil, 100, 0)
	fmt.Println("splice socket with an offset:", errName(err))

	// Non-blocking: sendfile moves what fits and says so in the offset;
	// with no offset, in the file's.
	check("nonblock", unix.SetNonblock(c, true))
	big := make([]byte, 16<<20)
	f.WriteAt(big, 0)
	off = 0
	n, err = unix.Sendfile(c, int(f.Fd()), &off, len(big))
	fmt.Println("non-blocking sendfile: partial", n > 0 && n < len(big), errName(err), "offset matches", off == int64(n))
	// The peer's window may have opened meanwhile: EAGAIN, or a part.
	before := off
	n, err = unix.Sendfile(c, int(f.Fd()), &off, len(big))
	fmt.Println("  again:", err == unix.EAGAIN || err == nil && n > 0 && n < len(big) && off == before+int64(n))
	a2, c2 := tcpPair()
	check("nonblock", unix.SetNonblock(c2, true))
	f.Seek(0, io.SeekStart)
	n, err = unix.Sendfile(c2, int(f.Fd()), nil, len(big))
	pos, _ := f.Seek(0, io.SeekCurrent)
	fmt.Println("non-blocking sendfile, file offset: partial", n > 0 && n < len(big), errName(err), "offset matches", pos == int64(n))
	unix.Close(a2)
	unix.Close(c2)
}

// procNet: /proc/net lists the program's sockets with the inode numbers
// fstat and /proc/self/fd give them; dev, if_inet6 and route describe lo.
func procNet() {
	read := func(name string) string {
		b, err := os.ReadFile("/proc/net/" + name)
		check("read /proc/net/"+name, err)
		return string(b)
	}
	ino := func(fd int) uint64 {
		var st unix.Stat_t
		check("fstat", unix.Fstat(fd, &st))
		link, _ := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd))
		if st.Mode&unix.S_IFMT != unix.S_IFSOCK || link != fmt.Sprintf("socket:[%d]", st.Ino) {
			fmt.Println("  not a socket inode:", st.Mode&unix.S_IFMT, link)
		}
		return st.Ino
	}
	// row finds a line whose fields match: field index -> value.
	row := func(text string, want map[int]string) bool {
		for _, l := range strings.Split(text, "\n") {
			f := strings.Fields(l)
			ok := len(f) > 0
			for i, v := range want {
				if i >= len(f) || f[i] != v {
					ok = false
				}
			}
			if ok {
				return true
			}
		}
		return false
	}
	a, c := tcpPair()
	ln, _ := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	check("bind", unix.Bind(ln, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	check("listen", unix.Listen(ln, 8))
	sa, _ := unix.Getsockname(ln)
	port := sa.(*unix.SockaddrInet4).Port
	ln6, _ := unix.Socket(unix.AF_INET6, unix.SOCK_STREAM, 0)
	check("bind6", unix.Bind(ln6, &unix.SockaddrInet6{Addr: [16]byte{15: 1}}))
	check("listen6", unix.Listen(ln6, 8))
	sa6, _ := unix.Getsockname(ln6)
	u, _ := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
	check("bind udp", unix.Bind(u, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	usa, _ := unix.Getsockname(u)
	us, _ := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	name := fmt.Sprintf("@rumpgo-procnet-%d", os.Getpid())
	check("bind unix", unix.Bind(us, &unix.SockaddrUnix{Name: name}))
	check("listen unix", unix.Listen(us, 1))
	tcp := read("tcp")
	fmt.Println("/proc/net/tcp header:", strings.Fields(strings.SplitN(tcp, "\n", 2)[0])[1:4])
	fmt.Println("/proc/net/tcp listener:", row(tcp, map[int]string{1: fmt.Sprintf("0100007F:%04X", port), 2: "00000000:0000", 3: "0A", 9: fmt.Sprint(ino(ln))}))
	csa, _ := unix.Getsockname(c)
	cport := csa.(*unix.SockaddrInet4).Port
	apeer, _ := unix.Getsockname(a)
	fmt.Println("/proc/net/tcp connection, both ends:",
		row(tcp, map[int]string{1: fmt.Sprintf("0100007F:%04X", cport), 3: "01", 9: fmt.Sprint(ino(c))}),
		row(tcp, map[int]string{2: fmt.Sprintf("0100007F:%04X", cport), 1: fmt.Sprintf("0100007F:%04X", apeer.(*unix.SockaddrInet4).Port), 3: "01", 9: fmt.Sprint(ino(a))}))
	fmt.Println("/proc/net/tcp6 listener:", row(read("tcp6"), map[int]string{1: fmt.Sprintf("00000000000000000000000001000000:%04X", sa6.(*unix.SockaddrInet6).Port), 3: "0A", 9: fmt.Sprint(ino(ln6))}))
	fmt.Println("/proc/net/udp socket:", row(read("udp"), map[int]string{1: fmt.Sprintf("0100007F:%04X", usa.(*unix.SockaddrInet4).Port), 3: "07", 9: fmt.Sprint(ino(u))}))
	fmt.Println("/proc/net/unix listener:", row(read("unix"), map[int]string{3: "00010000", 4: "0001", 5: "01", 6: fmt.Sprint(ino(us)), 7: name}))
	fmt.Println("/proc/net/dev has lo:", row(read("dev"), map[int]string{0: "lo:"}))
	fmt.Println("/proc/net/if_inet6:", strings.TrimSpace(read("if_inet6")))
	fmt.Println("/proc/net/route lines:", len(strings.Split(strings.TrimSpace(read("route")), "\n")))
	for _, fd := range []int{a, c, ln, ln6, u, us} {
		unix.Close(fd)
	}
}

// waitAll checks what Linux promises of MSG_WAITALL on a stream socket,
// not what a scheduler happened to deliver: the call waits for every byte
// it asked for, and returns fewer only when a signal or the peer's
// shutdown (below, in tcpRaw) ends it — or a receive timeout, so
// SO_RCVTIMEO is cleared first. Go's runtime sends no signal to a thread
// blocked in a system call, so only the one sent here can end it early.
func waitAll(a, c int) {
	check("clear SO_RCVTIMEO", unix.SetsockoptTimeval(a, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{}))
	buf := make([]byte, 4)
	go func() {
		for _, p := range []string{"1", "23", "4"} {
			time.Sleep(20 * time.Millisecond)
			unix.Write(c, []byte(p))
		}
	}()
	n, _, err := retry3(func() (int, unix.Sockaddr, error) { return unix.Recvfrom(a, buf, unix.MSG_WAITALL) })
	fmt.Printf("MSG_WAITALL, three writes and no signal: %q %s\n", buf[:n], errName(err))

	// A signal (its handler SA_RESTART, as Go installs them) while the
	// call waits: Linux returns the bytes it has, or, when none had come
	// yet, restarts the call, which then gets all four. Either way no
	// byte is lost and there is no EINTR.
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	defer signal.Stop(usr1)
	type result struct {
		n   int
		err error
	}
	tid, done := make(chan int), make(chan result)
	go func() {
		runtime.LockOSThread()
		tid <- unix.Gettid()
		n, _, err := unix.Recvfrom(a, buf, unix.MSG_WAITALL)
		done <- result{n, err}
	}()
	waiter := <-tid
	unix.Write(c, []byte("12"))
	time.Sleep(50 * time.Millisecond)
	check("tgkill", unix.Tgkill(unix.Getpid(), waiter, unix.SIGUSR1))
	<-usr1
	var r result
	select {
	case r = <-done:
	case <-time.After(time.Second): // restarted before the bytes came
		unix.Write(c, []byte("34"))
		r = <-done
	}
	got := string(buf[:max(r.n, 0)])
	if r.err == nil && r.n > 0 && r.n < 4 {
		unix.Write(c, []byte("1234"[r.n:]))
		m, _, err := retry3(func() (int, unix.Sockaddr, error) { return unix.Recvfrom(a, buf[:4-r.n], unix.MSG_WAITALL) })
		check("recv the rest", err)
		got += string(buf[:m])
	}
	fmt.Println("MSG_WAITALL and a signal: short or whole, no byte lost, no EINTR:", r.err == nil && r.n > 0 && got == "1234")
	if got != "1234" || r.err != nil {
		fmt.Fprintf(os.Stderr, "MSG_WAITALL and a signal: first call %d %v, in all %q\n", r.n, r.err, got)
	}
}

func retry3(f func() (int, unix.Sockaddr, error)) (int, unix.Sockaddr, error) {
	for {
		n, a, err := f()
		if err != unix.EINTR {
			return n, a, err
		}
	}
}

func badInput() {
	s, _ := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	defer unix.Close(s)
	sin := make([]byte, 16)
	binary.LittleEndian.PutUint16(sin, unix.AF_INET)
	p := uintptr(unsafe.Pointer(&sin[0]))
	fmt.Println("bind len 0:", raw(unix.SYS_BIND, uintptr(s), p, 0))
	fmt.Println("bind len 8:", raw(unix.SYS_BIND, uintptr(s), p, 8))
	fmt.Println("bind len 200:", raw(unix.SYS_BIND, uintptr(s), p, 200))
	fmt.Println("bind len -1:", raw(unix.SYS_BIND, uintptr(s), p, ^uintptr(0)))
	fmt.Println("bind NULL:", raw(unix.SYS_BIND, uintptr(s), 0, 16))
	fmt.Println("bind bad pointer:", raw(unix.SYS_BIND, uintptr(s), 16, 16))
	binary.LittleEndian.PutUint16(sin, unix.AF_INET6)
	fmt.Println("bind wrong family:", raw(unix.SYS_BIND, uintptr(s), p, 16))
	binary.LittleEndian.PutUint16(sin, unix.AF_INET)
	sin[4], sin[5], sin[6], sin[7] = 10, 9, 8, 7
	fmt.Println("bind foreign address:", raw(unix.SYS_BIND, uintptr(s), p, 16))
	fmt.Println("connect len 1:", raw(unix.SYS_CONNECT, uintptr(s), p, 1))
	fmt.Println("connect len 8:", raw(unix.SYS_CONNECT, uintptr(s), p, 8))
	fmt.Println("connect bad pointer:", raw(unix.SYS_CONNECT, uintptr(s), 16, 16))
	fmt.Println("getsockname bad addrlen pointer:", raw(unix.SYS_GETSOCKNAME, uintptr(s), p, 16))
	l := int32(-1)
	fmt.Println("getsockname negative addrlen:", raw(unix.SYS_GETSOCKNAME, uintptr(s), p, uintptr(unsafe.Pointer(&l))))
	l = 4
	fmt.Println("getsockname short:", raw(unix.SYS_GETSOCKNAME, uintptr(s), p, uintptr(unsafe.Pointer(&l))), l)
	fmt.Println("getpeername unconnected:", raw(unix.SYS_GETPEERNAME, uintptr(s), p, uintptr(unsafe.Pointer(&l))))
	fmt.Println("listen then accept4 bad flags:", errName(unix.Listen(s, 1)), raw(unix.SYS_ACCEPT4, uintptr(s), 0, 0, 0x1))
	fmt.Println("socket bad type:", raw(unix.SYS_SOCKET, unix.AF_INET, 99, 0))
	fmt.Println("socket bad flags:", raw(unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_STREAM|0x100, 0))
	fmt.Println("socket bad family:", raw(unix.SYS_SOCKET, 12345, unix.SOCK_STREAM, 0))
	fmt.Println("socket dgram tcp:", raw(unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_DGRAM, unix.IPPROTO_TCP))
	fmt.Println("socket inet seqpacket:", raw(unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_SEQPACKET, 0))
	// Linux writes the descriptors it reserved before it finds that inet
	// has no pairs.
	sv := []int32{-1, -1}
	fmt.Println("socketpair inet:", raw(unix.SYS_SOCKETPAIR, unix.AF_INET, unix.SOCK_STREAM, 0, uintptr(unsafe.Pointer(&sv[0]))), sv[0] > 2, sv[1] == sv[0]+1)
	var pfd [2]int
	unix.Pipe(pfd[:])
	fmt.Println("bind on a pipe:", raw(unix.SYS_BIND, uintptr(pfd[0]), p, 16))
	fmt.Println("bind on a closed fd:", raw(unix.SYS_BIND, 999, p, 16))
	unix.Close(pfd[0])
	unix.Close(pfd[1])
	u, _ := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
	defer unix.Close(u)
	fmt.Println("sendto with no address:", raw(unix.SYS_SENDTO, uintptr(u), p, 1, 0, 0, 0))
	fmt.Println("sendto bad buffer:", raw(unix.SYS_SENDTO, uintptr(u), 16, 1, 0, p, 16))
	// struct msghdr: msg_iov at 16, msg_iovlen at 24.
	msg := make([]byte, 56)
	binary.LittleEndian.PutUint64(msg[16:], 16)
	binary.LittleEndian.PutUint64(msg[24:], 1)
	fmt.Println("sendmsg bad iovec pointer:", raw(unix.SYS_SENDMSG, uintptr(u), uintptr(unsafe.Pointer(&msg[0])), 0))
	fmt.Println("sendmsg bad msghdr pointer:", raw(unix.SYS_SENDMSG, uintptr(u), 16, 0))
	binary.LittleEndian.PutUint64(msg[24:], 5000)
	fmt.Println("sendmsg too many iovecs:", raw(unix.SYS_SENDMSG, uintptr(u), uintptr(unsafe.Pointer(&msg[0])), 0))
	fmt.Println("listen on udp:", errName(unix.Listen(u, 1)))
}

func unixSockets() {
	// socketpair, SCM_RIGHTS: pass a pipe's read end and read through it.
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	check("socketpair", err)
	var pfd [2]int
	check("pipe", unix.Pipe(pfd[:]))
	unix.Write(pfd[1], []byte("through the passed fd"))
	rights := unix.UnixRights(pfd[0])
	check("sendmsg", unix.Sendmsg(sp[0], []byte("x"), rights, nil, 0))
	unix.Close(pfd[0]) // the passed copy keeps the pipe open
	oob := make([]byte, unix.CmsgSpace(4))
	buf := make([]byte, 64)
	n, oobn, flags, _, err := unix.Recvmsg(sp[1], buf, oob, unix.MSG_CMSG_CLOEXEC)
	check("recvmsg", err)
	msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
	fds, _ := unix.ParseUnixRights(&msgs[0])
	fmt.Printf("unix: got %q with %d fd(s), flags %#x\n", buf[:n], len(fds), flags)
	n, _ = unix.Read(fds[0], buf)
	fmt.Printf("unix: read %q through it\n", buf[:n])
	fdfl, _ := unix.FcntlInt(uintptr(fds[0]), unix.F_GETFD, 0)
	fmt.Println("unix: received fd close-on-exec:", fdfl&unix.FD_CLOEXEC != 0)
	unix.Close(fds[0])
	unix.Close(pfd[1])

	// Two fds into a buffer with room for one: MSG_CTRUNC.
	var p2 [2]int
	unix.Pipe(p2[:])
	unix.Sendmsg(sp[0], []byte("y"), unix.UnixRights(p2[0], p2[1]), nil, 0)
	oob = make([]byte, unix.CmsgLen(4)) // room for one descriptor only
	n, oobn, flags, _, _ = unix.Recvmsg(sp[1], buf, oob, 0)
	msgs, _ = unix.ParseSocketControlMessage(oob[:oobn])
	fds, _ = unix.ParseUnixRights(&msgs[0])
	fmt.Printf("unix: truncated rights: %d fd(s), MSG_CTRUNC %v\n", len(fds), flags&unix.MSG_CTRUNC != 0)
	for _, fd := range fds {
		unix.Close(fd)
	}
	unix.Close(p2[0])
	unix.Close(p2[1])

	// Bad control messages.
	bad := unix.UnixRights(999)
	fmt.Println("unix: SCM_RIGHTS with a closed fd:", errName(unix.Sendmsg(sp[0], []byte("z"), bad, nil, 0)))
	short := make([]byte, 20)
	binary.LittleEndian.PutUint64(short, 8)
	fmt.Println("unix: cmsg_len too small:", errName(unix.Sendmsg(sp[0], []byte("z"), short, nil, 0)))
	binary.LittleEndian.PutUint64(short, 64)
	fmt.Println("unix: cmsg_len too large:", errName(unix.Sendmsg(sp[0], []byte("z"), short, nil, 0)))

	// Credentials.
	check("passcred", unix.SetsockoptInt(sp[1], unix.SOL_SOCKET, unix.SO_PASSCRED, 1))
	unix.Sendmsg(sp[0], []byte("c"), nil, nil, 0)
	oob = make([]byte, unix.CmsgSpace(unix.SizeofUcred))
	_, oobn, _, _, _ = unix.Recvmsg(sp[1], buf, oob, 0)
	msgs, _ = unix.ParseSocketControlMessage(oob[:oobn])
	if len(msgs) == 1 {
		uc, err := unix.ParseUnixCredentials(&msgs[0])
		fmt.Println("unix: SCM_CREDENTIALS pid is mine:", err == nil && int(uc.Pid) == os.Getpid(), "uid", uc.Uid)
	} else {
		fmt.Println("unix: no credentials")
	}
	cred := unix.UnixCredentials(&unix.Ucred{Pid: int32(os.Getpid()) + 1000, Uid: 0, Gid: 0})
	fmt.Println("unix: claiming another pid as root:", errName(unix.Sendmsg(sp[0], []byte("c"), cred, nil, 0)))
	uc, err := unix.GetsockoptUcred(sp[0], unix.SOL_SOCKET, unix.SO_PEERCRED)
	fmt.Println("unix: SO_PEERCRED pid is mine:", err == nil && int(uc.Pid) == os.Getpid(), uc.Uid, uc.Gid)
	unix.Close(sp[0])
	n, err = unix.Read(sp[1], buf)
	for err == nil && n > 0 {
		n, err = unix.Read(sp[1], buf)
	}
	fmt.Println("unix: read after the peer closed:", n, errName(err))
	unix.Close(sp[1])

	// A server on an abstract name, through the net package.
	name := fmt.Sprintf("@rumpgo-netsys-%d", os.Getpid())
	ln, err := net.Listen("unix", name)
	check("listen unix", err)
	go func() {
		c, err := ln.Accept()
		check("accept unix", err)
		io.Copy(c, c)
		c.Close()
	}()
	c, err := net.Dial("unix", name)
	check("dial unix", err)
	fmt.Fprint(c, "ping")
	c.(*net.UnixConn).CloseWrite()
	b, _ := io.ReadAll(c)
	fmt.Printf("unix stream echo: %q, peer %q\n", b, strings.Replace(c.RemoteAddr().String(), fmt.Sprint(os.Getpid()), "PID", 1))
	c.Close()
	ln.Close()
	_, err = net.Dial("unix", name)
	fmt.Println("dial a closed abstract name refused:", strings.Contains(fmt.Sprint(err), "connection refused"))

	// Datagrams and sequenced packets keep their boundaries.
	for _, typ := range []int{unix.SOCK_DGRAM, unix.SOCK_SEQPACKET} {
		p, err := unix.Socketpair(unix.AF_UNIX, typ, 0)
		check("socketpair", err)
		unix.Write(p[0], []byte("first"))
		unix.Write(p[0], []byte("second"))
		n1, _ := unix.Read(p[1], buf[:3])
		n2, _ := unix.Read(p[1], buf[3:])
		fmt.Printf("unix type %d: %q %q\n", typ, buf[:n1], buf[3:3+n2])
		unix.Close(p[0])
		n, _, err := unix.Recvfrom(p[1], buf, unix.MSG_DONTWAIT)
		fmt.Printf("unix type %d after close: %d %s\n", typ, n, errName(err))
		unix.Close(p[1])
	}
	s, _ := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	fmt.Println("unix connect to a missing abstract name:", errName(unix.Connect(s, &unix.SockaddrUnix{Name: "@rumpgo-nobody-here"})))
	fmt.Println("unix bind too long:", raw(unix.SYS_BIND, uintptr(s), uintptr(unsafe.Pointer(&make([]byte, 200)[0])), 111))
	fmt.Println("unix listen unbound:", errName(unix.Listen(s, 1)))
	unix.Close(s)
}

func main() {
	tcpLoopback("tcp4", "127.0.0.1:0")
	tcpLoopback("tcp6", "[::1]:0")
	tcpLoopback("tcp", ":0")
	udpEcho()
	closedPort()
	tcpRaw()
	sockTimeouts()
	sendfileSplice()
	procNet()
	badInput()
	unixSockets()
	ifs, err := net.Interfaces()
	check("interfaces", err)
	for _, i := range ifs {
		if i.Name == "lo" {
			addrs, _ := i.Addrs()
			fmt.Println("lo:", i.Index, i.Flags&net.FlagUp != 0, i.Flags&net.FlagLoopback != 0, addrs)
		}
	}
}
