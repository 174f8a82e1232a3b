package inet

import (
	"bytes"
	"io"
	"sync"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/waiter"
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	gwaiter "gvisor.dev/gvisor/pkg/waiter"
)

// Socket is an AF_INET or AF_INET6 socket: a netstack endpoint behind the
// posix.Socket calls. netstack's endpoints never block either; their
// waiter.Queue is bridged to the posix one, so epoll, poll and blocking
// calls see the endpoint's events.
type Socket struct {
	posix.StatusFlags
	posix.SockTimeouts
	posix.SockIno
	stack    *Stack
	dom, typ int
	proto    int
	ep       tcpip.Endpoint
	wq       *gwaiter.Queue
	bridge   gwaiter.Entry
	q        waiter.Queue

	mu        sync.Mutex
	errTaken  bool // SO_ERROR reported the connection's error: it reads 0 now
	closed    bool
	readShut  bool // SHUT_RD: reads answer end of file
	writeShut bool

	// Options Linux keeps at the socket layer and netstack has no place
	// for (sockopt.go), guarded by mu.
	debug    bool // SO_DEBUG: a flag only, as Linux's SOCK_DBG
	priority int  // SO_PRIORITY
	stamp    int  // SO_TIMESTAMP(NS): stampNone, stampMicro or stampNano
	inq      bool // TCP_INQ: a TCP_CM_INQ message with every read
	fastOpen int  // TCP_FASTOPEN's queue length (no cookies: connects fall back)
	foConn   bool // TCP_FASTOPEN_CONNECT
}

var _ posix.Socket = (*Socket)(nil)

// NewSocket is socket(2) for AF_INET and AF_INET6: typ without
// SOCK_CLOEXEC (SOCK_NONBLOCK becomes O_NONBLOCK). The errnos are Linux's
// inet_create: ESOCKTNOSUPPORT for a type it has no protocol for,
// EPROTONOSUPPORT for a protocol the type does not have, EPERM for raw
// sockets (rumpgo offers none: as a process without CAP_NET_RAW).
func (s *Stack) NewSocket(dom, typ, proto int) (*Socket, unix.Errno) {
	var netProto tcpip.NetworkProtocolNumber = ipv4.ProtocolNumber
	if dom == unix.AF_INET6 {
		netProto = ipv6.ProtocolNumber
	} else if dom != unix.AF_INET {
		return nil, unix.EAFNOSUPPORT
	}
	var tp tcpip.TransportProtocolNumber
	switch typ &^ (unix.SOCK_NONBLOCK | unix.SOCK_CLOEXEC) {
	case unix.SOCK_STREAM:
		if proto != 0 && proto != unix.IPPROTO_TCP {
			return nil, unix.EPROTONOSUPPORT
		}
		tp, proto = tcp.ProtocolNumber, unix.IPPROTO_TCP
	case unix.SOCK_DGRAM:
		switch {
		case proto == 0 || proto == unix.IPPROTO_UDP:
			tp, proto = udp.ProtocolNumber, unix.IPPROTO_UDP
		case proto == unix.IPPROTO_ICMP && dom == unix.AF_INET:
			tp = icmp.ProtocolNumber4
		case proto == unix.IPPROTO_ICMPV6 && dom == unix.AF_INET6:
			tp = icmp.ProtocolNumber6
		default:
			return nil, unix.EPROTONOSUPPORT
		}
	case unix.SOCK_RAW:
		return nil, unix.EPERM
	default:
		return nil, unix.ESOCKTNOSUPPORT
	}
	wq := &gwaiter.Queue{}
	ep, err := s.S.NewEndpoint(tp, netProto, wq)
	if err != nil {
		return nil, errno(err)
	}
	if tp == tcp.ProtocolNumber {
		// Nagle's algorithm is on until TCP_NODELAY, as on Linux.
		ep.SocketOptions().SetDelayOption(true)
	}
	return s.wrap(dom, typ, proto, ep, wq), 0
}

func (s *Stack) wrap(dom, typ, proto int, ep tcpip.Endpoint, wq *gwaiter.Queue) *Socket {
	so := &Socket{stack: s, dom: dom, typ: typ &^ (unix.SOCK_NONBLOCK | unix.SOCK_CLOEXEC), proto: proto, ep: ep, wq: wq}
	fl := unix.O_RDWR
	if typ&unix.SOCK_NONBLOCK != 0 {
		fl |= unix.O_NONBLOCK
	}
	so.Init(fl)
	s.mu.Lock()
	s.socks[so] = struct{}{}
	s.mu.Unlock()
	so.bridge = gwaiter.NewFunctionEntry(gwaiter.AllEvents, func(m gwaiter.EventMask) {
		so.q.Notify(m.ToLinux())
	})
	wq.EventRegister(&so.bridge)
	return so
}

