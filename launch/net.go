package launch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/inet"
	"github.com/rumpgo/rumpgo/syscalls"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
)

// The guest's network: its own TCP/IP stack (posix/inet), and the host
// side of it — the -p forwards, which listen on the host and splice each
// connection or datagram into the guest's stack.

// Network modes (--net).
const (
	// NetNone is the default: the guest has lo only and reaches nothing
	// outside; -p forwards still reach it.
	NetNone = "none"
	// NetNAT gives the guest eth0 and outbound TCP and UDP through the
	// host's sockets.
	NetNAT = "nat"
	// NetLink gives the guest NetConfig.Eth, a network card its caller
	// made: an OCI container's interface in its network namespace, which
	// the guest then owns (package oci).
	NetLink = "link"
)

// NetConfig says how the guest is networked.
type NetConfig struct {
	Mode     string    // NetNone (default, "") or NetNAT
	Forwards []Forward // -p
	// IP is eth0's address and subnet under --net nat (--ip); zero means
	// DefaultGuestIP.
	IP netip.Prefix
	// HostLoopback (--net nat,host-loopback) lets the guest reach the
	// host's loopback services through the gateway's address.
	HostLoopback bool
	// Eth is eth0 under NetLink: its link (with Ethernet framing, ARP
	// is answered), address and gateway.
	Eth *inet.Eth0
	// PublishListening listens on the host on every TCP port the guest
	// listens on, while it does (its loopback-only ports on the host's
	// loopback): a container on the host's network, whose servers are
	// the host's (package oci).
	PublishListening bool
	// Report gets what PublishListening could not publish.
	Report io.Writer
}

// SetMode reads a --net value: none, nat or nat,host-loopback.
func (c *NetConfig) SetMode(v string) error {
	mode, opts, _ := strings.Cut(v, ",")
	c.Mode, c.HostLoopback = mode, false
	switch mode {
	case NetNone:
		if opts != "" {
			return fmt.Errorf("--net %s: none takes no options", v)
		}
		return nil
	case NetNAT:
	default:
		return fmt.Errorf("--net %s: want none, nat or nat,host-loopback", v)
	}
	if opts == "" {
		return nil
	}
	for _, o := range strings.Split(opts, ",") {
		if o != "host-loopback" {
			return fmt.Errorf("--net %s: unknown option %q (nat takes host-loopback)", v, o)
		}
		c.HostLoopback = true
	}
	return nil
}

// DefaultGuestIP is eth0's address when --ip is not given: the address
// QEMU's user networking gives its guests.
var DefaultGuestIP = netip.MustParsePrefix("10.0.2.15/24")

// Forward is one -p [HOSTIP:]HOSTPORT:GUESTPORT[/tcp|/udp].
type Forward struct {
	HostIP    netip.Addr // invalid: every host address
	HostPort  uint16
	GuestPort uint16
	Proto     string // "tcp" or "udp"
}

func (f Forward) String() string {
	h := ""
	if f.HostIP.IsValid() {
		h = f.HostIP.String() + ":"
		if f.HostIP.Is6() {
			h = "[" + f.HostIP.String() + "]:"
		}
	}
	return fmt.Sprintf("%s%d:%d/%s", h, f.HostPort, f.GuestPort, f.Proto)
}

// ParseForward reads a -p value: [HOSTIP:]HOSTPORT:GUESTPORT[/tcp|/udp],
// where an IPv6 HOSTIP is written in brackets.
func ParseForward(s string) (Forward, error) {
	f := Forward{Proto: "tcp"}
	spec := s
	if i := strings.LastIndexByte(spec, '/'); i >= 0 {
		f.Proto = spec[i+1:]
		spec = spec[:i]
		if f.Proto != "tcp" && f.Proto != "udp" {
			return f, fmt.Errorf("-p %s: protocol must be tcp or udp", s)
		}
	}
	i := strings.LastIndexByte(spec, ':')
	if i < 0 {
		return f, fmt.Errorf("-p %s: want [HOSTIP:]HOSTPORT:GUESTPORT[/tcp|/udp]", s)
	}
	guest := spec[i+1:]
	rest := spec[:i]
	host := rest
	if j := strings.LastIndexByte(rest, ':'); j >= 0 {
		ip := strings.TrimSuffix(strings.TrimPrefix(rest[:j], "["), "]")
		a, err := netip.ParseAddr(ip)
		if err != nil {
			return f, fmt.Errorf("-p %s: bad host address %q", s, rest[:j])
		}
		f.HostIP = a.Unmap()
		host = rest[j+1:]
	}
	port := func(v string) (uint16, error) {
		n, err := strconv.ParseUint(v, 10, 16)
		if err != nil || n == 0 {
			return 0, fmt.Errorf("-p %s: bad port %q (want 1-65535)", s, v)
		}
		return uint16(n), nil
	}
	var err error
	if f.HostPort, err = port(host); err != nil {
		return f, err
	}
	if f.GuestPort, err = port(guest); err != nil {
		return f, err
	}
	return f, nil
}

