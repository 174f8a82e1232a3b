// Package tests holds rumpgo's end-to-end tests. The differential tests run
// the same static Go binary natively and under `rumpgo run` and require the
// same observable behaviour: Linux is the reference.
//
// Run from the module root:
//
//	go test ./tests/ -v -timeout 30m
//
// Set RUMPGO_BIN to test an already built rumpgo instead of building
// ./cmd/rumpgo. Tests that boot a guest skip when /dev/kvm cannot be opened
// read-write; the checks that rumpgo makes before booting (bad ELF, missing
// file, usage) run anyway, because they must not depend on KVM.
package tests

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// runTimeout bounds every child so a guest that hangs fails its test instead
// of stalling the whole suite until go test's global timeout.
const runTimeout = 2 * time.Minute

var (
	moduleRoot string
	buildDir   string
	rumpgoBin  string
	rumpgoErr  error // why rumpgo could not be built; reported by the tests that need it

	buildMu sync.Mutex
	built   = map[string]string{} // testdata program name -> binary path

	kvmOnce sync.Once
	kvmErr  error
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

// testMain exists so the deferred cleanup runs before os.Exit.
func testMain(m *testing.M) int {
	root, err := filepath.Abs("..")
	if err == nil {
		_, err = os.Stat(filepath.Join(root, "go.mod"))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tests: cannot find the module root:", err)
		return 1
	}
	moduleRoot = root

	dir, err := os.MkdirTemp("", "rumpgo-tests-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "tests:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	buildDir = dir

	if bin := os.Getenv("RUMPGO_BIN"); bin != "" {
		rumpgoBin, rumpgoErr = filepath.Abs(bin)
	} else {
		// A broken build must not abort the run: the native halves and
		// the build error itself are more useful reported per test.
		rumpgoBin = filepath.Join(dir, "rumpgo")
		rumpgoErr = goBuild(moduleRoot, rumpgoBin, "./cmd/rumpgo")
	}
	return m.Run()
}

func goBuild(dir, out, pkg string) error {
	// No VCS stamp: it needs a healthy git checkout and gains the tests nothing.
	cmd := exec.Command("go", "build", "-buildvcs=false", "-o", out, pkg)
	cmd.Dir = dir
	// Static binaries only: rumpgo runs them without ld.so.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

// requireRumpgo returns the rumpgo binary, failing (not skipping) when it
// does not build: a broken CLI is a bug, not a missing prerequisite.
func requireRumpgo(t *testing.T) string {
	t.Helper()
	if rumpgoErr != nil {
		t.Fatalf("rumpgo is not available: %v", rumpgoErr)
	}
	return rumpgoBin
}

// requireKVM skips only when /dev/kvm cannot be opened read-write, which is
// exactly what rumpgo needs; any other problem must surface as a failure.
func requireKVM(t *testing.T) {
	t.Helper()
	kvmOnce.Do(func() {
		f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
		if err != nil {
			kvmErr = err
			return
		}
		f.Close()
	})
	if kvmErr != nil {
		t.Skipf("needs /dev/kvm: %v", kvmErr)
	}
}

// program builds tests/testdata/<name> once per test binary.
func program(t *testing.T, name string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[name]; ok {
		return p
	}
	out := filepath.Join(buildDir, name)
	if err := goBuild(moduleRoot, out, "./tests/testdata/"+name); err != nil {
		t.Fatalf("building testdata program %s: %v", name, err)
	}
	built[name] = out
	return out
}

type result struct {
	stdout, stderr string
	status         int   // exit code, or 128+N when killed by signal N
	maxRSSKiB      int64 // peak RSS of the process itself (not its children)
}

// run executes argv and returns its outputs. Any failure to start or a
// timeout fails the test; a non-zero exit is a result, not an error.
func run(t *testing.T, env []string, stdin []byte, argv ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// Without WaitDelay a grandchild holding the pipes open would keep
	// Wait blocked after the kill.
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%q timed out after %v\nstdout:\n%s\nstderr:\n%s", argv, runTimeout, stdout.String(), stderr.String())
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("%q: %v", argv, err)
	}
	ps := cmd.ProcessState
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		r.status = 128 + int(ws.Signal())
	} else {
		r.status = ps.ExitCode()
	}
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		r.maxRSSKiB = ru.Maxrss
	}
	return r
}

// stdinData is larger than a pipe buffer so the guest has to loop on read.
func stdinData() []byte {
	b := make([]byte, 300_000)
	for i := range b {
		b[i] = byte(i*7 + i>>9)
	}
	return b
}

