package inet

import (
	"encoding/binary"
	"net/netip"
	"sort"

	"github.com/rumpgo/rumpgo/posix"
	"golang.org/x/sys/unix"
)

// Interface flags (linux/if.h) and hardware types (linux/if_arp.h).
const (
	IFF_UP          = 0x1
	IFF_LOOPBACK    = 0x8
	IFF_POINTOPOINT = 0x10
	IFF_RUNNING     = 0x40
	IFF_NOARP       = 0x80
	IFF_MULTICAST   = 0x1000
	IFF_LOWER_UP    = 0x10000

	ARPHRD_LOOPBACK = 772
	// ARPHRD_NONE is a link with no hardware header, as a tun device's:
	// eth0 carries plain IP packets to the gateway.
	ARPHRD_NONE = 0xfffe
)

// iface is one guest interface as ioctls and netlink describe it.
type iface struct {
	index int
	name  string
	flags uint32
	mtu   uint32
	typ   uint16
	hw    []byte
	addrs []netip.Prefix
}

func (s *Stack) interfaces() []iface {
	var out []iface
	for id, info := range s.S.NICInfo() {
		ifc := iface{index: int(id), name: info.Name, mtu: info.MTU, hw: []byte(info.LinkAddress)}
		if info.Flags.Up {
			ifc.flags |= IFF_UP
		}
		if info.Flags.Running {
			ifc.flags |= IFF_RUNNING | IFF_LOWER_UP
		}
		if info.Flags.Loopback {
			ifc.flags |= IFF_LOOPBACK
			ifc.typ = ARPHRD_LOOPBACK
			ifc.hw = make([]byte, 6)
		} else {
			ifc.flags |= IFF_MULTICAST | IFF_NOARP
			ifc.typ = ARPHRD_NONE
		}
		for _, pa := range info.ProtocolAddresses {
			a, ok := netip.AddrFromSlice(pa.AddressWithPrefix.Address.AsSlice())
			if ok {
				ifc.addrs = append(ifc.addrs, netip.PrefixFrom(a, pa.AddressWithPrefix.PrefixLen))
			}
		}
		sort.Slice(ifc.addrs, func(i, j int) bool { return ifc.addrs[i].Addr().Less(ifc.addrs[j].Addr()) })
		out = append(out, ifc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].index < out[j].index })
	return out
}

// Interface requests of Linux's dev_ioctl (linux/sockios.h).
const (
	SIOCGIFNAME    = 0x8910
	SIOCGIFCONF    = 0x8912
	SIOCGIFFLAGS   = 0x8913
	SIOCGIFADDR    = 0x8915
	SIOCGIFNETMASK = 0x891b
	SIOCGIFMTU     = 0x8921
	SIOCGIFHWADDR  = 0x8927
	SIOCGIFINDEX   = 0x8933

	ifreqSize  = 40 // struct ifreq: a 16-byte name and a 24-byte union
	ifNameSize = 16
)

// IfIoctl answers the interface requests (SIOCGIFNAME, SIOCGIFINDEX,
// SIOCGIFCONF …) that Linux's sock_do_ioctl hands dev_ioctl for a socket
// of any family — an AF_UNIX one too, which glibc's if_nametoindex opens.
func (s *Stack) IfIoctl(mem posix.GuestMemory, cmd uint32, arg uint64) (uint64, unix.Errno) {
	return s.ifIoctl(mem, cmd, arg)
}

