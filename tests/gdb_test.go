package tests

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Issue 21: rumpgo run --gdb, driven by Debian's real gdb in batch mode.

// gdbGuest is a guest started under --gdb.
type gdbGuest struct {
	cmd    *exec.Cmd
	addr   string // where the stub listens
	stdout *strings.Builder
	stderr *strings.Builder
	lines  chan string // the guest's stdout, a line at a time
	done   chan struct{}
	status int
}

var gdbAddrLine = regexp.MustCompile(`rumpgo: --gdb: .* on (\S+) \(target remote`)

// startGDBGuest runs rumpgo run --gdb [::1]:0 ARGS and waits for the stub
// to say where it listens.
func startGDBGuest(t *testing.T, args ...string) *gdbGuest {
	t.Helper()
	g := &gdbGuest{stdout: &strings.Builder{}, stderr: &strings.Builder{}, lines: make(chan string, 100), done: make(chan struct{})}
	g.cmd = exec.Command(requireRumpgo(t), append([]string{"run", "--gdb", "[::1]:0"}, args...)...)
	out, err := g.cmd.StdoutPipe()
	require.NoError(t, err)
	errPipe, err := g.cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, g.cmd.Start())
	t.Cleanup(func() {
		g.cmd.Process.Kill()
		<-g.done
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(errPipe)
		for sc.Scan() {
			g.stderr.WriteString(sc.Text() + "\n")
			if m := gdbAddrLine.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			g.stdout.WriteString(sc.Text() + "\n")
			select {
			case g.lines <- sc.Text():
			default:
			}
		}
		g.cmd.Wait()
		g.status = g.cmd.ProcessState.ExitCode()
		if ws, ok := g.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			g.status = 128 + int(ws.Signal())
		}
		close(g.done)
	}()
	select {
	case g.addr = <-addr:
	case <-time.After(30 * time.Second):
		t.Fatalf("the stub did not say where it listens; stderr:\n%s", g.stderr.String())
	}
	return g
}

// wait waits for rumpgo to exit and returns its status.
func (g *gdbGuest) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-g.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("rumpgo did not exit after gdb; stderr:\n%s", g.stderr.String())
	}
	return g.status
}

// waitLine waits for the guest to print line.
func (g *gdbGuest) waitLine(t *testing.T, line string) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case l := <-g.lines:
			if l == line {
				return
			}
		case <-deadline:
			t.Fatalf("the guest did not print %q; stdout:\n%s\nstderr:\n%s", line, g.stdout.String(), g.stderr.String())
		}
	}
}

// gdbBatch runs gdb -batch on prog against the stub with the commands
// and returns what it printed.
func gdbBatch(t *testing.T, prog, addr string, cmds ...string) string {
	t.Helper()
	need(t, "gdb", "gdb")
	argv := []string{"-batch", "-nx", "-ex", "set auto-load safe-path /", "-ex", "set pagination off",
		"-ex", "set confirm off", prog, "-ex", "target remote " + addr}
	for _, c := range cmds {
		argv = append(argv, "-ex", c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "gdb", argv...).CombinedOutput()
	require.NoError(t, ctx.Err(), "gdb hung:\n%s", out)
	_ = err // gdb's own status says little in batch mode; the output is checked
	return string(out)
}

// requireInOrder checks that out holds each of want, in this order.
func requireInOrder(t *testing.T, out string, want ...string) {
	t.Helper()
	rest := out
	for _, w := range want {
		re := regexp.MustCompile(w)
		loc := re.FindStringIndex(rest)
		require.NotNil(t, loc, "no %q (in order) in gdb's output:\n%s", w, out)
		rest = rest[loc[1]:]
	}
}

// gdbC builds tests/testdata/gdbc with debug information: dynamic (PIE,
// with ld.so and libc) or static.
func gdbC(t *testing.T, static bool) string {
	t.Helper()
	need(t, "gcc", "gcc")
	src := filepath.Join(moduleRoot, "tests", "testdata", "gdbc", "main.c")
	argv := []string{"gcc", "-O0", "-g", "-pthread", "-o", "prog", src}
	key := "gdbc"
	if static {
		argv = append(argv[:1], append([]string{"-static"}, argv[1:]...)...)
		key = "gdbc-static"
	}
	return filepath.Join(cBuild(t, key, cmdOf(argv...)), "prog")
}

// lineOf is the number of the line of tests/testdata/FILE holding text.
func lineOf(t *testing.T, file, text string) string {
	b, err := os.ReadFile(filepath.Join(moduleRoot, "tests", "testdata", file))
	require.NoError(t, err)
	for i, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, text) {
			return strconv.Itoa(i + 1)
		}
	}
	t.Fatalf("no %q in %s", text, file)
	return ""
}

