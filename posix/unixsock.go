package posix

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sort"
	"sync"

	"github.com/rumpgo/rumpgo/posix/waiter"
	"golang.org/x/sys/unix"
)

// AF_UNIX sockets: SOCK_STREAM, SOCK_DGRAM and SOCK_SEQPACKET, socketpair,
// abstract and path names, SCM_RIGHTS and SCM_CREDENTIALS, SO_PEERCRED.
//
// Path names are socket files: the syscall layer makes the file on bind
// and resolves it on connect and sendto (BindAt, ConnectAt, SendMsgTo),
// and names the socket in the namespace by the file's identity, so any
// spelling of the path reaches it, unlinking the file makes it
// unreachable, and a file whose socket closed refuses connections. Without
// that layer (Bind, Connect, SendMsg) a path name is keyed by its string.

// sizes of struct sockaddr_un (linux/un.h).
const (
	unixPathMax     = 108
	sizeofSockaddrU = 2 + unixPathMax
	// unixMaxDgramQlen is net.unix.max_dgram_qlen as Debian sets it: the
	// datagrams a receiver's queue holds before senders wait.
	unixMaxDgramQlen = 512
	// unixDefaultBuf is the default SO_SNDBUF (net.core.wmem_default).
	unixDefaultBuf = SockMaxBuf
	// unixMsgOverhead is what each queued message costs beyond its data
	// against the receiver's buffer, as Linux charges an skb's truesize:
	// without it, empty seqpacket messages or one-byte stream writes would
	// queue without bound in the monitor's memory.
	unixMsgOverhead = 256
)

// UnixNamespace holds the bound names of one machine's unix sockets.
type UnixNamespace struct {
	mu    sync.Mutex
	names map[string]*UnixSocket
	auto  uint32                   // the last autobind name
	live  map[*UnixSocket]struct{} // every open socket, for /proc/net/unix
}

// NewUnixNamespace returns an empty namespace.
func NewUnixNamespace() *UnixNamespace {
	return &UnixNamespace{names: map[string]*UnixSocket{}, live: map[*UnixSocket]struct{}{}}
}

// unixMsg is one message in a receive queue: a datagram, or a segment of
// a stream that carries its own control messages (a stream read does not
// run past the rights of another segment, as Linux's).
type unixMsg struct {
	data []byte
	from []byte // the sender's address (datagrams)
	cred Ucred
	ctl  ControlMessages
}

// UnixSocket is one AF_UNIX socket.
type UnixSocket struct {
	StatusFlags
	SockTimeouts
	SockIno
	ns   *UnixNamespace
	typ  int
	cred Ucred // the owner's credentials: what its peer's SO_PEERCRED says

	// q wakes this socket's waiters: data or a connection to take, a
	// shutdown, the peer's close. roomQ wakes those waiting to send to
	// this socket (its queue drained) or to connect to it (a connection
	// was accepted).
	q, roomQ waiter.Queue

	mu        sync.Mutex
	name      []byte // bound sockaddr as getsockname reports it (nil: unbound)
	key       string
	peer      *UnixSocket // connected peer, or a datagram socket's default destination
	peerCred  *Ucred
	listening bool
	backlog   int
	pending   []*UnixSocket // connections to accept
	rq        []unixMsg
	rqBytes   int
	sndbuf    int
	rcvbuf    int
	passcred  bool
	readShut  bool // no more data will come: our SHUT_RD or the peer's SHUT_WR
	writeShut bool // we sent SHUT_WR
	peerGone  bool // a connected peer closed
	closed    bool
	connected bool
	blockedOn *UnixSocket // an unconnected datagram send found it full
	// blockedNeed is the room the last datagram send that found its
	// receiver full needed: writability waits for that much, so a
	// blocked send is not woken to find it still does not fit (a spin).
	blockedNeed int
	extra       map[*waiter.Entry]*UnixSocket // entries also registered on another's roomQ
}

var _ Socket = (*UnixSocket)(nil)

