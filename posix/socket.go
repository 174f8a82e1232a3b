package posix

import (
	"encoding/binary"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/rumpgo/rumpgo/posix/waiter"
	"golang.org/x/sys/unix"
)

// Socket is a File that is a socket: what the socket calls (bind, connect,
// sendmsg, getsockopt ...) reach. Its implementations are the unix sockets
// in this package and the inet sockets of posix/inet.
//
// As every posix object, a socket never blocks: a call that would wait
// answers EAGAIN (connect: EINPROGRESS), and the syscalls layer waits for
// the socket's readiness and tries again. Addresses are raw struct
// sockaddr bytes as the guest passed them: each family checks its own, as
// Linux's protocol handlers do, so the errnos for bad lengths and families
// are the protocol's.
type Socket interface {
	File
	waiter.Waitable

	// Domain, Type and Protocol are what SO_DOMAIN, SO_TYPE and
	// SO_PROTOCOL report (Type without SOCK_NONBLOCK|SOCK_CLOEXEC).
	Domain() int
	Type() int
	Protocol() int

	Bind(sa []byte) unix.Errno
	Listen(backlog int) unix.Errno
	// Accept takes one pending connection (EAGAIN: none); flags may hold
	// SOCK_NONBLOCK for the new socket. peer is its address.
	Accept(flags int) (s Socket, peer []byte, e unix.Errno)
	// Connect starts or makes a connection; EINPROGRESS when it goes on
	// without the caller (the socket becomes writable when it ends and
	// SO_ERROR says how).
	Connect(sa []byte) unix.Errno
	Shutdown(how int) unix.Errno
	SockName() ([]byte, unix.Errno)
	PeerName() ([]byte, unix.Errno)

	// SendMsg sends p (to: the destination address, nil for none) with
	// the control messages ctl, which it takes over: the rights in it are
	// dropped (CloseRights) when the message fails for any reason but
	// EAGAIN, after which the caller may try again or drop them. flags are
	// MSG_* flags; MSG_DONTWAIT and MSG_NOSIGNAL are the caller's business.
	// A stream socket may send part of p.
	SendMsg(p []byte, to []byte, ctl *ControlMessages, flags int) (int, unix.Errno)
	// RecvMsg receives into p (flags: MSG_PEEK, MSG_TRUNC, MSG_WAITALL
	// is the caller's, ...); EAGAIN when nothing is there.
	RecvMsg(p []byte, flags int) (RecvResult, unix.Errno)

	// GetSockOpt returns the option's value for an optlen-byte buffer
	// (the bytes to copy out; their length is the new optlen).
	GetSockOpt(level, name, optlen int) ([]byte, unix.Errno)
	SetSockOpt(level, name int, val []byte) unix.Errno

	// Timeouts are SO_RCVTIMEO and SO_SNDTIMEO (zero: none).
	Timeouts() (recv, send time.Duration)
}

// RecvResult is what RecvMsg received.
type RecvResult struct {
	N     int    // bytes copied into p
	Total int    // bytes of the message (datagrams: more than N when truncated)
	From  []byte // the sender's address, or nil
	Flags int    // MSG_TRUNC, MSG_CTRUNC, MSG_EOR as msg_flags reports them
	// Control are the control messages that came with the data.
	Control ControlMessages
}

// Ucred is struct ucred: SCM_CREDENTIALS and SO_PEERCRED.
type Ucred struct {
	PID      int32
	UID, GID uint32
}

// Bytes encodes the struct.
func (u Ucred) Bytes() []byte {
	b := make([]byte, 12)
	binary.LittleEndian.PutUint32(b[0:], uint32(u.PID))
	binary.LittleEndian.PutUint32(b[4:], u.UID)
	binary.LittleEndian.PutUint32(b[8:], u.GID)
	return b
}

// Cmsg is a control message a socket encoded itself (IP_TTL,
// SO_TIMESTAMP ...): level, type and data as the guest sees them.
type Cmsg struct {
	Level, Type int
	Data        []byte
}

// ControlMessages are the ancillary data of one message.
type ControlMessages struct {
	// Rights are SCM_RIGHTS files in flight: each holds a reference that
	// keeps the file open until it is installed or dropped.
	Rights []*OpenFile
	// Cred is SCM_CREDENTIALS: sent explicitly, or the sender's
	// credentials for a receiver with SO_PASSCRED.
	Cred *Ucred
	// Other are messages a socket encoded itself.
	Other []Cmsg
}

// HoldRights takes a reference on each of files for SCM_RIGHTS: they stay
// open while in flight even when the sender closes its descriptors.
func HoldRights(files []*OpenFile) []*OpenFile {
	for _, of := range files {
		of.mu.Lock()
		of.refs++
		of.mu.Unlock()
	}
	return files
}

// CloseRights drops the in-flight references of ctl's rights: the message
// was discarded (its socket closed, or the receiver had no room).
func (c *ControlMessages) CloseRights() {
	if c == nil {
		return
	}
	for _, of := range c.Rights {
		of.release()
	}
	c.Rights = nil
}

