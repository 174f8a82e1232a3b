package inet

import (
	"encoding/binary"
	"time"

	"github.com/rumpgo/rumpgo/posix"
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
)

// Socket options. Each level is a switch over the options netstack has;
// any other option is ENOPROTOOPT, as Linux answers an option its
// protocol does not know, never a silent success.

// GetSockOpt implements posix.Socket.
func (so *Socket) GetSockOpt(level, name, optlen int) ([]byte, unix.Errno) {
	if optlen < 0 {
		return nil, unix.EINVAL
	}
	switch level {
	case unix.SOL_SOCKET:
		return so.getSocketOpt(name, optlen)
	case unix.IPPROTO_TCP:
		if !so.stream() {
			// Not a UDP level: inet_dgram_ops answers EOPNOTSUPP for
			// AF_INET, ipv6_getsockopt ENOPROTOOPT for AF_INET6.
			if so.dom == unix.AF_INET {
				return nil, unix.EOPNOTSUPP
			}
			return nil, unix.ENOPROTOOPT
		}
		return so.getTCPOpt(name, optlen)
	case unix.IPPROTO_IP:
		// An IPv6 socket has the IPv4 options too (ipv6_getsockopt
		// passes SOL_IP on), as setsockopt takes them.
		return so.getIPOpt(name, optlen)
	case unix.IPPROTO_IPV6:
		if so.dom != unix.AF_INET6 {
			return nil, unix.EOPNOTSUPP // inet_stream_ops has no IPv6 options
		}
		return so.getIPv6Opt(name, optlen)
	case unix.IPPROTO_UDP:
		if so.proto != unix.IPPROTO_UDP && so.dom == unix.AF_INET {
			return nil, unix.EOPNOTSUPP // inet_stream_ops; ipv6's answer ENOPROTOOPT
		}
	}
	return nil, unix.ENOPROTOOPT
}

