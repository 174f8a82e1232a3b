package inet

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/waiter"
	"golang.org/x/sys/unix"
)

// Netlink message layout (linux/netlink.h, linux/rtnetlink.h).
const (
	nlmsgHdrLen      = 16 // struct nlmsghdr
	sizeofSockaddrNL = 12
	ifinfomsgLen     = 16
	ifaddrmsgLen     = 8
	rtmsgLen         = 12

	NLMSG_ERROR = 2
	NLMSG_DONE  = 3

	RTM_NEWLINK  = 16
	RTM_GETLINK  = 18
	RTM_NEWADDR  = 20
	RTM_GETADDR  = 22
	RTM_NEWROUTE = 24
	RTM_GETROUTE = 26

	NLM_F_REQUEST = 0x1
	NLM_F_MULTI   = 0x2
	NLM_F_ACK     = 0x4
	NLM_F_DUMP    = 0x300

	IFLA_ADDRESS = 1
	IFLA_IFNAME  = 3
	IFLA_MTU     = 4

	IFA_ADDRESS = 1
	IFA_LOCAL   = 2
	IFA_LABEL   = 3

	IFA_F_PERMANENT = 0x80

	RT_SCOPE_UNIVERSE = 0
	RT_SCOPE_LINK     = 253
	RT_SCOPE_HOST     = 254
)

// Netlink is an AF_NETLINK socket of protocol NETLINK_ROUTE: it answers
// the dump requests for links and addresses (what Go's net.Interfaces and
// net.InterfaceAddrs, glibc's getifaddrs and `ip addr` send) from the
// stack's interfaces. Every reply message is its own datagram. Requests
// that would change the configuration are refused with EPERM in an
// NLMSG_ERROR, as for a process without CAP_NET_ADMIN; other requests get
// EOPNOTSUPP.
type Netlink struct {
	posix.StatusFlags
	posix.SockTimeouts
	posix.SockIno
	stack *Stack
	typ   int

	mu      sync.Mutex
	port    uint32
	queue   [][]byte // reply datagrams
	q       waiter.Queue
	passcrd bool
}

var nlPorts atomic.Uint32

// NewNetlink is socket(AF_NETLINK, typ, proto).
func (s *Stack) NewNetlink(typ, proto int) (*Netlink, unix.Errno) {
	t := typ &^ (unix.SOCK_NONBLOCK | unix.SOCK_CLOEXEC)
	if t != unix.SOCK_RAW && t != unix.SOCK_DGRAM {
		return nil, unix.ESOCKTNOSUPPORT
	}
	if proto != unix.NETLINK_ROUTE {
		return nil, unix.EPROTONOSUPPORT
	}
	n := &Netlink{stack: s, typ: t}
	fl := unix.O_RDWR
	if typ&unix.SOCK_NONBLOCK != 0 {
		fl |= unix.O_NONBLOCK
	}
	n.Init(fl)
	return n, 0
}

// Domain implements posix.Socket.
func (n *Netlink) Domain() int { return unix.AF_NETLINK }

// Type implements posix.Socket.
func (n *Netlink) Type() int { return n.typ }

// Protocol implements posix.Socket.
func (n *Netlink) Protocol() int { return unix.NETLINK_ROUTE }

// Read implements posix.File.
func (n *Netlink) Read(p []byte) (int, unix.Errno) {
	r, e := n.RecvMsg(p, 0)
	return r.N, e
}

// Write implements posix.File.
func (n *Netlink) Write(p []byte) (int, unix.Errno) { return n.SendMsg(p, nil, nil, 0) }

// Close implements posix.File.
func (n *Netlink) Close() unix.Errno { return 0 }

// Readiness implements waiter.Waitable.
func (n *Netlink) Readiness(mask uint32) uint32 {
	n.mu.Lock()
	r := uint32(waiter.EPOLLOUT | waiter.EPOLLWRNORM)
	if len(n.queue) > 0 {
		r |= waiter.EPOLLIN | waiter.EPOLLRDNORM
	}
	n.mu.Unlock()
	return r & (mask | waiter.EPOLLERR | waiter.EPOLLHUP)
}

