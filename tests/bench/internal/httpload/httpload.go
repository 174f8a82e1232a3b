// Package httpload drives an HTTP server from the host for tests/bench: it
// starts the server (tests/testdata/httpserve, natively or under rumpgo),
// reads its resident memory once it is ready, then runs keep-alive
// connections that each send one request at a time and records every
// request's latency.
package httpload

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Result is one server run.
type Result struct {
	RPS      float64 // requests per second over the measured period
	P50, P99 float64 // latency, ns
	Errs     int     // failed requests
	BulkMBps float64 // one GET /bulk (64 MiB), MB/s
	RSS, HWM float64 // the server process's VmRSS and VmHWM, bytes, idle after a few requests
}

// Run starts argv (which must print "ready" once it listens on addr),
// sends it a few requests, reads its memory use, warms it up for warm,
// measures conns keep-alive connections for d, downloads /bulk once, and
// stops it.
func Run(argv []string, addr string, conns int, warm, d time.Duration) (Result, error) {
	var r Result
	cmd := exec.Command(argv[0], argv[1:]...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return r, err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return r, err
	}
	defer stop(cmd)
	line, _ := bufio.NewReader(out).ReadString('\n')
	if line != "ready\n" {
		return r, fmt.Errorf("%q: server said %q\n%s", argv, line, stderr.String())
	}
	// An idle server that has answered a few requests: what it holds
	// between bursts.
	for range 10 {
		resp, err := http.Get("http://" + addr + "/")
		if err != nil {
			return r, fmt.Errorf("%q: GET /: %v\n%s", argv, err, stderr.String())
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	http.DefaultClient.CloseIdleConnections()
	time.Sleep(100 * time.Millisecond)
	if r.RSS, r.HWM, err = Memory(cmd.Process.Pid); err != nil {
		return r, err
	}
	if warm > 0 {
		Load(addr, conns, warm)
	}
	lat, errs, elapsed := Load(addr, conns, d)
	r.Errs = errs
	if len(lat) == 0 {
		return r, fmt.Errorf("%q: no request succeeded (%d failed)\n%s", argv, errs, stderr.String())
	}
	slices.Sort(lat)
	r.RPS = float64(len(lat)) / elapsed.Seconds()
	r.P50 = float64(lat[len(lat)/2])
	r.P99 = float64(lat[len(lat)*99/100])
	r.BulkMBps = Bulk(addr)
	return r, nil
}

// stop interrupts the server and kills it if it has not gone in 5 s.
func stop(cmd *exec.Cmd) {
	cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

// Memory reads VmRSS and VmHWM of pid from /proc, in bytes.
func Memory(pid int) (rss, hwm float64, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) != 3 || f[2] != "kB" {
			continue
		}
		v, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			rss = v * 1024
		case "VmHWM:":
			hwm = v * 1024
		}
	}
	if rss == 0 {
		return 0, 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
	}
	return rss, hwm, nil
}

var request = []byte("GET / HTTP/1.1\r\nHost: bench\r\n\r\n")

// Load runs conns keep-alive connections for d, each sending one request
// at a time, and returns every request's latency in ns, the number of
// failed requests and the time it took.
func Load(addr string, conns int, d time.Duration) ([]int64, int, time.Duration) {
	var mu sync.Mutex
	var all []int64
	errs := 0
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(d)
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []int64
			bad := 0
			defer func() {
				mu.Lock()
				all = append(all, lat...)
				errs += bad
				mu.Unlock()
			}()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				bad++
				return
			}
			defer c.Close()
			r := bufio.NewReader(c)
			for time.Now().Before(end) {
				t0 := time.Now()
				if _, err := c.Write(request); err != nil {
					bad++
					return
				}
				resp, err := http.ReadResponse(r, nil)
				if err != nil {
					bad++
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat = append(lat, int64(time.Since(t0)))
			}
		}()
	}
	wg.Wait()
	return all, errs, time.Since(start)
}

// Bulk downloads /bulk once and returns MB/s (0 if it failed).
func Bulk(addr string) float64 {
	t0 := time.Now()
	resp, err := http.Get("http://" + addr + "/bulk")
	if err != nil {
		return 0
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return float64(n) / 1e6 / time.Since(t0).Seconds()
}

// FreePort is a TCP port on [::1] nobody listens on right now. The
// project's hosts have no 127.0.0.1 on lo, so both servers listen on ::1.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
