package inet

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
)

func sin(family uint16, port uint16, a [4]byte, n int) []byte {
	b := make([]byte, 16)
	binary.LittleEndian.PutUint16(b, family)
	binary.BigEndian.PutUint16(b[2:], port)
	copy(b[4:], a[:])
	return b[:n]
}

func TestParseAddr(t *testing.T) {
	lo := [4]byte{127, 0, 0, 1}
	for _, tc := range []struct {
		name string
		dom  int
		sa   []byte
		want tcpip.FullAddress
		e    unix.Errno
	}{
		{"v4", unix.AF_INET, sin(unix.AF_INET, 80, lo, 16), tcpip.FullAddress{Addr: tcpip.AddrFrom4(lo), Port: 80}, 0},
		{"v4 any", unix.AF_INET, sin(unix.AF_INET, 80, [4]byte{}, 16), tcpip.FullAddress{Port: 80}, 0},
		{"v4 short", unix.AF_INET, sin(unix.AF_INET, 80, lo, 15), tcpip.FullAddress{}, unix.EINVAL},
		{"v4 family", unix.AF_INET, sin(unix.AF_INET6, 80, lo, 16), tcpip.FullAddress{}, unix.EAFNOSUPPORT},
		{"v6 short", unix.AF_INET6, make([]byte, 23), tcpip.FullAddress{}, unix.EINVAL},
		{"v6 family", unix.AF_INET6, make([]byte, 24), tcpip.FullAddress{}, unix.EAFNOSUPPORT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fa, e := parseAddr(tc.dom, tc.sa, false)
			require.Equal(t, tc.e, e)
			if e == 0 {
				require.Equal(t, tc.want, fa)
			}
		})
	}
	// A v4 address on a v6 socket reads back v4-mapped.
	b := encodeAddr(unix.AF_INET6, tcpip.FullAddress{Addr: tcpip.AddrFrom4(lo), Port: 9})
	require.Len(t, b, sizeofSockaddrIn6)
	require.Equal(t, []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1}, b[8:24])
}

func TestLoopbackTCP(t *testing.T) {
	s, err := NewStack(nil)
	require.NoError(t, err)
	defer s.Close()
	ln, e := s.NewSocket(unix.AF_INET, unix.SOCK_STREAM, 0)
	require.Zero(t, e)
	require.Zero(t, ln.Bind(sin(unix.AF_INET, 0, [4]byte{127, 0, 0, 1}, 16)))
	require.Zero(t, ln.Listen(4))
	name, e := ln.SockName()
	require.Zero(t, e)
	c, e := s.NewSocket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK, 0)
	require.Zero(t, e)
	if e := c.Connect(name); e != 0 {
		require.Equal(t, unix.EINPROGRESS, e)
	}
	var a interface {
		Read([]byte) (int, unix.Errno)
	}
	require.Eventually(t, func() bool {
		ns, _, e := ln.Accept(0)
		if e == 0 {
			a = ns
		}
		return e == 0
	}, 5e9, 1e6)
	require.Eventually(t, func() bool { _, e := c.Write([]byte("hi")); return e == 0 }, 5e9, 1e6)
	buf := make([]byte, 8)
	var n int
	require.Eventually(t, func() bool { n, e = a.Read(buf); return e == 0 }, 5e9, 1e6)
	require.Equal(t, "hi", string(buf[:n]))
}

func TestNetlinkDump(t *testing.T) {
	s, err := NewStack(nil)
	require.NoError(t, err)
	defer s.Close()
	n, e := s.NewNetlink(unix.SOCK_RAW, unix.NETLINK_ROUTE)
	require.Zero(t, e)
	for _, tc := range []struct {
		typ   uint16
		reply uint16
		count int
	}{{RTM_GETLINK, RTM_NEWLINK, 1}, {RTM_GETADDR, RTM_NEWADDR, 2}} {
		req := make([]byte, 17)
		binary.LittleEndian.PutUint32(req, 17)
		binary.LittleEndian.PutUint16(req[4:], tc.typ)
		binary.LittleEndian.PutUint16(req[6:], NLM_F_REQUEST|NLM_F_DUMP)
		binary.LittleEndian.PutUint32(req[8:], 7)
		_, e := n.SendMsg(req, nil, nil, 0)
		require.Zero(t, e)
		got := 0
		for {
			buf := make([]byte, 4096)
			r, e := n.RecvMsg(buf, 0)
			require.Zero(t, e)
			typ := binary.LittleEndian.Uint16(buf[4:])
			require.EqualValues(t, 7, binary.LittleEndian.Uint32(buf[8:]), "sequence number")
			require.EqualValues(t, 1, binary.LittleEndian.Uint32(buf[12:]), "port id")
			require.Equal(t, r.N, int(binary.LittleEndian.Uint32(buf)))
			if typ == NLMSG_DONE {
				break
			}
			require.Equal(t, tc.reply, typ)
			got++
		}
		require.Equal(t, tc.count, got)
	}
}
