package tests

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSignals runs tests/testdata/signals natively and under rumpgo: the
// Go runtime's preemption, panics from faults, signal.Notify, the default
// action of a fatal signal, and threads on two CPUs.
func TestSignals(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	bin := program(t, "signals")

	for _, tc := range []struct {
		name      string
		flags     []string // rumpgo flags
		guestLine string   // a line rumpgo's stderr must hold
	}{
		{name: "preempt"},
		{name: "nilderef"},
		{name: "index"},
		{name: "usr1"},
		{name: "sleep"},
		{name: "mutex", flags: []string{"--cpus", "2"}},
		{name: "pprof", flags: []string{"--cpus", "2"}},
		{name: "itimer"},
		{name: "term-default", guestLine: "rumpgo: guest killed by SIGTERM"},
		{name: "kill-default", guestLine: "rumpgo: guest killed by SIGKILL (sent by pid 1)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			native := run(t, os.Environ(), nil, bin, tc.name)
			argv := append(append([]string{rumpgo, "run"}, tc.flags...), bin, tc.name)
			guest := run(t, os.Environ(), nil, argv...)
			require.Equal(t, native.stdout, guest.stdout, "stdout differs (rumpgo stderr:\n%s)", guest.stderr)
			require.Equal(t, native.status, guest.status, "exit status differs (rumpgo stderr:\n%s)", guest.stderr)
			if tc.guestLine != "" {
				require.Contains(t, guest.stderr, tc.guestLine)
				return
			}
			require.Equal(t, native.stderr, guest.stderr)
		})
	}
}

// TestHostSignal sends SIGTERM to rumpgo itself: the guest's
// signal.Notify sees it and exits 0, as the native program does.
func TestHostSignal(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	bin := program(t, "signals")
	for _, argv := range [][]string{{bin, "sigterm"}, {rumpgo, "run", bin, "sigterm"}} {
		ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		require.NoError(t, cmd.Start())
		r := bufio.NewReader(out)
		line, err := r.ReadString('\n')
		require.NoError(t, err, "stderr: %s", stderr.String())
		require.Equal(t, "ready\n", line)
		require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
		rest, _ := r.ReadString(0)
		err = cmd.Wait()
		require.NoError(t, err, "%v: stderr: %s", argv, stderr.String())
		require.Equal(t, "got terminated", strings.TrimSpace(rest), argv)
	}
}

// TestFutex compares every futex operation, timeout and error natively
// and under rumpgo.
func TestFutex(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	bin := program(t, "futex")
	native := run(t, os.Environ(), nil, bin)
	guest := run(t, os.Environ(), nil, rumpgo, "run", bin)
	require.Equal(t, 0, native.status, native.stderr)
	require.Equal(t, native.stdout, guest.stdout, "rumpgo stderr:\n%s", guest.stderr)
	require.Equal(t, native.status, guest.status)
}

// cProgram builds tests/testdata/<name>/main.c as a static glibc binary.
func cProgram(t *testing.T, name string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[name]; ok {
		return p
	}
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Fatalf("C test programs need gcc and a static libc (apt-get install gcc libc6-dev): %v", err)
	}
	out := filepath.Join(buildDir, name)
	src := filepath.Join(moduleRoot, "tests", "testdata", name, "main.c")
	if b, err := exec.Command("gcc", "-static", "-O1", "-o", out, src).CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", src, err, b)
	}
	built[name] = out
	return out
}

// TestCSignals checks the signal frame as C sees it — siginfo and
// ucontext for every fault, FPU state and registers through rt_sigreturn,
// masks, the alternate stack, SA_* flags, sigsuspend, sigtimedwait,
// signalfd, SA_RESTART — and the errors of bad arguments, against Linux.
func TestCSignals(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	bin := cProgram(t, "csignals")
	native := run(t, os.Environ(), nil, bin)
	guest := run(t, os.Environ(), nil, rumpgo, "run", bin)
	require.Equal(t, native.stdout, guest.stdout, "rumpgo stderr:\n%s", guest.stderr)
	require.Equal(t, 128+int(syscall.SIGSEGV), native.status)
	require.Equal(t, native.status, guest.status)
	require.Contains(t, guest.stderr, "rumpgo: guest killed by SIGSEGV: write of unmapped address 0x8 (SEGV_MAPERR)")
}

