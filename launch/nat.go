package launch

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/link/pipe"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"
)

// --net nat: the guest's eth0 is one end of a packet pipe whose other end
// is a second netstack, the gateway, that lives in rumpgo and owns no
// address but the gateway's. It runs in promiscuous mode with spoofing:
// every TCP connection and UDP flow the guest opens to an outside address
// ends there (tcp.NewForwarder, udp.NewForwarder) and is relayed through
// a host socket of rumpgo's own. Nothing reaches the guest from outside
// but -p forwards, which the gateway injects with the client's address.
//
// The gateway's own address answers DNS on port 53 (relayed to the host's
// first nameserver, the one /etc/resolv.conf names) and, only with
// host-loopback, maps its other ports to the host's loopback (127.0.0.1,
// then ::1): without it a guest cannot reach services the host keeps to
// itself on lo. Loopback, multicast and broadcast destinations are never
// relayed.

// natMTU is eth0's MTU: the pipe carries no wire, so large packets cost
// less (slirp4netns picks the same).
const natMTU = 65520

// natDialTimeout bounds a host connect for a guest's SYN, about as long as
// a Linux connect retries.
const natDialTimeout = 75 * time.Second

// udpNATIdle and dnsIdle are how long a relayed UDP flow lives without a
// datagram either way; resolvers use a socket per query, so theirs go fast.
const (
	udpNATIdle = 2 * time.Minute
	dnsIdle    = 10 * time.Second
)

// natSetup is the guest side of --net nat: eth0's configuration.
type natSetup struct {
	guest   netip.Prefix
	gateway netip.Addr
	loop    bool     // host-loopback
	dns     []string // host resolvers, host:port
}

// natAddrs checks --ip and picks the gateway: the subnet's second host
// address (10.0.2.2 for 10.0.2.15/24, as QEMU), or its first when the
// guest has the second.
func natAddrs(ip netip.Prefix) (netip.Prefix, netip.Addr, error) {
	if !ip.IsValid() {
		ip = DefaultGuestIP
	}
	a := ip.Addr()
	if !a.Is4() || ip.Bits() < 8 || ip.Bits() > 30 {
		return ip, netip.Addr{}, fmt.Errorf("--ip %v: want an IPv4 ADDRESS/PREFIX with a prefix of 8 to 30 bits", ip)
	}
	if a.IsLoopback() || a.IsMulticast() || a.IsUnspecified() || a.IsLinkLocalUnicast() {
		return ip, netip.Addr{}, fmt.Errorf("--ip %v: not a unicast address", ip)
	}
	net := ip.Masked().Addr()
	last := broadcast(ip)
	if a == net || a == last {
		return ip, netip.Addr{}, fmt.Errorf("--ip %v: the subnet's network or broadcast address", ip)
	}
	gw := net.Next().Next()
	if gw == a {
		gw = net.Next()
	}
	return ip, gw, nil
}

func broadcast(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	for i := p.Bits(); i < 32; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	return netip.AddrFrom4(b)
}

// hostResolvers reads the nameservers of the host's /etc/resolv.conf
// (Linux's resolver default, the local one, when it names none), and its
// search and options lines for the guest's copy.
func hostResolvers(path string) (servers []string, extra []string) {
	f, err := os.Open(path)
	if err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 2 {
				continue
			}
			switch fields[0] {
			case "nameserver":
				if a, err := netip.ParseAddr(fields[1]); err == nil {
					servers = append(servers, netip.AddrPortFrom(a, 53).String())
				}
			case "search", "domain", "options":
				extra = append(extra, strings.Join(fields, " "))
			}
		}
	}
	if len(servers) == 0 {
		servers = []string{"127.0.0.1:53", "[::1]:53"}
	}
	return servers, extra
}

// NetEtc are the /etc files the network decides, which replace the
// defaults and an image's own: under --net nat, resolv.conf (the
// gateway's DNS forwarder, and the host's search domains and options).
// Launch hands them to the file-system setup.
func NetEtc(cfg NetConfig) map[string]string {
	if cfg.Mode != NetNAT {
		return nil
	}
	_, gw, err := natAddrs(cfg.IP)
	if err != nil {
		return nil // setupNet reports it
	}
	_, extra := hostResolvers(hostResolvConf)
	text := "nameserver " + gw.String() + "\n"
	for _, l := range extra {
		text += l + "\n"
	}
	return map[string]string{"/etc/resolv.conf": text}
}

// hostResolvConf is where the host's resolvers are read from.
var hostResolvConf = "/etc/resolv.conf"

// gateway is the far end of eth0.
type gateway struct {
	s   *stack.Stack
	cfg natSetup
}

