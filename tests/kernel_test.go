package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/rumpgo/rumpgo/boot"
	"github.com/stretchr/testify/require"
)

// The guest kernel (stage 2, docs/design/guest-kernel.md): the same
// unmodified static programs natively and under `rumpgo run --kernel guest`.

// requireSupervisor skips where the host's KVM has no native supervisor
// mode (the guest kernel cannot run there; the monitor path is tested
// everywhere).
func requireSupervisor(t *testing.T) {
	t.Helper()
	requireKVM(t)
	if err := boot.SupervisorAvailable(); err != nil {
		t.Skipf("needs native guest supervisor mode; `rumpgo doctor` says: %v", err)
	}
}

// kernelPaths are the --kernel values this host runs: host everywhere,
// guest where the host has native supervisor mode.
func kernelPaths() []string {
	if boot.SupervisorAvailable() != nil {
		return []string{"host"}
	}
	return []string{"host", "guest"}
}

// noLibc builds a C program of testdata/<name>/<name>.c without libc.
func noLibc(t *testing.T, name string) string { return noLibcWith(t, name) }

func noLibcWith(t *testing.T, name string, flags ...string) string {
	t.Helper()
	need(t, "gcc", "gcc")
	dir := cBuild(t, name, func(dir string) *exec.Cmd {
		args := append([]string{"-O2", "-static", "-nostdlib", "-fno-stack-protector", "-fno-pie", "-no-pie"}, flags...)
		return exec.Command("gcc", append(args, "-o", filepath.Join(dir, name), filepath.Join(moduleRoot, "tests", "testdata", name, name+".c"))...)
	})
	return filepath.Join(dir, name)
}

// TestGuestKernelDifferential: static programs, C without libc and Go,
// natively and with syscalls and posix inside the VM answering them.
func TestGuestKernelDifferential(t *testing.T) {
	requireSupervisor(t)
	rumpgo := requireRumpgo(t)
	asm, calls := asmProgram(t), noLibc(t, "kcalls")
	env := append(os.Environ(), "RUMPGO_TEST_VAR=guest kernel")
	type guestCase struct {
		argv  []string
		stdin string
		flags []string
	}
	cases := []guestCase{
		{argv: []string{asm}}, {argv: []string{asm, "a", "b c"}},
		{argv: []string{calls}}, {argv: []string{calls, "-", "7"}},
		{argv: []string{calls, "fault"}},     // killed by SIGSEGV, after the same output
		{argv: []string{calls, "hypercall"}}, // int $0x1b: SIGSEGV, as any INT n through a DPL 0 gate
		{argv: []string{program(t, "hello"), "x", "y z"}, stdin: "from stdin\n"},
		{argv: []string{program(t, "exit7")}},
		{argv: []string{program(t, "goroutines")}}, // threads: every one a vCPU of the kernel
		{argv: []string{program(t, "futex")}},
		{argv: []string{program(t, "timenow")}},                                      // the kernel's vDSO, shared with the app
		{argv: []string{program(t, "gcchurn")}, flags: []string{"--memory", "1024"}}, // munmap, madvise: shootdowns
		// Dynamic glibc programs: ld.so and the libraries in the app's root.
		{argv: []string{cProgram(t, "cmincore")}},
		{argv: []string{cProgram(t, "cclocks"), "100000", "4", "8"}}, // every clock agrees, vDSO and calls, on four threads
	}
	// The Go runtime's signals: preemption (a kick of a thread in the app),
	// faults turned into panics, handlers, timers, profiling.
	for _, c := range []string{"preempt", "nilderef", "index", "usr1", "sigterm", "term-default", "mutex", "sleep", "pprof", "itimer"} {
		cases = append(cases, guestCase{argv: []string{program(t, "signals"), c}})
	}
	for _, tc := range cases {
		native := run(t, env, []byte(tc.stdin), tc.argv...)
		args := append(append([]string{rumpgo, "run", "--kernel", "guest"}, tc.flags...), tc.argv...)
		guest := run(t, env, []byte(tc.stdin), args...)
		require.Equal(t, native.stdout, guest.stdout, "%q; stderr:\n%s", tc.argv, guest.stderr)
		require.Equal(t, native.status, guest.status, "%q; stderr:\n%s", tc.argv, guest.stderr)
		requireNoPanic(t, guest.stderr)
	}
}