// NewUnixSocket is socket(AF_UNIX, typ, proto): typ may carry
// SOCK_NONBLOCK; cred is the creating process's identity.
func (ns *UnixNamespace) NewUnixSocket(typ, proto int, cred Ucred) (*UnixSocket, unix.Errno) {
	t := typ &^ (unix.SOCK_NONBLOCK | unix.SOCK_CLOEXEC)
	switch t {
	case unix.SOCK_STREAM, unix.SOCK_DGRAM, unix.SOCK_SEQPACKET:
	case unix.SOCK_RAW:
		t = unix.SOCK_DGRAM // Linux: "SOCK_RAW is treated as SOCK_DGRAM"
	default:
		return nil, unix.ESOCKTNOSUPPORT
	}
	if proto != 0 && proto != unix.AF_UNIX {
		return nil, unix.EPROTONOSUPPORT
	}
	s := &UnixSocket{ns: ns, typ: t, cred: cred, sndbuf: unixDefaultBuf, rcvbuf: unixDefaultBuf}
	fl := unix.O_RDWR
	if typ&unix.SOCK_NONBLOCK != 0 {
		fl |= unix.O_NONBLOCK
	}
	s.Init(fl)
	ns.mu.Lock()
	ns.live[s] = struct{}{}
	ns.mu.Unlock()
	return s, 0
}

// UnixPair is socketpair(AF_UNIX, typ, proto).
func (ns *UnixNamespace) UnixPair(typ, proto int, cred Ucred) (*UnixSocket, *UnixSocket, unix.Errno) {
	a, e := ns.NewUnixSocket(typ, proto, cred)
	if e != 0 {
		return nil, nil, e
	}
	b, _ := ns.NewUnixSocket(typ, proto, cred)
	a.peer, b.peer = b, a
	a.peerCred, b.peerCred = &cred, &cred
	a.connected, b.connected = true, true
	return a, b, 0
}

// Domain implements Socket.
func (s *UnixSocket) Domain() int { return unix.AF_UNIX }

// Type implements Socket.
func (s *UnixSocket) Type() int { return s.typ }

// Protocol implements Socket.
func (s *UnixSocket) Protocol() int { return 0 }

func (s *UnixSocket) connOriented() bool { return s.typ != unix.SOCK_DGRAM }

// unixAddr reads a sockaddr_un as Linux's unix_validate_addr and
// unix_mkname: the key in the namespace and the name getsockname returns.
// A path ends at its first NUL; an abstract name (sun_path[0] == 0) is
// every byte given. len == 2 (family only) is autobind (key "").
func unixAddr(sa []byte) (key string, name []byte, e unix.Errno) {
	if len(sa) < 2 || len(sa) > sizeofSockaddrU {
		return "", nil, unix.EINVAL
	}
	if binary.LittleEndian.Uint16(sa) != unix.AF_UNIX {
		return "", nil, unix.EINVAL
	}
	path := sa[2:]
	if len(path) == 0 {
		return "", nil, 0
	}
	if path[0] == 0 {
		return "@" + string(path[1:]), append([]byte(nil), sa...), 0
	}
	n := 0
	for n < len(path) && path[n] != 0 {
		n++
	}
	name = make([]byte, 2+n+1) // Linux reports the terminating NUL too
	copy(name, sa[:2+n])
	return "/" + string(path[:n]), name, 0
}

func unnamed() []byte {
	b := make([]byte, 2)
	binary.LittleEndian.PutUint16(b, unix.AF_UNIX)
	return b
}

// Bind implements Socket.
func (s *UnixSocket) Bind(sa []byte) unix.Errno { return s.BindAt(sa, "") }

// BindAt binds sa under key, the identity of the socket file the caller
// made for sa's path ("": sa's own name).
func (s *UnixSocket) BindAt(sa []byte, fileKey string) unix.Errno {
	key, name, e := unixAddr(sa)
	if e != 0 {
		return e
	}
	if fileKey != "" {
		key = fileKey
	}
	ns := s.ns
	ns.mu.Lock()
	defer ns.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.name != nil {
		return unix.EINVAL
	}
	if key == "" {
		key, name = ns.autoName()
	}
	if _, ok := ns.names[key]; ok {
		return unix.EADDRINUSE
	}
	ns.names[key] = s
	s.key, s.name = key, name
	return 0
}

// autoName picks an unused abstract name of five hex digits, as Linux's
// unix_autobind. ns.mu is held.
func (ns *UnixNamespace) autoName() (string, []byte) {
	for {
		ns.auto = (ns.auto + 1) & 0xfffff
		n := fmt.Sprintf("%05x", ns.auto)
		if _, ok := ns.names["@"+n]; !ok {
			name := append(unnamed(), 0)
			return "@" + n, append(name, n...)
		}
	}
}