func TestDifferential(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)

	tests := []struct {
		name   string
		prog   string
		args   []string
		envVar string // value of RUMPGO_TEST_VAR; unset when empty
		stdin  []byte
		// stderrWant, when set, replaces the exact stderr comparison: every
		// string must appear in both stderrs (tracebacks hold addresses that
		// legitimately differ between runs).
		stderrWant []string
	}{
		{
			name: "hello",
			prog: "hello",
			// Flags after PROGRAM belong to the guest, not to rumpgo.
			args:   []string{"a", "b c", "", "ünïcödé", "--memory", "1", "-x"},
			envVar: "value with spaces = and ünïcödé",
			stdin:  stdinData(),
		},
		{name: "hello-bare", prog: "hello"},
		{name: "goroutines", prog: "goroutines"},
		{name: "gcchurn", prog: "gcchurn"},
		{
			name:       "panic",
			prog:       "panic",
			stderrWant: []string{"panic: rumpgo test panic", "goroutine 1 [running]:", "main.inner("},
		},
		{name: "exit7", prog: "exit7"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bin := program(t, tc.prog)
			env := os.Environ()
			if tc.envVar != "" {
				env = append(env, "RUMPGO_TEST_VAR="+tc.envVar)
			}
			native := run(t, env, tc.stdin, append([]string{bin}, tc.args...)...)
			guest := run(t, env, tc.stdin, append([]string{rumpgo, "run", bin}, tc.args...)...)

			require.Equal(t, native.stdout, guest.stdout, "stdout differs (rumpgo stderr:\n%s)", guest.stderr)
			require.Equal(t, native.status, guest.status, "exit status differs (rumpgo stderr:\n%s)", guest.stderr)
			if tc.stderrWant == nil {
				require.Equal(t, native.stderr, guest.stderr, "stderr differs")
				return
			}
			require.Equal(t, 2, guest.status, "a Go panic exits 2")
			for _, s := range tc.stderrWant {
				require.Contains(t, native.stderr, s, "native stderr (is the testdata program right?)")
				require.Contains(t, guest.stderr, s, "rumpgo stderr")
			}
		})
	}
}

func TestMemoryLimit(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	const memMiB = 256
	// What rumpgo may use beyond guest RAM: its own Go heap, page tables,
	// the ELF image and the emulation layer's buffers.
	const overheadMiB = 128

	r := run(t, os.Environ(), nil, rumpgo, "run", "--memory", fmt.Sprint(memMiB), program(t, "oom"))
	require.Equal(t, 2, r.status, "the guest should die of Go's own out-of-memory error\nstderr:\n%s", r.stderr)
	require.Contains(t, r.stderr, "out of memory")
	require.Less(t, r.maxRSSKiB, int64((memMiB+overheadMiB)*1024),
		"rumpgo's peak RSS (KiB) must stay near --memory: guest RAM is not bounded")
}

// elf32 is a minimal i386 executable header plus one PT_LOAD: valid enough
// that only its class (32-bit) is wrong.
func elf32() []byte {
	var b bytes.Buffer
	le := binary.LittleEndian
	b.Write([]byte{0x7f, 'E', 'L', 'F', byte(elf.ELFCLASS32), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)})
	b.Write(make([]byte, 9)) // rest of e_ident
	binary.Write(&b, le, uint16(elf.ET_EXEC))
	binary.Write(&b, le, uint16(elf.EM_386))
	binary.Write(&b, le, uint32(elf.EV_CURRENT))
	binary.Write(&b, le, uint32(0x08048054)) // e_entry: right after the headers
	binary.Write(&b, le, uint32(52))         // e_phoff
	binary.Write(&b, le, uint32(0))          // e_shoff
	binary.Write(&b, le, uint32(0))          // e_flags
	binary.Write(&b, le, uint16(52))         // e_ehsize
	binary.Write(&b, le, uint16(32))         // e_phentsize
	binary.Write(&b, le, uint16(1))          // e_phnum
	binary.Write(&b, le, uint16(0))          // e_shentsize
	binary.Write(&b, le, uint16(0))          // e_shnum
	binary.Write(&b, le, uint16(0))          // e_shstrndx
	// PT_LOAD covering the file.
	binary.Write(&b, le, uint32(elf.PT_LOAD))
	binary.Write(&b, le, uint32(0))          // p_offset
	binary.Write(&b, le, uint32(0x08048000)) // p_vaddr
	binary.Write(&b, le, uint32(0x08048000)) // p_paddr
	binary.Write(&b, le, uint32(52+32+3))    // p_filesz
	binary.Write(&b, le, uint32(52+32+3))    // p_memsz
	binary.Write(&b, le, uint32(elf.PF_R|elf.PF_X))
	binary.Write(&b, le, uint32(0x1000))
	b.Write([]byte{0x31, 0xc0, 0x40}) // xor eax,eax; inc eax (never run)
	return b.Bytes()
}