// guestNet is a running guest network.
type guestNet struct {
	stack   *inet.Stack
	gw      *gateway // --net nat: the far end of eth0 (nat.go)
	closers []io.Closer
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	mu      sync.Mutex
	closing bool // no relay may start: close is waiting for them
}

// Validate checks the configuration before anything is built.
func (c NetConfig) Validate() error {
	switch c.Mode {
	case "", NetNone:
		if c.IP.IsValid() {
			return errors.New("--ip: the guest has no eth0 without --net nat")
		}
		if c.HostLoopback {
			return errors.New("--net none: host-loopback needs nat")
		}
	case NetNAT:
		_, _, err := natAddrs(c.IP)
		return err
	case NetLink:
		if c.Eth == nil {
			return errors.New("network: no card given")
		}
	default:
		return fmt.Errorf("--net %s: want none or nat", c.Mode)
	}
	return nil
}

// setupNet builds the guest's stack, opens every -p listener on the host
// (an address in use is an error before the guest boots) and gives the
// kernel its network. The returned function tears it all down.
func setupNet(cfg NetConfig, k *syscalls.Kernel) (func(), error) {
	g := &guestNet{}
	g.ctx, g.cancel = context.WithCancel(context.Background())
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var eth *inet.Eth0
	if cfg.Mode == NetNAT {
		ip, gw, _ := natAddrs(cfg.IP)
		dns, _ := hostResolvers(hostResolvConf)
		link, err := g.newNAT(natSetup{guest: ip, gateway: gw, loop: cfg.HostLoopback, dns: dns})
		if err != nil {
			return nil, err
		}
		eth = &inet.Eth0{Link: link, Addr: ip, Gateway: gw}
	}
	if cfg.Mode == NetLink {
		eth = cfg.Eth
	}
	st, err := inet.NewStack(eth)
	if err != nil {
		if g.gw != nil {
			g.gw.s.Close()
		}
		return nil, err
	}
	g.stack = st
	for _, f := range cfg.Forwards {
		if err := g.forward(f); err != nil {
			g.close()
			return nil, err
		}
	}
	if cfg.PublishListening {
		g.wg.Add(1)
		go g.publishListening(cfg.Report)
	}
	k.SetNetwork(&syscalls.Network{Inet: st, Unix: posix.NewUnixNamespace()})
	return func() {
		k.ReleaseNetwork()
		g.close()
	}, nil
}

func (g *guestNet) close() {
	g.mu.Lock()
	g.closing = true
	g.mu.Unlock()
	g.cancel()
	for _, c := range g.closers {
		c.Close()
	}
	g.wg.Wait()
	g.stack.Close()
	if g.gw != nil {
		g.gw.s.Close()
		g.gw.s.Wait()
	}
}

func hostAddr(f Forward) string {
	ip := ""
	if f.HostIP.IsValid() {
		ip = f.HostIP.String()
	}
	return net.JoinHostPort(ip, strconv.Itoa(int(f.HostPort)))
}

func (g *guestNet) forward(f Forward) error {
	addr := hostAddr(f)
	if f.Proto == "udp" {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return fmt.Errorf("-p %v: %w", f, err)
		}
		g.closers = append(g.closers, pc)
		g.wg.Add(1)
		go g.serveUDP(pc.(*net.UDPConn), f)
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("-p %v: %w", f, err)
	}
	g.closers = append(g.closers, ln)
	g.wg.Add(1)
	go g.serveTCP(ln, f)
	return nil
}

// guestTargets are where a forwarded connection goes in the guest: its
// IPv4 loopback, then IPv6's for servers that listen there only.
func guestTargets(port uint16) []struct {
	addr  tcpip.FullAddress
	proto tcpip.NetworkProtocolNumber
} {
	return []struct {
		addr  tcpip.FullAddress
		proto tcpip.NetworkProtocolNumber
	}{
		{tcpip.FullAddress{Addr: tcpip.AddrFrom4([4]byte{127, 0, 0, 1}), Port: port}, ipv4.ProtocolNumber},
		{tcpip.FullAddress{Addr: tcpip.AddrFrom16([16]byte{15: 1}), Port: port}, ipv6.ProtocolNumber},
	}
}

func (g *guestNet) serveTCP(ln net.Listener, f Forward) {
	defer g.wg.Done()
	var conns sync.WaitGroup
	defer conns.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// EMFILE and friends: back off rather than spin.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		conns.Add(1)
		go func() {
			defer conns.Done()
			g.spliceTCP(c.(*net.TCPConn), f.GuestPort)
		}()
	}
}