// lookup finds the socket bound to sa for a connect or send of type typ:
// ECONNREFUSED for a missing abstract name, ENOENT for a missing path
// (there is no socket file), EPROTOTYPE for a socket of another type.
func (ns *UnixNamespace) lookup(sa []byte, fileKey string, typ int) (*UnixSocket, unix.Errno) {
	key, _, e := unixAddr(sa)
	if e != 0 {
		return nil, e
	}
	if key == "" {
		return nil, unix.EINVAL
	}
	if fileKey != "" {
		// A socket file nobody is bound to (its socket closed) refuses.
		ns.mu.Lock()
		o := ns.names[fileKey]
		ns.mu.Unlock()
		if o == nil {
			return nil, unix.ECONNREFUSED
		}
		if o.typ != typ {
			return nil, unix.EPROTOTYPE
		}
		return o, 0
	}
	ns.mu.Lock()
	o := ns.names[key]
	ns.mu.Unlock()
	if o == nil {
		if key[0] == '/' {
			return nil, unix.ENOENT
		}
		return nil, unix.ECONNREFUSED
	}
	if o.typ != typ {
		if key[0] == '/' {
			return nil, unix.EPROTOTYPE
		}
		return nil, unix.ECONNREFUSED
	}
	return o, 0
}

// Listen implements Socket.
func (s *UnixSocket) Listen(backlog int) unix.Errno {
	if !s.connOriented() {
		return unix.EOPNOTSUPP
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.connected {
		return unix.EINVAL
	}
	if s.name == nil {
		// Linux requires a bound socket (unix_listen: EINVAL).
		return unix.EINVAL
	}
	if backlog < 0 || backlog > 4096 {
		backlog = 4096
	}
	s.listening, s.backlog = true, backlog
	return 0
}

// Accept implements Socket.
func (s *UnixSocket) Accept(flags int) (Socket, []byte, unix.Errno) {
	if !s.connOriented() {
		return nil, nil, unix.EOPNOTSUPP
	}
	s.mu.Lock()
	if !s.listening {
		s.mu.Unlock()
		return nil, nil, unix.EINVAL
	}
	if len(s.pending) == 0 {
		s.mu.Unlock()
		return nil, nil, unix.EAGAIN
	}
	c := s.pending[0]
	s.pending[0] = nil
	s.pending = s.pending[1:]
	s.mu.Unlock()
	s.roomQ.Notify(waiter.EPOLLOUT | waiter.EPOLLWRNORM)
	if flags&unix.SOCK_NONBLOCK != 0 {
		c.SetFlags(c.Flags() | unix.O_NONBLOCK)
	}
	c.mu.Lock()
	var peer []byte
	if c.peer != nil {
		peer = c.peer.sockName()
	}
	c.mu.Unlock()
	if peer == nil {
		peer = unnamed()
	}
	return c, peer, 0
}

func (s *UnixSocket) sockName() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.name == nil {
		return unnamed()
	}
	return append([]byte(nil), s.name...)
}

// Connect implements Socket. A stream or seqpacket connect completes at
// once, or answers EAGAIN while the listener's backlog is full; a
// datagram connect sets the default destination (AF_UNSPEC clears it).
func (s *UnixSocket) Connect(sa []byte) unix.Errno { return s.ConnectAt(sa, "") }

