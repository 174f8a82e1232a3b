package syscalls

import (
	"encoding/binary"
	"time"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/inet"
	"github.com/rumpgo/rumpgo/posix/waiter"
	"golang.org/x/sys/unix"
)

// The socket calls. Sockets are posix.Sockets (posix/inet for AF_INET,
// AF_INET6 and AF_NETLINK, posix for AF_UNIX); this file decodes the
// arguments, copies addresses, buffers and control messages in and out
// with Linux's checks, and waits: sockets answer EAGAIN, and a blocking
// call waits for readiness through t.waitFor, with SO_RCVTIMEO or
// SO_SNDTIMEO as its deadline, interruptible by signals (ERESTARTSYS
// without a timeout, EINTR with one, as Linux's sock_intr_errno).

func init() {
	register(unix.SYS_SOCKET, Entry{Name: "socket", Support: Partial,
		Note: "AF_UNIX, AF_INET, AF_INET6 (TCP, UDP, ICMP echo), AF_NETLINK/NETLINK_ROUTE; SOCK_RAW is EPERM, other families EAFNOSUPPORT",
		fn:   sysSocket, args: []argKind{aSockDomain, aSockType, aInt}})
	register(unix.SYS_SOCKETPAIR, Entry{Name: "socketpair", Support: Partial, Note: "AF_UNIX only, as Linux (others EOPNOTSUPP)",
		fn: sysSocketpair, args: []argKind{aSockDomain, aSockType, aInt, aPipeFDs}})
	register(unix.SYS_BIND, Entry{Name: "bind", Support: Partial,
		Note: "unix path names are socket files in the VFS; TCP and UDP ports below 1024 need CAP_NET_BIND_SERVICE",
		fn:   sysBind, args: []argKind{aFD, aPtr, aInt}})
	register(unix.SYS_LISTEN, Entry{Name: "listen", fn: sysListen, args: []argKind{aFD, aInt}})
	register(unix.SYS_ACCEPT, Entry{Name: "accept", fn: func(t *Thread, a Args) (uint64, unix.Errno) {
		return sysAccept4(t, Args{a[0], a[1], a[2], 0})
	}, args: []argKind{aFD, aPtr, aPtr}})
	register(unix.SYS_ACCEPT4, Entry{Name: "accept4", fn: sysAccept4, args: []argKind{aFD, aPtr, aPtr, aHex}})
	register(unix.SYS_CONNECT, Entry{Name: "connect", fn: sysConnect, args: []argKind{aFD, aPtr, aInt}})
	register(unix.SYS_SHUTDOWN, Entry{Name: "shutdown", fn: sysShutdown, args: []argKind{aFD, aInt}})
	register(unix.SYS_GETSOCKNAME, Entry{Name: "getsockname", fn: sysGetsockname, args: []argKind{aFD, aPtr, aPtr}})
	register(unix.SYS_GETPEERNAME, Entry{Name: "getpeername", fn: sysGetpeername, args: []argKind{aFD, aPtr, aPtr}})
	register(unix.SYS_SENDTO, Entry{Name: "sendto", fn: sysSendto, args: []argKind{aFD, aBufIn, aUint, aMsgFlags, aPtr, aInt}})
	register(unix.SYS_RECVFROM, Entry{Name: "recvfrom", fn: sysRecvfrom, args: []argKind{aFD, aBufOut, aUint, aMsgFlags, aPtr, aPtr}})
	register(unix.SYS_SENDMSG, Entry{Name: "sendmsg", Support: Partial,
		Note: "control messages: SCM_RIGHTS and SCM_CREDENTIALS on unix sockets; IP-level ones on inet sockets are ignored",
		fn:   sysSendmsg, args: []argKind{aFD, aPtr, aMsgFlags}})
	register(unix.SYS_RECVMSG, Entry{Name: "recvmsg", fn: sysRecvmsg, args: []argKind{aFD, aPtr, aMsgFlags}})
	register(unix.SYS_SENDMMSG, Entry{Name: "sendmmsg", fn: sysSendmmsg, args: []argKind{aFD, aPtr, aUint, aMsgFlags}})
	register(unix.SYS_RECVMMSG, Entry{Name: "recvmmsg", fn: sysRecvmmsg, args: []argKind{aFD, aPtr, aUint, aMsgFlags, aPtr}})
	register(unix.SYS_GETSOCKOPT, Entry{Name: "getsockopt", Support: Partial,
		Note: "the options netstack and the unix sockets have; others ENOPROTOOPT",
		fn:   sysGetsockopt, args: []argKind{aFD, aInt, aInt, aPtr, aPtr}})
	register(unix.SYS_SETSOCKOPT, Entry{Name: "setsockopt", Support: Partial,
		Note: "the options netstack and the unix sockets have; others ENOPROTOOPT",
		fn:   sysSetsockopt, args: []argKind{aFD, aInt, aInt, aPtr, aInt}})
}