// newNAT makes the pipe, the gateway stack on one end, and returns the
// other end for the guest's eth0.
func (g *guestNet) newNAT(cfg natSetup) (stack.LinkEndpoint, error) {
	guestEnd, gwEnd := pipe.New("", "", natMTU)
	s := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, ipv6.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol},
	})
	sack := tcpip.TCPSACKEnabled(true)
	s.SetTransportProtocolOption(tcp.ProtocolNumber, &sack)
	mod := tcpip.TCPModerateReceiveBufferOption(true)
	s.SetTransportProtocolOption(tcp.ProtocolNumber, &mod)
	if err := s.CreateNICWithOptions(1, gwEnd, stack.NICOptions{Name: "gw"}); err != nil {
		return nil, fmt.Errorf("--net nat: gateway: %v", err)
	}
	pa := tcpip.ProtocolAddress{Protocol: ipv4.ProtocolNumber, AddressWithPrefix: tcpip.AddressWithPrefix{
		Address: tcpip.AddrFromSlice(cfg.gateway.AsSlice()), PrefixLen: cfg.guest.Bits()}}
	if err := s.AddProtocolAddress(1, pa, stack.AddressProperties{}); err != nil {
		return nil, fmt.Errorf("--net nat: gateway address: %v", err)
	}
	// Every destination is the gateway's to answer, from any address.
	s.SetPromiscuousMode(1, true)
	s.SetSpoofing(1, true)
	s.SetRouteTable([]tcpip.Route{
		{Destination: subnetOf(netip.MustParsePrefix("0.0.0.0/0")), NIC: 1},
		{Destination: subnetOf(netip.MustParsePrefix("::/0")), NIC: 1},
	})
	g.gw = &gateway{s: s, cfg: cfg}
	tf := tcp.NewForwarder(s, 0, 4096, g.natTCP)
	s.SetTransportProtocolHandler(tcp.ProtocolNumber, tf.HandlePacket)
	uf := udp.NewForwarder(s, g.natUDP)
	s.SetTransportProtocolHandler(udp.ProtocolNumber, uf.HandlePacket)
	return guestEnd, nil
}

func subnetOf(p netip.Prefix) tcpip.Subnet {
	sn, err := tcpip.NewSubnet(tcpip.AddrFromSlice(p.Addr().AsSlice()), tcpip.MaskFromBytes(make([]byte, p.Addr().BitLen()/8)))
	if err != nil {
		panic(err)
	}
	return sn
}

func toAddr(a tcpip.Address) netip.Addr {
	v, _ := netip.AddrFromSlice(a.AsSlice())
	return v.Unmap()
}

// targets are the host addresses a guest's flow to dst goes to, in order;
// none: it is not relayed.
func (gw *gateway) targets(dst netip.AddrPort) []string {
	a, port := dst.Addr(), dst.Port()
	if a == gw.cfg.gateway {
		switch {
		case port == 53:
			return gw.cfg.dns
		case gw.cfg.loop:
			return []string{netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), port).String(),
				netip.AddrPortFrom(netip.IPv6Loopback(), port).String()}
		}
		return nil
	}
	if !a.IsValid() || a.IsLoopback() || a.IsUnspecified() || a.IsMulticast() ||
		a.IsInterfaceLocalMulticast() || a == broadcast(gw.cfg.guest) || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) ||
		gw.cfg.guest.Contains(a) && a != gw.cfg.gateway {
		return nil
	}
	return []string{dst.String()}
}

// enter counts a relay in, unless the network is closing.
func (g *guestNet) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closing {
		return false
	}
	g.wg.Add(1)
	return true
}

// natTCP relays one guest connection: it connects on the host first, so
// a refused or unreachable host answers the guest's SYN with a reset
// (ECONNREFUSED) and only a connection that exists is accepted.
func (g *guestNet) natTCP(r *tcp.ForwarderRequest) {
	id := r.ID()
	dst := netip.AddrPortFrom(toAddr(id.LocalAddress), id.LocalPort)
	targets := g.gw.targets(dst)
	if len(targets) == 0 || !g.enter() {
		r.Complete(true)
		return
	}
	defer g.wg.Done()
	var hc net.Conn
	d := net.Dialer{Timeout: natDialTimeout}
	for _, t := range targets {
		c, err := d.DialContext(g.ctx, "tcp", t)
		if err == nil {
			hc = c
			break
		}
	}
	if hc == nil {
		r.Complete(true)
		return
	}
	var wq waiter.Queue
	ep, err := r.CreateEndpoint(&wq)
	if err != nil {
		r.Complete(true)
		hc.Close()
		return
	}
	r.Complete(false)
	g.relayTCP(hc.(*net.TCPConn), gonet.NewTCPConn(&wq, ep))
}

