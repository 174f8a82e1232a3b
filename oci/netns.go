package oci

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"

	"github.com/rumpgo/rumpgo/posix/inet"
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/link/fdbased"
)

// The container's network namespace: whoever made it (Docker's
// libnetwork through its prestart hook, a CNI plugin) put an interface
// there — a veth end with an address and a default route. The guest takes
// that interface over, as gVisor's runsc does: the monitor reads its
// address, MAC, MTU and routes, removes the address from the host's stack
// in that namespace (so the kernel neither answers ARP for it nor resets
// connections it knows nothing of) and hands the guest's netstack an
// AF_PACKET socket on the interface: every frame on it is then the
// guest's. lo stays the guest's own.

// hostIface is what the monitor found of one interface.
type hostIface struct {
	name    string
	index   int
	mac     net.HardwareAddr
	mtu     int
	addr    netip.Prefix // its first IPv4 address
	gateway netip.Addr   // the IPv4 default route's next hop through it
}

// takeOverNetwork finds the namespace's interface and gives it to the
// guest. It returns nil, nil when there is none but lo (--network none),
// and a report of interfaces it leaves alone.
func takeOverNetwork() (*inet.Eth0, []string, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, nil, fmt.Errorf("network namespace: listing interfaces: %v", err)
	}
	var found []hostIface
	var notes []string
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		h := hostIface{name: ifc.Name, index: ifc.Index, mac: ifc.HardwareAddr, mtu: ifc.MTU}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				if ip4 := ipn.IP.To4(); ip4 != nil {
					bits, _ := ipn.Mask.Size()
					h.addr = netip.PrefixFrom(netip.AddrFrom4([4]byte(ip4)), bits)
					break
				}
			}
		}
		if !h.addr.IsValid() {
			notes = append(notes, fmt.Sprintf("network: interface %s has no IPv4 address: left alone", ifc.Name))
			continue
		}
		if len(h.mac) != 6 {
			notes = append(notes, fmt.Sprintf("network: interface %s is not Ethernet: left alone", ifc.Name))
			continue
		}
		found = append(found, h)
	}
	if len(found) == 0 {
		return nil, notes, nil
	}
	for _, h := range found[1:] {
		notes = append(notes, fmt.Sprintf("network: the guest has one interface: %s is left alone", h.name))
	}
	h := found[0]
	gws, err := defaultGateways()
	if err != nil {
		return nil, notes, err
	}
	h.gateway = gws[h.name]
	fd, err := packetSocket(h.index)
	if err != nil {
		return nil, notes, fmt.Errorf("network: %s: %v", h.name, err)
	}
	// The kernel's IPv6 on the interface (a link-local address, NDP)
	// would answer beside the guest's; the guest's eth0 is IPv4.
	os.WriteFile("/proc/sys/net/ipv6/conf/"+h.name+"/disable_ipv6", []byte("1"), 0)
	if err := deleteAddr(h.index, h.addr); err != nil {
		unix.Close(fd)
		return nil, notes, fmt.Errorf("network: removing %v from %s for the guest: %v", h.addr, h.name, err)
	}
	mtu := h.mtu
	if mtu <= 0 {
		mtu = 1500
	}
	link, err := fdbased.New(&fdbased.Options{
		FDs: []int{fd}, MTU: uint32(mtu), EthernetHeader: true, Address: tcpip.LinkAddress(h.mac),
		PacketDispatchMode: fdbased.RecvMMsg,
		// Frames the host's own stack sends over a veth carry partial
		// checksums (the kernel's offload): a packet socket sees them
		// before they are filled in, and the kernel has checked what
		// came from a wire. runsc does the same.
		RXChecksumOffload: true,
	})
	if err != nil {
		unix.Close(fd)
		return nil, notes, fmt.Errorf("network: %s: %v", h.name, err)
	}
	return &inet.Eth0{Link: link, Addr: h.addr, Gateway: h.gateway}, notes, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// packetSocket opens an AF_PACKET socket that sends and receives every
// frame on interface index, but not the ones it sends itself.
func packetSocket(index int) (int, error) {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		return -1, fmt.Errorf("AF_PACKET socket: %v", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: index}); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("binding the packet socket: %v", err)
	}
	unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1)
	return fd, nil
}

// defaultGateways reads the IPv4 default routes of this namespace
// (/proc/net/route): interface name -> next hop.
func defaultGateways() (map[string]netip.Addr, error) {
	f, err := os.Open("/proc/net/route")
	if err != nil {
		return nil, fmt.Errorf("network: routes: %v", err)
	}
	defer f.Close()
	gws := map[string]netip.Addr{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		if len(fl) < 8 || fl[1] != "00000000" || fl[7] != "00000000" {
			continue // not a default route
		}
		b, err := hex.DecodeString(fl[2])
		if err != nil || len(b) != 4 {
			continue
		}
		// The kernel prints the address in host (little-endian) order.
		gw := netip.AddrFrom4([4]byte{b[3], b[2], b[1], b[0]})
		if _, ok := gws[fl[0]]; !ok && !gw.IsUnspecified() {
			gws[fl[0]] = gw
		}
	}
	return gws, sc.Err()
}

// deleteAddr removes an IPv4 address from an interface (RTM_DELADDR).
func deleteAddr(index int, p netip.Prefix) error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	a := p.Addr().As4()
	attr := func(typ uint16, data []byte) []byte {
		b := make([]byte, 4, 8)
		binary.NativeEndian.PutUint16(b, uint16(4+len(data)))
		binary.NativeEndian.PutUint16(b[2:], typ)
		return append(b, data...)
	}
	body := []byte{unix.AF_INET, byte(p.Bits()), 0, 0, 0, 0, 0, 0}
	binary.NativeEndian.PutUint32(body[4:], uint32(index))
	body = append(body, attr(unix.IFA_LOCAL, a[:])...)
	body = append(body, attr(unix.IFA_ADDRESS, a[:])...)
	msg := make([]byte, unix.NLMSG_HDRLEN, unix.NLMSG_HDRLEN+len(body))
	binary.NativeEndian.PutUint32(msg, uint32(unix.NLMSG_HDRLEN+len(body)))
	binary.NativeEndian.PutUint16(msg[4:], unix.RTM_DELADDR)
	binary.NativeEndian.PutUint16(msg[6:], unix.NLM_F_REQUEST|unix.NLM_F_ACK)
	binary.NativeEndian.PutUint32(msg[8:], 1)
	msg = append(msg, body...)
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	buf := make([]byte, 4096)
	n, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil {
		return err
	}
	// One answer: an nlmsghdr of type NLMSG_ERROR whose error is 0 on
	// success, -errno on failure.
	if n < unix.NLMSG_HDRLEN+4 || binary.NativeEndian.Uint16(buf[4:]) != unix.NLMSG_ERROR {
		return errors.New("unexpected answer from netlink")
	}
	if code := int32(binary.NativeEndian.Uint32(buf[unix.NLMSG_HDRLEN:])); code != 0 {
		return unix.Errno(-code)
	}
	return nil
}