// EventRegister implements waiter.Waitable.
func (n *Netlink) EventRegister(e *waiter.Entry) { n.q.EventRegister(e) }

// EventUnregister implements waiter.Waitable.
func (n *Netlink) EventUnregister(e *waiter.Entry) { n.q.EventUnregister(e) }

// autobind gives the socket a port id, as Linux's netlink_autobind: the
// first socket gets the process id (1, the guest's), later ones negative
// numbers.
func (n *Netlink) autobind() uint32 {
	if n.port == 0 {
		if c := nlPorts.Add(1); c == 1 {
			n.port = 1
		} else {
			n.port = uint32(-4096 - int32(c))
		}
	}
	return n.port
}

func parseNL(sa []byte) (port uint32, e unix.Errno) {
	if len(sa) < sizeofSockaddrNL {
		return 0, unix.EINVAL
	}
	if family(sa) != unix.AF_NETLINK {
		return 0, unix.EINVAL
	}
	return binary.LittleEndian.Uint32(sa[4:]), 0
}

func nlAddr(port uint32) []byte {
	b := make([]byte, sizeofSockaddrNL)
	binary.LittleEndian.PutUint16(b, unix.AF_NETLINK)
	binary.LittleEndian.PutUint32(b[4:], port)
	return b
}

// Bind implements posix.Socket: port 0 asks for one; multicast groups are
// not offered (EPERM would be a lie for the unprivileged ones, so they are
// accepted and never receive anything).
func (n *Netlink) Bind(sa []byte) unix.Errno {
	port, e := parseNL(sa)
	if e != 0 {
		return e
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if port != 0 {
		if n.port != 0 && n.port != port {
			return unix.EINVAL
		}
		n.port = port
		return 0
	}
	n.autobind()
	return 0
}

// Listen implements posix.Socket.
func (n *Netlink) Listen(int) unix.Errno { return unix.EOPNOTSUPP }

// Accept implements posix.Socket.
func (n *Netlink) Accept(int) (posix.Socket, []byte, unix.Errno) { return nil, nil, unix.EOPNOTSUPP }

// Connect implements posix.Socket: only the kernel (port 0) can be talked to.
func (n *Netlink) Connect(sa []byte) unix.Errno {
	if len(sa) >= 2 && family(sa) == unix.AF_UNSPEC {
		return 0
	}
	if _, e := parseNL(sa); e != 0 {
		return e
	}
	n.mu.Lock()
	n.autobind()
	n.mu.Unlock()
	return 0
}

// Shutdown implements posix.Socket.
func (n *Netlink) Shutdown(int) unix.Errno { return unix.EOPNOTSUPP }

// SockName implements posix.Socket.
func (n *Netlink) SockName() ([]byte, unix.Errno) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return nlAddr(n.port), 0
}

// PeerName implements posix.Socket.
func (n *Netlink) PeerName() ([]byte, unix.Errno) { return nlAddr(0), 0 }

// GetSockOpt implements posix.Socket.
func (n *Netlink) GetSockOpt(level, name, optlen int) ([]byte, unix.Errno) {
	if optlen < 0 {
		return nil, unix.EINVAL
	}
	if level != unix.SOL_SOCKET {
		return nil, unix.ENOPROTOOPT
	}
	if b, ok := n.GetTimeout(name, optlen); ok {
		return b, 0
	}
	switch name {
	case unix.SO_TYPE:
		return posix.IntOpt(n.typ, optlen), 0
	case unix.SO_DOMAIN:
		return posix.IntOpt(unix.AF_NETLINK, optlen), 0
	case unix.SO_PROTOCOL:
		return posix.IntOpt(unix.NETLINK_ROUTE, optlen), 0
	case unix.SO_ERROR:
		return posix.IntOpt(0, optlen), 0
	case unix.SO_RCVBUF, unix.SO_SNDBUF:
		return posix.IntOpt(posix.SockMaxBuf, optlen), 0
	}
	return nil, unix.ENOPROTOOPT
}