// ConnectAt is Connect to the socket bound at fileKey, the identity of the
// socket file sa's path names ("": sa's own name).
func (s *UnixSocket) ConnectAt(sa []byte, fileKey string) unix.Errno {
	if len(sa) >= 2 && binary.LittleEndian.Uint16(sa) == unix.AF_UNSPEC && !s.connOriented() {
		s.mu.Lock()
		s.peer, s.connected = nil, false
		s.mu.Unlock()
		return 0
	}
	if _, _, e := unixAddr(sa); e != 0 {
		return e
	}
	o, e := s.ns.lookup(sa, fileKey, s.typ)
	if e != 0 {
		return e
	}
	if !s.connOriented() {
		s.mu.Lock()
		s.peer, s.connected = o, true
		s.mu.Unlock()
		return 0
	}
	s.mu.Lock()
	switch {
	case s.connected:
		s.mu.Unlock()
		return unix.EISCONN
	case s.listening:
		s.mu.Unlock()
		return unix.EINVAL
	}
	s.mu.Unlock()
	// The server's end of the connection.
	srv, _ := s.ns.NewUnixSocket(s.typ, 0, Ucred{})
	o.mu.Lock()
	if !o.listening || o.closed {
		o.mu.Unlock()
		return unix.ECONNREFUSED
	}
	if len(o.pending) > o.backlog {
		o.mu.Unlock()
		s.mu.Lock()
		s.blockedOn = o
		s.mu.Unlock()
		return unix.EAGAIN
	}
	lcred := o.cred
	srv.cred = o.cred
	srv.name = append([]byte(nil), o.name...)
	scred := s.cred
	srv.peer, srv.peerCred, srv.connected = s, &scred, true
	srv.sndbuf, srv.rcvbuf = o.sndbuf, o.rcvbuf
	srv.passcred = o.passcred
	o.pending = append(o.pending, srv)
	o.mu.Unlock()
	s.mu.Lock()
	s.peer, s.peerCred, s.connected, s.blockedOn = srv, &lcred, true, nil
	s.mu.Unlock()
	o.q.Notify(waiter.EPOLLIN | waiter.EPOLLRDNORM)
	s.q.Notify(waiter.EPOLLOUT | waiter.EPOLLWRNORM)
	return 0
}

// Shutdown implements Socket.
func (s *UnixSocket) Shutdown(how int) unix.Errno {
	if how < unix.SHUT_RD || how > unix.SHUT_RDWR {
		return unix.EINVAL
	}
	s.mu.Lock()
	if !s.connected && s.connOriented() {
		s.mu.Unlock()
		return unix.ENOTCONN
	}
	rd := how == unix.SHUT_RD || how == unix.SHUT_RDWR
	wr := how == unix.SHUT_WR || how == unix.SHUT_RDWR
	s.readShut = s.readShut || rd
	s.writeShut = s.writeShut || wr
	peer := s.peer
	s.mu.Unlock()
	// A connection's shutdown is mirrored on the peer, as Linux's
	// unix_shutdown does for stream and seqpacket sockets.
	if peer != nil && s.connOriented() {
		peer.mu.Lock()
		if wr {
			peer.readShut = true
		}
		if rd {
			peer.writeShut = true
		}
		peer.mu.Unlock()
		peer.q.Notify(waiter.AllEvents)
		peer.roomQ.Notify(waiter.AllEvents)
	}
	s.q.Notify(waiter.AllEvents)
	return 0
}

// SockName implements Socket.
func (s *UnixSocket) SockName() ([]byte, unix.Errno) { return s.sockName(), 0 }

// PeerName implements Socket.
func (s *UnixSocket) PeerName() ([]byte, unix.Errno) {
	s.mu.Lock()
	p, ok := s.peer, s.connected
	s.mu.Unlock()
	if !ok || p == nil {
		return nil, unix.ENOTCONN
	}
	return p.sockName(), 0
}

// Read implements File.
func (s *UnixSocket) Read(p []byte) (int, unix.Errno) {
	r, e := s.RecvMsg(p, 0)
	r.Control.CloseRights() // a plain read discards rights, as Linux's
	return r.N, e
}

// Write implements File.
func (s *UnixSocket) Write(p []byte) (int, unix.Errno) { return s.SendMsg(p, nil, nil, 0) }

// Close implements File: queued rights are dropped, the peer sees end of
// file, and the name is freed (see the note on path names above).
func (s *UnixSocket) Close() unix.Errno {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return 0
	}
	s.closed = true
	peer := s.peer
	rq, pending := s.rq, s.pending
	s.rq, s.pending, s.rqBytes = nil, nil, 0
	key := s.key
	s.mu.Unlock()
	s.ns.mu.Lock()
	if key != "" && s.ns.names[key] == s {
		delete(s.ns.names, key)
	}
	delete(s.ns.live, s)
	s.ns.mu.Unlock()
	for i := range rq {
		rq[i].ctl.CloseRights()
	}
	for _, c := range pending {
		c.Close()
	}
	if peer != nil {
		peer.mu.Lock()
		if peer.peer == s && s.connOriented() {
			peer.peerGone, peer.readShut, peer.writeShut = true, true, true
		} else if peer.peer == s {
			// A datagram socket connected to us: its sends now fail
			// with ECONNREFUSED (Linux's unix_dgram_disconnected).
			peer.peerGone = true
		}
		peer.mu.Unlock()
		peer.q.Notify(waiter.AllEvents)
	}
	s.roomQ.Notify(waiter.AllEvents)
	return 0
}

