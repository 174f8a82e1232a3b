package tests

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Fault tolerance (issue 10): guests that break their own stack, reach
// for the machine's reserved window (boot.KernelBase and up), execute
// privileged instructions or spin. Each runs natively and under rumpgo
// (tests/testdata/cfaults, one mode each): the same exit status, a
// one-line report of the death, and no failure of rumpgo itself.
// docs/security.md lists them.

type faultCase struct {
	mode   string
	status int    // what Linux gives: 128 + the signal
	report string // in rumpgo's "rumpgo: guest killed by ..." line
	// known, when set, is a difference from Linux not fixed yet: the row
	// skips (after checking rumpgo did not panic) until rumpgo matches.
	known string
	// guest, when set, is the report under the guest kernel, where the
	// app's page table maps nothing of the machine's window (the monitor
	// path's known differences are gone there, and report is not
	// always the same); guestKnown the guest kernel's own known difference.
	guest, guestKnown string
}

const (
	sigSEGV = 128 + int(syscall.SIGSEGV)
	sigBUS  = 128 + int(syscall.SIGBUS)
	sigILL  = 128 + int(syscall.SIGILL)
	sigTRAP = 128 + int(syscall.SIGTRAP)
	sigFPE  = 128 + int(syscall.SIGFPE)
)