func writeExec(t *testing.T, path string, data []byte) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, data, 0o755))
}

// TestBadInput does not need KVM: rejecting a file must happen before any
// VM is created, and must be a clean one-line error, never a Go crash.
func TestBadInput(t *testing.T) {
	rumpgo := requireRumpgo(t)
	dir := t.TempDir()
	hello, err := os.ReadFile(program(t, "hello"))
	require.NoError(t, err)

	tests := []struct {
		name   string
		setup  func(t *testing.T) string // returns the PROGRAM argument
		status int
	}{
		{"empty file", func(t *testing.T) string {
			p := filepath.Join(dir, "empty")
			writeExec(t, p, nil)
			return p
		}, 126},
		{"directory", func(t *testing.T) string {
			p := filepath.Join(dir, "adir")
			require.NoError(t, os.Mkdir(p, 0o755))
			return p
		}, 126},
		{"32-bit ELF", func(t *testing.T) string {
			p := filepath.Join(dir, "elf32")
			writeExec(t, p, elf32())
			return p
		}, 126},
		{"aarch64 ELF", func(t *testing.T) string {
			// A real, complete binary with only e_machine changed, so the
			// machine check is what has to reject it.
			b := bytes.Clone(hello)
			binary.LittleEndian.PutUint16(b[18:], uint16(elf.EM_AARCH64))
			p := filepath.Join(dir, "arm64")
			writeExec(t, p, b)
			return p
		}, 126},
		{"truncated ELF", func(t *testing.T) string {
			// Headers intact, segments past EOF.
			p := filepath.Join(dir, "truncated")
			writeExec(t, p, hello[:4096])
			return p
		}, 126},
		// Dynamic ELFs run now; one whose interpreter is missing is in
		// c_test.go's TestDynamicErrors.
		{"shell script", func(t *testing.T) string {
			p := filepath.Join(dir, "script.sh")
			writeExec(t, p, []byte("#!/bin/sh\necho hi\n"))
			return p
		}, 126},
		{"missing file", func(t *testing.T) string {
			return filepath.Join(dir, "does-not-exist")
		}, 127},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			prog := tc.setup(t)
			r := run(t, os.Environ(), nil, rumpgo, "run", prog)
			require.Equal(t, tc.status, r.status, "exit status\nstderr:\n%s", r.stderr)
			requireOneLineError(t, r.stderr)
			require.Empty(t, r.stdout, "nothing may reach stdout")
		})
	}
}

// requireOneLineError checks rumpgo's own error format: one line (trailing
// newline optional), prefixed "rumpgo: ", and no Go crash output.
func requireOneLineError(t *testing.T, stderr string) {
	t.Helper()
	line := strings.TrimSuffix(stderr, "\n")
	require.NotContains(t, line, "\n", "stderr must be exactly one line, got:\n%s", stderr)
	require.True(t, strings.HasPrefix(line, "rumpgo: "), "stderr must start with \"rumpgo: \", got:\n%s", stderr)
	require.NotContains(t, stderr, "panic")
	require.NotContains(t, stderr, "goroutine")
}

func TestExitCodes(t *testing.T) {
	rumpgo := requireRumpgo(t)

	t.Run("guest exit 7", func(t *testing.T) {
		requireNativeGuests(t)
		r := run(t, os.Environ(), nil, rumpgo, "run", program(t, "exit7"))
		require.Equal(t, 7, r.status, "stderr:\n%s", r.stderr)
		require.Equal(t, "exiting with 7\n", r.stdout)
	})

	// Usage errors are rumpgo's own failures: 125, a "rumpgo: " reason on
	// the first line, then the usage text. Like bad input, they must not
	// need KVM.
	hello := program(t, "hello")
	usage := []struct {
		name string
		args []string
	}{
		{"no arguments", nil},
		{"unknown command", []string{"frobnicate"}},
		{"run without program", []string{"run"}},
		{"unknown flag", []string{"run", "--no-such-flag", hello}},
		{"bad memory value", []string{"run", "--memory", "lots", hello}},
	}
	for _, tc := range usage {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, os.Environ(), nil, append([]string{rumpgo}, tc.args...)...)
			require.Equal(t, 125, r.status, "stderr:\n%s", r.stderr)
			require.True(t, strings.HasPrefix(r.stderr, "rumpgo: "), "first stderr line must start with \"rumpgo: \", got:\n%s", r.stderr)
			require.Contains(t, strings.ToLower(r.stderr), "usage", "the usage text should follow the reason")
			require.NotContains(t, r.stderr, "goroutine")
			require.Empty(t, r.stdout)
		})
	}
}