// Readiness implements waiter.Waitable, as Linux's unix_poll and
// unix_dgram_poll.
func (s *UnixSocket) Readiness(mask uint32) uint32 {
	s.mu.Lock()
	var r uint32
	if len(s.rq) > 0 || len(s.pending) > 0 {
		r |= waiter.EPOLLIN | waiter.EPOLLRDNORM
	}
	if s.readShut {
		r |= waiter.EPOLLIN | waiter.EPOLLRDNORM | waiter.EPOLLRDHUP
	}
	if s.readShut && s.writeShut {
		r |= waiter.EPOLLHUP
	}
	if s.connOriented() && !s.connected && !s.listening {
		r |= waiter.EPOLLHUP
	}
	target := s.peer
	if !s.connected {
		target = s.blockedOn
	}
	listening, need := s.listening, s.blockedNeed
	s.mu.Unlock()
	switch {
	case listening:
	case target == nil:
		r |= waiter.EPOLLOUT | waiter.EPOLLWRNORM
	case target.hasRoom(need):
		r |= waiter.EPOLLOUT | waiter.EPOLLWRNORM
	}
	return r & (mask | waiter.EPOLLERR | waiter.EPOLLHUP)
}

// hasRoom reports whether a message can be queued on s, or a connection
// made to it; a closed socket has room (the send fails at once).
func (s *UnixSocket) hasRoom(need int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.readShut {
		return true
	}
	if s.listening {
		return len(s.pending) <= s.backlog
	}
	if s.typ == unix.SOCK_DGRAM && len(s.rq) >= unixMaxDgramQlen {
		return false
	}
	// Room for at least an empty message, as send counts it, and for the
	// datagram a blocked sender waits to queue (an empty queue takes any).
	if need > unixMsgOverhead && len(s.rq) > 0 {
		return s.queued()+need <= s.rcvbuf
	}
	return s.queued()+unixMsgOverhead < s.rcvbuf
}

// queued is what the receive queue costs against rcvbuf: its data and
// unixMsgOverhead per message (s.mu held).
func (s *UnixSocket) queued() int { return s.rqBytes + len(s.rq)*unixMsgOverhead }

// EventRegister implements waiter.Waitable: besides the socket's own
// events, a writer waits for room in its peer's queue.
func (s *UnixSocket) EventRegister(e *waiter.Entry) {
	s.q.EventRegister(e)
	s.mu.Lock()
	target := s.peer
	if !s.connected {
		target = s.blockedOn
	}
	if target != nil && target != s {
		if s.extra == nil {
			s.extra = map[*waiter.Entry]*UnixSocket{}
		}
		s.extra[e] = target
	}
	s.mu.Unlock()
	if target != nil && target != s {
		target.roomQ.EventRegister(e)
	}
}

// EventUnregister implements waiter.Waitable.
func (s *UnixSocket) EventUnregister(e *waiter.Entry) {
	s.q.EventUnregister(e)
	s.mu.Lock()
	target := s.extra[e]
	delete(s.extra, e)
	s.mu.Unlock()
	if target != nil {
		target.roomQ.EventUnregister(e)
	}
}

// SendMsg implements Socket.
func (s *UnixSocket) SendMsg(p []byte, to []byte, ctl *ControlMessages, flags int) (int, unix.Errno) {
	return s.SendMsgTo(p, to, "", ctl, flags)
}

// SendMsgTo is SendMsg to the socket bound at toKey, the identity of the
// socket file to's path names ("": to's own name).
func (s *UnixSocket) SendMsgTo(p []byte, to []byte, toKey string, ctl *ControlMessages, flags int) (int, unix.Errno) {
	n, e := s.send(p, to, toKey, ctl, flags)
	if e != 0 && e != unix.EAGAIN {
		ctl.CloseRights()
	}
	return n, e
}