var faultCases = []faultCase{
	{mode: "ok", status: 0},

	// A stack with no room for the signal frame: Linux kills with SIGSEGV.
	{mode: "stack-null", status: sigSEGV, report: "SIGSEGV: no room for the SIGSEGV frame below rsp 0x10"},
	{mode: "stack-noncanon", status: sigSEGV, report: "SIGSEGV: no room for the SIG"},
	{mode: "stack-noncanon-nohandler", status: sigBUS, report: "SIGBUS: stack segment fault (#SS"},
	{mode: "stack-kernel", status: sigSEGV, report: "SIGSEGV: no room for the SIGSEGV frame below rsp 0x7fffc0010100"},
	{mode: "stack-mailbox", status: sigSEGV, report: "SIGSEGV: no room for the SIGSEGV frame below rsp 0x7fffc0061000"},
	{mode: "stack-text", status: sigSEGV, report: "SIGSEGV: no room for the SIGSEGV frame"},
	{mode: "sigframe", status: sigSEGV, report: "SIGSEGV: no room for the SIGUSR1 frame below rsp 0x10"},
	{mode: "recurse", status: sigSEGV, report: "SIGSEGV: no room for the SIGSEGV frame"},

	// The machine's window: on Linux nothing is mapped there.
	{mode: "jump-kernel", status: sigSEGV, report: "SIGSEGV: execute of unmapped address 0x7fffc0000000 (SEGV_MAPERR)"},
	{mode: "jump-stub", status: sigSEGV, report: "SIGSEGV",
		known: "the syscall entry page is user-executable (boot.MapKernel: the app's SYSCALL arrives there at CPL 3), so a jump to it is a system call"},
	{mode: "jump-vector", status: sigSEGV, report: "SIGSEGV: general protection fault (#GP",
		guest: "SIGSEGV: execute of unmapped address 0x7fffc00032e0 (SEGV_MAPERR)"},
	{mode: "jump-mmio", status: sigSEGV, report: "SIGSEGV: execute of unmapped address 0x7fffc00fc000 (SEGV_MAPERR)"},
	{mode: "read-kernel", status: sigSEGV, report: "SIGSEGV: read of unmapped address 0x7fffc0000000 (SEGV_MAPERR)"},
	{mode: "write-kernel", status: sigSEGV, report: "SIGSEGV: write of unmapped address 0x7fffc0001000 (SEGV_MAPERR)"},
	{mode: "write-ist", status: sigSEGV, report: "SIGSEGV: write of unmapped address 0x7fffc0010000 (SEGV_MAPERR)"},
	{mode: "read-mailbox", status: sigSEGV, report: "SIGSEGV",
		known: "the syscall mailboxes (0x7fffc0060000, 64 KiB) are user-readable and -writable (boot.MapKernel: the stub writes them at CPL 3)"},
	{mode: "write-mailbox", status: sigSEGV, report: "SIGSEGV",
		known: "the syscall mailboxes (0x7fffc0060000, 64 KiB) are user-readable and -writable (boot.MapKernel: the stub writes them at CPL 3)"},
	{mode: "read-mmio", status: sigSEGV, report: "SIGSEGV"},
	{mode: "write-mmio", status: sigSEGV, report: "SIGSEGV"},

	// The syscall entry works through the GS base (the mailbox); WRGSBASE
	// works at CPL 3 because the machine sets CR4.FSGSBASE.
	{mode: "wrgsbase", status: 0,
		known: "the syscall stub saves registers through the GS base, and PVM runs user mode under the host's CR4 (boot.NewVCPU leaves CR4.FSGSBASE off, which hardware VMX would honour with SIGILL): after WRGSBASE the next system call dies of SIGSEGV (#GP) in the stub"},
	{mode: "wrgsbase-bad", status: 0,
		known: "as wrgsbase: with a GS base of 0x10 the next system call dies of SIGSEGV in the stub (write of 0x50 at rip 0x7fffc0003000)"},

	// Privileged instructions at CPL 3: #GP, SIGSEGV.
	{mode: "hlt", status: sigSEGV, report: "SIGSEGV: general protection fault (#GP"},
	{mode: "cli", status: sigSEGV, report: "SIGSEGV: general protection fault (#GP"},
	{mode: "sti", status: sigSEGV, report: "SIGSEGV: general protection fault (#GP"},
	{mode: "iopl-cli", status: sigSEGV, report: "SIGSEGV: general protection fault (#GP"},
	{mode: "lgdt", status: sigSEGV, report: "SIGSEGV: general protection fault (#GP"},
	{mode: "lidt", status: sigSEGV, report: "SIGSEGV: general protection fault (#GP"},
	{mode: "ltr", status: sigSEGV, report: "SIGSEGV: general protection fault (#GP"},
	{mode: "lldt", status: sigSEGV, report: "SIGSEGV: general protection fault (#GP"},
	{mode: "wrmsr", status: sigSEGV, report: "SIGSEGV: general protection fault (#GP"},
	{mode: "rdmsr", status: sigSEGV, report: "SIGSEGV: general protection fault (#GP"},
	{mode: "in", status: sigSEGV, report: "SIGSEGV: general protection fault (#GP"},
	{mode: "out", status: sigSEGV, report: "SIGSEGV: general protection fault (#GP"},
	{mode: "out-syscall", status: sigSEGV, report: "SIGSEGV: general protection fault (#GP"},
	{mode: "out-exception", status: sigSEGV, report: "SIGSEGV: general protection fault (#GP"},
	{mode: "mov-cr0", status: sigSEGV, report: "SIGSEGV: general protection fault (#GP"},
	{mode: "mov-cr3", status: sigSEGV, report: "SIGSEGV: general protection fault (#GP"},
	{mode: "write-cr3", status: sigSEGV, report: "SIGSEGV: general protection fault (#GP"},
	{mode: "invlpg", status: sigSEGV, report: "SIGSEGV: general protection fault (#GP"},
	{mode: "wbinvd", status: sigSEGV, report: "SIGSEGV: general protection fault (#GP"},
	{mode: "swapgs", status: sigSEGV, report: "SIGSEGV: general protection fault (#GP"},
	{mode: "sysret", status: sigSEGV, report: "SIGSEGV: general protection fault (#GP"},
	{mode: "int-pf", status: sigSEGV, report: "SIGSEGV: software interrupt int $0xe (#GP)"},
	{mode: "int-df", status: sigSEGV, report: "SIGSEGV: software interrupt int $0x8 (#GP)"},

	// Traps Linux turns into other signals.
	{mode: "int3", status: sigTRAP, report: "SIGTRAP"},
	{mode: "int-3", status: sigTRAP, report: "SIGTRAP"},
	{mode: "icebp", status: sigTRAP, report: "SIGTRAP"},
	{mode: "ud2", status: sigILL, report: "SIGILL: invalid opcode (#UD)"},
	{mode: "into", status: sigILL, report: "SIGILL: invalid opcode (#UD)"},
	{mode: "div0", status: sigFPE, report: "SIGFPE: integer divide error (#DE)"},
}