// Network is a machine's sockets: its TCP/IP stack and its unix socket
// names.
type Network struct {
	Inet *inet.Stack
	Unix *posix.UnixNamespace
}

// SetNetwork gives the kernel its network; call it before the guest runs.
func (k *Kernel) SetNetwork(n *Network) { k.net = n }

// ReleaseNetwork forgets the kernel's network (the caller closes it).
func (k *Kernel) ReleaseNetwork() { k.net = nil }

// network is the kernel's network; a kernel that was given none gets a
// loopback-only one on first use.
func (k *Kernel) network() *Network {
	k.netOnce.Do(func() {
		if k.net != nil {
			return
		}
		s, err := inet.NewStack(nil)
		if err != nil {
			panic("a loopback-only stack cannot fail: " + err.Error())
		}
		k.net = &Network{Inet: s, Unix: posix.NewUnixNamespace()}
	})
	return k.net
}

// NetFile makes /proc/net/NAME (procfs.NetFiles): the unix sockets'
// file from the unix names, the rest from the TCP/IP stack.
func (k *Kernel) NetFile(name string) ([]byte, bool) {
	n := k.network()
	if name == "unix" {
		return n.Unix.ProcNetUnix(), true
	}
	return n.Inet.ProcNet(name)
}

// sockaddrStorage is sizeof(struct sockaddr_storage): the most an address
// argument may be.
const sockaddrStorage = 128

// scmMaxFD is SCM_MAX_FD: the most descriptors one SCM_RIGHTS carries.
const scmMaxFD = 253

// socketTypeMask separates the type from SOCK_NONBLOCK|SOCK_CLOEXEC.
const socketTypeMask = 0xf

// ipprotoMax is IPPROTO_MAX: inet_create's bound on protocols (MPTCP,
// 262, is below it: EPROTONOSUPPORT, as a kernel without it says).
const ipprotoMax = 263

// sockMax is SOCK_MAX: types at or above it are EINVAL.
const sockMax = 11

// ucred is the calling process's identity as SO_PEERCRED reports it.
func (t *Thread) ucred() posix.Ucred {
	c := t.cred()
	return posix.Ucred{PID: int32(t.Task.Group.PID), UID: c.EUID, GID: c.EGID}
}

// newSocket is the body of socket(2), with __sys_socket's checks.
func (t *Thread) newSocket(domain, typ, proto int) (posix.Socket, unix.Errno) {
	if typ&^(socketTypeMask|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC) != 0 {
		return nil, unix.EINVAL
	}
	if domain < 0 || domain >= unix.AF_MAX {
		return nil, unix.EAFNOSUPPORT
	}
	if typ&socketTypeMask >= sockMax || typ&socketTypeMask == 0 {
		return nil, unix.EINVAL
	}
	n := t.K.network()
	switch domain {
	case unix.AF_UNIX:
		return n.Unix.NewUnixSocket(typ, proto, t.ucred())
	case unix.AF_INET, unix.AF_INET6:
		if proto < 0 || proto >= ipprotoMax {
			return nil, unix.EINVAL
		}
		return n.Inet.NewSocket(domain, typ, proto)
	case unix.AF_NETLINK:
		return n.Inet.NewNetlink(typ, proto)
	}
	return nil, unix.EAFNOSUPPORT
}

func sysSocket(t *Thread, a Args) (uint64, unix.Errno) {
	typ := a.Int(1)
	s, e := t.newSocket(a.Int(0), typ, a.Int(2))
	if e != 0 {
		return 0, e
	}
	fd, e := t.Task.Group.FDs.Install(s, 0, typ&unix.SOCK_CLOEXEC != 0, t.fdLimit())
	if e != 0 {
		s.Close()
		return 0, e
	}
	return uint64(fd), 0
}