func (s *UnixSocket) send(p []byte, to []byte, toKey string, ctl *ControlMessages, flags int) (int, unix.Errno) {
	if flags&unix.MSG_OOB != 0 {
		return 0, unix.EOPNOTSUPP
	}
	msg := unixMsg{cred: s.cred}
	if ctl != nil {
		msg.ctl = *ctl
		if ctl.Cred != nil {
			msg.cred = *ctl.Cred
		}
	}
	s.mu.Lock()
	peer, connected, writeShut, peerGone := s.peer, s.connected, s.writeShut, s.peerGone
	sndbuf := s.sndbuf
	s.mu.Unlock()
	if s.connOriented() {
		if to != nil && s.typ == unix.SOCK_STREAM {
			if connected {
				return 0, unix.EISCONN
			}
			return 0, unix.EOPNOTSUPP
		}
		if !connected {
			if writeShut {
				return 0, unix.EPIPE
			}
			return 0, unix.ENOTCONN
		}
		if writeShut || peerGone {
			return 0, unix.EPIPE
		}
	} else {
		if to != nil {
			o, e := s.ns.lookup(to, toKey, s.typ)
			if e != 0 {
				return 0, e
			}
			peer = o
		} else if !connected || peer == nil {
			return 0, unix.ENOTCONN
		} else if peerGone {
			return 0, unix.ECONNREFUSED
		}
		if writeShut {
			return 0, unix.EPIPE
		}
		// An unbound sender has no address to give: the receiver's
		// msg_namelen is 0, as Linux's unix_copy_addr leaves it.
		if from := s.sockName(); len(from) > 2 {
			msg.from = from
		}
	}
	if s.typ != unix.SOCK_STREAM && len(p) > sndbuf {
		return 0, unix.EMSGSIZE
	}
	if s.typ == unix.SOCK_STREAM && len(p) == 0 {
		// Linux's unix_stream_sendmsg queues nothing for no data, and
		// control messages need at least one byte (unix(7)).
		ctl.CloseRights()
		return 0, 0
	}
	peer.mu.Lock()
	switch {
	case peer.closed && !s.connOriented():
		peer.mu.Unlock()
		return 0, unix.ECONNREFUSED
	case peer.closed || peer.readShut:
		peer.mu.Unlock()
		return 0, unix.EPIPE
	case !s.connOriented() && peer.connected && peer.peer != s:
		peer.mu.Unlock()
		return 0, unix.EPERM // unix_may_send: it talks to someone else
	}
	room := peer.rcvbuf - peer.queued()
	if s.typ == unix.SOCK_DGRAM && len(peer.rq) >= unixMaxDgramQlen {
		room = 0
	}
	n := len(p)
	if s.typ == unix.SOCK_STREAM {
		n = min(n, room)
		if n <= 0 && len(p) > 0 {
			peer.mu.Unlock()
			s.noteBlocked(peer)
			return 0, unix.EAGAIN
		}
	} else if room < len(p)+unixMsgOverhead && len(peer.rq) > 0 {
		peer.mu.Unlock()
		s.noteBlocked(peer)
		s.mu.Lock()
		s.blockedNeed = len(p) + unixMsgOverhead
		s.mu.Unlock()
		return 0, unix.EAGAIN
	}
	if s.typ != unix.SOCK_STREAM {
		s.mu.Lock()
		s.blockedNeed = 0
		s.mu.Unlock()
	}
	msg.data = append([]byte(nil), p[:n]...)
	peer.rq = append(peer.rq, msg)
	peer.rqBytes += n
	peer.mu.Unlock()
	peer.q.Notify(waiter.EPOLLIN | waiter.EPOLLRDNORM)
	return n, 0
}

// noteBlocked remembers which receiver an unconnected datagram send found
// full, so a wait for writability waits for room there.
func (s *UnixSocket) noteBlocked(peer *UnixSocket) {
	s.mu.Lock()
	if !s.connected {
		s.blockedOn = peer
	}
	s.mu.Unlock()
}