// TestGuestKernelPageFaults: the app's stack is demand-paged by the guest
// kernel, inside the VM.
func TestGuestKernelPageFaults(t *testing.T) {
	requireSupervisor(t)
	bin := noLibcWith(t, "ktouch", "-fno-stack-clash-protection")
	line := regexp.MustCompile(`^ns_per_page \d+\.\d\n$`)
	for _, argv := range [][]string{{bin}, {requireRumpgo(t), "run", "--kernel", "guest", bin}} {
		r := run(t, os.Environ(), nil, argv...)
		require.Equal(t, 0, r.status, "%q: %s", argv, r.stderr)
		require.Regexp(t, line, r.stdout, "%q", argv)
	}
}

func TestGuestKernelGetpid(t *testing.T) {
	requireSupervisor(t)
	bin := noLibc(t, "kgetpid")
	line := regexp.MustCompile(`^getpid_ns \d+\.\d\n$`)
	for _, argv := range [][]string{{bin, "1000"}, {requireRumpgo(t), "run", "--kernel", "guest", bin, "1000"}} {
		r := run(t, os.Environ(), nil, argv...)
		require.Equal(t, 0, r.status, "%q: %s", argv, r.stderr)
		require.Regexp(t, line, r.stdout, "%q", argv)
	}
}

func TestGuestKernelRefuses(t *testing.T) {
	requireSupervisor(t)
	rumpgo, calls := requireRumpgo(t), noLibc(t, "kcalls")
	// A fault of the app ends it as Linux would, with the crash report the
	// monitor path gives.
	r := run(t, os.Environ(), nil, rumpgo, "run", "--kernel", "guest", calls, "fault")
	require.Equal(t, 128+11, r.status)
	require.Contains(t, r.stderr, "killed by SIGSEGV")
	requireNoPanic(t, r.stderr)
	// An app that never makes another call is still stopped: --timeout.
	r = run(t, os.Environ(), nil, rumpgo, "run", "--kernel", "guest", "--timeout", "2s", calls, "spin")
	require.Equal(t, 124, r.status, r.stderr)
	// A signal to rumpgo reaches the app while it spins, as on the monitor
	// path: the monitor interrupts the app (boot.KickVector) for the
	// kernel, which delivers it.
	for _, path := range []string{"host", "guest"} {
		cmd := exec.Command(rumpgo, "run", "--kernel", path, calls, "spin")
		require.NoError(t, cmd.Start())
		time.Sleep(time.Second)
		require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("--kernel %s: SIGTERM did not end a spinning app", path)
		}
		require.Equal(t, 128+15, cmd.ProcessState.ExitCode(), "--kernel %s", path)
	}
	// What the guest kernel cannot run yet is refused before a VM exists.
	r = run(t, os.Environ(), nil, rumpgo, "run", "--kernel", "guest", "--net", "nat", calls)
	require.Equal(t, 125, r.status)
	require.Contains(t, r.stderr, "not supported yet")
}

// TestDoctorSupervisor: doctor says what the probe found and which path runs.
func TestDoctorSupervisor(t *testing.T) {
	requireKVM(t)
	out, err := exec.Command(requireRumpgo(t), "doctor").CombinedOutput()
	require.NoError(t, err, "%s", out)
	want := "native supervisor mode: yes"
	if err := boot.SupervisorAvailable(); err != nil {
		want = "native supervisor mode: no: " + err.Error()
	}
	require.Contains(t, string(out), want)
	require.Contains(t, string(out), "path: the monitor answers every system call (--kernel host")
}