// SetSockOpt implements posix.Socket.
func (n *Netlink) SetSockOpt(level, name int, val []byte) unix.Errno {
	if level == unix.SOL_SOCKET {
		if e, ok := n.SetTimeout(name, val); ok {
			return e
		}
		switch name {
		case unix.SO_RCVBUF, unix.SO_SNDBUF, unix.SO_RCVBUFFORCE, unix.SO_SNDBUFFORCE:
			_, e := posix.OptInt(val)
			return e
		}
	}
	if level == unix.SOL_NETLINK {
		switch name {
		case unix.NETLINK_EXT_ACK, unix.NETLINK_GET_STRICT_CHK, unix.NETLINK_CAP_ACK:
			_, e := posix.OptInt(val)
			return e
		}
	}
	return unix.ENOPROTOOPT
}

// RecvMsg implements posix.Socket.
func (n *Netlink) RecvMsg(p []byte, flags int) (posix.RecvResult, unix.Errno) {
	var r posix.RecvResult
	n.mu.Lock()
	if len(n.queue) == 0 {
		n.mu.Unlock()
		return r, unix.EAGAIN
	}
	d := n.queue[0]
	if flags&unix.MSG_PEEK == 0 {
		n.queue = n.queue[1:]
	}
	n.mu.Unlock()
	r.N = copy(p, d)
	r.Total = len(d)
	if r.Total > r.N {
		r.Flags |= unix.MSG_TRUNC
	}
	r.From = nlAddr(0)
	return r, 0
}

// SendMsg implements posix.Socket: each message in p is a request.
func (n *Netlink) SendMsg(p []byte, to []byte, ctl *posix.ControlMessages, flags int) (int, unix.Errno) {
	ctl.CloseRights()
	if to != nil {
		port, e := parseNL(to)
		if e != 0 {
			return 0, e
		}
		if port != 0 {
			return 0, unix.ECONNREFUSED // no other netlink user exists
		}
	}
	n.mu.Lock()
	port := n.autobind()
	n.mu.Unlock()
	var replies [][]byte
	le := binary.LittleEndian
	for off := 0; off+nlmsgHdrLen <= len(p); {
		l := int(le.Uint32(p[off:]))
		if l < nlmsgHdrLen || off+l > len(p) {
			break // Linux drops a malformed tail silently
		}
		msg := p[off : off+l]
		replies = append(replies, n.handle(msg, port)...)
		off += (l + 3) &^ 3
	}
	if len(replies) > 0 {
		n.mu.Lock()
		n.queue = append(n.queue, replies...)
		n.mu.Unlock()
		n.q.Notify(waiter.EPOLLIN | waiter.EPOLLRDNORM)
	}
	return len(p), 0
}

// nlMsg builds one netlink message.
func nlMsg(typ, flags uint16, seq, port uint32, body []byte) []byte {
	b := make([]byte, nlmsgHdrLen, nlmsgHdrLen+len(body))
	b = append(b, body...)
	le := binary.LittleEndian
	le.PutUint32(b[0:], uint32(len(b)))
	le.PutUint16(b[4:], typ)
	le.PutUint16(b[6:], flags)
	le.PutUint32(b[8:], seq)
	le.PutUint32(b[12:], port)
	return b
}

