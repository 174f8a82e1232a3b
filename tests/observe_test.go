package tests

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/pprof/profile"
	"github.com/stretchr/testify/require"
)

// Issue 21: looking inside a running guest from the monitor.

// callRow matches a line of the time-per-syscall table:
// "% time, calls, total, p50, p99, syscall".
var callRow = regexp.MustCompile(`(?m)^\s*([0-9.]+)\s+(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s+([a-z_0-9]+)$`)

// callTimes parses the table into name -> calls.
func callTimes(t *testing.T, out string) map[string]int {
	t.Helper()
	rows := map[string]int{}
	for _, m := range callRow.FindAllStringSubmatch(out, -1) {
		n, err := strconv.Atoi(m[2])
		require.NoError(t, err)
		for _, d := range m[3:6] {
			_, err := time.ParseDuration(d)
			require.NoError(t, err, "duration %q in %q", d, m[0])
		}
		rows[m[6]] = n
	}
	return rows
}

// TestSummaryTimes: --summary prints the time per syscall with its count,
// total, p50 and p99, and the counts are the calls the program made.
func TestSummaryTimes(t *testing.T) {
	requireKVM(t)
	rumpgo := requireRumpgo(t)
	prog := program(t, "hello")
	r := run(t, os.Environ(), nil, rumpgo, "run", "--summary", prog)
	require.Equal(t, 0, r.status, r.stderr)
	require.Contains(t, r.stderr, "% time      calls        total        p50        p99  syscall")
	rows := callTimes(t, r.stderr)
	require.NotEmpty(t, rows, r.stderr)
	require.Contains(t, rows, "exit_group", r.stderr)
	require.Equal(t, 1, rows["exit_group"], r.stderr)
	tm := regexp.MustCompile(`(?m)^100\.00\s+(\d+)\s+\S+\s+total$`).FindStringSubmatch(r.stderr)
	require.NotNil(t, tm, r.stderr)
	sum := 0
	for _, n := range rows {
		sum += n
	}
	require.Equal(t, tm[1], strconv.Itoa(sum), "the total row adds the rows up")
	m := regexp.MustCompile(`rumpgo: (\d+) syscalls in`).FindStringSubmatch(r.stderr)
	require.NotNil(t, m, r.stderr)
	require.Equal(t, m[1], strconv.Itoa(sum), "the table counts every call")
}

// TestControlSocket: --control answers a running guest's summary on a Unix
// socket, twice, while the guest goes on to exit normally.
func TestControlSocket(t *testing.T) {
	requireKVM(t)
	rumpgo := requireRumpgo(t)
	prog := program(t, "cpuhot")
	sock := filepath.Join(t.TempDir(), "ctl")
	cmd := exec.Command(rumpgo, "run", "--control", sock, prog, "3")
	var stdout strings.Builder
	cmd.Stdout = &stdout
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	defer cmd.Process.Kill()
	ask := func() string {
		var c net.Conn
		var err error
		for i := 0; i < 100; i++ {
			if c, err = net.Dial("unix", sock); err == nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		require.NoError(t, err)
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		b, err := io.ReadAll(c)
		require.NoError(t, err)
		return string(b)
	}
	time.Sleep(time.Second)
	first := ask()
	time.Sleep(500 * time.Millisecond)
	second := ask()
	for _, out := range []string{first, second} {
		require.Regexp(t, `^rumpgo: \d+ syscalls in `, out)
		require.Contains(t, callTimes(t, out), "write", out)
	}
	require.Greater(t, callTimes(t, second)["write"], callTimes(t, first)["write"], "the guest went on running between the questions:\n%s\n%s", first, second)
	require.NoError(t, cmd.Wait())
	require.Contains(t, stdout.String(), "sum true")
}

// readProfile parses a pprof file.
func readProfile(t *testing.T, path string) *profile.Profile {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	p, err := profile.Parse(f)
	require.NoError(t, err, path)
	return p
}

// cpuValue is the index of the profile's CPU time among a sample's values.
func cpuValue(t *testing.T, p *profile.Profile) int {
	t.Helper()
	for i, st := range p.SampleType {
		if st.Type == "cpu" {
			return i
		}
	}
	t.Fatalf("no cpu sample type in %v", p.SampleType)
	return 0
}

// flatTop returns the function with the most CPU time of its own (the
// innermost frame of the samples, as go tool pprof -top's first row), and
// the CPU time per function with callers counted (pprof's cum).
func flatTop(t *testing.T, p *profile.Profile) (top string, cum map[string]int64) {
	t.Helper()
	v := cpuValue(t, p)
	flat := map[string]int64{}
	cum = map[string]int64{}
	for _, s := range p.Sample {
		if len(s.Location) == 0 || len(s.Location[0].Line) == 0 {
			continue
		}
		flat[s.Location[0].Line[0].Function.Name] += s.Value[v]
		seen := map[string]bool{}
		for _, l := range s.Location {
			for _, ln := range l.Line {
				if n := ln.Function.Name; !seen[n] {
					seen[n] = true
					cum[n] += s.Value[v]
				}
			}
		}
	}
	var best int64
	for name, n := range flat {
		if n > best || (n == best && name < top) {
			top, best = name, n
		}
	}
	return top, cum
}

// TestProfileHot: rumpgo run --profile on a CPU-bound Go program names the
// function a native runtime/pprof profile of the same program finds, at
// the top, with its callers on the stack (a leaf Go function keeps no
// frame pointer of its own: the unwinder must use the program's CFI).
func TestProfileHot(t *testing.T) {
	requireKVM(t)
	rumpgo := requireRumpgo(t)
	prog := program(t, "cpuhot")
	dir := t.TempDir()
	native := filepath.Join(dir, "native.pprof")
	r := run(t, os.Environ(), nil, prog, "2", native)
	require.Equal(t, 0, r.status, r.stderr)
	nativeTop, _ := flatTop(t, readProfile(t, native))

	guest := filepath.Join(dir, "guest.pprof")
	cmd := exec.Command(rumpgo, "run", "--profile", guest, prog, "2")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), stderr.String())
	require.Contains(t, stdout.String(), "sum true")
	require.Regexp(t, `rumpgo: --profile: \d+ samples \(\d+ in guest code, \d+ in syscalls\) in `, stderr.String())
	// What rumpgo's threads used, the vCPUs' time and the monitor's own.
	used := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	p := readProfile(t, guest)
	require.NotEmpty(t, p.Mapping)
	require.Equal(t, prog, p.Mapping[0].File, "the program is the main binary")
	guestTop, cum := flatTop(t, p)
	require.Equal(t, "main.hotLoop", nativeTop)
	require.Equal(t, nativeTop, guestTop)
	v := cpuValue(t, p)
	var total int64
	for _, s := range p.Sample {
		total += s.Value[v]
	}
	require.Greater(t, cum["main.main"], total/2, "main.main calls the hot function: %v", cum)
	require.Greater(t, cum["main.coldLoop"], int64(0), "coldLoop calls it too: %v", cum)
	// On a loaded host the guest gets less than its 2 s; the samples
	// still account for most of what it got, and never for more.
	require.Greater(t, float64(total), 0.5*float64(used.Nanoseconds()), "most of the CPU time rumpgo used (%v) is sampled", used)
	require.Less(t, float64(total), 1.1*float64(used.Nanoseconds()), "no more than the CPU time rumpgo used (%v) is sampled", used)
	var calls int64
	for name, n := range cum {
		if strings.HasPrefix(name, "syscall:") {
			calls += n
		}
	}
	require.Greater(t, calls, int64(0), "time in syscalls shows as syscall:NAME frames: %v", cum)
}

