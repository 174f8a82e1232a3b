package inet

import (
	"bytes"
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"
)

// FuzzSockaddr feeds random bytes as the sockaddr of an AF_INET and an
// AF_INET6 socket (bind, connect, sendto) and of a netlink socket. Parsing
// never panics, answers only the errnos Linux would, and what parses
// encodes back to the same address and port.
//
//	go test ./posix/inet -run '^$' -fuzz FuzzSockaddr -fuzztime 20000x
func FuzzSockaddr(f *testing.F) {
	sin := func(fam uint16, n int) []byte {
		b := make([]byte, n)
		binary.LittleEndian.PutUint16(b, fam)
		for i := 2; i < n; i++ {
			b[i] = byte(i * 7)
		}
		return b
	}
	for _, s := range [][]byte{
		nil, {2}, sin(unix.AF_INET, 16), sin(unix.AF_INET, 15), sin(unix.AF_INET6, 28),
		sin(unix.AF_INET6, 24), sin(unix.AF_INET6, 23), sin(unix.AF_INET, 128),
		sin(unix.AF_NETLINK, 12), sin(unix.AF_UNIX, 110), sin(0, 16),
	} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, sa []byte, v4OnV6 bool) {
		orig := bytes.Clone(sa)
		for _, dom := range []int{unix.AF_INET, unix.AF_INET6} {
			fa, e := parseAddr(dom, sa, v4OnV6)
			if !bytes.Equal(sa, orig) {
				t.Fatal("parseAddr wrote to its input")
			}
			switch e {
			case 0:
			case unix.EINVAL, unix.EAFNOSUPPORT:
				continue
			default:
				t.Fatalf("parseAddr(%d) = %v", dom, e)
			}
			if l := fa.Addr.Len(); l != 0 && l != 4 && l != 16 {
				t.Fatalf("address of %d bytes", l)
			}
			enc := encodeAddr(dom, fa)
			back, e := parseAddr(dom, enc, false)
			if e != 0 {
				t.Fatalf("encodeAddr(%v) = %x does not parse: %v", fa, enc, e)
			}
			if back.Port != fa.Port {
				t.Fatalf("port %d became %d", fa.Port, back.Port)
			}
			if dom == unix.AF_INET && back.Addr != fa.Addr {
				t.Fatalf("address %v became %v", fa.Addr, back.Addr)
			}
			if dom == unix.AF_INET6 && back.Addr.Len() == 16 && fa.Addr.Len() == 16 && back.Addr != fa.Addr {
				t.Fatalf("address %v became %v", fa.Addr, back.Addr)
			}
		}
		if port, e := parseNL(sa); e == 0 {
			if p2, _ := parseNL(nlAddr(port)); p2 != port {
				t.Fatalf("netlink port %d became %d", port, p2)
			}
		}
		if len(sa) >= 8 {
			ipMreqn(sa)
		}
	})
}

// FuzzNetlink sends random messages on an AF_NETLINK route socket (what
// a guest's getifaddrs and `ip` send) and reads every answer back: the
// parser never panics and every reply is a well-formed nlmsghdr stream.
//
//	go test ./posix/inet -run '^$' -fuzz FuzzNetlink -fuzztime 5000x
func FuzzNetlink(f *testing.F) {
	msg := func(typ, flags uint16, n int) []byte {
		b := make([]byte, n)
		if n >= 16 {
			binary.LittleEndian.PutUint32(b, uint32(n))
			binary.LittleEndian.PutUint16(b[4:], typ)
			binary.LittleEndian.PutUint16(b[6:], flags)
			binary.LittleEndian.PutUint32(b[8:], 7)
		}
		return b
	}
	for _, s := range [][]byte{
		msg(RTM_GETLINK, NLM_F_REQUEST|NLM_F_DUMP, 17),
		msg(RTM_GETADDR, NLM_F_REQUEST|NLM_F_DUMP, 17),
		msg(RTM_GETROUTE, NLM_F_REQUEST|NLM_F_DUMP, 28),
		msg(RTM_GETLINK, NLM_F_REQUEST, 32),
		msg(99, NLM_F_REQUEST|NLM_F_ACK, 16),
		msg(RTM_GETADDR, NLM_F_REQUEST, 15),
		append(msg(RTM_GETLINK, NLM_F_REQUEST|NLM_F_DUMP, 20), msg(RTM_GETADDR, NLM_F_REQUEST|NLM_F_DUMP, 20)...),
		{0xff, 0xff, 0xff, 0xff, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0},
	} {
		f.Add(s)
	}
	s, err := NewStack(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	f.Fuzz(func(t *testing.T, req []byte) {
		n, e := s.NewNetlink(unix.SOCK_RAW, unix.NETLINK_ROUTE)
		if e != 0 {
			t.Fatal(e)
		}
		defer n.Close()
		if _, e := n.SendMsg(req, nil, nil, 0); e != 0 {
			return
		}
		buf := make([]byte, 64<<10)
		for i := 0; i < 1000; i++ {
			r, e := n.RecvMsg(buf, unix.MSG_DONTWAIT)
			if e == unix.EAGAIN {
				return
			}
			if e != 0 {
				t.Fatalf("RecvMsg: %v", e)
			}
			b := buf[:r.N]
			for len(b) > 0 {
				if len(b) < 16 {
					t.Fatalf("a reply of %d bytes", len(b))
				}
				l := int(binary.LittleEndian.Uint32(b))
				if l < 16 || l > len(b) {
					t.Fatalf("nlmsg_len %d in %d bytes", l, len(b))
				}
				b = b[min((l+3)&^3, len(b)):]
			}
		}
		t.Fatal("endless replies")
	})
}