// TestThreadLimit: threads within the limit behave as natively; past the
// machine's vCPUs pthread_create gets EAGAIN and the guest carries on.
func TestThreadLimit(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	bin := cProgram(t, "cthreads")
	native := run(t, os.Environ(), nil, bin, "100")
	guest := run(t, os.Environ(), nil, rumpgo, "run", bin, "100")
	require.Equal(t, "created 100 threads\njoined 100\n", native.stdout)
	require.Equal(t, native.stdout, guest.stdout, guest.stderr)

	guest = run(t, os.Environ(), nil, rumpgo, "run", bin, "1000")
	require.Equal(t, 0, guest.status, guest.stderr)
	require.Regexp(t, `^pthread_create failed after \d+ threads: Resource temporarily unavailable\njoined \d+\n$`, guest.stdout)
}

// TestPolledSyscalls runs guests with every syscall going through the
// mailbox a monitor thread polls (--syscalls poll, the default only on
// hosts with 4+ CPUs), against native runs: the exit-less path must be
// exactly as correct as the exit path.
func TestPolledSyscalls(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	for _, tc := range []struct {
		name  string
		bin   func(*testing.T) string
		args  []string
		stdin []byte
	}{
		{"hello", func(t *testing.T) string { return program(t, "hello") }, []string{"a", "b"}, stdinData()},
		{"goroutines", func(t *testing.T) string { return program(t, "goroutines") }, nil, nil},
		{"gcchurn", func(t *testing.T) string { return program(t, "gcchurn") }, nil, nil},
		{"futex", func(t *testing.T) string { return program(t, "futex") }, nil, nil},
		{"preempt", func(t *testing.T) string { return program(t, "signals") }, []string{"preempt"}, nil},
		{"usr1", func(t *testing.T) string { return program(t, "signals") }, []string{"usr1"}, nil},
		{"mutex", func(t *testing.T) string { return program(t, "signals") }, []string{"mutex"}, nil},
		{"itimer", func(t *testing.T) string { return program(t, "signals") }, []string{"itimer"}, nil},
		{"csignals", func(t *testing.T) string { return cProgram(t, "csignals") }, nil, nil},
		{"pollsys", func(t *testing.T) string { return program(t, "pollsys") }, nil, nil},
		{"cprocess", func(t *testing.T) string { return cProgram(t, "cprocess") }, nil, nil},
		{"goexec", func(t *testing.T) string { return program(t, "goexec") }, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin := tc.bin(t)
			native := run(t, os.Environ(), tc.stdin, append([]string{bin}, tc.args...)...)
			guest := run(t, os.Environ(), tc.stdin, append([]string{rumpgo, "run", "--syscalls", "poll", bin}, tc.args...)...)
			require.Equal(t, native.stdout, guest.stdout, "rumpgo stderr:\n%s", guest.stderr)
			require.Equal(t, native.status, guest.status, "rumpgo stderr:\n%s", guest.stderr)
		})
	}
}

// TestCSmall runs small C programs natively and under rumpgo: cwait (a
// guest has no children yet, and wait4/waitid say so as Linux does for a
// childless process) and cmincore.
func TestCSmall(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	for _, name := range []string{"cwait", "cmincore"} {
		t.Run(name, func(t *testing.T) {
			bin := cProgram(t, name)
			native := run(t, os.Environ(), nil, bin)
			guest := run(t, os.Environ(), nil, rumpgo, "run", bin)
			require.Equal(t, native.stdout, guest.stdout, guest.stderr)
			require.Equal(t, native.status, guest.status)
		})
	}
}