// RecvMsg implements Socket.
func (s *UnixSocket) RecvMsg(p []byte, flags int) (RecvResult, unix.Errno) {
	var r RecvResult
	if flags&unix.MSG_OOB != 0 {
		return r, unix.EOPNOTSUPP
	}
	peek := flags&unix.MSG_PEEK != 0
	s.mu.Lock()
	if s.listening {
		s.mu.Unlock()
		return r, unix.EINVAL
	}
	if len(s.rq) == 0 {
		eof := s.readShut || (s.connOriented() && s.peerGone)
		notConn := s.connOriented() && !s.connected
		s.mu.Unlock()
		switch {
		case eof:
			return r, 0
		case notConn && s.typ == unix.SOCK_STREAM:
			return r, unix.EINVAL // Linux's unix_stream_read_generic
		case notConn:
			return r, unix.ENOTCONN
		}
		return r, unix.EAGAIN
	}
	passcred := s.passcred
	if s.typ != unix.SOCK_STREAM {
		m := &s.rq[0]
		r.N = copy(p, m.data)
		r.Total = len(m.data)
		if r.Total > r.N {
			r.Flags |= unix.MSG_TRUNC
		}
		r.From = m.from
		sender := m.cred // m is cleared below when the message is taken
		if peek {
			// A peek sees the rights without taking them.
			r.Control.Rights = nil
		} else {
			r.Control = m.ctl
			s.rqBytes -= len(m.data)
			s.rq[0] = unixMsg{}
			s.rq = s.rq[1:]
		}
		if passcred {
			c := sender
			r.Control.Cred = &c
		}
		if !peek && len(s.rq) == 0 {
			s.rq = nil
		}
		s.mu.Unlock()
		if !peek {
			s.roomQ.Notify(waiter.EPOLLOUT | waiter.EPOLLWRNORM)
		}
		if r.Control.Cred != nil && !passcred {
			r.Control.Cred = nil
		}
		return r, 0
	}
	// A stream: read across segments, but stop after one that carried
	// rights and before another's, and (with SO_PASSCRED) at a change of
	// sender, as Linux's unix_stream_read_generic.
	var cred *Ucred
	i := 0
	for i < len(s.rq) && r.N < len(p) {
		m := &s.rq[i]
		if r.N > 0 && (len(m.ctl.Rights) > 0 || (passcred && cred != nil && *cred != m.cred)) {
			break
		}
		if cred == nil {
			c := m.cred
			cred = &c
		}
		c := copy(p[r.N:], m.data)
		r.N += c
		hadRights := len(m.ctl.Rights) > 0
		if !peek {
			if hadRights {
				r.Control.Rights = append(r.Control.Rights, m.ctl.Rights...)
				m.ctl.Rights = nil
			}
			m.data = m.data[c:]
			s.rqBytes -= c
			if len(m.data) == 0 {
				i++
			}
		} else {
			i++
		}
		if hadRights {
			break
		}
	}
	if !peek {
		clear(s.rq[:i])
		s.rq = s.rq[i:]
		if len(s.rq) == 0 {
			s.rq = nil
		}
	}
	r.Total = r.N
	s.mu.Unlock()
	if passcred && cred != nil {
		r.Control.Cred = cred
	}
	if !peek {
		s.roomQ.Notify(waiter.EPOLLOUT | waiter.EPOLLWRNORM)
	}
	return r, 0
}