// natUDP starts relaying a new guest UDP flow (it runs in the packet's
// path: it only dials, which does not wait for the network). Unrelayed
// flows are unhandled: the guest gets an ICMP port unreachable.
func (g *guestNet) natUDP(r *udp.ForwarderRequest) bool {
	id := r.ID()
	dst := netip.AddrPortFrom(toAddr(id.LocalAddress), id.LocalPort)
	targets := g.gw.targets(dst)
	if len(targets) == 0 || !g.enter() {
		return false
	}
	var hc *net.UDPConn
	for _, t := range targets {
		c, err := net.Dial("udp", t)
		if err == nil {
			hc = c.(*net.UDPConn)
			break
		}
	}
	if hc == nil {
		g.wg.Done()
		return false
	}
	var wq waiter.Queue
	ep, err := r.CreateEndpoint(&wq)
	if err != nil {
		hc.Close()
		g.wg.Done()
		return true // a flow already has it: dropped, as a full queue would
	}
	idle := udpNATIdle
	if dst.Port() == 53 {
		idle = dnsIdle
	}
	go func() {
		defer g.wg.Done()
		relayUDP(g.ctx, hc, gonet.NewUDPConn(&wq, ep), idle)
	}()
	return true
}

// relayUDP copies datagrams both ways between a host socket and a
// connected guest endpoint until the flow is idle or the network closes.
func relayUDP(ctx context.Context, hc *net.UDPConn, gc *gonet.UDPConn, idle time.Duration) {
	var once sync.Once
	closeBoth := func() { once.Do(func() { hc.Close(); gc.Close() }) }
	timer := time.AfterFunc(idle, closeBoth)
	defer timer.Stop()
	stop := context.AfterFunc(ctx, closeBoth)
	defer stop()
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			n, err := hc.Read(buf)
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue // an ICMP error for an earlier datagram
			}
			timer.Reset(idle)
			gc.Write(buf[:n])
		}
	}()
	buf := make([]byte, 65536)
	for {
		n, err := gc.Read(buf)
		if err != nil {
			break
		}
		timer.Reset(idle)
		if _, err := hc.Write(buf[:n]); err != nil && errors.Is(err, net.ErrClosed) {
			break
		}
	}
	closeBoth()
	<-done
}

// relayTCP copies both ways between a host connection and a guest one,
// passing each side's half-close to the other, until both ends are done
// or the network closes.
func (g *guestNet) relayTCP(hc *net.TCPConn, gc *gonet.TCPConn) {
	defer hc.Close()
	defer gc.Close()
	stop := context.AfterFunc(g.ctx, func() { hc.Close(); gc.Close() })
	defer stop()
	done := make(chan struct{})
	go func() {
		copyHalf(gc, hc)
		gc.CloseWrite()
		close(done)
	}()
	copyHalf(hc, gc)
	hc.CloseWrite()
	<-done
}

// copyHalf copies src to dst until src ends; a reset on either side ends
// the other as a reset.
func copyHalf(dst, src net.Conn) {
	buf := make([]byte, 256<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				abort(src)
				return
			}
		}
		if err != nil {
			if isReset(err) {
				abort(dst)
			}
			return
		}
	}
}

func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || strings.Contains(err.Error(), "connection reset")
}

// abort closes c with a reset (SO_LINGER 0) where it can.
func abort(c net.Conn) {
	switch x := c.(type) {
	case *net.TCPConn:
		x.SetLinger(0)
		x.Close()
	case *gonet.TCPConn:
		x.Close()
	}
}

// injectTCP connects to the guest's port from the gateway as the client
// itself (its address and port), so the guest's accept and getpeername
// see who connected. ok is false when that cannot be: the client is on a
// loopback or is no IPv4 address, or nothing listens on eth0's address.
func (g *guestNet) injectTCP(client netip.AddrPort, port uint16) (*gonet.TCPConn, bool) {
	from, ok := g.injectable(client)
	if !ok {
		return nil, false
	}
	ctx, cancel := context.WithTimeout(g.ctx, 10*time.Second)
	defer cancel()
	c, err := gonet.DialTCPWithBind(ctx, g.gw.s, from, g.guestAddr(port), ipv4.ProtocolNumber)
	if err != nil {
		return nil, false
	}
	return c, true
}

// injectUDP is injectTCP for a -p UDP flow: only when the guest has a
// socket bound to the port on eth0's address or every address.
func (g *guestNet) injectUDP(client netip.AddrPort, port uint16) (*gonet.UDPConn, bool) {
	from, ok := g.injectable(client)
	if !ok || !g.stack.UDPBound(g.gw.cfg.guest.Addr(), port) {
		return nil, false
	}
	to := g.guestAddr(port)
	c, err := gonet.DialUDP(g.gw.s, &from, &to, ipv4.ProtocolNumber)
	if err != nil {
		return nil, false
	}
	return c, true
}

func (g *guestNet) injectable(client netip.AddrPort) (tcpip.FullAddress, bool) {
	a := client.Addr().Unmap()
	if g.gw == nil || !a.Is4() || a.IsLoopback() || a.IsUnspecified() || a == g.gw.cfg.guest.Addr() {
		return tcpip.FullAddress{}, false
	}
	return tcpip.FullAddress{NIC: 1, Addr: tcpip.AddrFrom4(a.As4()), Port: client.Port()}, true
}

func (g *guestNet) guestAddr(port uint16) tcpip.FullAddress {
	return tcpip.FullAddress{NIC: 1, Addr: tcpip.AddrFrom4(g.gw.cfg.guest.Addr().As4()), Port: port}
}
