package tests

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Network tests. Every one stays on loopback. The host side uses [::1]:
// this project's hosts carry only ::1 on lo. Native runs of programs that
// need 127.0.0.1 run in a network namespace of their own (unshare -n, then
// lo up, which brings 127.0.0.1 with it); rumpgo's guests have their own
// stack with both.

// inNetns returns argv wrapped to run in a fresh network namespace with lo
// up, or skips when this host cannot make one.
func inNetns(t *testing.T, argv ...string) []string {
	t.Helper()
	need(t, "ip", "iproute2")
	if err := exec.Command("unshare", "-n", "ip", "link", "set", "lo", "up").Run(); err != nil {
		t.Skipf("needs unshare -n and ip (root) for a native run with IPv4 loopback: %v", err)
	}
	return append([]string{"unshare", "-n", "sh", "-c", `ip link set lo up && exec "$@"`, "sh"}, argv...)
}

// TestNetDifferential runs netsys natively and under rumpgo: TCP over
// IPv4 and IPv6 loopback with half-close, UDP echo and truncation, a
// non-blocking connect to a closed port (ECONNREFUSED through SO_ERROR),
// socket options, the errnos of bad sockaddrs, lengths and pointers, and
// unix sockets passing a descriptor with SCM_RIGHTS.
func TestNetDifferential(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	bin := program(t, "netsys")
	native := run(t, os.Environ(), nil, inNetns(t, bin)...)
	require.Equal(t, 0, native.status, "native run failed (is the testdata program right?)\n%s%s", native.stdout, native.stderr)
	guest := run(t, os.Environ(), nil, rumpgo, "run", bin)
	require.Equal(t, native.stdout, guest.stdout, "stdout differs (rumpgo stderr:\n%s)", guest.stderr)
	require.Equal(t, native.status, guest.status, "exit status differs (rumpgo stderr:\n%s)", guest.stderr)
}

// freePort returns a TCP (or UDP) port on [::1] that was free a moment ago.
func freePort(t *testing.T, udp bool) int {
	t.Helper()
	if udp {
		pc, err := net.ListenPacket("udp6", "[::1]:0")
		require.NoError(t, err)
		defer pc.Close()
		return pc.LocalAddr().(*net.UDPAddr).Port
	}
	ln, err := net.Listen("tcp6", "[::1]:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// guestServer runs `rumpgo run ARGS...` until the test ends, after the
// guest printed "ready".
func guestServer(t *testing.T, args ...string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, requireRumpgo(t), append([]string{"run"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
	})
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- line
		io.Copy(io.Discard, stdout)
	}()
	select {
	case line := <-ready:
		require.Equal(t, "ready\n", line, "rumpgo stderr:\n%s", stderr.String())
	case <-time.After(time.Minute):
		t.Fatalf("the guest did not get ready; stderr:\n%s", stderr.String())
	}
}

// TestNetForwardHTTP serves HTTP from a Go net/http server in rumpgo
// through -p to a Go client and curl on the host, then opens 1000
// connections at once and requires an answer on every one.
func TestNetForwardHTTP(t *testing.T) {
	requireNativeGuests(t)
	port := freePort(t, false)
	guestServer(t, "-p", fmt.Sprintf("[::1]:%d:8080", port), program(t, "httpserve"), ":8080")
	url := fmt.Sprintf("http://[::1]:%d/", port)

	t.Run("client", func(t *testing.T) {
		for i := 0; i < 3; i++ {
			resp, err := http.Get(url)
			require.NoError(t, err)
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Equal(t, "hello\n", string(b))
		}
	})
	t.Run("curl", func(t *testing.T) {
		need(t, "curl", "curl")
		out, err := exec.Command("curl", "-sS", "--max-time", "30", url).CombinedOutput()
		require.NoError(t, err, "%s", out)
		require.Equal(t, "hello\n", string(out))
	})
	t.Run("1000 concurrent connections", func(t *testing.T) {
		const n = 1000
		// Linux promises every connection is made and answered, not when:
		// on a busy machine a thousand may take minutes (connects past a
		// full backlog are retried with backoff). So no deadline bounds
		// the whole; the test fails on a stall instead, a minute in which
		// no connection was made or answered, and then closes them all.
		var progress atomic.Int64
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var stalled atomic.Bool
		go func() {
			last, since := progress.Load(), time.Now()
			for {
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Second):
				}
				if p := progress.Load(); p != last {
					last, since = p, time.Now()
				} else if time.Since(since) > time.Minute {
					stalled.Store(true)
					cancel()
					return
				}
			}
		}()
		conns := make([]net.Conn, n)
		var wg sync.WaitGroup
		var dialErrs atomic.Int32
		var firstDialErr atomic.Value
		for i := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var d net.Dialer
				c, err := d.DialContext(ctx, "tcp", fmt.Sprintf("[::1]:%d", port))
				if err != nil {
					dialErrs.Add(1)
					firstDialErr.CompareAndSwap(nil, err)
					return
				}
				conns[i] = c
				context.AfterFunc(ctx, func() { c.Close() })
				progress.Add(1)
			}()
		}
		wg.Wait()
		require.False(t, stalled.Load(), "no connection made for a minute (%d of %d made)", progress.Load(), n)
		require.Zero(t, dialErrs.Load(), "dials failed (first: %v)", firstDialErr.Load())
		// Every connection is open now; each asks once.
		var ok atomic.Int32
		var firstErr atomic.Value
		for _, c := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				b, _ := io.ReadAll(resp.Body)
				if string(b) == "hello\n" {
					ok.Add(1)
				}
				progress.Add(1)
			}()
		}
		wg.Wait()
		require.False(t, stalled.Load(), "no answer for a minute (%d of %d answered)", ok.Load(), n)
		require.EqualValues(t, n, ok.Load(), "answered connections (first error: %v)", firstErr.Load())
	})
}

