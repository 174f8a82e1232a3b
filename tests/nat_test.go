package tests

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// --net nat tests. The host side must be outside the guest but not on the
// host's real network, so the test binary runs itself again in network
// and mount namespaces of its own (unshare -mn): there lo is up with
// 127.0.0.1 and ::1, and carries 198.51.100.1 (TEST-NET-2), an address
// that is no loopback address; /etc/resolv.conf is bind-mounted to name a
// DNS server the test serves on it. The guest reaches the host's
// servers through rumpgo's gateway exactly as it would the Internet.

const (
	natHostIP = "198.51.100.1"
	natChild  = "RUMPGO_NAT_CHILD"
)

func TestNetNAT(t *testing.T) {
	if os.Getenv(natChild) != "" {
		natTests(t)
		return
	}
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	need(t, "ip", "iproute2")
	if err := exec.Command("unshare", "-mn", "ip", "link", "set", "lo", "up").Run(); err != nil {
		t.Skipf("needs unshare -mn and ip (root) for a private network: %v", err)
	}
	cmd := exec.Command("unshare", "-mn", os.Args[0], "-test.run", "^TestNetNAT$", "-test.v", "-test.count=1", "-test.timeout=10m")
	cmd.Env = append(os.Environ(), natChild+"=1", "RUMPGO_BIN="+rumpgo,
		"RUMPGO_NETCLIENT="+program(t, "netclient"), "RUMPGO_HTTPSERVE="+program(t, "httpserve"))
	out, err := cmd.CombinedOutput()
	t.Logf("in a network namespace:\n%s", out)
	require.NoError(t, err)
	require.Contains(t, string(out), "--- PASS: TestNetNAT")
	require.NotContains(t, string(out), "--- SKIP")
}

