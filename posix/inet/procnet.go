package inet

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"sort"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
)

// The /proc/net files of the guest's stack, in Linux's formats (what
// netstat, ss, lsof and Go's tests parse): tcp, tcp6, udp and udp6 from
// the guest's open sockets, dev from the interfaces' counters, if_inet6
// from their IPv6 addresses, route from the IPv4 routing table.

// Linux's TCP states (include/net/tcp_states.h) for sockets netstack
// keeps in a state of its own.
const (
	tcpEstablished = 1
	tcpSynSent     = 2
	tcpClose       = 7
)

// ProcNet returns /proc/net/NAME's text; ok is false for a file this
// package does not make.
func (s *Stack) ProcNet(name string) ([]byte, bool) {
	switch name {
	case "tcp":
		return s.procSockets(unix.AF_INET, unix.SOCK_STREAM), true
	case "tcp6":
		return s.procSockets(unix.AF_INET6, unix.SOCK_STREAM), true
	case "udp":
		return s.procSockets(unix.AF_INET, unix.SOCK_DGRAM), true
	case "udp6":
		return s.procSockets(unix.AF_INET6, unix.SOCK_DGRAM), true
	case "dev":
		return s.procDev(), true
	case "if_inet6":
		return s.procIfInet6(), true
	case "route":
		return s.procRoute(), true
	}
	return nil, false
}

// pad ends a line at width columns less the newline, as seq_pad.
func pad(b []byte, start, width int) []byte {
	for len(b)-start < width-1 {
		b = append(b, ' ')
	}
	return append(b, '\n')
}

// hexAddr prints an address as Linux's /proc/net/tcp: each 32-bit word
// in the host's (little-endian) order.
func hexAddr(a tcpip.Address, v6 bool) string {
	n := 4
	if v6 {
		n = 16
	}
	raw := make([]byte, n)
	copy(raw, a.AsSlice())
	if v6 && a.Len() == 4 {
		// A v4 address on a v6 socket shows as v4-mapped.
		m := netip.AddrFrom4([4]byte(a.AsSlice())).As16()
		raw = m[:]
	}
	out := ""
	for i := 0; i < n; i += 4 {
		out += fmt.Sprintf("%08X", binary.LittleEndian.Uint32(raw[i:]))
	}
	return out
}

func (s *Stack) procSockets(dom, typ int) []byte {
	s.mu.Lock()
	var socks []*Socket
	for so := range s.socks {
		if so.dom == dom && so.typ == typ && (typ == unix.SOCK_STREAM || so.proto == unix.IPPROTO_UDP) {
			socks = append(socks, so)
		}
	}
	s.mu.Unlock()
	sort.Slice(socks, func(i, j int) bool { return socks[i].SocketIno() < socks[j].SocketIno() })
	v6 := dom == unix.AF_INET6
	width := 150 // TMPSZ of tcp_ipv4.c
	var b []byte
	switch {
	case typ == unix.SOCK_DGRAM:
		width = 128
		if v6 {
			b = append(b, "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"...)
		} else {
			b = pad(append(b, "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops"...), 0, width)
		}
	case v6:
		b = append(b, "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"...)
	default:
		b = pad(append(b, "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode"...), 0, width)
	}
	for i, so := range socks {
		info, _ := so.ep.Info().(*stack.TransportEndpointInfo)
		var id stack.TransportEndpointID
		if info != nil {
			id = info.ID
		}
		st := tcpClose
		if typ == unix.SOCK_STREAM {
			switch es := tcp.EndpointState(so.ep.State()); {
			case es >= tcp.StateEstablished && es <= tcp.StateClosing:
				st = int(es)
			case es == tcp.StateConnecting:
				st = tcpSynSent
			}
		} else if id.RemotePort != 0 {
			st = tcpEstablished
		}
		tx, _ := so.ep.GetSockOptInt(tcpip.SendQueueSizeOption)
		rx, _ := so.ep.GetSockOptInt(tcpip.ReceiveQueueSizeOption)
		if st == int(tcp.StateListen) {
			tx, rx = 0, 0
		}
		start := len(b)
		if typ == unix.SOCK_DGRAM {
			b = fmt.Appendf(b, "%5d: %s:%04X %s:%04X %02X %08X:%08X 00:00000000 00000000 %5d        0 %d 2 %016x 0",
				i, hexAddr(id.LocalAddress, v6), id.LocalPort, hexAddr(id.RemoteAddress, v6), id.RemotePort,
				st, tx, rx, 0, so.SocketIno(), so.SocketIno())
			if v6 {
				b = append(b, '\n')
			} else {
				b = pad(b, start, width)
			}
			continue
		}
		b = fmt.Appendf(b, "%4d: %s:%04X %s:%04X %02X %08X:%08X 00:00000000 00000000 %5d        0 %d 1 %016x 20 4 0 10 -1",
			i, hexAddr(id.LocalAddress, v6), id.LocalPort, hexAddr(id.RemoteAddress, v6), id.RemotePort,
			st, tx, rx, 0, so.SocketIno(), so.SocketIno())
		if v6 {
			b = append(b, '\n')
		} else {
			b = pad(b, start, width)
		}
	}
	return b
}