// TestNetForwardUDP echoes datagrams through -p .../udp.
func TestNetForwardUDP(t *testing.T) {
	requireNativeGuests(t)
	port := freePort(t, true)
	guestServer(t, "-p", fmt.Sprintf("[::1]:%d:5353/udp", port), program(t, "httpserve"), "-udp", ":5353")
	c, err := net.Dial("udp6", fmt.Sprintf("[::1]:%d", port))
	require.NoError(t, err)
	defer c.Close()
	buf := make([]byte, 2048)
	for _, msg := range []string{"one", "two", strings.Repeat("z", 1200)} {
		// UDP may drop: ask again a few times.
		var got string
		for try := 0; try < 5 && got == ""; try++ {
			_, err := c.Write([]byte(msg))
			require.NoError(t, err)
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			if n, err := c.Read(buf); err == nil {
				got = string(buf[:n])
			}
		}
		require.Equal(t, "echo "+msg, got)
	}
}

// TestNetForwardErrors: a -p whose host port is taken, or that does not
// parse, fails before boot with one clear line.
func TestNetForwardErrors(t *testing.T) {
	rumpgo := requireRumpgo(t)
	ln, err := net.Listen("tcp6", "[::1]:0")
	require.NoError(t, err)
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	hello := program(t, "hello")

	r := run(t, os.Environ(), nil, rumpgo, "run", "-p", fmt.Sprintf("[::1]:%d:80", port), hello)
	require.Equal(t, 125, r.status, "stderr:\n%s", r.stderr)
	requireOneLineError(t, r.stderr)
	require.Contains(t, r.stderr, "address already in use")
	require.Empty(t, r.stdout, "the guest must not have run")

	for _, bad := range []string{"80", "0:80", "1:2:3:4", "99999:80", "80:80/sctp", "nohost:80:80"} {
		r := run(t, os.Environ(), nil, rumpgo, "run", "-p", bad, hello)
		require.Equal(t, 125, r.status, "-p %s: stderr:\n%s", bad, r.stderr)
		require.True(t, strings.HasPrefix(r.stderr, "rumpgo: "), "-p %s: %s", bad, r.stderr)
		require.Empty(t, r.stdout)
	}
	r = run(t, os.Environ(), nil, rumpgo, "run", "--net", "bogus", hello)
	require.Equal(t, 125, r.status, "stderr:\n%s", r.stderr)
	requireOneLineError(t, r.stderr)
}