func sysSocketpair(t *Thread, a Args) (uint64, unix.Errno) {
	domain, typ, proto := a.Int(0), a.Int(1), a.Int(2)
	if typ&^(socketTypeMask|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC) != 0 {
		return 0, unix.EINVAL
	}
	// As Linux's __sys_socketpair, the two descriptors are reserved and
	// written out before the sockets are made: a family without pairs
	// still leaves their numbers in sv.
	fds := t.Task.Group.FDs
	cloexec := typ&unix.SOCK_CLOEXEC != 0
	fd1, e := fds.Install(reservedFD{}, 0, cloexec, t.fdLimit())
	if e != 0 {
		return 0, e
	}
	fd2, e := fds.Install(reservedFD{}, 0, cloexec, t.fdLimit())
	if e != 0 {
		fds.Close(fd1)
		return 0, e
	}
	release := func() { fds.Close(fd1); fds.Close(fd2) }
	var b [8]byte
	binary.LittleEndian.PutUint32(b[0:], uint32(fd1))
	binary.LittleEndian.PutUint32(b[4:], uint32(fd2))
	if e := t.mm().CopyOut(a[3], b[:]); e != 0 {
		release()
		return 0, e
	}
	s1, s2, e := t.socketPair(domain, typ, proto)
	release()
	if e != 0 {
		return 0, e
	}
	if _, e := fds.Install(s1, fd1, cloexec, uint64(fd1)+1); e != 0 {
		s1.Close()
		s2.Close()
		return 0, e
	}
	if _, e := fds.Install(s2, fd2, cloexec, uint64(fd2)+1); e != 0 {
		fds.Close(fd1)
		s2.Close()
		return 0, e
	}
	return 0, 0
}

func (t *Thread) socketPair(domain, typ, proto int) (posix.Socket, posix.Socket, unix.Errno) {
	if domain < 0 || domain >= unix.AF_MAX {
		return nil, nil, unix.EAFNOSUPPORT
	}
	if typ&socketTypeMask >= sockMax || typ&socketTypeMask == 0 {
		return nil, nil, unix.EINVAL
	}
	switch domain {
	case unix.AF_UNIX:
		x, y, e := t.K.network().Unix.UnixPair(typ, proto, t.ucred())
		if e != 0 {
			return nil, nil, e
		}
		return x, y, 0
	case unix.AF_INET, unix.AF_INET6, unix.AF_NETLINK:
		// The family exists but has no pairs (inet_socketpair's
		// sock_no_socketpair): the socket is made, then refused.
		s, e := t.newSocket(domain, typ, proto)
		if e != 0 {
			return nil, nil, e
		}
		s.Close()
		return nil, nil, unix.EOPNOTSUPP
	}
	return nil, nil, unix.EAFNOSUPPORT
}

// reservedFD holds a descriptor number while socketpair makes its sockets.
type reservedFD struct{}

func (reservedFD) Read([]byte) (int, unix.Errno)  { return 0, unix.EBADF }
func (reservedFD) Write([]byte) (int, unix.Errno) { return 0, unix.EBADF }
func (reservedFD) Close() unix.Errno              { return 0 }
func (reservedFD) Flags() int                     { return unix.O_RDWR }

// socket returns the socket at fd: EBADF when fd is not open, ENOTSOCK
// when it is no socket.
func (t *Thread) socket(fd int) (posix.Socket, *posix.OpenFile, unix.Errno) {
	f, e := t.file(fd)
	if e != 0 {
		return nil, nil, e
	}
	s, ok := f.File.(posix.Socket)
	if !ok {
		return nil, nil, unix.ENOTSOCK
	}
	return s, f, 0
}

// sockaddrIn copies an address argument in, as Linux's
// move_addr_to_kernel: a length past sockaddr_storage or negative is
// EINVAL, zero copies nothing.
func (t *Thread) sockaddrIn(addr uint64, n int) ([]byte, unix.Errno) {
	if n < 0 || n > sockaddrStorage {
		return nil, unix.EINVAL
	}
	b := make([]byte, n)
	if n == 0 {
		return b, 0
	}
	if e := t.mm().CopyIn(addr, b); e != 0 {
		return nil, e
	}
	return b, 0
}

// sockaddrOut writes an address to addr and its length to lenAddr, as
// Linux's move_addr_to_user: the length is read first (EINVAL when
// negative), at most that many bytes are written, and the full length is
// reported. addr == 0 writes nothing.
func (t *Thread) sockaddrOut(sa []byte, addr, lenAddr uint64) unix.Errno {
	if addr == 0 {
		return 0
	}
	var lb [4]byte
	if e := t.mm().CopyIn(lenAddr, lb[:]); e != 0 {
		return e
	}
	n := int32(binary.LittleEndian.Uint32(lb[:]))
	if n < 0 {
		return unix.EINVAL
	}
	if c := min(int(n), len(sa)); c > 0 {
		if e := t.mm().CopyOut(addr, sa[:c]); e != 0 {
			return e
		}
	}
	binary.LittleEndian.PutUint32(lb[:], uint32(len(sa)))
	return t.mm().CopyOut(lenAddr, lb[:])
}

