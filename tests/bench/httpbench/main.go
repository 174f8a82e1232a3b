// Command httpbench compares a Go net/http hello server run natively and
// under `rumpgo run -p`, driven from the host by a load generator built
// in: -c keep-alive connections (64) each sending one request at a time
// for -d. It prints requests per second, p50 and p99 latency, and the
// throughput of one 64 MiB download, as a Markdown table.
//
//	go run ./tests/bench/httpbench [-c 64] [-d 10s] [-rumpgo PATH]
//
// Both servers listen on [::1] (this project's hosts have no 127.0.0.1 on
// the host's lo); the rumpgo one is reached through -p, so its numbers
// include the forwarder that splices host connections into the guest's
// netstack.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

func main() { os.Exit(run()) }

func run() int {
	conns := flag.Int("c", 64, "keep-alive connections")
	dur := flag.Duration("d", 10*time.Second, "measuring time per side (after 1 s of warm-up)")
	rumpgoFlag := flag.String("rumpgo", "", "use this rumpgo binary instead of building ./cmd/rumpgo")
	flag.Parse()
	root, err := moduleRoot()
	if err != nil {
		return fail("%v", err)
	}
	dir, err := os.MkdirTemp("", "rumpgo-httpbench-")
	if err != nil {
		return fail("%v", err)
	}
	defer os.RemoveAll(dir)
	rumpgo := *rumpgoFlag
	if rumpgo == "" {
		rumpgo = filepath.Join(dir, "rumpgo")
		if err := goBuild(root, rumpgo, "./cmd/rumpgo"); err != nil {
			return fail("%v", err)
		}
	}
	server := filepath.Join(dir, "httpserve")
	if err := goBuild(root, server, "./tests/testdata/httpserve"); err != nil {
		return fail("%v", err)
	}

	type side struct {
		name string
		argv func(port int) []string
	}
	sides := []side{
		{"native", func(port int) []string { return []string{server, fmt.Sprintf("[::1]:%d", port)} }},
		{"rumpgo -p", func(port int) []string {
			return []string{rumpgo, "run", "-p", fmt.Sprintf("[::1]:%d:8080", port), server, ":8080"}
		}},
	}
	type result struct {
		rps, p50, p99 float64
		mbps          float64
		errs          int
	}
	var results []result
	for _, s := range sides {
		port, err := freePort()
		if err != nil {
			return fail("%v", err)
		}
		cmd := exec.Command(s.argv(port)[0], s.argv(port)[1:]...)
		out, _ := cmd.StdoutPipe()
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			return fail("%s: %v", s.name, err)
		}
		line, _ := bufio.NewReader(out).ReadString('\n')
		if line != "ready\n" {
			cmd.Process.Kill()
			cmd.Wait()
			return fail("%s: server said %q", s.name, line)
		}
		addr := fmt.Sprintf("[::1]:%d", port)
		load(addr, *conns, time.Second) // warm-up
		lat, errs, elapsed := load(addr, *conns, *dur)
		mbps := bulk(addr)
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		slices.Sort(lat)
		r := result{errs: errs, mbps: mbps}
		if len(lat) > 0 {
			r.rps = float64(len(lat)) / elapsed.Seconds()
			r.p50 = float64(lat[len(lat)/2]) / 1e6
			r.p99 = float64(lat[len(lat)*99/100]) / 1e6
		}
		results = append(results, r)
	}
	fmt.Printf("%d keep-alive connections, %v per side, GET / (6-byte body); bulk: one GET of 64 MiB\n\n", *conns, *dur)
	fmt.Println("| measurement | native | rumpgo -p | ratio |")
	fmt.Println("|---|---|---|---|")
	n, g := results[0], results[1]
	fmt.Printf("| requests/s | %.0f | %.0f | %.2f× |\n", n.rps, g.rps, g.rps/n.rps)
	fmt.Printf("| p50 latency | %.2f ms | %.2f ms | %.1f× |\n", n.p50, g.p50, g.p50/n.p50)
	fmt.Printf("| p99 latency | %.2f ms | %.2f ms | %.1f× |\n", n.p99, g.p99, g.p99/n.p99)
	fmt.Printf("| bulk download (guest→host) | %.0f MB/s | %.0f MB/s | %.2f× |\n", n.mbps, g.mbps, g.mbps/n.mbps)
	if n.errs+g.errs > 0 {
		fmt.Printf("\nfailed requests: native %d, rumpgo %d\n", n.errs, g.errs)
	}
	return 0
}

var request = []byte("GET / HTTP/1.1\r\nHost: bench\r\n\r\n")

// load runs conns keep-alive connections for d and returns every
// request's latency in ns.
func load(addr string, conns int, d time.Duration) ([]int64, int, time.Duration) {
	var mu sync.Mutex
	var all []int64
	errs := 0
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(d)
	for i := 0; i < conns; i++ {
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

// bulk downloads /bulk once and returns MB/s.
func bulk(addr string) float64 {
	t0 := time.Now()
	resp, err := http.Get("http://" + addr + "/bulk")
	if err != nil {
		return 0
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return float64(n) / 1e6 / time.Since(t0).Seconds()
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("run inside the rumpgo module")
	}
	return filepath.Dir(mod), nil
}

func goBuild(dir, out, pkg string) error {
	cmd := exec.Command("go", "build", "-buildvcs=false", "-o", out, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	var b bytes.Buffer
	cmd.Stdout, cmd.Stderr = &b, &b
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b.String())
	}
	return nil
}

func fail(format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "httpbench: "+format+"\n", args...)
	return 1
}