// Domain implements posix.Socket.
func (so *Socket) Domain() int { return so.dom }

// Type implements posix.Socket.
func (so *Socket) Type() int { return so.typ }

// Protocol implements posix.Socket.
func (so *Socket) Protocol() int { return so.proto }

// Endpoint is the netstack endpoint, for tests.
func (so *Socket) Endpoint() tcpip.Endpoint { return so.ep }

func (so *Socket) stream() bool { return so.typ == unix.SOCK_STREAM }

// Read implements posix.File as recv with no flags.
func (so *Socket) Read(p []byte) (int, unix.Errno) {
	r, e := so.RecvMsg(p, 0)
	return r.N, e
}

// Write implements posix.File as send with no flags.
func (so *Socket) Write(p []byte) (int, unix.Errno) {
	return so.SendMsg(p, nil, nil, 0)
}

// Close implements posix.File.
func (so *Socket) Close() unix.Errno {
	so.mu.Lock()
	if so.closed {
		so.mu.Unlock()
		return 0
	}
	so.closed = true
	so.mu.Unlock()
	so.stack.mu.Lock()
	delete(so.stack.socks, so)
	so.stack.mu.Unlock()
	so.wq.EventUnregister(&so.bridge)
	so.ep.Close()
	return 0
}

// Readiness implements waiter.Waitable.
func (so *Socket) Readiness(mask uint32) uint32 {
	m := gwaiter.EventMaskFromLinux(mask | waiter.EPOLLERR | waiter.EPOLLHUP)
	r := so.ep.Readiness(m).ToLinux()
	return r & (mask | waiter.EPOLLERR | waiter.EPOLLHUP)
}

// EventRegister implements waiter.Waitable.
func (so *Socket) EventRegister(e *waiter.Entry) { so.q.EventRegister(e) }

// EventUnregister implements waiter.Waitable.
func (so *Socket) EventUnregister(e *waiter.Entry) { so.q.EventUnregister(e) }

// Bind implements posix.Socket for a caller with CAP_NET_BIND_SERVICE.
func (so *Socket) Bind(sa []byte) unix.Errno { return so.BindAs(sa, true) }

// IPUnprivilegedPortStart is Linux's default net.ipv4.ip_unprivileged_port_start:
// binding a TCP or UDP port below it needs CAP_NET_BIND_SERVICE.
const IPUnprivilegedPortStart = 1024

// BindAs is bind(2) for a caller that has CAP_NET_BIND_SERVICE or not:
// without it a TCP or UDP port below IPUnprivilegedPortStart is EACCES
// after the address's own checks, as __inet_bind and __inet6_bind
// (ping sockets' ping_bind checks no port).
func (so *Socket) BindAs(sa []byte, bindService bool) unix.Errno {
	fa, e := parseAddr(so.dom, sa, false)
	if e != 0 {
		return e
	}
	if !bindService && fa.Port != 0 && fa.Port < IPUnprivilegedPortStart &&
		(so.proto == unix.IPPROTO_TCP || so.proto == unix.IPPROTO_UDP) {
		return unix.EACCES
	}
	return errno(so.ep.Bind(fa))
}

// Listen implements posix.Socket: the backlog is clamped to somaxconn
// (4096), a negative one meaning the maximum, as Linux's __sys_listen.
func (so *Socket) Listen(backlog int) unix.Errno {
	if !so.stream() {
		return unix.EOPNOTSUPP
	}
	if backlog < 0 || backlog > somaxconn {
		backlog = somaxconn
	}
	return errno(so.ep.Listen(backlog))
}

const somaxconn = 4096

// FIONBIO sets or clears O_NONBLOCK (asm-generic/ioctls.h).
const FIONBIO = 0x5421

// Accept implements posix.Socket.
func (so *Socket) Accept(flags int) (posix.Socket, []byte, unix.Errno) {
	if !so.stream() {
		return nil, nil, unix.EOPNOTSUPP
	}
	var peer tcpip.FullAddress
	ep, wq, err := so.ep.Accept(&peer)
	if err != nil {
		return nil, nil, errno(err)
	}
	// The connection inherits the listener's Nagle setting, as on Linux.
	ep.SocketOptions().SetDelayOption(so.ep.SocketOptions().GetDelayOption())
	ns := so.stack.wrap(so.dom, so.typ|flags&unix.SOCK_NONBLOCK, so.proto, ep, wq)
	return ns, encodeAddr(so.dom, peer), 0
}

