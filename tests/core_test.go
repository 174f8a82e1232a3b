package tests

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCore: --core FILE writes an ELF core file when the guest crashes,
// which gdb opens with the program: the backtrace names the crashing
// function and its callers, registers included (gdb -batch -ex bt), and
// every thread of the process is there with its own registers.
func TestCore(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	need(t, "gcc", "gcc")
	ccrash := filepath.Join(moduleRoot, "tests", "testdata", "ccrash", "main.c")
	flags := []string{"-O0", "-g", "-fno-omit-frame-pointer"}
	for _, tc := range []struct {
		name string
		bin  func(t *testing.T) string
		args []string
		sig  syscall.Signal
		bt   []string // gdb's frames, in order
	}{
		{name: "C dynamic", sig: syscall.SIGSEGV,
			bin: func(t *testing.T) string {
				return filepath.Join(cBuild(t, "core-ccrash", cmdOf(append(append([]string{"gcc"}, flags...), "-o", "prog", ccrash)...)), "prog")
			},
			bt: []string{"#0 ", "crash_level3 (p=0x0, v=42) at ", "main.c:10", "#1 ", "crash_level2", "#2 ", "crash_level1", "#3 ", "main"}},
		{name: "C static", sig: syscall.SIGSEGV,
			bin: func(t *testing.T) string {
				return filepath.Join(cBuild(t, "core-ccrash-static", cmdOf(append(append([]string{"gcc", "-static"}, flags...), "-o", "prog", ccrash)...)), "prog")
			},
			bt: []string{"#0 ", "crash_level3", "#1 ", "crash_level2", "#2 ", "crash_level1", "#3 ", "main"}},
		{name: "C++", sig: syscall.SIGSEGV, args: []string{"crash"},
			bin: func(t *testing.T) string { return cxxProgram(t, "crash", "-O0", "-g", "-fno-omit-frame-pointer") },
			bt:  []string{"#0 ", "crashy::Walker::level3", "#1 ", "crashy::Walker::level2", "#2 ", "crashy::level1", "#3 ", "main"}},
		{name: "C abort", sig: syscall.SIGABRT, args: []string{"abort"},
			bin: func(t *testing.T) string {
				return filepath.Join(cBuild(t, "core-ccrash", cmdOf(append(append([]string{"gcc"}, flags...), "-o", "prog", ccrash)...)), "prog")
			},
			// gdb names glibc's frames from its debug files, when installed.
			bt: []string{"#0 ", "abort", " in main (", "main.c:21"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin := tc.bin(t)
			core := filepath.Join(t.TempDir(), "core")
			guest := run(t, os.Environ(), nil, append([]string{rumpgo, "run", "--core", core, bin}, tc.args...)...)
			require.Equal(t, 128+int(tc.sig), guest.status, guest.stderr)
			require.Contains(t, guest.stderr, "rumpgo: core dumped\n")

			f, err := elf.Open(core)
			require.NoError(t, err)
			defer f.Close()
			require.Equal(t, elf.ET_CORE, f.Type)
			require.Equal(t, elf.EM_X86_64, f.Machine)
			var notes, loads int
			for _, p := range f.Progs {
				switch p.Type {
				case elf.PT_NOTE:
					notes++
				case elf.PT_LOAD:
					loads++
				}
			}
			require.Equal(t, 1, notes)
			require.Greater(t, loads, 3)

			need(t, "gdb", "gdb") // tests/debian-packages installs it
			out, err := exec.Command("gdb", "-nx", "-batch", "-ex", "bt", "-ex", "info registers rip", bin, core).CombinedOutput()
			require.NoError(t, err, "%s", out)
			gdb := string(out)
			require.Contains(t, gdb, "Program terminated with signal "+map[syscall.Signal]string{syscall.SIGSEGV: "SIGSEGV", syscall.SIGABRT: "SIGABRT"}[tc.sig])
			rest := gdb
			for _, w := range tc.bt {
				i := strings.Index(rest, w)
				require.GreaterOrEqual(t, i, 0, "gdb's backtrace lacks %q after what came before:\n%s", w, gdb)
				rest = rest[i+len(w):]
			}
		})
	}

	// Every thread is in the core with its own registers, whatever it was
	// doing when the main thread crashed: running guest code (spinners),
	// blocked in a syscall (nanosleep, a futex under pthread_cond_wait).
	// Differential: the program prints its thread count natively and under
	// rumpgo, and gdb must find that many threads in the core.
	t.Run("C threads", func(t *testing.T) {
		src := filepath.Join(moduleRoot, "tests", "testdata", "cthreadcrash", "main.c")
		bin := filepath.Join(cBuild(t, "core-cthreadcrash", cmdOf(append(append([]string{"gcc"}, flags...), "-pthread", "-o", "prog", src)...)), "prog")
		native := run(t, os.Environ(), nil, bin)
		require.Equal(t, 128+int(syscall.SIGSEGV), native.status, native.stderr)
		var threads int
		_, err := fmt.Sscanf(native.stdout, "threads: %d", &threads)
		require.NoError(t, err, native.stdout)

		core := filepath.Join(t.TempDir(), "core")
		guest := run(t, os.Environ(), nil, rumpgo, "run", "--core", core, bin)
		require.Equal(t, native.status, guest.status, guest.stderr)
		require.Equal(t, native.stdout, guest.stdout)
		require.Contains(t, guest.stderr, "rumpgo: core dumped\n")
		require.NotContains(t, guest.stderr, "did not stop in time")

		// One NT_PRSTATUS per thread, the crashing thread (TID 1) first.
		tids := prstatusTIDs(t, core)
		require.Len(t, tids, threads)
		require.Equal(t, 1, tids[0])

		need(t, "gdb", "gdb")
		out, err := exec.Command("gdb", "-nx", "-batch", "-ex", "info threads", "-ex", "thread apply all bt", bin, core).CombinedOutput()
		require.NoError(t, err, "%s", out)
		gdb := string(out)
		require.Equal(t, threads, strings.Count(gdb, "\nThread "), "gdb's threads:\n%s", gdb)
		require.Regexp(t, `(?m)^\* 1 +.*threads_level3`, gdb, "the crashing thread is gdb's current one")
		// Each thread's registers put it where it was: two in each loop
		// (counted in the backtraces, after info threads' list).
		bts := gdb[strings.Index(gdb, "\nThread "):]
		for fn, n := range map[string]int{"spinner_loop ()": 2, "sleeper_sleep ()": 2, "waiter_wait ()": 2} {
			require.Equal(t, n, strings.Count(bts, " in "+fn), "%s:\n%s", fn, gdb)
		}
		rest := gdb[strings.Index(gdb, "\nThread 1 "):]
		for _, w := range []string{"threads_level3", "threads_level2", "threads_level1", "main"} {
			i := strings.Index(rest, w)
			require.GreaterOrEqual(t, i, 0, "thread 1's backtrace lacks %q:\n%s", w, gdb)
			rest = rest[i+len(w):]
		}
	})

	// No crash, no core: the file --core created up front stays empty.
	t.Run("no crash", func(t *testing.T) {
		core := filepath.Join(t.TempDir(), "core")
		guest := run(t, os.Environ(), nil, rumpgo, "run", "--core", core, program(t, "hello"))
		require.Equal(t, 0, guest.status, guest.stderr)
		require.NotContains(t, guest.stderr, "core dumped")
		if st, err := os.Stat(core); err == nil {
			require.Zero(t, st.Size())
		}
	})
}

// prstatusTIDs lists the threads of a core file: the pr_pid of each
// NT_PRSTATUS, in order.
func prstatusTIDs(t *testing.T, core string) []int {
	t.Helper()
	f, err := elf.Open(core)
	require.NoError(t, err)
	defer f.Close()
	var tids []int
	le := binary.LittleEndian
	for _, p := range f.Progs {
		if p.Type != elf.PT_NOTE {
			continue
		}
		b := make([]byte, p.Filesz)
		_, err := p.ReadAt(b, 0)
		require.NoError(t, err)
		for off := 0; off+12 <= len(b); {
			namesz, descsz, typ := int(le.Uint32(b[off:])), int(le.Uint32(b[off+4:])), le.Uint32(b[off+8:])
			desc := off + 12 + (namesz+3)&^3
			require.LessOrEqual(t, desc+descsz, len(b))
			if typ == uint32(elf.NT_PRSTATUS) {
				require.Equal(t, 336, descsz)
				tids = append(tids, int(le.Uint32(b[desc+32:])))
			}
			off = desc + (descsz+3)&^3
		}
	}
	return tids
}