// natTests runs in the namespaces.
func natTests(t *testing.T) {
	rumpgo := requireRumpgo(t)
	client, serve := os.Getenv("RUMPGO_NETCLIENT"), os.Getenv("RUMPGO_HTTPSERVE")
	for _, c := range [][]string{
		{"ip", "link", "set", "lo", "up"},
		{"ip", "addr", "add", natHostIP + "/24", "dev", "lo"},
	} {
		out, err := exec.Command(c[0], c[1:]...).CombinedOutput()
		require.NoError(t, err, "%v: %s", c, out)
	}
	rc := filepath.Join(t.TempDir(), "resolv.conf")
	require.NoError(t, os.WriteFile(rc, []byte("nameserver "+natHostIP+"\nsearch rumpgo.test\n"), 0o644))
	out, err := exec.Command("mount", "--bind", rc, "/etc/resolv.conf").CombinedOutput()
	require.NoError(t, err, "%s", out)

	serveDNS(t, natHostIP+":53", map[string]string{"svc.rumpgo.test.": natHostIP})
	web := serveHTTP(t, natHostIP+":0", "hello from the host\n")
	loop := serveHTTP(t, "127.0.0.1:0", "hello from the host's loopback\n")
	udp := serveUDPEcho(t, natHostIP+":0")

	guest := func(t *testing.T, args ...string) result {
		t.Helper()
		return run(t, os.Environ(), nil, append([]string{rumpgo, "run"}, args...)...)
	}
	ok := func(t *testing.T, want string, args ...string) {
		t.Helper()
		r := guest(t, args...)
		require.Equal(t, 0, r.status, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
		require.Equal(t, want, r.stdout, "stderr:\n%s", r.stderr)
	}
	fails := func(t *testing.T, want string, args ...string) {
		t.Helper()
		r := guest(t, args...)
		require.Equal(t, 1, r.status, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
		require.Contains(t, r.stdout, want, "stderr:\n%s", r.stderr)
	}

	t.Run("resolv.conf", func(t *testing.T) {
		ok(t, "nameserver 10.0.2.2\nsearch rumpgo.test\n", "--net", "nat", client, "resolvconf")
		ok(t, "nameserver 192.168.7.2\nsearch rumpgo.test\n", "--net", "nat", "--ip", "192.168.7.9/24", client, "resolvconf")
		ok(t, "nameserver 10.9.0.1\nsearch rumpgo.test\n", "--net", "nat", "--ip", "10.9.0.2/16", client, "resolvconf")
	})
	t.Run("/proc/net/route", func(t *testing.T) {
		r := guest(t, "--net", "nat", client, "cat", "/proc/net/route")
		require.Equal(t, 0, r.status, "%s%s", r.stdout, r.stderr)
		require.Contains(t, r.stdout, "eth0\t00000000\t0202000A\t0003\t") // default via 10.0.2.2
		require.Contains(t, r.stdout, "eth0\t0002000A\t00000000\t0001\t") // 10.0.2.0/24
	})
	t.Run("tcp", func(t *testing.T) {
		ok(t, "200 hello from the host\n", "--net", "nat", client, "get", "http://"+web+"/")
		ok(t, "200 hello from the host\n", "--net", "nat", "--ip", "192.168.7.9/24", client, "get", "http://"+web+"/")
	})
	t.Run("dns", func(t *testing.T) {
		ok(t, natHostIP+"\n", "--net", "nat", client, "lookup", "svc.rumpgo.test")
		ok(t, natHostIP+"\n", "--net", "nat", client, "lookup", "svc") // the host's search domain
		ok(t, natHostIP+"\n", "--net", "nat", client, "lookuptcp", "svc.rumpgo.test")
		_, port, _ := net.SplitHostPort(web)
		ok(t, "200 hello from the host\n", "--net", "nat", client, "get", "http://svc.rumpgo.test:"+port+"/")
		fails(t, "no such host", "--net", "nat", client, "lookup", "nothing.rumpgo.test")
	})
	t.Run("udp", func(t *testing.T) {
		ok(t, "echo ping\n", "--net", "nat", client, "udp", udp, "ping")
	})
	t.Run("closed port refused", func(t *testing.T) {
		fails(t, "connection refused", "--net", "nat", client, "dial", natHostIP+":1")
	})
	t.Run("host loopback is closed by default", func(t *testing.T) {
		_, port, _ := net.SplitHostPort(loop)
		fails(t, "connection refused", "--net", "nat", client, "dial", "10.0.2.2:"+port)
		fails(t, "connection refused", "--net", "nat", client, "dial", loop) // the guest's own loopback
		fails(t, "network is unreachable", "--net", "none", client, "dial", web)
	})
	t.Run("host-loopback", func(t *testing.T) {
		_, port, _ := net.SplitHostPort(loop)
		ok(t, "200 hello from the host's loopback\n", "--net", "nat,host-loopback", client, "get", "http://10.0.2.2:"+port+"/")
	})
	t.Run("-p shows the client's address", func(t *testing.T) {
		hp := freePort4(t, false)
		guestServer(t, "--net", "nat", "-p", fmt.Sprintf("%d:8080", hp), serve, ":8080")
		// From an outside address: the guest sees it, port and all.
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(natHostIP)}}
		local := make(chan string, 1)
		hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true,
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := d.DialContext(ctx, network, addr)
				if err == nil {
					local <- c.LocalAddr().String()
				}
				return c, err
			}}}
		body := httpGet(t, hc, fmt.Sprintf("http://%s:%d/peer", natHostIP, hp))
		require.Equal(t, <-local, body)
		// From the host's loopback: the guest sees its own.
		body = httpGet(t, http.DefaultClient, fmt.Sprintf("http://127.0.0.1:%d/peer", hp))
		require.True(t, strings.HasPrefix(body, "127.0.0.1:"), body)
	})
	t.Run("-p udp shows the client's address", func(t *testing.T) {
		hp := freePort4(t, true)
		guestServer(t, "--net", "nat", "-p", fmt.Sprintf("%d:5353/udp", hp), serve, "-udp", ":5353")
		c, err := net.DialUDP("udp4", &net.UDPAddr{IP: net.ParseIP(natHostIP)}, &net.UDPAddr{IP: net.ParseIP(natHostIP), Port: hp})
		require.NoError(t, err)
		defer c.Close()
		require.Equal(t, "peer "+c.LocalAddr().String(), udpAsk(t, c, "peer?"))
	})
	t.Run("-p to a loopback-only server under nat", func(t *testing.T) {
		hp := freePort4(t, false)
		guestServer(t, "--net", "nat", "-p", fmt.Sprintf("%s:%d:8080", natHostIP, hp), serve, "127.0.0.1:8080")
		require.Equal(t, "hello\n", httpGet(t, http.DefaultClient, fmt.Sprintf("http://%s:%d/", natHostIP, hp)))
	})
}

func httpGet(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	resp, err := c.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	return string(b)
}