// spliceTCP connects to the guest's port and copies both ways, passing
// each side's half-close to the other. Under --net nat the connection
// comes from the client's own address and port when it can (injectTCP);
// otherwise, or when the guest listens on loopback only, from the guest's
// loopback. A guest that does not listen resets the host connection, as
// a closed port would.
func (g *guestNet) spliceTCP(hc *net.TCPConn, port uint16) {
	var gc *gonet.TCPConn
	if c, ok := g.injectTCP(hc.RemoteAddr().(*net.TCPAddr).AddrPort(), port); ok {
		gc = c
	}
	for _, t := range guestTargets(port) {
		if gc != nil {
			break
		}
		ctx, cancel := context.WithTimeout(g.ctx, 10*time.Second)
		c, err := gonet.DialContextTCP(ctx, g.stack.S, t.addr, t.proto)
		cancel()
		if err == nil {
			gc = c
		}
	}
	if gc == nil {
		hc.SetLinger(0)
		hc.Close()
		return
	}
	g.relayTCP(hc, gc)
}

// udpIdle is how long a forwarded UDP flow lives without traffic.
const udpIdle = 2 * time.Minute

// serveUDP relays datagrams: each host client gets its own guest socket,
// so the guest's replies find their way back.
func (g *guestNet) serveUDP(pc *net.UDPConn, f Forward) {
	defer g.wg.Done()
	type flow struct {
		c    *gonet.UDPConn
		last time.Time
	}
	var mu sync.Mutex
	flows := map[netip.AddrPort]*flow{}
	defer func() {
		mu.Lock()
		for _, fl := range flows {
			fl.c.Close()
		}
		mu.Unlock()
	}()
	buf := make([]byte, 65536)
	for {
		n, from, err := pc.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		mu.Lock()
		fl := flows[from]
		if fl == nil {
			c, ok := g.injectUDP(from, f.GuestPort)
			if !ok {
				t := guestTargets(f.GuestPort)[0]
				var err error
				if c, err = gonet.DialUDP(g.stack.S, nil, &t.addr, t.proto); err != nil {
					mu.Unlock()
					continue
				}
			}
			fl = &flow{c: c}
			flows[from] = fl
			go func() {
				rb := make([]byte, 65536)
				for {
					c.SetReadDeadline(time.Now().Add(udpIdle))
					n, err := c.Read(rb)
					if err != nil {
						mu.Lock()
						if flows[from] == fl && time.Since(fl.last) >= udpIdle || g.ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded) && !isTimeout(err) {
							delete(flows, from)
							mu.Unlock()
							c.Close()
							return
						}
						mu.Unlock()
						continue
					}
					pc.WriteToUDPAddrPort(rb[:n], from)
				}
			}()
		}
		fl.last = time.Now()
		mu.Unlock()
		fl.c.Write(buf[:n])
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// publishInterval is how often publishListening looks at the guest's
// listening sockets.
const publishInterval = 50 * time.Millisecond

// publishListening keeps a host listener on every TCP port the guest
// listens on (read from its /proc/net/tcp and tcp6, state LISTEN), each
// spliced to the guest as a -p forward, and closes it when the guest's
// socket goes. A port the host has in use is reported once.
func (g *guestNet) publishListening(report io.Writer) {
	defer g.wg.Done()
	published := map[string]net.Listener{}
	refused := map[string]bool{}
	t := time.NewTicker(publishInterval)
	defer t.Stop()
	for {
		select {
		case <-g.ctx.Done():
			for _, ln := range published {
				ln.Close()
			}
			return
		case <-t.C:
		}
		want := map[string]Forward{}
		for _, name := range []string{"tcp", "tcp6"} {
			text, _ := g.stack.ProcNet(name)
			for _, f := range listeningPorts(text) {
				want[hostAddr(f)] = f
			}
		}
		for addr, ln := range published {
			if _, ok := want[addr]; !ok {
				ln.Close()
				delete(published, addr)
			}
		}
		for addr, f := range want {
			if published[addr] != nil || refused[addr] {
				continue
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				refused[addr] = true
				if report != nil {
					fmt.Fprintf(report, "rumpgo: the guest listens on TCP %s; not published on the host: %v\n", addr, err)
				}
				continue
			}
			g.mu.Lock()
			if g.closing {
				g.mu.Unlock()
				ln.Close()
				continue
			}
			g.wg.Add(1)
			g.mu.Unlock()
			published[addr] = ln
			go g.serveTCP(ln, f)
		}
	}
}

// listeningPorts reads /proc/net/tcp or tcp6 text: a forward for each
// socket in state LISTEN (0A), on the host's loopback when the guest's
// is bound to its loopback, else on every host address.
func listeningPorts(text []byte) []Forward {
	var out []Forward
	for _, line := range strings.Split(string(text), "\n")[1:] {
		fl := strings.Fields(line)
		if len(fl) < 4 || fl[3] != "0A" {
			continue
		}
		addr, port, ok := strings.Cut(fl[1], ":")
		p, err := strconv.ParseUint(port, 16, 16)
		if !ok || err != nil || p == 0 {
			continue
		}
		f := Forward{HostPort: uint16(p), GuestPort: uint16(p), Proto: "tcp"}
		switch addr {
		case "0100007F":
			f.HostIP = netip.MustParseAddr("127.0.0.1")
		case "00000000000000000000000001000000":
			f.HostIP = netip.IPv6Loopback()
		}
		out = append(out, f)
	}
	return out
}