// TestFaults runs every cfaults mode natively and under rumpgo, through
// both syscall paths of the monitor and under the guest kernel: the same
// status, one report line, rumpgo intact.
func TestFaults(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	bin := cProgram(t, "cfaults")
	for _, tc := range faultCases {
		t.Run(tc.mode, func(t *testing.T) {
			native := run(t, os.Environ(), nil, bin, tc.mode)
			if strings.HasPrefix(tc.mode, "wrgsbase") && native.status == sigILL {
				t.Skip("the host kernel does not enable FSGSBASE: WRGSBASE is SIGILL natively")
			}
			require.Equal(t, tc.status, native.status, "natively; stderr:\n%s", native.stderr)
			for _, path := range faultPaths() {
				t.Run(path.name, func(t *testing.T) {
					tc := tc
					if path.name == "guest" {
						tc.known = tc.guestKnown
						if tc.guest != "" {
							tc.report = tc.guest
						}
					}
					r := run(t, os.Environ(), nil, append(append([]string{rumpgo, "run"}, path.args...), "--timeout", "3s", bin, tc.mode)...)
					requireNoPanic(t, r.stderr)
					if tc.known != "" && r.status != tc.status {
						t.Skipf("known difference from Linux: %s (rumpgo: status %d, Linux: %d; stderr %q)",
							tc.known, r.status, tc.status, firstLines(r.stderr, 3))
					}
					requireNoMonitorFailure(t, r.stderr)
					require.Equal(t, tc.status, r.status, "stderr:\n%s", r.stderr)
					require.Equal(t, native.stdout, r.stdout)
					checkReport(t, tc, r.stderr)
				})
			}
		})
	}
	t.Run("int80", func(t *testing.T) {
		// A 32-bit system call: Linux with IA32 emulation answers it
		// (-ENOSYS here, and the program goes on: status 4), without it
		// #GP. rumpgo has no 32-bit ABI: SIGSEGV, as the latter.
		native := run(t, os.Environ(), nil, bin, "int80")
		require.Contains(t, []int{4, sigSEGV}, native.status, "natively; stderr:\n%s", native.stderr)
		r := run(t, os.Environ(), nil, rumpgo, "run", "--timeout", "3s", bin, "int80")
		requireNoMonitorFailure(t, r.stderr)
		require.Equal(t, sigSEGV, r.status, "stderr:\n%s", r.stderr)
		checkReport(t, faultCase{mode: "int80", status: sigSEGV, report: "SIGSEGV: software interrupt int $0x80 (#GP)"}, r.stderr)
	})
}

// faultPaths are the ways rumpgo runs a guest: the monitor with each
// syscall path, and the guest kernel where the host has it.
func faultPaths() []struct {
	name string
	args []string
} {
	paths := []struct {
		name string
		args []string
	}{
		{"exit", []string{"--kernel", "host", "--syscalls", "exit"}},
		{"poll", []string{"--kernel", "host", "--syscalls", "poll"}},
	}
	if len(kernelPaths()) > 1 {
		paths = append(paths, struct {
			name string
			args []string
		}{"guest", []string{"--kernel", "guest"}})
	}
	return paths
}

// checkReport: the guest's "start MODE", then exactly one line saying how
// it died (rumpgo may add a register dump after it).
func checkReport(t *testing.T, tc faultCase, stderr string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	require.Equal(t, "start "+tc.mode, lines[0], "stderr:\n%s", stderr)
	var killed []string
	for _, l := range lines {
		if strings.HasPrefix(l, "rumpgo: guest killed by ") {
			killed = append(killed, l)
		}
	}
	if tc.status == 0 {
		require.Empty(t, killed)
		return
	}
	require.Len(t, killed, 1, "one report line; stderr:\n%s", stderr)
	require.Equal(t, killed[0], lines[1], "the report comes first")
	require.Contains(t, killed[0], "rumpgo: guest killed by "+tc.report)
	require.Regexp(t, ` at rip 0x[0-9a-f]+ \(rsp 0x[0-9a-f]+\)$`, killed[0])
}