func udpAsk(t *testing.T, c net.Conn, msg string) string {
	t.Helper()
	buf := make([]byte, 2048)
	for try := 0; try < 5; try++ {
		_, err := c.Write([]byte(msg))
		require.NoError(t, err)
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if n, err := c.Read(buf); err == nil {
			return string(buf[:n])
		}
	}
	t.Fatalf("no answer to %q", msg)
	return ""
}

// freePort4 is a TCP or UDP port that was free on every IPv4 address.
func freePort4(t *testing.T, udp bool) int {
	t.Helper()
	if udp {
		pc, err := net.ListenPacket("udp4", ":0")
		require.NoError(t, err)
		defer pc.Close()
		return pc.LocalAddr().(*net.UDPAddr).Port
	}
	ln, err := net.Listen("tcp4", ":0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func serveHTTP(t *testing.T, addr, body string) string {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) })}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func serveUDPEcho(t *testing.T, addr string) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(append([]byte("echo "), buf[:n]...), from)
		}
	}()
	return pc.LocalAddr().String()
}

// serveDNS answers A queries for names (fully qualified, lower case)
// over UDP and TCP at addr; other A names are NXDOMAIN, other types of
// known names have no records.
func serveDNS(t *testing.T, addr string, names map[string]string) {
	t.Helper()
	pc, err := net.ListenPacket("udp", addr)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { pc.Close(); ln.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if ans := dnsAnswer(buf[:n], names); ans != nil {
				pc.WriteTo(ans, from)
			}
		}
	}()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				for {
					var l [2]byte
					if _, err := io.ReadFull(c, l[:]); err != nil {
						return
					}
					q := make([]byte, binary.BigEndian.Uint16(l[:]))
					if _, err := io.ReadFull(c, q); err != nil {
						return
					}
					ans := dnsAnswer(q, names)
					if ans == nil {
						return
					}
					c.Write(binary.BigEndian.AppendUint16(nil, uint16(len(ans))))
					c.Write(ans)
				}
			}()
		}
	}()
}

// dnsAnswer answers one query (RFC 1035): the header, the question
// echoed, and an A record when there is one.
func dnsAnswer(q []byte, names map[string]string) []byte {
	if len(q) < 12 || binary.BigEndian.Uint16(q[4:]) != 1 {
		return nil
	}
	i, name := 12, ""
	for i < len(q) && q[i] != 0 {
		l := int(q[i])
		if i+1+l > len(q) {
			return nil
		}
		name += strings.ToLower(string(q[i+1:i+1+l])) + "."
		i += 1 + l
	}
	i++
	if i+4 > len(q) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(q[i:])
	question := q[12 : i+4]
	ip, known := names[name]
	rcode := uint16(0)
	if !known {
		rcode = 3 // NXDOMAIN
	}
	var answer []byte
	if known && qtype == 1 {
		a := net.ParseIP(ip).To4()
		answer = append([]byte{0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4}, a...)
	}
	h := make([]byte, 12)
	copy(h, q[:2])
	binary.BigEndian.PutUint16(h[2:], 0x8180|rcode|uint16(q[2]&1)<<8) // QR, RD copied, RA
	binary.BigEndian.PutUint16(h[4:], 1)
	if answer != nil {
		binary.BigEndian.PutUint16(h[6:], 1)
	}
	out := append(h, question...)
	return append(out, answer...)
}

// TestNetConfigErrors: bad --net and --ip values fail before boot with
// one line.
func TestNetConfigErrors(t *testing.T) {
	rumpgo := requireRumpgo(t)
	hello := program(t, "hello")
	for _, args := range [][]string{
		{"--net", "nat,bogus"},
		{"--net", "none,host-loopback"},
		{"--ip", "10.0.2.15/24"},
		{"--net", "nat", "--ip", "10.0.2.0/24"},
		{"--net", "nat", "--ip", "10.0.2.255/24"},
		{"--net", "nat", "--ip", "fd00::5/64"},
		{"--net", "nat", "--ip", "127.0.0.2/8"},
		{"--net", "nat", "--ip", "10.0.0.1/31"},
	} {
		r := run(t, os.Environ(), nil, append(append([]string{rumpgo, "run"}, args...), hello)...)
		require.Equal(t, 125, r.status, "%v: stderr:\n%s", args, r.stderr)
		requireOneLineError(t, r.stderr)
		require.Empty(t, r.stdout)
	}
}