// ifIoctl answers the interface requests any socket takes.
func (s *Stack) ifIoctl(mem posix.GuestMemory, cmd uint32, arg uint64) (uint64, unix.Errno) {
	switch cmd {
	case SIOCGIFCONF:
		return s.ifconf(mem, arg)
	case SIOCGIFNAME, SIOCGIFFLAGS, SIOCGIFADDR, SIOCGIFNETMASK, SIOCGIFMTU, SIOCGIFHWADDR, SIOCGIFINDEX:
	default:
		return 0, unix.ENOTTY
	}
	req := make([]byte, ifreqSize)
	if e := mem.CopyIn(arg, req); e != 0 {
		return 0, e
	}
	le := binary.LittleEndian
	var ifc *iface
	all := s.interfaces()
	if cmd == SIOCGIFNAME {
		idx := int(int32(le.Uint32(req[16:])))
		for i := range all {
			if all[i].index == idx {
				ifc = &all[i]
			}
		}
	} else {
		n := 0
		for n < ifNameSize && req[n] != 0 {
			n++
		}
		for i := range all {
			if all[i].name == string(req[:n]) {
				ifc = &all[i]
			}
		}
	}
	if ifc == nil {
		return 0, unix.ENODEV
	}
	u := req[16:]
	clear(u)
	v4 := func() (netip.Prefix, bool) {
		for _, p := range ifc.addrs {
			if p.Addr().Is4() {
				return p, true
			}
		}
		return netip.Prefix{}, false
	}
	putIn := func(a netip.Addr) {
		le.PutUint16(u, unix.AF_INET)
		b := a.As4()
		copy(u[4:], b[:])
	}
	switch cmd {
	case SIOCGIFNAME:
		clear(req[:ifNameSize])
		copy(req[:ifNameSize-1], ifc.name)
		le.PutUint32(u, uint32(ifc.index))
	case SIOCGIFINDEX:
		le.PutUint32(u, uint32(ifc.index))
	case SIOCGIFFLAGS:
		le.PutUint16(u, uint16(ifc.flags))
	case SIOCGIFMTU:
		le.PutUint32(u, ifc.mtu)
	case SIOCGIFHWADDR:
		le.PutUint16(u, ifc.typ)
		copy(u[2:], ifc.hw)
	case SIOCGIFADDR, SIOCGIFNETMASK:
		p, ok := v4()
		if !ok {
			return 0, unix.EADDRNOTAVAIL
		}
		if cmd == SIOCGIFADDR {
			putIn(p.Addr())
		} else {
			m := netip.AddrFrom4([4]byte{})
			b := m.As4()
			for i := 0; i < p.Bits(); i++ {
				b[i/8] |= 0x80 >> (i % 8)
			}
			putIn(netip.AddrFrom4(b))
		}
	}
	return 0, mem.CopyOut(arg, req)
}

// ifconf is SIOCGIFCONF: struct ifconf { int ifc_len; char *ifc_buf; }
// filled with one ifreq per IPv4 address; a NULL buffer asks the size.
func (s *Stack) ifconf(mem posix.GuestMemory, arg uint64) (uint64, unix.Errno) {
	var hdr [16]byte
	if e := mem.CopyIn(arg, hdr[:]); e != 0 {
		return 0, e
	}
	le := binary.LittleEndian
	size := int(int32(le.Uint32(hdr[0:])))
	buf := le.Uint64(hdr[8:])
	var out []byte
	for _, ifc := range s.interfaces() {
		for _, p := range ifc.addrs {
			if !p.Addr().Is4() {
				continue
			}
			r := make([]byte, ifreqSize)
			copy(r[:ifNameSize-1], ifc.name)
			le.PutUint16(r[16:], unix.AF_INET)
			a := p.Addr().As4()
			copy(r[20:], a[:])
			out = append(out, r...)
		}
	}
	if buf == 0 {
		le.PutUint32(hdr[0:], uint32(len(out)))
		return 0, mem.CopyOut(arg, hdr[:4])
	}
	if size < 0 {
		return 0, unix.EINVAL
	}
	n := min(len(out), size/ifreqSize*ifreqSize)
	if e := mem.CopyOut(buf, out[:n]); e != 0 {
		return 0, e
	}
	le.PutUint32(hdr[0:], uint32(n))
	return 0, mem.CopyOut(arg, hdr[:4])
}

func (s *Stack) nicByName(name string) int {
	for id, info := range s.S.NICInfo() {
		if info.Name == name {
			return int(id)
		}
	}
	return 0
}