// Connect implements posix.Socket. AF_UNSPEC dissolves a datagram
// socket's association, as Linux's inet_dgram_connect.
func (so *Socket) Connect(sa []byte) unix.Errno {
	if len(sa) < 2 {
		return unix.EINVAL
	}
	if family(sa) == unix.AF_UNSPEC {
		if so.stream() {
			// Linux's tcp_disconnect on an AF_UNSPEC connect: only an
			// unconnected socket takes it quietly here.
			if _, err := so.ep.GetRemoteAddress(); err == nil {
				return unix.EOPNOTSUPP
			}
			return 0
		}
		return errno(so.ep.Disconnect())
	}
	fa, e := parseAddr(so.dom, sa, !so.stream())
	if e != 0 {
		return e
	}
	if fa.Addr.Len() == 0 {
		// Linux connects to the unspecified address as to loopback.
		if so.dom == unix.AF_INET {
			fa.Addr = tcpip.AddrFrom4([4]byte{127, 0, 0, 1})
		} else {
			fa.Addr = tcpip.AddrFrom16([16]byte{15: 1})
		}
	}
	so.newOp()
	err := so.ep.Connect(fa)
	if _, ok := err.(*tcpip.ErrConnectStarted); ok {
		return unix.EINPROGRESS
	}
	return errno(err)
}

// sockError is SO_ERROR: the pending error, once. netstack keeps a
// failed connection's error as its state, so having reported it, the
// socket reads 0 until its next operation, as Linux's sock_error.
func (so *Socket) sockError() unix.Errno {
	e := errno(so.ep.LastError())
	so.mu.Lock()
	defer so.mu.Unlock()
	if e == 0 || so.errTaken {
		return 0
	}
	so.errTaken = true
	return e
}

// newOp forgets that SO_ERROR was reported: a new call can fail anew.
func (so *Socket) newOp() {
	so.mu.Lock()
	so.errTaken = false
	so.mu.Unlock()
}

// Shutdown implements posix.Socket.
func (so *Socket) Shutdown(how int) unix.Errno {
	var f tcpip.ShutdownFlags
	switch how {
	case unix.SHUT_RD:
		f = tcpip.ShutdownRead
	case unix.SHUT_WR:
		f = tcpip.ShutdownWrite
	case unix.SHUT_RDWR:
		f = tcpip.ShutdownRead | tcpip.ShutdownWrite
	default:
		return unix.EINVAL
	}
	if err := so.ep.Shutdown(f); err != nil {
		return errno(err)
	}
	so.mu.Lock()
	so.readShut = so.readShut || f&tcpip.ShutdownRead != 0
	so.writeShut = so.writeShut || f&tcpip.ShutdownWrite != 0
	so.mu.Unlock()
	return 0
}

// SockName implements posix.Socket.
func (so *Socket) SockName() ([]byte, unix.Errno) {
	fa, err := so.ep.GetLocalAddress()
	if err != nil {
		return nil, errno(err)
	}
	return encodeAddr(so.dom, fa), 0
}

// PeerName implements posix.Socket.
func (so *Socket) PeerName() ([]byte, unix.Errno) {
	fa, err := so.ep.GetRemoteAddress()
	if err != nil {
		return nil, unix.ENOTCONN
	}
	return encodeAddr(so.dom, fa), 0
}

// sendFlags are the MSG_* flags an inet send understands; the others are
// EOPNOTSUPP, as Linux's tcp_sendmsg and udp_sendmsg answer MSG_OOB on
// datagrams.
const sendFlags = unix.MSG_DONTWAIT | unix.MSG_NOSIGNAL | unix.MSG_MORE | unix.MSG_EOR |
	unix.MSG_DONTROUTE | unix.MSG_CONFIRM | unix.MSG_WAITALL | unix.MSG_FASTOPEN | unix.MSG_ZEROCOPY

// SendMsg implements posix.Socket.
func (so *Socket) SendMsg(p []byte, to []byte, ctl *posix.ControlMessages, flags int) (int, unix.Errno) {
	ctl.CloseRights() // SCM_RIGHTS means nothing to inet
	if flags&unix.MSG_OOB != 0 {
		return 0, unix.EOPNOTSUPP
	}
	so.newOp()
	opts := tcpip.WriteOptions{More: flags&unix.MSG_MORE != 0, EndOfRecord: flags&unix.MSG_EOR != 0}
	if to != nil && !so.stream() {
		fa, e := so.destination(to)
		if e != 0 {
			return 0, e
		}
		if fa.Addr.Len() == 0 {
			if so.dom == unix.AF_INET {
				fa.Addr = tcpip.AddrFrom4([4]byte{127, 0, 0, 1})
			} else {
				fa.Addr = tcpip.AddrFrom16([16]byte{15: 1})
			}
		}
		opts.To = &fa
	}
	n, err := so.ep.Write(bytes.NewReader(p), opts)
	switch err.(type) {
	case nil:
		return int(n), 0
	case *tcpip.ErrNotConnected:
		if so.stream() {
			return 0, unix.EPIPE
		}
		return 0, unix.EDESTADDRREQ
	case *tcpip.ErrWouldBlock:
		if n > 0 {
			return int(n), 0
		}
	}
	return int(n), errno(err)
}

