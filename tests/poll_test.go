package tests

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPoll runs the readiness programs natively and under rumpgo: pipes
// (blocking and not, EOF, EPIPE, packet mode, sizes), eventfds, epoll
// (edge and level triggered, one-shot, nesting, the epoll_ctl errors),
// poll, ppoll, select and pselect6 with timeouts, timerfds; and Go's own
// network poller on pipes and timers. Both runs must print the same.
func TestPoll(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	for _, prog := range []string{"pollsys", "netpoll"} {
		t.Run(prog, func(t *testing.T) {
			bin := program(t, prog)
			native := run(t, os.Environ(), nil, bin)
			require.Equal(t, 0, native.status, "native run failed (is the testdata program right?)\n%s%s", native.stdout, native.stderr)
			guest := run(t, os.Environ(), nil, rumpgo, "run", bin)
			require.Equal(t, native.stdout, guest.stdout, "stdout differs (rumpgo stderr:\n%s)", guest.stderr)
			require.Equal(t, native.status, guest.status, "exit status differs (rumpgo stderr:\n%s)", guest.stderr)
			require.Equal(t, native.stderr, guest.stderr, "stderr differs")
		})
	}
}
