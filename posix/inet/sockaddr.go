package inet

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
)

// Sizes of the address structures (linux/in.h, linux/in6.h). A
// sockaddr_in6 is 28 bytes, but Linux accepts the 24 of RFC 2133, which
// had no sin6_scope_id (SIN6_LEN_RFC2133).
const (
	sizeofSockaddrIn   = 16
	sizeofSockaddrIn6  = 28
	sin6LenRFC2133     = 24
	sizeofSockaddrUnsp = 2 // sa_family only
)

// family is the sa_family of a raw sockaddr (0 when too short to have one).
func family(sa []byte) int {
	if len(sa) < 2 {
		return -1
	}
	return int(binary.LittleEndian.Uint16(sa))
}

// parseAddr reads a sockaddr for a socket of domain dom, as the checks of
// Linux's inet and inet6 bind/connect/sendmsg: EINVAL when too short for
// the domain's structure, EAFNOSUPPORT for another family. v4 addresses
// given to an AF_INET6 socket (datagrams only, as Linux's udpv6 allows)
// become v4-mapped; the unspecified address is tcpip's empty address.
func parseAddr(dom int, sa []byte, allowV4OnV6 bool) (tcpip.FullAddress, unix.Errno) {
	switch dom {
	case unix.AF_INET:
		if len(sa) < sizeofSockaddrIn {
			return tcpip.FullAddress{}, unix.EINVAL
		}
		if f := family(sa); f != unix.AF_INET {
			return tcpip.FullAddress{}, unix.EAFNOSUPPORT
		}
		return v4addr(sa), 0
	case unix.AF_INET6:
		if allowV4OnV6 && family(sa) == unix.AF_INET && len(sa) >= sizeofSockaddrIn {
			fa := v4addr(sa)
			var a [16]byte
			a[10], a[11] = 0xff, 0xff
			if fa.Addr.Len() == 4 { // 0.0.0.0 is the empty address: As4 would panic
				v4 := fa.Addr.As4()
				copy(a[12:], v4[:])
			}
			fa.Addr = tcpip.AddrFrom16(a)
			return fa, 0
		}
		if len(sa) < sin6LenRFC2133 {
			return tcpip.FullAddress{}, unix.EINVAL
		}
		if family(sa) != unix.AF_INET6 {
			return tcpip.FullAddress{}, unix.EAFNOSUPPORT
		}
		fa := tcpip.FullAddress{Port: binary.BigEndian.Uint16(sa[2:])}
		var a [16]byte
		copy(a[:], sa[8:24])
		if a != ([16]byte{}) {
			fa.Addr = tcpip.AddrFrom16(a)
		}
		if len(sa) >= sizeofSockaddrIn6 {
			fa.NIC = tcpip.NICID(binary.LittleEndian.Uint32(sa[24:]))
		}
		return fa, 0
	}
	return tcpip.FullAddress{}, unix.EAFNOSUPPORT
}

func v4addr(sa []byte) tcpip.FullAddress {
	fa := tcpip.FullAddress{Port: binary.BigEndian.Uint16(sa[2:])}
	var a [4]byte
	copy(a[:], sa[4:8])
	if a != ([4]byte{}) {
		fa.Addr = tcpip.AddrFrom4(a)
	}
	return fa
}

// encodeAddr writes fa as a sockaddr of domain dom; a v4 address on an
// AF_INET6 socket becomes v4-mapped, as Linux reports it.
func encodeAddr(dom int, fa tcpip.FullAddress) []byte {
	if dom == unix.AF_INET {
		b := make([]byte, sizeofSockaddrIn)
		binary.LittleEndian.PutUint16(b, unix.AF_INET)
		binary.BigEndian.PutUint16(b[2:], fa.Port)
		if fa.Addr.Len() == 4 {
			a := fa.Addr.As4()
			copy(b[4:], a[:])
		} else if fa.Addr.Len() == 16 {
			a := fa.Addr.As16()
			copy(b[4:], a[12:])
		}
		return b
	}
	b := make([]byte, sizeofSockaddrIn6)
	binary.LittleEndian.PutUint16(b, unix.AF_INET6)
	binary.BigEndian.PutUint16(b[2:], fa.Port)
	switch fa.Addr.Len() {
	case 16:
		a := fa.Addr.As16()
		copy(b[8:], a[:])
		// Only link-local addresses carry a scope.
		if a[0] == 0xfe && a[1]&0xc0 == 0x80 {
			binary.LittleEndian.PutUint32(b[24:], uint32(fa.NIC))
		}
	case 4:
		a := fa.Addr.As4()
		b[18], b[19] = 0xff, 0xff
		copy(b[20:], a[:])
	}
	return b
}
