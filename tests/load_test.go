package tests

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestLoad boots Go HTTP servers (tests/testdata/httpserve) under rumpgo
// back to back and then many at once; each answers one request through -p
// on [::1] and is stopped with SIGTERM. None may fail, and afterwards the
// test process has the descriptors it had, no rumpgo process is left and
// the children's TMPDIR is empty. RUMPGO_LOAD=1 runs the size (200
// back to back, 16 at once); plain `go test` a small one.
func TestLoad(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	serve := program(t, "httpserve")
	sequential, concurrent := 6, 4
	if os.Getenv("RUMPGO_LOAD") == "1" {
		sequential, concurrent = 200, 16
	}
	tmp := t.TempDir()
	env := withEnv("TMPDIR", tmp)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}

	fdsBefore := countFDs(t)
	availBefore := memAvailableKiB(t)

	// one boots a server, asks it once, stops it and returns how long
	// from start to the answer.
	one := func() (time.Duration, error) {
		for try := 0; ; try++ {
			d, err, retry := serveOnce(rumpgo, serve, env, client)
			if retry && try < 3 {
				continue // the free port was taken meanwhile
			}
			return d, err
		}
	}

	var times []time.Duration
	start := time.Now()
	for i := 0; i < sequential; i++ {
		d, err := one()
		require.NoError(t, err, "guest %d of %d back to back", i+1, sequential)
		times = append(times, d)
	}
	seqWall := time.Since(start)

	start = time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	var ctimes []time.Duration
	for i := 0; i < concurrent; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := one()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			ctimes = append(ctimes, d)
		}()
	}
	wg.Wait()
	conWall := time.Since(start)
	require.Empty(t, errs, "guests at once that failed")

	client.CloseIdleConnections()
	fdsAfter := countFDs(t)
	left, err := os.ReadDir(tmp)
	require.NoError(t, err)
	require.Empty(t, left, "files the guests left in TMPDIR")
	require.Empty(t, rumpgoProcesses(rumpgo), "rumpgo processes left running")
	require.LessOrEqual(t, fdsAfter, fdsBefore, "descriptors of the test process grew")
	availAfter := memAvailableKiB(t)
	t.Logf("back to back: %d guests in %v, boot to answer %s", sequential, seqWall.Round(time.Millisecond), stats(times))
	t.Logf("at once: %d guests in %v, boot to answer %s", concurrent, conWall.Round(time.Millisecond), stats(ctimes))
	t.Logf("test process fds %d -> %d; TMPDIR entries after: %d; rumpgo processes after: 0; MemAvailable %d -> %d MiB",
		fdsBefore, fdsAfter, len(left), availBefore>>10, availAfter>>10)
}

// serveOnce runs one httpserve guest behind -p [::1]:PORT:8080, GETs /
// once and stops it. retry is true when rumpgo could not take the port.
func serveOnce(rumpgo, serve string, env []string, client *http.Client) (took time.Duration, err error, retry bool) {
	port := freePortNoT()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, rumpgo, "run", "-p", fmt.Sprintf("[::1]:%d:8080", port), serve, ":8080")
	cmd.Env = env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err, false
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return 0, err, false
	}
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- line
		io.Copy(io.Discard, stdout)
	}()
	stop := func() error {
		cmd.Process.Signal(syscall.SIGTERM) // the guest's default action: it dies
		err := cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.ExitStatus() == 128+int(syscall.SIGTERM) {
			return nil
		}
		return fmt.Errorf("rumpgo after SIGTERM: %v; stderr:\n%s", err, stderr.String())
	}
	var line string
	select {
	case line = <-ready:
	case <-ctx.Done():
	}
	if line != "ready\n" {
		cmd.Process.Kill()
		cmd.Wait()
		s := stderr.String()
		return 0, fmt.Errorf("the guest did not get ready (%q); stderr:\n%s", line, s), strings.Contains(s, "address already in use")
	}
	resp, err := client.Get(fmt.Sprintf("http://[::1]:%d/", port))
	if err != nil {
		stop()
		return 0, err, false
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	took = time.Since(start)
	if err == nil && string(b) != "hello\n" {
		err = fmt.Errorf("answer %q", b)
	}
	if serr := stop(); err == nil {
		err = serr
	}
	return took, err, false
}

// freePortNoT is freePort for goroutines that have no *testing.T to fail.
func freePortNoT() int {
	for {
		var lc syscall.Sockaddr = &syscall.SockaddrInet6{Addr: [16]byte{15: 1}}
		fd, err := syscall.Socket(syscall.AF_INET6, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			continue
		}
		if syscall.Bind(fd, lc) == nil {
			if sa, err := syscall.Getsockname(fd); err == nil {
				syscall.Close(fd)
				return sa.(*syscall.SockaddrInet6).Port
			}
		}
		syscall.Close(fd)
	}
}

func countFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	return len(ents)
}

func memAvailableKiB(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/meminfo")
	require.NoError(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemAvailable:" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	return 0
}

// rumpgoProcesses lists running processes of the rumpgo binary.
func rumpgoProcesses(bin string) []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		if exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && exe == bin {
			out = append(out, e.Name())
		}
	}
	return out
}

func stats(d []time.Duration) string {
	if len(d) == 0 {
		return "-"
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	r := func(x time.Duration) time.Duration { return x.Round(time.Millisecond) }
	return fmt.Sprintf("min %v, median %v, max %v", r(s[0]), r(s[len(s)/2]), r(s[len(s)-1]))
}