// GetSockOpt implements Socket.
func (s *UnixSocket) GetSockOpt(level, name, optlen int) ([]byte, unix.Errno) {
	if optlen < 0 {
		return nil, unix.EINVAL
	}
	if level != unix.SOL_SOCKET {
		return nil, unix.EOPNOTSUPP // unix sockets have no other level
	}
	if b, ok := s.GetTimeout(name, optlen); ok {
		return b, 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	bool01 := func(b bool) int {
		if b {
			return 1
		}
		return 0
	}
	switch name {
	case unix.SO_TYPE:
		return IntOpt(s.typ, optlen), 0
	case unix.SO_DOMAIN:
		return IntOpt(unix.AF_UNIX, optlen), 0
	case unix.SO_PROTOCOL:
		return IntOpt(0, optlen), 0
	case unix.SO_ERROR:
		return IntOpt(0, optlen), 0
	case unix.SO_ACCEPTCONN:
		return IntOpt(bool01(s.listening), optlen), 0
	case unix.SO_PASSCRED:
		return IntOpt(bool01(s.passcred), optlen), 0
	case unix.SO_SNDBUF:
		return IntOpt(s.sndbuf, optlen), 0
	case unix.SO_RCVBUF:
		return IntOpt(s.rcvbuf, optlen), 0
	case unix.SO_REUSEADDR, unix.SO_KEEPALIVE, unix.SO_BROADCAST, unix.SO_REUSEPORT:
		return IntOpt(0, optlen), 0
	case unix.SO_PEERCRED:
		u := Ucred{PID: 0, UID: ^uint32(0), GID: ^uint32(0)}
		if s.peerCred != nil {
			u = *s.peerCred
		}
		return u.Bytes()[:min(optlen, 12)], 0
	case unix.SO_LINGER:
		return make([]byte, min(optlen, 8)), 0
	}
	return nil, unix.ENOPROTOOPT
}

// SetSockOpt implements Socket.
func (s *UnixSocket) SetSockOpt(level, name int, val []byte) unix.Errno {
	if level != unix.SOL_SOCKET {
		return unix.EOPNOTSUPP
	}
	if e, ok := s.SetTimeout(name, val); ok {
		return e
	}
	if name == unix.SO_LINGER {
		if len(val) < 8 {
			return unix.EINVAL
		}
		return 0 // unix sockets have nothing to linger over
	}
	v, e := OptInt(val)
	if e != 0 {
		return e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch name {
	case unix.SO_PASSCRED:
		s.passcred = v != 0
	case unix.SO_SNDBUF, unix.SO_SNDBUFFORCE:
		s.sndbuf = max(min(int(uint32(v)), SockMaxBuf)*2, SockMinSndBuf)
	case unix.SO_RCVBUF, unix.SO_RCVBUFFORCE:
		s.rcvbuf = max(min(int(uint32(v)), SockMaxBuf)*2, SockMinRcvBuf)
	case unix.SO_REUSEADDR, unix.SO_KEEPALIVE, unix.SO_BROADCAST:
		// Accepted and meaningless for unix sockets, as on Linux.
	default:
		return unix.ENOPROTOOPT
	}
	return 0
}

// Ioctl implements Ioctler: the queue sizes.
func (s *UnixSocket) Ioctl(mem GuestMemory, cmd uint32, arg uint64) (uint64, unix.Errno) {
	switch cmd {
	case unix.SIOCINQ:
		s.mu.Lock()
		n := s.rqBytes
		if s.typ != unix.SOCK_STREAM {
			n = 0
			if len(s.rq) > 0 {
				n = len(s.rq[0].data)
			}
		}
		listening := s.listening
		s.mu.Unlock()
		if listening {
			return 0, unix.EINVAL
		}
		return 0, mem.CopyOut(arg, IntOpt(n, 4))
	case unix.SIOCOUTQ:
		s.mu.Lock()
		p := s.peer
		s.mu.Unlock()
		n := 0
		if p != nil && s.connOriented() {
			p.mu.Lock()
			n = p.rqBytes
			p.mu.Unlock()
		}
		return 0, mem.CopyOut(arg, IntOpt(n, 4))
	case 0x5421: // FIONBIO
		var b [4]byte
		if e := mem.CopyIn(arg, b[:]); e != 0 {
			return 0, e
		}
		fl := s.Flags() &^ unix.O_NONBLOCK
		if b != ([4]byte{}) {
			fl |= unix.O_NONBLOCK
		}
		s.SetFlags(fl)
		return 0, 0
	}
	return 0, unix.ENOTTY
}

// CheckAddr implements AddrChecker.
func (s *UnixSocket) CheckAddr(to []byte) unix.Errno {
	_, _, e := unixAddr(to)
	return e
}

// ProcNetUnix is /proc/net/unix: every open unix socket, as Linux's
// unix_seq_show prints them.
func (ns *UnixNamespace) ProcNetUnix() []byte {
	ns.mu.Lock()
	socks := make([]*UnixSocket, 0, len(ns.live))
	for s := range ns.live {
		socks = append(socks, s)
	}
	ns.mu.Unlock()
	sort.Slice(socks, func(i, j int) bool { return socks[i].SocketIno() < socks[j].SocketIno() })
	b := []byte("Num       RefCount Protocol Flags    Type St Inode Path\n")
	for _, s := range socks {
		s.mu.Lock()
		flags, st := 0, 1 // SS_UNCONNECTED
		if s.listening {
			flags = 1 << 16 // __SO_ACCEPTCON
		}
		if s.connected && !s.peerGone {
			st = 3 // SS_CONNECTED
		}
		name := s.name
		s.mu.Unlock()
		b = fmt.Appendf(b, "%016x: %08X %08X %08X %04X %02X %5d", s.SocketIno(), 2, 0, flags, s.typ, st, s.SocketIno())
		if len(name) > 2 {
			path := name[2:]
			if path[0] == 0 {
				path = append([]byte{'@'}, path[1:]...)
			} else if i := bytes.IndexByte(path, 0); i >= 0 {
				path = path[:i]
			}
			b = append(append(b, ' '), path...)
		}
		b = append(b, '\n')
	}
	return b
}