// TestGDB: break on a function, read a global and an argument, step by
// line and by instruction, registers (FS base, SSE), continue to exit, on
// a C program (dynamic and static) and a Go program.
func TestGDB(t *testing.T) {
	requireNativeGuests(t)
	for _, tc := range []struct {
		name string
		prog func(t *testing.T) string
		cmds []string
		want []string
	}{
		{name: "C dynamic", prog: func(t *testing.T) string { return gdbC(t, false) },
			cmds: []string{"break add", "continue", "print counter", "print a", "next", "next", "print s",
				"info sharedlibrary", "print $fs_base != 0", "print/x $mxcsr", "stepi", "print $pc != 0", "continue"},
			want: []string{`Breakpoint 1 at`, `Breakpoint 1, add \(a=41, b=1\) at .*main.c:\d+`, `\$1 = 41`, `\$2 = 41`,
				`\d+\s+s \+= counter - 41;`, `\d+\s+return s;`, `\$3 = 42`, `/libc\.so\.6`, `\$4 = 1`, `\$5 = 0x1f80`, `\$6 = 1`,
				`\[Inferior 1 \(Remote target\) exited with code 03\]`}},
		{name: "C static", prog: func(t *testing.T) string { return gdbC(t, true) },
			cmds: []string{"break main.c:" + lineOf(t, "gdbc/main.c", "counter = add(counter, 1);"), "continue", "step", "bt", "finish", "continue"},
			want: []string{`Breakpoint 1, main \(argc=1`, `add \(a=41, b=1\) at .*main.c:\d+`, `#0  add \(a=41, b=1\)`,
				`#1  .*main \(argc=1`, `Value returned is \$1 = 42`,
				`\[Inferior 1 \(Remote target\) exited with code 03\]`}},
		{name: "Go", prog: func(t *testing.T) string { return program(t, "gdbgo") },
			cmds: []string{"break main.add", "continue", "print main.counter", "info args", "next", "next", "bt", "continue"},
			want: []string{`Breakpoint 1 at`, `Breakpoint 1, main\.add \(a=41, b=1`, `\$1 = 41`, `a = 41`, `b = 1`,
				`19\s+return s`, `main\.main \(\) at .*main.go`,
				`\[Inferior 1 \(Remote target\) exited with code 03\]`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prog := tc.prog(t)
			g := startGDBGuest(t, prog)
			out := gdbBatch(t, prog, g.addr, tc.cmds...)
			requireInOrder(t, out, tc.want...)
			require.Equal(t, 3, g.wait(t), "rumpgo's status is the guest's\n%s", g.stderr.String())
			require.Equal(t, "counter 42\n", g.stdout.String())
		})
	}
}

// TestGDBThreads: every guest thread is a gdb thread, each with its own
// registers and backtrace.
func TestGDBThreads(t *testing.T) {
	requireNativeGuests(t)
	t.Run("C", func(t *testing.T) {
		prog := gdbC(t, false)
		g := startGDBGuest(t, prog, "threads")
		out := gdbBatch(t, prog, g.addr, "break ready", "continue", "info threads", "thread apply all bt 2", "continue")
		requireInOrder(t, out, `Breakpoint 1, ready \(\)`, `\* 1 +Thread 1 .*ready \(\)`)
		require.Len(t, regexp.MustCompile(`(?m)^\s+\d+\s+Thread \d+ .*in worker \(arg=0x0\)`).FindAllString(out, -1), 3, out)
		require.Contains(t, out, "exited normally")
		require.Equal(t, 0, g.wait(t), g.stderr.String())
	})
	t.Run("Go", func(t *testing.T) {
		prog := program(t, "gdbgo")
		g := startGDBGuest(t, prog)
		out := gdbBatch(t, prog, g.addr, "break main.add", "continue", "info threads", "continue")
		ids := regexp.MustCompile(`(?m)^[ *]\s+(\d+)\s+Thread \d+`).FindAllString(out, -1)
		require.GreaterOrEqual(t, len(ids), 2, "the Go runtime's threads:\n%s", out)
		require.Regexp(t, `\* 1 +Thread 1 .*main\.add`, out)
		require.Equal(t, 3, g.wait(t), g.stderr.String())
	})
}

// TestGDBAttach: --gdb-attach starts the guest at once; gdb attaching to
// it while it spins stops it there and gets the backtrace, and kill ends
// it.
func TestGDBAttach(t *testing.T) {
	requireNativeGuests(t)
	for _, tc := range []struct {
		name string
		prog func(t *testing.T) string
		want []string
	}{
		{name: "C", prog: func(t *testing.T) string { return gdbC(t, false) },
			want: []string{`#0  .*spin \(n=`, `#1  .*main \(argc=2`}},
		{name: "Go", prog: func(t *testing.T) string { return program(t, "gdbgo") },
			want: []string{`#0  .*main\.spin \(`, `#1  .*main\.main\.func1`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prog := tc.prog(t)
			g := startGDBGuest(t, "--gdb-attach", prog, "spin")
			g.waitLine(t, "ready")
			time.Sleep(200 * time.Millisecond) // spinning by now
			cmds := []string{"bt"}
			if tc.name == "Go" {
				// The thread gdb stops on may be the runtime's: find a spinner.
				cmds = []string{"thread apply all bt"}
			}
			out := gdbBatch(t, prog, g.addr, append(cmds, "kill")...)
			requireInOrder(t, out, tc.want...)
			require.Contains(t, out, "killed")
			require.Equal(t, 137, g.wait(t), g.stderr.String())
		})
	}
}

