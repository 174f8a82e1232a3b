// Package inet owns the guest's TCP/IP: one gVisor netstack per machine
// (gvisor.dev/gvisor/pkg/tcpip) with the guest's interfaces — lo always,
// eth0 when the machine is given a link — the AF_INET and AF_INET6
// sockets on it (posix.Socket: TCP, UDP and unprivileged ICMP echo), and
// the NETLINK_ROUTE sockets that describe its interfaces and addresses.
//
// It knows nothing of the host: eth0 is a stack.LinkEndpoint the caller
// hands in (launch connects it to a gateway that reaches the host's
// network), so the package moves unchanged into a stage-2 guest.
package inet

import (
	"fmt"
	"net/netip"
	"sync"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/link/loopback"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
)

// Interface indexes, as Linux numbers a machine with one network card.
const (
	LoopbackNIC tcpip.NICID = 1 // lo
	EthNIC      tcpip.NICID = 2 // eth0
)

// Eth0 configures the guest's network card.
type Eth0 struct {
	Link    stack.LinkEndpoint // where its packets go: plain IP, or Ethernet frames (then ARP runs)
	Addr    netip.Prefix       // the guest's IPv4 address and subnet
	Gateway netip.Addr         // the default route's next hop
	Addr6   netip.Prefix       // optional IPv6 address (zero: none)
	Gw6     netip.Addr         // its default route's next hop
}

// Stack is one guest's network stack.
type Stack struct {
	S    *stack.Stack
	eth0 *Eth0

	mu    sync.Mutex
	socks map[*Socket]struct{} // open AF_INET and AF_INET6 sockets, for /proc/net
}

// NewStack builds a stack with lo (127.0.0.1/8, ::1/128) and, when eth is
// not nil, eth0 with its addresses and default routes.
func NewStack(eth *Eth0) (*Stack, error) {
	s := stack.New(stack.Options{
		// ARP serves an eth0 with Ethernet framing (an OCI container's
		// interface); a link without it never uses ARP.
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, ipv6.NewProtocol, arp.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol, icmp.NewProtocol4, icmp.NewProtocol6},
		// Connections to the guest's own eth0 address stay inside, as on Linux.
		HandleLocal: true,
	})
	// Linux's defaults: SACK on, buffers that grow with the connection.
	sack := tcpip.TCPSACKEnabled(true)
	s.SetTransportProtocolOption(tcp.ProtocolNumber, &sack)
	mod := tcpip.TCPModerateReceiveBufferOption(true)
	s.SetTransportProtocolOption(tcp.ProtocolNumber, &mod)
	// A peer that closed goes away after Linux's tcp_fin_timeout (60 s).
	lo := loopback.New()
	if err := s.CreateNICWithOptions(LoopbackNIC, lo, stack.NICOptions{Name: "lo"}); err != nil {
		return nil, fmt.Errorf("creating lo: %v", err)
	}
	add := func(nic tcpip.NICID, p netip.Prefix) error {
		proto := ipv4.ProtocolNumber
		if p.Addr().Is6() {
			proto = ipv6.ProtocolNumber
		}
		pa := tcpip.ProtocolAddress{Protocol: proto, AddressWithPrefix: tcpip.AddressWithPrefix{
			Address: tcpip.AddrFromSlice(p.Addr().AsSlice()), PrefixLen: p.Bits()}}
		if err := s.AddProtocolAddress(nic, pa, stack.AddressProperties{}); err != nil {
			return fmt.Errorf("address %v: %v", p, err)
		}
		return nil
	}
	if err := add(LoopbackNIC, netip.MustParsePrefix("127.0.0.1/8")); err != nil {
		return nil, err
	}
	if err := add(LoopbackNIC, netip.MustParsePrefix("::1/128")); err != nil {
		return nil, err
	}
	routes := []tcpip.Route{
		{Destination: subnet(netip.MustParsePrefix("127.0.0.0/8")), NIC: LoopbackNIC},
		{Destination: subnet(netip.MustParsePrefix("::1/128")), NIC: LoopbackNIC},
	}
	if eth != nil {
		if err := s.CreateNICWithOptions(EthNIC, eth.Link, stack.NICOptions{Name: "eth0"}); err != nil {
			return nil, fmt.Errorf("creating eth0: %v", err)
		}
		if err := add(EthNIC, eth.Addr); err != nil {
			return nil, err
		}
		routes = append(routes, tcpip.Route{Destination: subnet(eth.Addr.Masked()), NIC: EthNIC})
		if eth.Gateway.IsValid() {
			routes = append(routes, tcpip.Route{Destination: subnet(netip.MustParsePrefix("0.0.0.0/0")),
				Gateway: tcpip.AddrFromSlice(eth.Gateway.AsSlice()), NIC: EthNIC})
		}
		if eth.Addr6.IsValid() {
			if err := add(EthNIC, eth.Addr6); err != nil {
				return nil, err
			}
			routes = append(routes, tcpip.Route{Destination: subnet(eth.Addr6.Masked()), NIC: EthNIC})
			if eth.Gw6.IsValid() {
				routes = append(routes, tcpip.Route{Destination: subnet(netip.MustParsePrefix("::/0")),
					Gateway: tcpip.AddrFromSlice(eth.Gw6.AsSlice()), NIC: EthNIC})
			}
		}
	}
	s.SetRouteTable(routes)
	return &Stack{S: s, eth0: eth, socks: map[*Socket]struct{}{}}, nil
}

func subnet(p netip.Prefix) tcpip.Subnet {
	p = p.Masked()
	addr := tcpip.AddrFromSlice(p.Addr().AsSlice())
	mask := make([]byte, len(p.Addr().AsSlice()))
	for i := 0; i < p.Bits(); i++ {
		mask[i/8] |= 0x80 >> (i % 8)
	}
	sn, err := tcpip.NewSubnet(addr, tcpip.MaskFromBytes(mask))
	if err != nil {
		panic(err) // a masked prefix always makes a subnet
	}
	return sn
}

// Close ends every connection and stops the stack's goroutines.
func (s *Stack) Close() {
	s.S.Close()
	s.S.Wait()
}

// HasEth0 reports whether the guest has a network card.
func (s *Stack) HasEth0() bool { return s.eth0 != nil }

// Eth0Addr is eth0's IPv4 address (invalid without eth0).
func (s *Stack) Eth0Addr() netip.Addr {
	if s.eth0 == nil {
		return netip.Addr{}
	}
	return s.eth0.Addr.Addr()
}

// UDPBound reports whether a guest UDP socket is bound to port on addr
// (IPv4) or on every address: whether a datagram to addr:port finds it.
func (s *Stack) UDPBound(addr netip.Addr, port uint16) bool {
	for _, te := range s.S.RegisteredEndpoints() {
		ep, ok := te.(tcpip.Endpoint)
		if !ok {
			continue
		}
		info, ok := ep.Info().(*stack.TransportEndpointInfo)
		if !ok || info.TransProto != udp.ProtocolNumber || info.ID.LocalPort != port {
			continue
		}
		local, _ := netip.AddrFromSlice(info.ID.LocalAddress.AsSlice())
		if info.ID.LocalAddress.Len() == 0 || local.Unmap() == addr || local.IsUnspecified() {
			return true
		}
	}
	return false
}