// SetSockOpt implements posix.Socket.
func (so *Socket) SetSockOpt(level, name int, val []byte) unix.Errno {
	switch level {
	case unix.SOL_SOCKET:
		return so.setSocketOpt(name, val)
	case unix.IPPROTO_TCP:
		if !so.stream() {
			return unix.ENOPROTOOPT
		}
		return so.setTCPOpt(name, val)
	case unix.IPPROTO_IP:
		return so.setIPOpt(name, val)
	case unix.IPPROTO_IPV6:
		// A wrong level is ENOPROTOOPT to setsockopt, where
		// getsockopt's answer for an AF_INET socket is EOPNOTSUPP.
		if so.dom != unix.AF_INET6 {
			return unix.ENOPROTOOPT
		}
		return so.setIPv6Opt(name, val)
	}
	return unix.ENOPROTOOPT
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (so *Socket) getSocketOpt(name, optlen int) ([]byte, unix.Errno) {
	o := so.ep.SocketOptions()
	if b, ok := so.GetTimeout(name, optlen); ok {
		return b, 0
	}
	switch name {
	case unix.SO_TYPE:
		return posix.IntOpt(so.typ, optlen), 0
	case unix.SO_DOMAIN:
		return posix.IntOpt(so.dom, optlen), 0
	case unix.SO_PROTOCOL:
		return posix.IntOpt(so.proto, optlen), 0
	case unix.SO_ERROR:
		return posix.IntOpt(int(so.sockError()), optlen), 0
	case unix.SO_ACCEPTCONN:
		return posix.IntOpt(boolInt(o.GetAcceptConn()), optlen), 0
	case unix.SO_REUSEADDR:
		return posix.IntOpt(boolInt(o.GetReuseAddress()), optlen), 0
	case unix.SO_REUSEPORT:
		return posix.IntOpt(boolInt(o.GetReusePort()), optlen), 0
	case unix.SO_KEEPALIVE:
		return posix.IntOpt(boolInt(o.GetKeepAlive()), optlen), 0
	case unix.SO_BROADCAST:
		return posix.IntOpt(boolInt(o.GetBroadcast()), optlen), 0
	case unix.SO_SNDBUF:
		return posix.IntOpt(int(o.GetSendBufferSize()), optlen), 0
	case unix.SO_RCVBUF:
		return posix.IntOpt(int(o.GetReceiveBufferSize()), optlen), 0
	case unix.SO_RCVLOWAT:
		return posix.IntOpt(int(max(1, o.GetRcvlowat())), optlen), 0
	case unix.SO_SNDLOWAT:
		return posix.IntOpt(1, optlen), 0
	case unix.SO_OOBINLINE:
		return posix.IntOpt(1, optlen), 0 // netstack keeps urgent data inline
	case unix.SO_PASSCRED:
		return posix.IntOpt(boolInt(o.GetPassCred()), optlen), 0
	case unix.SO_BINDTODEVICE:
		nic := o.GetBindToDevice()
		if nic == 0 {
			return nil, 0
		}
		name := so.stack.S.FindNICNameFromID(tcpip.NICID(nic))
		b := append([]byte(name), 0)
		return b[:min(len(b), optlen)], 0
	case unix.SO_LINGER:
		l := o.GetLinger()
		b := make([]byte, 8)
		binary.LittleEndian.PutUint32(b, uint32(boolInt(l.Enabled)))
		binary.LittleEndian.PutUint32(b[4:], uint32(l.Timeout/time.Second))
		return b[:min(optlen, 8)], 0
	case unix.SO_PEERCRED:
		// Linux answers inet sockets with "no peer": pid 0, uid and gid -1.
		u := posix.Ucred{UID: ^uint32(0), GID: ^uint32(0)}
		return u.Bytes()[:min(optlen, 12)], 0
	case unix.SO_MARK:
		return posix.IntOpt(int(o.GetMark()), optlen), 0
	case unix.SO_NO_CHECK:
		return posix.IntOpt(boolInt(o.GetNoChecksum()), optlen), 0
	case unix.SO_BSDCOMPAT:
		return posix.IntOpt(0, optlen), 0 // obsolete: Linux ignores it
	}
	so.mu.Lock()
	defer so.mu.Unlock()
	switch name {
	case unix.SO_DEBUG:
		return posix.IntOpt(boolInt(so.debug), optlen), 0
	case unix.SO_PRIORITY:
		return posix.IntOpt(so.priority, optlen), 0
	case unix.SO_TIMESTAMP:
		return posix.IntOpt(boolInt(so.stamp == stampMicro), optlen), 0
	case unix.SO_TIMESTAMPNS:
		return posix.IntOpt(boolInt(so.stamp == stampNano), optlen), 0
	}
	return nil, unix.ENOPROTOOPT
}

// SO_TIMESTAMP and SO_TIMESTAMPNS: which receive time a read reports.
const (
	stampNone = iota
	stampMicro
	stampNano
)

func (so *Socket) setSocketOpt(name int, val []byte) unix.Errno {
	o := so.ep.SocketOptions()
	if e, ok := so.SetTimeout(name, val); ok {
		return e
	}
	switch name {
	case unix.SO_LINGER:
		if len(val) < 8 {
			return unix.EINVAL
		}
		on := binary.LittleEndian.Uint32(val) != 0
		secs := int32(binary.LittleEndian.Uint32(val[4:]))
		o.SetLinger(tcpip.LingerOption{Enabled: on, Timeout: time.Duration(max(secs, 0)) * time.Second})
		return 0
	case unix.SO_BINDTODEVICE:
		n := len(val)
		for i, c := range val {
			if c == 0 {
				n = i
				break
			}
		}
		if n == 0 {
			return errno(o.SetBindToDevice(0))
		}
		id := so.stack.nicByName(string(val[:n]))
		if id == 0 {
			return unix.ENODEV
		}
		return errno(o.SetBindToDevice(int32(id)))
	}
	v, e := posix.OptInt(val)
	if e != 0 {
		return e
	}
	switch name {
	case unix.SO_REUSEADDR:
		o.SetReuseAddress(v != 0)
	case unix.SO_REUSEPORT:
		o.SetReusePort(v != 0)
	case unix.SO_KEEPALIVE:
		o.SetKeepAlive(v != 0)
	case unix.SO_BROADCAST:
		o.SetBroadcast(v != 0)
	case unix.SO_PASSCRED:
		o.SetPassCred(v != 0)
	case unix.SO_SNDBUF, unix.SO_SNDBUFFORCE:
		// Linux doubles the value for its bookkeeping and reports that.
		v = max(min(int(uint32(v)), posix.SockMaxBuf)*2, posix.SockMinSndBuf)
		o.SetSendBufferSize(int64(v), true)
	case unix.SO_RCVBUF, unix.SO_RCVBUFFORCE:
		v = max(min(int(uint32(v)), posix.SockMaxBuf)*2, posix.SockMinRcvBuf)
		o.SetReceiveBufferSize(int64(v), true)
	case unix.SO_RCVLOWAT:
		return errno(o.SetRcvlowat(int32(max(v, 1))))
	case unix.SO_SNDLOWAT:
		return unix.ENOPROTOOPT // Linux: "not changeable"
	case unix.SO_OOBINLINE:
		if v == 0 {
			return unix.ENOPROTOOPT // netstack always keeps urgent data inline
		}
	case unix.SO_PRIORITY:
		if v < 0 || v > 6 {
			return unix.EPERM // needs CAP_NET_ADMIN
		}
		so.mu.Lock()
		so.priority = v
		so.mu.Unlock()
	case unix.SO_DEBUG:
		so.mu.Lock()
		so.debug = v != 0
		so.mu.Unlock()
	case unix.SO_TIMESTAMP, unix.SO_TIMESTAMPNS:
		// As Linux's sock_set_timestamp: either one off turns both off.
		mode := stampNone
		if v != 0 {
			mode = stampMicro
			if name == unix.SO_TIMESTAMPNS {
				mode = stampNano
			}
		}
		so.mu.Lock()
		so.stamp = mode
		so.mu.Unlock()
	case unix.SO_MARK:
		o.SetMark(uint32(v))
	case unix.SO_NO_CHECK:
		o.SetNoChecksum(v != 0)
	case unix.SO_BSDCOMPAT:
		// Obsolete; Linux accepts and ignores it.
	default:
		return unix.ENOPROTOOPT
	}
	return 0
}

// tcpInfoSize is sizeof(struct tcp_info) of Linux 6.1.
const tcpInfoSize = 232

func (so *Socket) getTCPOpt(name, optlen int) ([]byte, unix.Errno) {
	o := so.ep.SocketOptions()
	dur := func(opt interface {
		tcpip.GettableSocketOption
	}, get func() time.Duration) ([]byte, unix.Errno) {
		if err := so.ep.GetSockOpt(opt); err != nil {
			return nil, errno(err)
		}
		return posix.IntOpt(int(get()/time.Second), optlen), 0
	}
	switch name {
	case unix.TCP_NODELAY:
		return posix.IntOpt(boolInt(!o.GetDelayOption()), optlen), 0
	case unix.TCP_CORK:
		return posix.IntOpt(boolInt(o.GetCorkOption()), optlen), 0
	case unix.TCP_QUICKACK:
		return posix.IntOpt(boolInt(o.GetQuickAck()), optlen), 0
	case unix.TCP_KEEPIDLE:
		var v tcpip.KeepaliveIdleOption
		return dur(&v, func() time.Duration { return time.Duration(v) })
	case unix.TCP_KEEPINTVL:
		var v tcpip.KeepaliveIntervalOption
		return dur(&v, func() time.Duration { return time.Duration(v) })
	case unix.TCP_LINGER2:
		var v tcpip.TCPLingerTimeoutOption
		return dur(&v, func() time.Duration { return time.Duration(v) })
	case unix.TCP_DEFER_ACCEPT:
		var v tcpip.TCPDeferAcceptOption
		return dur(&v, func() time.Duration { return time.Duration(v) })
	case unix.TCP_USER_TIMEOUT:
		var v tcpip.TCPUserTimeoutOption
		if err := so.ep.GetSockOpt(&v); err != nil {
			return nil, errno(err)
		}
		return posix.IntOpt(int(time.Duration(v)/time.Millisecond), optlen), 0
	case unix.TCP_KEEPCNT:
		return so.intOpt(tcpip.KeepaliveCountOption, optlen)
	case unix.TCP_MAXSEG:
		return so.intOpt(tcpip.MaxSegOption, optlen)
	case unix.TCP_SYNCNT:
		return so.intOpt(tcpip.TCPSynCountOption, optlen)
	case unix.TCP_WINDOW_CLAMP:
		return so.intOpt(tcpip.TCPWindowClampOption, optlen)
	case unix.TCP_CONGESTION:
		var v tcpip.CongestionControlOption
		if err := so.ep.GetSockOpt(&v); err != nil {
			return nil, errno(err)
		}
		b := make([]byte, 16) // TCP_CA_NAME_MAX
		copy(b, v)
		return b[:min(optlen, 16)], 0
	case unix.TCP_INQ:
		so.mu.Lock()
		defer so.mu.Unlock()
		return posix.IntOpt(boolInt(so.inq), optlen), 0
	case unix.TCP_FASTOPEN:
		so.mu.Lock()
		defer so.mu.Unlock()
		return posix.IntOpt(so.fastOpen, optlen), 0
	case unix.TCP_FASTOPEN_CONNECT:
		so.mu.Lock()
		defer so.mu.Unlock()
		return posix.IntOpt(boolInt(so.foConn), optlen), 0
	case unix.TCP_THIN_DUPACK:
		return posix.IntOpt(0, optlen), 0 // Linux ignores it since 4.19
	case unix.TCP_INFO:
		var v tcpip.TCPInfoOption
		if err := so.ep.GetSockOpt(&v); err != nil {
			return nil, errno(err)
		}
		b := make([]byte, tcpInfoSize)
		b[0] = linuxTCPState(v.State)
		b[1] = uint8(v.CcState)
		us := func(d time.Duration) uint32 { return uint32(d / time.Microsecond) }
		le := binary.LittleEndian
		le.PutUint32(b[8:], us(v.RTO))     // tcpi_rto
		le.PutUint32(b[68:], us(v.RTT))    // tcpi_rtt
		le.PutUint32(b[72:], us(v.RTTVar)) // tcpi_rttvar
		le.PutUint32(b[76:], v.SndSsthresh)
		le.PutUint32(b[80:], v.SndCwnd)
		return b[:min(optlen, tcpInfoSize)], 0
	}
	return nil, unix.ENOPROTOOPT
}

// linuxTCPState numbers netstack's endpoint states as Linux's TCP_*
// states (net/tcp_states.h); netstack's first eleven states are Linux's
// in Linux's order, the rest are closed sockets to Linux.
func linuxTCPState(s tcpip.EndpointState) uint8 {
	st := tcp.EndpointState(s)
	if st >= tcp.StateEstablished && st <= tcp.StateClosing {
		return uint8(st-tcp.StateEstablished) + 1
	}
	return 7 // TCP_CLOSE
}

func (so *Socket) intOpt(opt tcpip.SockOptInt, optlen int) ([]byte, unix.Errno) {
	v, err := so.ep.GetSockOptInt(opt)
	if err != nil {
		return nil, errno(err)
	}
	return posix.IntOpt(v, optlen), 0
}

func (so *Socket) setTCPOpt(name int, val []byte) unix.Errno {
	if name == unix.TCP_CONGESTION {
		n := len(val)
		for i, c := range val {
			if c == 0 {
				n = i
				break
			}
		}
		v := tcpip.CongestionControlOption(val[:n])
		if err := so.ep.SetSockOpt(&v); err != nil {
			return unix.ENOENT // Linux: no such algorithm
		}
		return 0
	}
	v, e := posix.OptInt(val)
	if e != 0 {
		return e
	}
	o := so.ep.SocketOptions()
	secs := func(max int) (time.Duration, unix.Errno) {
		if v < 1 || v > max {
			return 0, unix.EINVAL
		}
		return time.Duration(v) * time.Second, 0
	}
	switch name {
	case unix.TCP_NODELAY:
		o.SetDelayOption(v == 0)
	case unix.TCP_CORK:
		o.SetCorkOption(v != 0)
	case unix.TCP_QUICKACK:
		o.SetQuickAck(v != 0)
	case unix.TCP_KEEPIDLE:
		d, e := secs(32767) // MAX_TCP_KEEPIDLE
		if e != 0 {
			return e
		}
		opt := tcpip.KeepaliveIdleOption(d)
		return errno(so.ep.SetSockOpt(&opt))
	case unix.TCP_KEEPINTVL:
		d, e := secs(32767) // MAX_TCP_KEEPINTVL
		if e != 0 {
			return e
		}
		opt := tcpip.KeepaliveIntervalOption(d)
		return errno(so.ep.SetSockOpt(&opt))
	case unix.TCP_KEEPCNT:
		if v < 1 || v > 127 { // MAX_TCP_KEEPCNT
			return unix.EINVAL
		}
		return errno(so.ep.SetSockOptInt(tcpip.KeepaliveCountOption, v))
	case unix.TCP_USER_TIMEOUT:
		if v < 0 {
			return unix.EINVAL
		}
		opt := tcpip.TCPUserTimeoutOption(time.Duration(v) * time.Millisecond)
		return errno(so.ep.SetSockOpt(&opt))
	case unix.TCP_LINGER2:
		opt := tcpip.TCPLingerTimeoutOption(time.Duration(v) * time.Second)
		return errno(so.ep.SetSockOpt(&opt))
	case unix.TCP_DEFER_ACCEPT:
		opt := tcpip.TCPDeferAcceptOption(time.Duration(max(v, 0)) * time.Second)
		return errno(so.ep.SetSockOpt(&opt))
	case unix.TCP_MAXSEG:
		return errno(so.ep.SetSockOptInt(tcpip.MaxSegOption, v))
	case unix.TCP_SYNCNT:
		return errno(so.ep.SetSockOptInt(tcpip.TCPSynCountOption, v))
	case unix.TCP_WINDOW_CLAMP:
		return errno(so.ep.SetSockOptInt(tcpip.TCPWindowClampOption, v))
	case unix.TCP_INQ:
		if v < 0 || v > 1 {
			return unix.EINVAL
		}
		so.mu.Lock()
		so.inq = v == 1
		so.mu.Unlock()
	case unix.TCP_FASTOPEN:
		// The queue of a listener that takes data in SYNs. No client
		// here has a cookie for it, so every connect falls back to the
		// plain handshake, as Linux's does without one.
		if v < 0 {
			return unix.EINVAL
		}
		so.mu.Lock()
		so.fastOpen = v
		so.mu.Unlock()
	case unix.TCP_FASTOPEN_CONNECT:
		// Without a cookie Linux connects as usual (tcp_fastopen_defer_connect).
		if v < 0 || v > 1 {
			return unix.EINVAL
		}
		so.mu.Lock()
		so.foConn = v == 1
		so.mu.Unlock()
	case unix.TCP_THIN_DUPACK:
		// Ignored by Linux since 4.19.
	default:
		return unix.ENOPROTOOPT
	}
	return 0
}

func (so *Socket) getIPOpt(name, optlen int) ([]byte, unix.Errno) {
	o := so.ep.SocketOptions()
	switch name {
	case unix.IP_TTL:
		v, err := so.ep.GetSockOptInt(tcpip.IPv4TTLOption)
		if err != nil {
			return nil, errno(err)
		}
		if v == 0 {
			v = 64 // the default: net.ipv4.ip_default_ttl
		}
		return posix.IntOpt(v, optlen), 0
	case unix.IP_TOS:
		return so.intOpt(tcpip.IPv4TOSOption, optlen)
	case unix.IP_MULTICAST_TTL:
		return so.intOpt(tcpip.MulticastTTLOption, optlen)
	case unix.IP_MULTICAST_LOOP:
		return posix.IntOpt(boolInt(o.GetMulticastLoop()), optlen), 0
	case unix.IP_RECVTOS:
		return posix.IntOpt(boolInt(o.GetReceiveTOS()), optlen), 0
	case unix.IP_RECVTTL:
		return posix.IntOpt(boolInt(o.GetReceiveTTL()), optlen), 0
	case unix.IP_PKTINFO:
		return posix.IntOpt(boolInt(o.GetReceivePacketInfo()), optlen), 0
	case unix.IP_HDRINCL:
		return posix.IntOpt(0, optlen), 0
	case unix.IP_MTU_DISCOVER:
		return so.intOpt(tcpip.MTUDiscoverOption, optlen)
	case unix.IP_RECVERR:
		return posix.IntOpt(boolInt(o.GetIPv4RecvError()), optlen), 0
	case unix.IP_RECVORIGDSTADDR:
		return posix.IntOpt(boolInt(o.GetReceiveOriginalDstAddress()), optlen), 0
	case unix.IP_MTU:
		return so.pathMTU(optlen)
	}
	return nil, unix.ENOPROTOOPT
}

// pathMTU is IP_MTU and IPV6_MTU: the MTU of the route to the connected
// peer; ENOTCONN without one, as Linux.
func (so *Socket) pathMTU(optlen int) ([]byte, unix.Errno) {
	remote, err := so.ep.GetRemoteAddress()
	if err != nil {
		return nil, unix.ENOTCONN
	}
	local, _ := so.ep.GetLocalAddress()
	proto := header.IPv4ProtocolNumber
	if remote.Addr.Len() == 16 {
		proto = header.IPv6ProtocolNumber
	}
	r, err := so.stack.S.FindRoute(local.NIC, local.Addr, remote.Addr, proto, false)
	if err != nil {
		return nil, errno(err)
	}
	defer r.Release()
	return posix.IntOpt(int(r.MTU()), optlen), 0
}

// ipMreqn reads struct ip_mreq (8 bytes) or ip_mreqn (12) for the
// multicast membership and interface options.
func ipMreqn(val []byte) (group, iface tcpip.Address, nic tcpip.NICID, e unix.Errno) {
	if len(val) < 8 {
		return group, iface, 0, unix.EINVAL
	}
	group = tcpip.AddrFrom4Slice(val[0:4])
	iface = tcpip.AddrFrom4Slice(val[4:8])
	if len(val) >= 12 {
		nic = tcpip.NICID(binary.LittleEndian.Uint32(val[8:]))
	}
	if iface.Unspecified() {
		iface = tcpip.Address{}
	}
	return group, iface, nic, 0
}

func (so *Socket) setIPOpt(name int, val []byte) unix.Errno {
	o := so.ep.SocketOptions()
	switch name {
	case unix.IP_ADD_MEMBERSHIP, unix.IP_DROP_MEMBERSHIP:
		group, iface, nic, e := ipMreqn(val)
		if e != 0 {
			return e
		}
		m := tcpip.MembershipOption{NIC: nic, InterfaceAddr: iface, MulticastAddr: group}
		if name == unix.IP_ADD_MEMBERSHIP {
			opt := tcpip.AddMembershipOption(m)
			return errno(so.ep.SetSockOpt(&opt))
		}
		opt := tcpip.RemoveMembershipOption(m)
		return errno(so.ep.SetSockOpt(&opt))
	case unix.IP_MULTICAST_IF:
		var opt tcpip.MulticastInterfaceOption
		switch {
		case len(val) >= 12:
			_, iface, nic, _ := ipMreqn(val)
			opt = tcpip.MulticastInterfaceOption{NIC: nic, InterfaceAddr: iface}
		case len(val) >= 4:
			opt.InterfaceAddr = tcpip.AddrFrom4Slice(val[:4])
			if opt.InterfaceAddr.Unspecified() {
				opt.InterfaceAddr = tcpip.Address{}
			}
		default:
			return unix.EINVAL
		}
		return errno(so.ep.SetSockOpt(&opt))
	}
	// The int options accept a single byte too, as Linux's
	// do_ip_setsockopt.
	var v int
	switch {
	case len(val) >= 4:
		v = int(int32(binary.LittleEndian.Uint32(val)))
	case len(val) >= 1:
		v = int(val[0])
	default:
		if name == unix.IP_TTL || name == unix.IP_TOS || name == unix.IP_MULTICAST_TTL ||
			name == unix.IP_MULTICAST_LOOP || name == unix.IP_RECVTOS || name == unix.IP_RECVTTL ||
			name == unix.IP_PKTINFO || name == unix.IP_RECVERR || name == unix.IP_RECVORIGDSTADDR {
			return unix.EINVAL
		}
		return unix.ENOPROTOOPT
	}
	switch name {
	case unix.IP_TTL:
		if v == -1 {
			v = 0 // the default
		}
		if v < 0 || v > 255 {
			return unix.EINVAL
		}
		return errno(so.ep.SetSockOptInt(tcpip.IPv4TTLOption, v))
	case unix.IP_TOS:
		return errno(so.ep.SetSockOptInt(tcpip.IPv4TOSOption, v&0xff))
	case unix.IP_MULTICAST_TTL:
		if so.stream() {
			return unix.EINVAL // no multicast over TCP (do_ip_setsockopt)
		}
		if v == -1 {
			v = 1
		}
		if v < 0 || v > 255 {
			return unix.EINVAL
		}
		return errno(so.ep.SetSockOptInt(tcpip.MulticastTTLOption, v))
	case unix.IP_MULTICAST_LOOP:
		o.SetMulticastLoop(v != 0)
	case unix.IP_RECVTOS:
		o.SetReceiveTOS(v != 0)
	case unix.IP_RECVTTL:
		o.SetReceiveTTL(v != 0)
	case unix.IP_PKTINFO:
		o.SetReceivePacketInfo(v != 0)
	case unix.IP_MTU_DISCOVER:
		return errno(so.ep.SetSockOptInt(tcpip.MTUDiscoverOption, v))
	case unix.IP_RECVERR:
		o.SetIPv4RecvError(v != 0) // off empties the queue, as Linux
	case unix.IP_RECVORIGDSTADDR:
		o.SetReceiveOriginalDstAddress(v != 0)
	default:
		return unix.ENOPROTOOPT
	}
	return 0
}

func (so *Socket) getIPv6Opt(name, optlen int) ([]byte, unix.Errno) {
	o := so.ep.SocketOptions()
	switch name {
	case unix.IPV6_V6ONLY:
		return posix.IntOpt(boolInt(o.GetV6Only()), optlen), 0
	case unix.IPV6_UNICAST_HOPS:
		v, err := so.ep.GetSockOptInt(tcpip.IPv6HopLimitOption)
		if err != nil {
			return nil, errno(err)
		}
		if v < 0 {
			v = 64
		}
		return posix.IntOpt(v, optlen), 0
	case unix.IPV6_MULTICAST_HOPS:
		return so.intOpt(tcpip.MulticastTTLOption, optlen)
	case unix.IPV6_MULTICAST_LOOP:
		return posix.IntOpt(boolInt(o.GetMulticastLoop()), optlen), 0
	case unix.IPV6_TCLASS:
		return so.intOpt(tcpip.IPv6TrafficClassOption, optlen)
	case unix.IPV6_RECVTCLASS:
		return posix.IntOpt(boolInt(o.GetReceiveTClass()), optlen), 0
	case unix.IPV6_RECVPKTINFO:
		return posix.IntOpt(boolInt(o.GetIPv6ReceivePacketInfo()), optlen), 0
	case unix.IPV6_RECVHOPLIMIT:
		return posix.IntOpt(boolInt(o.GetReceiveHopLimit()), optlen), 0
	case unix.IPV6_RECVERR:
		return posix.IntOpt(boolInt(o.GetIPv6RecvError()), optlen), 0
	case unix.IPV6_RECVORIGDSTADDR:
		return posix.IntOpt(boolInt(o.GetReceiveOriginalDstAddress()), optlen), 0
	case unix.IPV6_MTU:
		return so.pathMTU(optlen)
	}
	return nil, unix.ENOPROTOOPT
}

func (so *Socket) setIPv6Opt(name int, val []byte) unix.Errno {
	o := so.ep.SocketOptions()
	switch name {
	case unix.IPV6_JOIN_GROUP, unix.IPV6_LEAVE_GROUP:
		// struct ipv6_mreq: the group, then the interface index.
		if len(val) < 20 {
			return unix.EINVAL
		}
		m := tcpip.MembershipOption{NIC: tcpip.NICID(binary.LittleEndian.Uint32(val[16:])),
			MulticastAddr: tcpip.AddrFrom16Slice(val[:16])}
		if name == unix.IPV6_JOIN_GROUP {
			opt := tcpip.AddMembershipOption(m)
			return errno(so.ep.SetSockOpt(&opt))
		}
		opt := tcpip.RemoveMembershipOption(m)
		return errno(so.ep.SetSockOpt(&opt))
	}
	v, e := posix.OptInt(val)
	if e != 0 {
		return e
	}
	switch name {
	case unix.IPV6_V6ONLY:
		if _, err := so.ep.GetLocalAddress(); err == nil {
			if fa, _ := so.ep.GetLocalAddress(); fa.Port != 0 {
				return unix.EINVAL // Linux: not after bind
			}
		}
		o.SetV6Only(v != 0)
	case unix.IPV6_UNICAST_HOPS:
		if v < -1 || v > 255 {
			return unix.EINVAL
		}
		return errno(so.ep.SetSockOptInt(tcpip.IPv6HopLimitOption, v))
	case unix.IPV6_MULTICAST_HOPS:
		if v == -1 {
			v = 1
		}
		if v < 0 || v > 255 {
			return unix.EINVAL
		}
		return errno(so.ep.SetSockOptInt(tcpip.MulticastTTLOption, v))
	case unix.IPV6_MULTICAST_LOOP:
		o.SetMulticastLoop(v != 0)
	case unix.IPV6_MULTICAST_IF:
		opt := tcpip.MulticastInterfaceOption{NIC: tcpip.NICID(v)}
		return errno(so.ep.SetSockOpt(&opt))
	case unix.IPV6_TCLASS:
		if v < -1 || v > 255 {
			return unix.EINVAL
		}
		return errno(so.ep.SetSockOptInt(tcpip.IPv6TrafficClassOption, max(v, 0)))
	case unix.IPV6_RECVTCLASS:
		o.SetReceiveTClass(v != 0)
	case unix.IPV6_RECVPKTINFO:
		o.SetIPv6ReceivePacketInfo(v != 0)
	case unix.IPV6_RECVHOPLIMIT:
		o.SetReceiveHopLimit(v != 0)
	case unix.IPV6_RECVERR:
		o.SetIPv6RecvError(v != 0)
	case unix.IPV6_MTU:
		if v != 0 && v < header.IPv6MinimumMTU {
			return unix.EINVAL
		}
		return unix.ENOPROTOOPT // a fragment size of one's own: not kept
	case unix.IPV6_RECVORIGDSTADDR:
		o.SetReceiveOriginalDstAddress(v != 0)
	default:
		return unix.ENOPROTOOPT
	}
	return 0
}

// controlMessages encodes the ancillary data netstack returned, for the
// options the guest turned on, in the order Linux's ip_cmsg_recv and
// ip6_datagram_recv_specific_ctl emit them. Addresses go through put4 and
// put16: netstack leaves some empty (a ping packet's local address) and a
// socket of either family may carry either length, so no length is assumed.
func (so *Socket) controlMessages(cm tcpip.ReceivableControlMessages) []posix.Cmsg {
	var out []posix.Cmsg
	le := binary.LittleEndian
	i32 := func(v int32) []byte { b := make([]byte, 4); le.PutUint32(b, uint32(v)); return b }
	if cm.HasIPPacketInfo {
		b := make([]byte, 12) // struct in_pktinfo
		le.PutUint32(b, uint32(cm.PacketInfo.NIC))
		put4(b[4:8], cm.PacketInfo.LocalAddr)
		put4(b[8:12], cm.PacketInfo.DestinationAddr)
		out = append(out, posix.Cmsg{Level: unix.IPPROTO_IP, Type: unix.IP_PKTINFO, Data: b})
	}
	if cm.HasTTL {
		out = append(out, posix.Cmsg{Level: unix.IPPROTO_IP, Type: unix.IP_TTL, Data: i32(int32(cm.TTL))})
	}
	if cm.HasTOS {
		out = append(out, posix.Cmsg{Level: unix.IPPROTO_IP, Type: unix.IP_TOS, Data: []byte{cm.TOS}})
	}
	if cm.HasIPv6PacketInfo {
		b := make([]byte, 20) // struct in6_pktinfo
		put16(b[:16], cm.IPv6PacketInfo.Addr)
		le.PutUint32(b[16:], uint32(cm.IPv6PacketInfo.NIC))
		out = append(out, posix.Cmsg{Level: unix.IPPROTO_IPV6, Type: unix.IPV6_PKTINFO, Data: b})
	}
	if cm.HasHopLimit {
		out = append(out, posix.Cmsg{Level: unix.IPPROTO_IPV6, Type: unix.IPV6_HOPLIMIT, Data: i32(int32(cm.HopLimit))})
	}
	if cm.HasTClass {
		out = append(out, posix.Cmsg{Level: unix.IPPROTO_IPV6, Type: unix.IPV6_TCLASS, Data: i32(int32(cm.TClass))})
	}
	if cm.HasOriginalDstAddress {
		// IP_ORIGDSTADDR, IPV6_ORIGDSTADDR: a sockaddr of the packet's
		// family (a v4 packet on a v6 socket: sockaddr_in, as Linux).
		if cm.OriginalDstAddress.Addr.Len() == 4 {
			out = append(out, posix.Cmsg{Level: unix.IPPROTO_IP, Type: unix.IP_ORIGDSTADDR, Data: encodeAddr(unix.AF_INET, cm.OriginalDstAddress)})
		} else {
			out = append(out, posix.Cmsg{Level: unix.IPPROTO_IPV6, Type: unix.IPV6_ORIGDSTADDR, Data: encodeAddr(unix.AF_INET6, cm.OriginalDstAddress)})
		}
	}
	return out
}

// socketMessages are the socket layer's control messages of a read,
// after the protocol's (Linux's sock_recv_cmsgs, then tcp_recvmsg's
// TCP_CM_INQ): the receive time, and the bytes a TCP socket has left.
// TCP segments carry no receive time in netstack, so a stream read
// reports the time of the read, which no data predates by less.
func (so *Socket) socketMessages(cm tcpip.ReceivableControlMessages) []posix.Cmsg {
	so.mu.Lock()
	stamp, inq := so.stamp, so.inq
	so.mu.Unlock()
	var out []posix.Cmsg
	if stamp != stampNone {
		at := cm.Timestamp
		if !cm.HasTimestamp {
			at = time.Now()
		}
		b := make([]byte, 16)
		binary.LittleEndian.PutUint64(b, uint64(at.Unix()))
		if stamp == stampNano {
			binary.LittleEndian.PutUint64(b[8:], uint64(at.Nanosecond()))
			out = append(out, posix.Cmsg{Level: unix.SOL_SOCKET, Type: unix.SO_TIMESTAMPNS, Data: b})
		} else {
			binary.LittleEndian.PutUint64(b[8:], uint64(at.Nanosecond()/1000))
			out = append(out, posix.Cmsg{Level: unix.SOL_SOCKET, Type: unix.SO_TIMESTAMP, Data: b})
		}
	}
	if inq && so.stream() {
		v, _ := so.ep.GetSockOptInt(tcpip.ReceiveQueueSizeOption)
		b := make([]byte, 4)
		binary.LittleEndian.PutUint32(b, uint32(v))
		out = append(out, posix.Cmsg{Level: unix.IPPROTO_TCP, Type: unix.TCP_CM_INQ, Data: b})
	}
	return out
}

// recvErr is a read of the error queue (MSG_ERRQUEUE), netstack's with
// IP_RECVERR or IPV6_RECVERR on: the errant packet's payload, its
// destination as the source address, and a sock_extended_err with the
// offender's address as the control message; EAGAIN when it is empty.
func (so *Socket) recvErr(p []byte, flags int) (posix.RecvResult, unix.Errno) {
	var r posix.RecvResult
	o := so.ep.SocketOptions()
	var se *tcpip.SockError
	if flags&unix.MSG_PEEK != 0 {
		se = o.PeekErr()
	} else {
		se = o.DequeueErr()
	}
	if se == nil {
		return r, unix.EAGAIN
	}
	if se.Payload != nil {
		data := se.Payload.AsSlice()
		r.N, r.Total = copy(p, data), len(data)
		if r.Total > r.N {
			r.Flags |= unix.MSG_TRUNC
		}
	}
	r.Flags |= unix.MSG_ERRQUEUE
	r.From = encodeAddr(so.dom, se.Dst)
	ee := make([]byte, 16) // struct sock_extended_err
	le := binary.LittleEndian
	le.PutUint32(ee, uint32(errno(se.Err)))
	if se.Cause != nil {
		ee[4], ee[5], ee[6] = uint8(se.Cause.Origin()), se.Cause.Type(), se.Cause.Code()
		le.PutUint32(ee[8:], se.Cause.Info())
	}
	level, typ, fam := unix.IPPROTO_IP, unix.IP_RECVERR, unix.AF_INET
	if se.NetProto == header.IPv6ProtocolNumber {
		level, typ, fam = unix.IPPROTO_IPV6, unix.IPV6_RECVERR, unix.AF_INET6
	}
	ee = append(ee, encodeAddr(fam, se.Offender)...)
	r.Control.Other = []posix.Cmsg{{Level: level, Type: typ, Data: ee}}
	return r, 0
}

// put4 writes a as an in_addr into b (4 bytes): a v4 address as it is, a
// v4-mapped v6 one as its v4 part; the empty address and any other v6
// address as 0.0.0.0, never a panic over its length.
func put4(b []byte, a tcpip.Address) {
	clear(b[:4])
	switch a.Len() {
	case 4:
		v := a.As4()
		copy(b, v[:])
	case 16:
		if v := a.As16(); [12]byte(v[:12]) == [12]byte{10: 0xff, 11: 0xff} {
			copy(b, v[12:])
		}
	}
}

// put16 writes a as an in6_addr into b (16 bytes): a v4 address becomes
// v4-mapped, as Linux reports v4 traffic on a v6 socket; the empty
// address is ::.
func put16(b []byte, a tcpip.Address) {
	clear(b[:16])
	switch a.Len() {
	case 16:
		v := a.As16()
		copy(b, v[:])
	case 4:
		v := a.As4()
		b[10], b[11] = 0xff, 0xff
		copy(b[12:], v[:])
	}
}