func sysBind(t *Thread, a Args) (uint64, unix.Errno) {
	s, _, e := t.socket(a.Int(0))
	if e != 0 {
		return 0, e
	}
	sa, e := t.sockaddrIn(a[1], a.Int(2))
	if e != 0 {
		return 0, e
	}
	if path, ok := unixPath(s, sa); ok {
		return 0, t.unixBind(s.(*posix.UnixSocket), sa, path)
	}
	if so, ok := s.(*inet.Socket); ok {
		return 0, so.BindAs(sa, t.capable(posix.CAP_NET_BIND_SERVICE))
	}
	return 0, s.Bind(sa)
}

func sysListen(t *Thread, a Args) (uint64, unix.Errno) {
	s, _, e := t.socket(a.Int(0))
	if e != 0 {
		return 0, e
	}
	return 0, s.Listen(a.Int(1))
}

// deadline turns a socket timeout into a deadline (zero: none).
func deadline(d time.Duration) time.Time {
	if d <= 0 {
		return time.Time{}
	}
	return time.Now().Add(d)
}

// sockWait waits for events on s; a timeout is EAGAIN, an interruption
// ERESTARTSYS without a timeout and EINTR with one. The timeout runs from
// start, the beginning of the call: a call that wakes and finds it still
// cannot go on (readiness that a send of its size does not satisfy) waits
// out only what is left of SO_SNDTIMEO/SO_RCVTIMEO, never a fresh one.
func (t *Thread) sockWait(s posix.Socket, mask uint32, timeout time.Duration, start time.Time) unix.Errno {
	if timeout <= 0 {
		return timeoutErr(t.waitFor(s, mask, time.Time{}), timeout)
	}
	dl := start.Add(timeout)
	if !time.Now().Before(dl) {
		return unix.EAGAIN
	}
	return timeoutErr(t.waitFor(s, mask, dl), timeout)
}

// errQueue reports a read of an inet socket's error queue: Linux's
// ip_recv_error and ipv6_recv_error never wait, an empty queue is EAGAIN
// whatever O_NONBLOCK says.
func errQueue(s posix.Socket, flags int) bool {
	return flags&unix.MSG_ERRQUEUE != 0 && (s.Domain() == unix.AF_INET || s.Domain() == unix.AF_INET6)
}

func nonblocking(f *posix.OpenFile, flags int) bool {
	return f.Flags()&unix.O_NONBLOCK != 0 || flags&unix.MSG_DONTWAIT != 0
}

func sysAccept4(t *Thread, a Args) (uint64, unix.Errno) {
	flags := a.Int(3)
	if flags&^(unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK) != 0 {
		return 0, unix.EINVAL
	}
	s, f, e := t.socket(a.Int(0))
	if e != 0 {
		return 0, e
	}
	start := time.Now()
	for {
		ns, peer, e := s.Accept(flags)
		if e == unix.EAGAIN && !nonblocking(f, 0) {
			rcv, _ := s.Timeouts()
			if e := t.sockWait(s, waiter.ReadEvents, rcv, start); e != 0 {
				return 0, e
			}
			continue
		}
		if e != 0 {
			return 0, e
		}
		fd, e := t.Task.Group.FDs.Install(ns, 0, flags&unix.SOCK_CLOEXEC != 0, t.fdLimit())
		if e != 0 {
			ns.Close()
			return 0, e
		}
		if e := t.sockaddrOut(peer, a[1], a[2]); e != 0 {
			t.Task.Group.FDs.Close(fd)
			return 0, e
		}
		return uint64(fd), 0
	}
}