// TestGDBSignal: a fault stops in gdb with its signal before it kills the
// program, and continuing delivers it; so does a signal the program sends
// itself, whose handler then runs, or that gdb discards (signal 0).
func TestGDBSignal(t *testing.T) {
	requireNativeGuests(t)
	prog := gdbC(t, false)
	t.Run("fault", func(t *testing.T) {
		g := startGDBGuest(t, prog, "crash")
		out := gdbBatch(t, prog, g.addr, "continue", "bt 1", "continue")
		requireInOrder(t, out, `Program received signal SIGSEGV, Segmentation fault`, `main \(argc=2`,
			`#0  main \(argc=2`, `Program terminated with signal SIGSEGV, Segmentation fault`)
		require.Equal(t, 128+11, g.wait(t), g.stderr.String())
	})
	t.Run("kill passed", func(t *testing.T) {
		g := startGDBGuest(t, prog, "signal")
		out := gdbBatch(t, prog, g.addr, "continue", "bt 2", "continue")
		requireInOrder(t, out, `Program received signal SIGUSR1, User defined signal 1`, `kill \(\)|#1 .*main \(argc=2`,
			`exited with code 04`)
		require.Equal(t, 4, g.wait(t), g.stderr.String())
		require.Equal(t, "handled\n", g.stdout.String())
	})
	t.Run("kill discarded", func(t *testing.T) {
		g := startGDBGuest(t, prog, "signal")
		out := gdbBatch(t, prog, g.addr, "continue", "signal 0")
		requireInOrder(t, out, `Program received signal SIGUSR1`, `exited with code 04`)
		require.Equal(t, 4, g.wait(t), g.stderr.String())
		require.Empty(t, g.stdout.String(), "the handler never ran")
	})
}

// TestGDBErrors: --gdb's bad arguments fail before the guest runs, with
// one clear line.
func TestGDBErrors(t *testing.T) {
	rumpgo := requireRumpgo(t)
	hello := program(t, "hello")
	for _, args := range [][]string{
		{"--gdb-attach"},
		{"--gdb", "99999"},
		{"--gdb", "nohost.invalid:1234"},
		{"--gdb", "1:2:3"},
	} {
		r := run(t, os.Environ(), nil, append(append([]string{rumpgo, "run"}, args...), hello)...)
		require.Equal(t, 125, r.status, "%v: %s", args, r.stderr)
		requireOneLineError(t, r.stderr)
		require.Contains(t, r.stderr, "--gdb")
		require.Empty(t, r.stdout, "the guest must not have run")
	}
}

// gdbNative runs gdb -batch on prog natively (gdb starts it with run
// ARGS) with the commands and returns what it printed.
func gdbNative(t *testing.T, prog string, cmds ...string) string {
	t.Helper()
	need(t, "gdb", "gdb")
	argv := []string{"-batch", "-nx", "-ex", "set auto-load safe-path /", "-ex", "set pagination off",
		"-ex", "set confirm off", prog}
	for _, c := range cmds {
		argv = append(argv, "-ex", c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, "gdb", argv...).CombinedOutput()
	require.NoError(t, ctx.Err(), "native gdb hung:\n%s", out)
	return string(out)
}

// watchReport is one of gdb's watchpoint reports in out: the old and new
// values and the line it stopped on.
var watchReport = regexp.MustCompile(`(?m)^Old value = (.*)\nNew value = (.*)\n(?:.* at )?.*?:(\d+)\n`)

// TestGDBWatch: gdb's watch stops where the program changes a variable,
// with the old and new values, exactly where and as gdb on the same
// binary natively does. The stub has no hardware watchpoints (on this PVM
// host the vCPU's debug registers never match: README), so gdb watches in
// software, single-stepping through the stub.
func TestGDBWatch(t *testing.T) {
	requireNativeGuests(t)
	sw := "set can-use-hw-watchpoints 0"
	t.Run("C", func(t *testing.T) {
		prog := gdbC(t, false)
		cmds := []string{sw, "break writes", "continue", "watch watched", "continue", "continue", "continue", "delete", "continue"}
		g := startGDBGuest(t, prog, "watch")
		got := gdbBatch(t, prog, g.addr, cmds...)
		cmds[2] = "run watch"
		want := gdbNative(t, prog, cmds...)
		gotR, wantR := watchReport.FindAllStringSubmatch(got, -1), watchReport.FindAllStringSubmatch(want, -1)
		require.Len(t, wantR, 3, "native gdb:\n%s", want)
		require.Equal(t, wantR, gotR, "gdb under rumpgo:\n%s\nnative:\n%s", got, want)
		require.Equal(t, 5, g.wait(t), g.stderr.String())
		require.Equal(t, "watched 99 31\n", g.stdout.String())
	})
}