func (s *Stack) procDev() []byte {
	b := []byte("Inter-|   Receive                                                |  Transmit\n" +
		" face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n")
	for _, ifc := range s.interfaces() {
		info := s.S.NICInfo()[tcpip.NICID(ifc.index)]
		st := info.Stats
		b = fmt.Appendf(b, "%6s: %7d %7d %4d %4d %4d %5d %10d %9d %8d %7d %4d %4d %4d %5d %7d %10d\n", ifc.name,
			st.Rx.Bytes.Value(), st.Rx.Packets.Value(), 0, 0, 0, 0, 0, 0,
			st.Tx.Bytes.Value(), st.Tx.Packets.Value(), 0, st.TxPacketsDroppedNoBufferSpace.Value(), 0, 0, 0, 0)
	}
	return b
}

func (s *Stack) procIfInet6() []byte {
	var b []byte
	for _, ifc := range s.interfaces() {
		for _, p := range ifc.addrs {
			if !p.Addr().Is6() {
				continue
			}
			scope := 0x00 // global
			switch {
			case p.Addr().IsLoopback():
				scope = 0x10
			case p.Addr().IsLinkLocalUnicast():
				scope = 0x20
			}
			a := p.Addr().As16()
			b = fmt.Appendf(b, "%x %02x %02x %02x %02x %8s\n", a[:], ifc.index, p.Bits(), scope, 0x80, ifc.name)
		}
	}
	return b
}

// procRoute is the main table's IPv4 routes: the loopback ones live in
// Linux's local table, which this file does not show.
func (s *Stack) procRoute() []byte {
	const width = 128
	b := pad([]byte("Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT"), 0, width)
	names := map[tcpip.NICID]string{}
	for id, info := range s.S.NICInfo() {
		names[id] = info.Name
	}
	for _, r := range s.S.GetRouteTable() {
		if r.NIC == LoopbackNIC || r.Destination.ID().Len() != 4 {
			continue
		}
		flags := 0x1 // RTF_UP
		gw := uint32(0)
		if r.Gateway.Len() == 4 {
			flags |= 0x2 // RTF_GATEWAY
			gw = binary.LittleEndian.Uint32(r.Gateway.AsSlice())
		}
		dst, mask := r.Destination.ID(), r.Destination.Mask()
		start := len(b)
		b = fmt.Appendf(b, "%s\t%08X\t%08X\t%04X\t0\t0\t0\t%08X\t0\t0\t0", names[r.NIC],
			binary.LittleEndian.Uint32(dst.AsSlice()), gw, flags, binary.LittleEndian.Uint32(mask.AsSlice()))
		b = pad(b, start, width)
	}
	return b
}
