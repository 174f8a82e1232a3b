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

func TestGuestKernelDifferential(t *testing.T) {
	requireSupervisor(t)
	rumpgo := requireRumpgo(t)
	asm, calls := asmProgram(t), noLibc(t, "kcalls")
	for _, argv := range [][]string{
		{asm}, {asm, "a", "b c"},
		{calls}, {calls, "-", "7"},
		{calls, "fault"},     // killed by SIGSEGV, after the same output
		{calls, "hypercall"}, // int $0x1b: SIGSEGV, as any INT n through a DPL 0 gate
	} {
		native := run(t, os.Environ(), nil, argv...)
		guest := run(t, os.Environ(), nil, append([]string{rumpgo, "run", "--kernel", "guest"}, argv...)...)
		require.Equal(t, native.stdout, guest.stdout, "%q; stderr:\n%s", argv, guest.stderr)
		require.Equal(t, native.status, guest.status, "%q", argv)
		if native.status == 0 || native.status < 128 {
			require.Equal(t, native.stderr, guest.stderr, "%q", argv)
		}
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
	// What the prototype does not serve is explicit: ENOSYS, reported.
	r := run(t, os.Environ(), nil, rumpgo, "run", "--kernel", "guest", calls, "enosys")
	require.Equal(t, 0, r.status, r.stderr)
	require.Contains(t, r.stdout, "sched_yield -38\n")
	require.Contains(t, r.stderr, "unsupported syscalls answered ENOSYS: sched_yield×1")
	// A fault of the app ends it as Linux would, with one explained line.
	r = run(t, os.Environ(), nil, rumpgo, "run", "--kernel", "guest", calls, "fault")
	require.Equal(t, 128+11, r.status)
	require.Contains(t, r.stderr, "the app was killed by segmentation fault: exception 14")
	requireNoPanic(t, r.stderr)
	// An app that never makes another call is still stopped: --timeout.
	r = run(t, os.Environ(), nil, rumpgo, "run", "--kernel", "guest", "--timeout", "2s", calls, "spin")
	require.Equal(t, 124, r.status, r.stderr)
	// A signal to rumpgo reaches the kernel while the app spins, as on the
	// monitor path: the monitor interrupts the app (boot.KickVector).
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
	// A dynamic ELF is refused before it runs.
	r = run(t, os.Environ(), nil, rumpgo, "run", "--kernel", "guest", "/bin/true")
	require.Equal(t, 126, r.status)
	require.Contains(t, r.stderr, "static ELFs only")
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