// requireNoMonitorFailure: whatever the guest did, rumpgo itself did not
// panic, crash or report a machine failure.
func requireNoMonitorFailure(t *testing.T, stderr string) {
	t.Helper()
	requireNoPanic(t, stderr)
	if strings.Contains(stderr, "rumpgo: machine failure") {
		t.Fatalf("rumpgo reported a machine failure; stderr:\n%s", stderr)
	}
}

// requireNoPanic: the Go runtime of rumpgo did not panic or crash.
func requireNoPanic(t *testing.T, stderr string) {
	t.Helper()
	for _, bad := range []string{"panic:", "fatal error:", "goroutine ", "SIGSEGV: segmentation violation"} {
		if strings.Contains(stderr, bad) {
			t.Fatalf("rumpgo failed (%q); stderr:\n%s", bad, stderr)
		}
	}
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

// TestFaultSpin: a guest spinning in a tight loop, with or without its
// signals blocked, makes no system call and never ends by itself, as
// natively. --timeout stops it with status 124 and one line; a SIGTERM
// forwarded to it kills it unless it blocks SIGTERM, as natively.
func TestFaultSpin(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	bin := cProgram(t, "cfaults")
	for _, mode := range []string{"spin", "spin-masked"} {
		t.Run(mode, func(t *testing.T) {
			// Natively it is still running after a second (then SIGKILL).
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			err := exec.CommandContext(ctx, bin, mode).Run()
			var ee *exec.ExitError
			require.True(t, errors.As(err, &ee) && ctx.Err() != nil, "natively: %v", err)

			for _, path := range []string{"exit", "poll"} {
				start := time.Now()
				r := run(t, os.Environ(), nil, rumpgo, "run", "--syscalls", path, "--timeout", "1s", bin, mode)
				took := time.Since(start)
				requireNoMonitorFailure(t, r.stderr)
				require.Equal(t, 124, r.status, "%s: stderr:\n%s", path, r.stderr)
				require.Equal(t, "start "+mode+"\nrumpgo: --timeout 1s: the guest was still running; stopped it\n", r.stderr)
				require.GreaterOrEqual(t, took, time.Second)
				require.Less(t, took, 5*time.Second, "%s: --timeout took too long to stop it", path)
				t.Logf("%s, --syscalls %s: stopped after %v", mode, path, took.Round(time.Millisecond))
			}

			// SIGTERM half a second in: spin dies of it (143), natively
			// and forwarded to the guest; spin-masked blocks it and keeps
			// spinning until --timeout.
			term := func(argv ...string) (int, string) {
				cmd := exec.Command(argv[0], argv[1:]...)
				var stderr strings.Builder
				cmd.Stderr = &stderr
				require.NoError(t, cmd.Start())
				time.Sleep(500 * time.Millisecond)
				require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
				done := make(chan struct{})
				go func() { cmd.Wait(); close(done) }()
				select {
				case <-done:
				case <-time.After(3 * time.Second):
					cmd.Process.Kill()
					<-done
					return -1, stderr.String() // still running: SIGTERM did not end it
				}
				ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
				if ws.Signaled() {
					return 128 + int(ws.Signal()), stderr.String()
				}
				return ws.ExitStatus(), stderr.String()
			}
			nativeStatus, _ := term(bin, mode)
			guestStatus, stderr := term(rumpgo, "run", "--timeout", "2s", bin, mode)
			requireNoMonitorFailure(t, stderr)
			if mode == "spin" {
				require.Equal(t, 128+int(syscall.SIGTERM), nativeStatus)
				require.Equal(t, nativeStatus, guestStatus, "stderr:\n%s", stderr)
				require.Contains(t, stderr, "rumpgo: guest killed by SIGTERM")
			} else {
				require.Equal(t, -1, nativeStatus, "natively SIGTERM is blocked")
				require.Equal(t, 124, guestStatus, "SIGTERM blocked, then --timeout; stderr:\n%s", stderr)
			}
		})
	}
}
