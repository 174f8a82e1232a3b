package tests

import (
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

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
