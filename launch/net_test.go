package launch

import (
	"net/netip"
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
