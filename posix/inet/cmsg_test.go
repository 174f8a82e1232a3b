package inet

import (
	"encoding/binary"
	"testing"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
)

// TestControlMessagesAnyAddressLength: packet-info messages are built from
// addresses of any length netstack hands over — empty (a ping packet's
// local address), 4 or 16 bytes on a socket of either family — without a
// panic (issue 22: recvmsg on a ping socket with IP_PKTINFO killed rumpgo
// in tcpip.Address.As4).
func TestControlMessagesAnyAddressLength(t *testing.T) {
	v4 := tcpip.AddrFrom4([4]byte{127, 0, 0, 1})
	v6 := tcpip.AddrFrom16([16]byte{15: 1})
	mapped := tcpip.AddrFrom16([16]byte{10: 0xff, 11: 0xff, 12: 10, 13: 0, 14: 2, 15: 15})
	for _, tc := range []struct {
		name      string
		local, to tcpip.Address
		wantTo    []byte // in_pktinfo.ipi_addr
		v6addr    tcpip.Address
		want6     []byte // in6_pktinfo.ipi6_addr
	}{
		{"v4", v4, v4, []byte{127, 0, 0, 1}, v6, v6.AsSlice()},
		{"empty", tcpip.Address{}, tcpip.Address{}, []byte{0, 0, 0, 0}, tcpip.Address{}, make([]byte, 16)},
		{"v6 on v4", v6, v6, []byte{0, 0, 0, 0}, v4, []byte{10: 0xff, 11: 0xff, 12: 127, 13: 0, 14: 0, 15: 1}},
		{"v4-mapped", mapped, mapped, []byte{10, 0, 2, 15}, mapped, mapped.AsSlice()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			so := &Socket{}
			out := so.controlMessages(tcpip.ReceivableControlMessages{
				HasIPPacketInfo:   true,
				PacketInfo:        tcpip.IPPacketInfo{NIC: 1, LocalAddr: tc.local, DestinationAddr: tc.to},
				HasIPv6PacketInfo: true,
				IPv6PacketInfo:    tcpip.IPv6PacketInfo{NIC: 1, Addr: tc.v6addr},
				HasHopLimit:       true,
				HopLimit:          64,
			})
			require.Len(t, out, 3)
			require.Equal(t, unix.IP_PKTINFO, out[0].Type)
			require.Equal(t, tc.wantTo, out[0].Data[8:12])
			require.Equal(t, unix.IPV6_PKTINFO, out[1].Type, "Linux: IPV6_PKTINFO before IPV6_HOPLIMIT")
			require.Equal(t, tc.want6, out[1].Data[:16])
			require.EqualValues(t, 1, binary.LittleEndian.Uint32(out[1].Data[16:]))
			require.Equal(t, unix.IPV6_HOPLIMIT, out[2].Type)
		})
	}
}

// TestPingPacketInfo: an echo to 127.0.0.1 on an ICMP ping socket with
// IP_PKTINFO on comes back with the packet's destination in in_pktinfo.
func TestPingPacketInfo(t *testing.T) {
	s, err := NewStack(nil)
	require.NoError(t, err)
	defer s.Close()
	for _, tc := range []struct {
		dom, proto int
		to         []byte
	}{
		{unix.AF_INET, unix.IPPROTO_ICMP, sin(unix.AF_INET, 0, [4]byte{127, 0, 0, 1}, 16)},
		{unix.AF_INET6, unix.IPPROTO_ICMPV6, append([]byte{unix.AF_INET6, 0, 0, 0, 0, 0, 0, 0, 15 + 8: 1}, make([]byte, 4)...)},
	} {
		so, e := s.NewSocket(tc.dom, unix.SOCK_DGRAM, tc.proto)
		require.Zero(t, e)
		one := []byte{1, 0, 0, 0}
		require.Zero(t, so.SetSockOpt(unix.IPPROTO_IP, unix.IP_PKTINFO, one))
		if tc.dom == unix.AF_INET6 {
			require.Zero(t, so.SetSockOpt(unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, one))
		}
		echo := []byte{8, 0, 0, 0, 0, 0, 0, 1}
		if tc.dom == unix.AF_INET6 {
			echo[0] = 128
		}
		_, e = so.SendMsg(echo, tc.to, nil, 0)
		require.Zero(t, e)
		buf := make([]byte, 64)
		var r posix.RecvResult
		require.Eventually(t, func() bool { r, e = so.RecvMsg(buf, 0); return e == 0 }, 5e9, 1e6)
		require.NotEmpty(t, r.Control.Other)
		c := r.Control.Other[0]
		if tc.dom == unix.AF_INET {
			require.Equal(t, unix.IP_PKTINFO, c.Type)
			require.Equal(t, []byte{127, 0, 0, 1}, c.Data[8:12])
		} else {
			require.Equal(t, unix.IPV6_PKTINFO, c.Type)
			require.Equal(t, byte(1), c.Data[15])
		}
		so.Close()
	}
}