// destination reads a datagram's destination address.
func (so *Socket) destination(to []byte) (tcpip.FullAddress, unix.Errno) {
	fa, e := parseAddr(so.dom, to, true)
	if e != 0 && family(to) == unix.AF_UNSPEC && len(to) >= sizeofSockaddrIn && so.dom == unix.AF_INET {
		// Linux's udp_sendmsg takes AF_UNSPEC as AF_INET.
		fa, e = v4addr(to), 0
	}
	if e == 0 && fa.Port == 0 && so.proto == unix.IPPROTO_UDP {
		return fa, unix.EINVAL // udp_sendmsg: no destination port
	}
	return fa, e
}

// CheckAddr implements posix.AddrChecker.
func (so *Socket) CheckAddr(to []byte) unix.Errno {
	if so.stream() {
		return 0
	}
	_, e := so.destination(to)
	return e
}

// recvFlags are the MSG_* flags an inet receive understands.
const recvFlags = unix.MSG_PEEK | unix.MSG_DONTWAIT | unix.MSG_WAITALL | unix.MSG_TRUNC |
	unix.MSG_CMSG_CLOEXEC | unix.MSG_ERRQUEUE | unix.MSG_OOB

// RecvMsg implements posix.Socket.
func (so *Socket) RecvMsg(p []byte, flags int) (posix.RecvResult, unix.Errno) {
	var r posix.RecvResult
	if flags&unix.MSG_OOB != 0 {
		// No urgent data is ever queued (netstack keeps it inline).
		return r, unix.EINVAL
	}
	if flags&unix.MSG_ERRQUEUE != 0 {
		return so.recvErr(p, flags) // never waits, as Linux's ip_recv_error
	}
	if len(p) == 0 && so.stream() {
		return r, 0 // tcp_recvmsg: nothing asked, nothing taken
	}
	var w io.Writer
	if len(p) == 0 {
		// A datagram read into no buffer takes the datagram whole and
		// reports it truncated; netstack wants somewhere to put it.
		w = discard{}
	} else {
		sw := tcpip.SliceWriter(p)
		w = &sw
	}
	res, err := so.ep.Read(w, tcpip.ReadOptions{Peek: flags&unix.MSG_PEEK != 0, NeedRemoteAddr: !so.stream()})
	if len(p) == 0 {
		res.Count = 0
	}
	switch err.(type) {
	case nil:
	case *tcpip.ErrClosedForReceive:
		return r, 0
	case *tcpip.ErrNotConnected:
		if so.stream() {
			return r, unix.ENOTCONN
		}
		return r, unix.EAGAIN
	case *tcpip.ErrWouldBlock:
		so.mu.Lock()
		shut := so.readShut
		so.mu.Unlock()
		if shut {
			return r, 0
		}
		return r, unix.EAGAIN
	default:
		return r, errno(err)
	}
	r.N, r.Total = res.Count, res.Total
	if !so.stream() {
		r.From = encodeAddr(so.dom, res.RemoteAddr)
		if res.Total > res.Count {
			r.Flags |= unix.MSG_TRUNC
		}
	}
	r.Control.Other = so.controlMessages(res.ControlMessages)
	r.Control.Other = append(r.Control.Other, so.socketMessages(res.ControlMessages)...)
	return r, 0
}

// Ioctl implements posix.Ioctler: the queue sizes and the interface
// requests of Linux's sock_ioctl and dev_ioctl.
func (so *Socket) Ioctl(mem posix.GuestMemory, cmd uint32, arg uint64) (uint64, unix.Errno) {
	switch cmd {
	case unix.SIOCINQ: // FIONREAD
		v, err := so.ep.GetSockOptInt(tcpip.ReceiveQueueSizeOption)
		if err != nil {
			if _, ok := err.(*tcpip.ErrQueueSizeNotSupported); ok {
				return 0, unix.EINVAL // Linux's tcp_ioctl on a listener
			}
			return 0, errno(err)
		}
		return 0, mem.CopyOut(arg, posix.IntOpt(v, 4))
	case unix.SIOCOUTQ:
		v, err := so.ep.GetSockOptInt(tcpip.SendQueueSizeOption)
		if err != nil {
			return 0, errno(err)
		}
		return 0, mem.CopyOut(arg, posix.IntOpt(v, 4))
	case FIONBIO:
		var b [4]byte
		if e := mem.CopyIn(arg, b[:]); e != 0 {
			return 0, e
		}
		fl := so.Flags() &^ unix.O_NONBLOCK
		if b != ([4]byte{}) {
			fl |= unix.O_NONBLOCK
		}
		so.SetFlags(fl)
		return 0, 0
	}
	return so.stack.ifIoctl(mem, cmd, arg)
}

// discard takes bytes and keeps none.
type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