func sysConnect(t *Thread, a Args) (uint64, unix.Errno) {
	s, f, e := t.socket(a.Int(0))
	if e != 0 {
		return 0, e
	}
	sa, e := t.sockaddrIn(a[1], a.Int(2))
	if e != 0 {
		return 0, e
	}
	start := time.Now()
	for {
		e := t.connect(s, sa)
		switch {
		case e == unix.EAGAIN && !nonblocking(f, 0):
			// A unix listener's backlog is full: wait for room.
			_, snd := s.Timeouts()
			if e := t.sockWait(s, waiter.WriteEvents, snd, start); e != 0 {
				return 0, e
			}
			continue
		case (e == unix.EINPROGRESS || e == unix.EALREADY) && !nonblocking(f, 0):
			// EALREADY: a blocking connect restarted after a signal (SA_RESTART)
			// finds its own connection under way; Linux waits for it then.
			_, snd := s.Timeouts()
			switch e := t.sockWait(s, waiter.WriteEvents, snd, start); e {
			case 0:
			case unix.EAGAIN:
				return 0, unix.EINPROGRESS // Linux: the connect timed out but goes on
			default:
				return 0, e
			}
			b, e := s.GetSockOpt(unix.SOL_SOCKET, unix.SO_ERROR, 4)
			if e != 0 {
				return 0, e
			}
			return 0, unix.Errno(binary.LittleEndian.Uint32(b))
		}
		return 0, e
	}
}

func sysShutdown(t *Thread, a Args) (uint64, unix.Errno) {
	s, _, e := t.socket(a.Int(0))
	if e != 0 {
		return 0, e
	}
	return 0, s.Shutdown(a.Int(1))
}

func sysGetsockname(t *Thread, a Args) (uint64, unix.Errno) {
	s, _, e := t.socket(a.Int(0))
	if e != 0 {
		return 0, e
	}
	sa, e := s.SockName()
	if e != 0 {
		return 0, e
	}
	return 0, t.sockaddrOut(sa, a[1], a[2])
}

func sysGetpeername(t *Thread, a Args) (uint64, unix.Errno) {
	s, _, e := t.socket(a.Int(0))
	if e != 0 {
		return 0, e
	}
	sa, e := s.PeerName()
	if e != 0 {
		return 0, e
	}
	return 0, t.sockaddrOut(sa, a[1], a[2])
}

func sysGetsockopt(t *Thread, a Args) (uint64, unix.Errno) {
	s, _, e := t.socket(a.Int(0))
	if e != 0 {
		return 0, e
	}
	var lb [4]byte
	if e := t.mm().CopyIn(a[4], lb[:]); e != 0 {
		return 0, e
	}
	optlen := int(int32(binary.LittleEndian.Uint32(lb[:])))
	if optlen < 0 {
		return 0, unix.EINVAL
	}
	val, e := s.GetSockOpt(a.Int(1), a.Int(2), optlen)
	if e != 0 {
		return 0, e
	}
	if len(val) > 0 {
		if e := t.mm().CopyOut(a[3], val); e != 0 {
			return 0, e
		}
	}
	binary.LittleEndian.PutUint32(lb[:], uint32(len(val)))
	return 0, t.mm().CopyOut(a[4], lb[:])
}

// optMax bounds a setsockopt value copied in: no option Linux has is
// larger than a page (the big ones, filters, are not offered).
const optMax = 4096

func sysSetsockopt(t *Thread, a Args) (uint64, unix.Errno) {
	s, _, e := t.socket(a.Int(0))
	if e != 0 {
		return 0, e
	}
	n := a.Int(4)
	if n < 0 {
		return 0, unix.EINVAL
	}
	val := make([]byte, min(n, optMax))
	if len(val) > 0 {
		if e := t.mm().CopyIn(a[3], val); e != 0 {
			return 0, e
		}
	}
	return 0, s.SetSockOpt(a.Int(1), a.Int(2), val)
}

// sendData sends buf as one call of sendto/sendmsg: a stream socket
// sends all of it, waiting for room when blocking; a message goes whole.
// It returns what was sent, an error only when nothing was; EPIPE raises
// SIGPIPE unless MSG_NOSIGNAL.
func (t *Thread) sendData(s posix.Socket, f *posix.OpenFile, buf, to []byte, ctl *posix.ControlMessages, flags int) (int, unix.Errno) {
	done := 0
	_, snd := s.Timeouts()
	stream := s.Type() == unix.SOCK_STREAM
	start := time.Now()
	send := s.SendMsg
	if path, ok := unixPath(s, to); ok && s.Type() != unix.SOCK_STREAM {
		key, e := t.unixFind(path)
		if e != 0 {
			ctl.CloseRights()
			return 0, e
		}
		us := s.(*posix.UnixSocket)
		send = func(p, to []byte, ctl *posix.ControlMessages, flags int) (int, unix.Errno) {
			return us.SendMsgTo(p, to, key, ctl, flags)
		}
	}
	for {
		n, e := send(buf[done:], to, ctl, flags)
		if n > 0 || e == 0 {
			ctl = nil // the control messages went with the first part
		}
		done += n
		if e == 0 && (done == len(buf) || !stream) {
			return done, 0
		}
		if e == 0 || e == unix.EAGAIN {
			if nonblocking(f, flags) {
				ctl.CloseRights()
				if done > 0 {
					return done, 0
				}
				return 0, unix.EAGAIN
			}
			if e := t.sockWait(s, waiter.WriteEvents, snd, start); e != 0 {
				ctl.CloseRights()
				if done > 0 {
					return done, 0
				}
				return 0, e
			}
			continue
		}
		if e == unix.EPIPE && flags&unix.MSG_NOSIGNAL == 0 && s.Type() != unix.SOCK_DGRAM {
			t.raiseSIGPIPE()
		}
		if done > 0 {
			return done, 0
		}
		return 0, e
	}
}