// rtattr appends a route attribute, padded to 4 bytes.
func rtattr(b []byte, typ uint16, val []byte) []byte {
	h := make([]byte, 4)
	binary.LittleEndian.PutUint16(h, uint16(4+len(val)))
	binary.LittleEndian.PutUint16(h[2:], typ)
	b = append(b, h...)
	b = append(b, val...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func nlError(e unix.Errno, req []byte, seq, port uint32) []byte {
	body := make([]byte, 4, 4+nlmsgHdrLen)
	binary.LittleEndian.PutUint32(body, uint32(-int32(e)))
	body = append(body, req[:nlmsgHdrLen]...)
	return nlMsg(NLMSG_ERROR, 0, seq, port, body)
}

func (n *Netlink) handle(msg []byte, port uint32) [][]byte {
	le := binary.LittleEndian
	typ := le.Uint16(msg[4:])
	fl := le.Uint16(msg[6:])
	seq := le.Uint32(msg[8:])
	if fl&NLM_F_REQUEST == 0 {
		return nil
	}
	var family uint8
	if len(msg) > nlmsgHdrLen {
		family = msg[nlmsgHdrLen]
	}
	var out [][]byte
	switch typ {
	case RTM_GETLINK:
		if fl&NLM_F_DUMP != NLM_F_DUMP {
			return [][]byte{nlError(unix.EOPNOTSUPP, msg, seq, port)}
		}
		for _, ifc := range n.stack.interfaces() {
			body := make([]byte, ifinfomsgLen)
			le.PutUint16(body[2:], ifc.typ)
			le.PutUint32(body[4:], uint32(ifc.index))
			le.PutUint32(body[8:], ifc.flags)
			body = rtattr(body, IFLA_IFNAME, append([]byte(ifc.name), 0))
			mtu := make([]byte, 4)
			le.PutUint32(mtu, ifc.mtu)
			body = rtattr(body, IFLA_MTU, mtu)
			if len(ifc.hw) > 0 {
				body = rtattr(body, IFLA_ADDRESS, ifc.hw)
			}
			out = append(out, nlMsg(RTM_NEWLINK, NLM_F_MULTI, seq, port, body))
		}
	case RTM_GETADDR:
		if fl&NLM_F_DUMP != NLM_F_DUMP {
			return [][]byte{nlError(unix.EOPNOTSUPP, msg, seq, port)}
		}
		for _, ifc := range n.stack.interfaces() {
			for _, p := range ifc.addrs {
				f := uint8(unix.AF_INET)
				if p.Addr().Is6() {
					f = unix.AF_INET6
				}
				if family != unix.AF_UNSPEC && family != f {
					continue
				}
				scope := uint8(RT_SCOPE_UNIVERSE)
				switch {
				case p.Addr().IsLoopback():
					scope = RT_SCOPE_HOST
				case p.Addr().IsLinkLocalUnicast():
					scope = RT_SCOPE_LINK
				}
				body := []byte{f, uint8(p.Bits()), IFA_F_PERMANENT, scope, 0, 0, 0, 0}
				le.PutUint32(body[4:], uint32(ifc.index))
				a := p.Addr().AsSlice()
				body = rtattr(body, IFA_ADDRESS, a)
				if f == unix.AF_INET {
					body = rtattr(body, IFA_LOCAL, a)
					body = rtattr(body, IFA_LABEL, append([]byte(ifc.name), 0))
				}
				out = append(out, nlMsg(RTM_NEWADDR, NLM_F_MULTI, seq, port, body))
			}
		}
	case RTM_GETROUTE:
		if fl&NLM_F_DUMP != NLM_F_DUMP {
			return [][]byte{nlError(unix.EOPNOTSUPP, msg, seq, port)}
		}
		// Routes are not described yet: an empty dump.
	case RTM_NEWLINK, RTM_NEWADDR, RTM_NEWROUTE, RTM_NEWLINK + 1, RTM_NEWADDR + 1, RTM_NEWROUTE + 1:
		return [][]byte{nlError(unix.EPERM, msg, seq, port)}
	default:
		return [][]byte{nlError(unix.EOPNOTSUPP, msg, seq, port)}
	}
	done := make([]byte, 4) // NLMSG_DONE carries an int: 0
	out = append(out, nlMsg(NLMSG_DONE, NLM_F_MULTI, seq, port, done))
	return out
}

// Timeouts are kept but a netlink reply is always there at once.
var _ = time.Second