// InstallRight installs a file received with SCM_RIGHTS at the lowest free
// descriptor and drops its in-flight reference.
func (t *FDTable) InstallRight(of *OpenFile, cloexec bool, limit uint64) (int, unix.Errno) {
	fd, e := t.install(of, 0, cloexec, limit)
	if e == 0 {
		of.release()
	}
	return fd, e
}

// Linux's maximum socket buffer sizes in bytes (net.core.wmem_max and
// rmem_max's defaults), and the minimums setsockopt clamps to
// (SOCK_MIN_SNDBUF and SOCK_MIN_RCVBUF for 4 KiB pages).
const (
	SockMaxBuf    = 212992
	SockMinSndBuf = 4608
	SockMinRcvBuf = 2304
)

// SockTimeouts keeps SO_RCVTIMEO and SO_SNDTIMEO; sockets embed it.
type SockTimeouts struct{ rcv, snd atomic.Int64 }

// Timeouts implements Socket.
func (s *SockTimeouts) Timeouts() (time.Duration, time.Duration) {
	return time.Duration(s.rcv.Load()), time.Duration(s.snd.Load())
}

// GetTimeout answers getsockopt of SO_RCVTIMEO or SO_SNDTIMEO (ok false:
// another option) as a struct timeval, as Linux's sock_get_timeout.
func (s *SockTimeouts) GetTimeout(name, optlen int) ([]byte, bool) {
	var d time.Duration
	switch name {
	case unix.SO_RCVTIMEO:
		d = time.Duration(s.rcv.Load())
	case unix.SO_SNDTIMEO:
		d = time.Duration(s.snd.Load())
	default:
		return nil, false
	}
	b := make([]byte, 16)
	binary.LittleEndian.PutUint64(b[0:], uint64(d/time.Second))
	binary.LittleEndian.PutUint64(b[8:], uint64(d%time.Second/time.Microsecond))
	return b[:min(optlen, 16)], true
}

// SetTimeout answers setsockopt of SO_RCVTIMEO or SO_SNDTIMEO (ok false:
// another option), as Linux's sock_set_timeout: EINVAL for a short
// struct timeval, EDOM for a bad tv_usec; a negative time is no wait at
// all, which Linux rounds to the smallest timeout rather than "forever".
func (s *SockTimeouts) SetTimeout(name int, val []byte) (unix.Errno, bool) {
	var v *atomic.Int64
	switch name {
	case unix.SO_RCVTIMEO:
		v = &s.rcv
	case unix.SO_SNDTIMEO:
		v = &s.snd
	default:
		return 0, false
	}
	if len(val) < 16 {
		return unix.EINVAL, true
	}
	sec := int64(binary.LittleEndian.Uint64(val[0:]))
	usec := int64(binary.LittleEndian.Uint64(val[8:]))
	if usec < 0 || usec >= 1e6 {
		return unix.EDOM, true
	}
	switch {
	case sec < 0:
		v.Store(int64(time.Microsecond)) // Linux: timeout 0 jiffies → returns at once
	case sec == 0 && usec == 0:
		v.Store(0)
	case sec > int64(1<<62)/int64(time.Second):
		v.Store(0)
	default:
		v.Store(sec*int64(time.Second) + usec*int64(time.Microsecond))
	}
	return 0, true
}

// IntOpt encodes an int option's value for an optlen-byte buffer, as
// Linux's sk_getsockopt: at most 4 bytes.
func IntOpt(v int, optlen int) []byte {
	b := make([]byte, 4)
	binary.LittleEndian.PutUint32(b, uint32(int32(v)))
	return b[:max(0, min(optlen, 4))]
}

// OptInt reads an int option's value: EINVAL when shorter than an int.
func OptInt(val []byte) (int, unix.Errno) {
	if len(val) < 4 {
		return 0, unix.EINVAL
	}
	return int(int32(binary.LittleEndian.Uint32(val))), 0
}

// ReleaseRight drops the in-flight reference of one SCM_RIGHTS file that
// will not be installed.
func ReleaseRight(of *OpenFile) { of.release() }

// AddrChecker is a Socket that checks a destination address before the
// data is copied in, as Linux's datagram sendmsg does: a bad address wins
// over a bad buffer.
type AddrChecker interface {
	CheckAddr(to []byte) unix.Errno
}

// sockIno numbers sockets as Linux's sockfs does its inodes.
var sockIno atomic.Uint64

// SockIno is a socket's inode number, as fstat, /proc/self/fd
// ("socket:[N]") and /proc/net show it; sockets embed it.
type SockIno struct{ ino atomic.Uint64 }

// SocketIno returns the number, given on first use.
func (s *SockIno) SocketIno() uint64 {
	if v := s.ino.Load(); v != 0 {
		return v
	}
	s.ino.CompareAndSwap(0, sockIno.Add(1)+1000)
	return s.ino.Load()
}

// FDName is the socket's /proc/self/fd link text.
func (s *SockIno) FDName() string { return "socket:[" + strconv.FormatUint(s.SocketIno(), 10) + "]" }