// TestProfileHTTP: a profile of the HTTP server under load shows the
// system calls it serves with, under the Go functions that make them.
func TestProfileHTTP(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	port := freePort(t, false)
	out := filepath.Join(t.TempDir(), "http.pprof")
	cmd := exec.Command(rumpgo, "run", "--profile", out, "-p", fmt.Sprintf("[::1]:%d:8080", port), program(t, "httpserve"), ":8080")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	defer cmd.Process.Kill()
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	require.Equal(t, "ready\n", line, stderr.String())
	client := &http.Client{Timeout: 30 * time.Second}
	for i := 0; i < 300; i++ {
		resp, err := client.Get(fmt.Sprintf("http://[::1]:%d/", port))
		require.NoError(t, err)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	// SIGTERM is the guest's (launch forwards it): the server dies of it
	// and rumpgo writes the profile on the way out.
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	cmd.Wait()
	require.Contains(t, stderr.String(), "rumpgo: --profile:", stderr.String())
	_, cum := flatTop(t, readProfile(t, out))
	var calls []string
	for name := range cum {
		if strings.HasPrefix(name, "syscall:") {
			calls = append(calls, name)
		}
	}
	require.NotEmpty(t, calls, "%v", cum)
	found := false
	for _, c := range []string{"syscall:read", "syscall:write", "syscall:accept4", "syscall:epoll_pwait", "syscall:epoll_wait", "syscall:close"} {
		found = found || cum[c] > 0
	}
	require.True(t, found, "a server's calls among %v", calls)
	require.Greater(t, cum["net/http.(*conn).serve"], int64(0), "the Go code above them: %v", cum)
}

// TestProfileErrors: a profile that cannot be written or a rate out of
// range fails before the guest runs, with one clear line.
func TestProfileErrors(t *testing.T) {
	rumpgo := requireRumpgo(t)
	hello := program(t, "hello")
	for _, args := range [][]string{
		{"--profile", "/nonexistent/dir/p.pprof"},
		{"--profile", filepath.Join(t.TempDir(), "p"), "--profile-rate", "0"},
		{"--profile", filepath.Join(t.TempDir(), "p"), "--profile-rate", "100000"},
	} {
		r := run(t, os.Environ(), nil, append(append([]string{rumpgo, "run"}, args...), hello)...)
		require.NotEqual(t, 0, r.status, "%v", args)
		requireOneLineError(t, r.stderr)
		require.Contains(t, r.stderr, "--profile")
		require.Empty(t, r.stdout, "the guest must not have run")
	}
}
