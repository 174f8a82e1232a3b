package tests

import (
	"debug/elf"
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
// function and its callers, registers included (gdb -batch -ex bt).
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
			// gdb unwinds libc with its CFI, which rumpgo's report cannot yet.
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

			if _, err := exec.LookPath("gdb"); err != nil {
				t.Skipf("no gdb to open the core with (apt-get install gdb): %v", err)
			}
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