// recvData receives into buf, waiting for data when blocking; with
// MSG_WAITALL a stream read goes on until buf is full, the end of file,
// an error or a signal.
func (t *Thread) recvData(s posix.Socket, f *posix.OpenFile, buf []byte, flags int) (posix.RecvResult, unix.Errno) {
	rcv, _ := s.Timeouts()
	var res posix.RecvResult
	waitAll := flags&unix.MSG_WAITALL != 0 && flags&unix.MSG_PEEK == 0 && s.Type() == unix.SOCK_STREAM
	start := time.Now()
	for {
		r, e := s.RecvMsg(buf[res.N:], flags&^unix.MSG_WAITALL)
		if e == 0 {
			if res.N == 0 {
				res = r
			} else {
				res.N += r.N
				res.Total += r.N
				res.Control.Rights = append(res.Control.Rights, r.Control.Rights...)
			}
			if !waitAll || r.N == 0 || res.N == len(buf) || len(r.Control.Rights) > 0 {
				return res, 0
			}
			continue
		}
		if e != unix.EAGAIN || nonblocking(f, flags) || errQueue(s, flags) {
			if res.N > 0 {
				return res, 0
			}
			return res, e
		}
		if e := t.sockWait(s, waiter.ReadEvents, rcv, start); e != 0 {
			if res.N > 0 {
				return res, 0
			}
			return res, e
		}
	}
}

func sysSendto(t *Thread, a Args) (uint64, unix.Errno) {
	s, f, e := t.socket(a.Int(0))
	if e != 0 {
		return 0, e
	}
	var to []byte
	if a[4] != 0 {
		if to, e = t.sockaddrIn(a[4], a.Int(5)); e != 0 {
			return 0, e
		}
		if c, ok := s.(posix.AddrChecker); ok {
			if e := c.CheckAddr(to); e != 0 {
				return 0, e
			}
		}
	}
	n := a[2]
	if s.Type() != unix.SOCK_STREAM && n > ioChunk {
		return 0, unix.EMSGSIZE
	}
	done := uint64(0)
	buf := make([]byte, min(n, ioChunk))
	for {
		chunk := buf[:min(uint64(len(buf)), n-done)]
		if e := t.mm().CopyIn(a[1]+done, chunk); e != 0 {
			if done > 0 {
				return done, 0
			}
			return 0, e
		}
		w, e := t.sendData(s, f, chunk, to, nil, a.Int(3))
		done += uint64(w)
		if e != 0 || w < len(chunk) || done == n {
			if done > 0 {
				return done, 0
			}
			return 0, e
		}
	}
}

func sysRecvfrom(t *Thread, a Args) (uint64, unix.Errno) {
	s, f, e := t.socket(a.Int(0))
	if e != 0 {
		return 0, e
	}
	flags := a.Int(3)
	buf := make([]byte, min(a[2], ioChunk))
	r, e := t.recvData(s, f, buf, flags)
	r.Control.CloseRights()
	if e != 0 {
		return 0, e
	}
	if r.N > 0 {
		if e := t.mm().CopyOut(a[1], buf[:r.N]); e != 0 {
			return 0, e
		}
	}
	if a[4] != 0 && r.From != nil {
		if e := t.sockaddrOut(r.From, a[4], a[5]); e != 0 {
			return 0, e
		}
	} else if a[4] != 0 && a[5] != 0 {
		// No address (a stream): the length becomes 0.
		if e := t.mm().CopyOut(a[5], make([]byte, 4)); e != 0 {
			return 0, e
		}
	}
	if flags&unix.MSG_TRUNC != 0 && s.Type() != unix.SOCK_STREAM {
		return uint64(r.Total), 0
	}
	return uint64(r.N), 0
}
