package launch

import (
	"net/netip"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseForward(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Forward
		err  bool
	}{
		{in: "8080:80", want: Forward{HostPort: 8080, GuestPort: 80, Proto: "tcp"}},
		{in: "127.0.0.1:5353:53/udp", want: Forward{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: 5353, GuestPort: 53, Proto: "udp"}},
		{in: "[::1]:8443:443/tcp", want: Forward{HostIP: netip.MustParseAddr("::1"), HostPort: 8443, GuestPort: 443, Proto: "tcp"}},
		{in: "80", err: true},
		{in: "0:80", err: true},
		{in: "80:0", err: true},
		{in: "70000:80", err: true},
		{in: "80:80/sctp", err: true},
		{in: "host:80:80", err: true},
		{in: "1:2:3:4", err: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			f, err := ParseForward(tc.in)
			if tc.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, f)
		})
	}
}

func TestNetMode(t *testing.T) {
	for _, tc := range []struct {
		in   string
		mode string
		loop bool
		err  bool
	}{
		{in: "none", mode: NetNone},
		{in: "nat", mode: NetNAT},
		{in: "nat,host-loopback", mode: NetNAT, loop: true},
		{in: "nat,bogus", err: true},
		{in: "none,host-loopback", err: true},
		{in: "bridge", err: true},
	} {
		var c NetConfig
		err := c.SetMode(tc.in)
		if tc.err {
			require.Error(t, err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.mode, c.Mode, tc.in)
		require.Equal(t, tc.loop, c.HostLoopback, tc.in)
	}
}

func TestNATAddrs(t *testing.T) {
	for _, tc := range []struct{ ip, guest, gw string }{
		{"", "10.0.2.15/24", "10.0.2.2"},
		{"192.168.7.9/24", "192.168.7.9/24", "192.168.7.2"},
		{"10.9.0.2/16", "10.9.0.2/16", "10.9.0.1"},
		{"172.16.0.1/30", "172.16.0.1/30", "172.16.0.2"},
	} {
		var ip netip.Prefix
		if tc.ip != "" {
			ip = netip.MustParsePrefix(tc.ip)
		}
		g, gw, err := natAddrs(ip)
		require.NoError(t, err, tc.ip)
		require.Equal(t, tc.guest, g.String())
		require.Equal(t, tc.gw, gw.String())
	}
	for _, bad := range []string{"10.0.2.0/24", "10.0.2.255/24", "fd00::1/64", "127.0.0.2/8", "10.0.0.1/31", "224.0.0.1/24", "10.0.0.1/7"} {
		_, _, err := natAddrs(netip.MustParsePrefix(bad))
		require.Error(t, err, bad)
	}
}

func TestHostResolvers(t *testing.T) {
	dir := t.TempDir()
	p := dir + "/resolv.conf"
	require.NoError(t, os.WriteFile(p, []byte("# c\nnameserver 192.0.2.53\nnameserver fd00::53\nsearch example.org\noptions ndots:2\nnameserver bogus\n"), 0o644))
	servers, extra := hostResolvers(p)
	require.Equal(t, []string{"192.0.2.53:53", "[fd00::53]:53"}, servers)
	require.Equal(t, []string{"search example.org", "options ndots:2"}, extra)
	servers, extra = hostResolvers(dir + "/missing")
	require.Equal(t, []string{"127.0.0.1:53", "[::1]:53"}, servers)
	require.Empty(t, extra)
}

// TestListeningPorts: PublishListening reads the guest's /proc/net/tcp
// and tcp6 as Linux prints them: LISTEN sockets only, loopback ones on
// the host's loopback.
func TestListeningPorts(t *testing.T) {
	tcp := "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n" +
		"   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 20 4 0 10 -1\n" +
		"   1: 0100007F:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 20 4 0 10 -1\n" +
		"   2: 0F02000A:1F90 0202000A:C350 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0 20 4 0 10 -1\n"
	tcp6 := "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n" +
		"   0: 00000000000000000000000000000000:0BB8 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4 1\n" +
		"   1: 00000000000000000000000001000000:0BB9 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5 1\n"
	var got []string
	for _, f := range append(listeningPorts([]byte(tcp)), listeningPorts([]byte(tcp6))...) {
		got = append(got, f.String())
	}
	require.Equal(t, []string{"8080:8080/tcp", "127.0.0.1:80:80/tcp", "3000:3000/tcp", "[::1]:3001:3001/tcp"}, got)
}
