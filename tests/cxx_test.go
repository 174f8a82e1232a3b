package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// C++: tests/testdata/cxx built with g++ against libstdc++ — static
// constructors, exceptions (across frames, rethrown, through
// std::exception_ptr out of a std::thread, and one escaping main into
// std::terminate), std::thread with a mutex and a condition variable —
// natively and under rumpgo; and a crash report whose frames are the
// demangled C++ names.

// cxxProgram builds tests/testdata/cxx/main.cpp with g++ and flags.
func cxxProgram(t *testing.T, key string, flags ...string) string {
	t.Helper()
	need(t, "g++", "g++")
	src := filepath.Join(moduleRoot, "tests", "testdata", "cxx", "main.cpp")
	argv := append(append([]string{"g++"}, flags...), "-pthread", "-o", "prog", src)
	return filepath.Join(cBuild(t, "cxx-"+key, cmdOf(argv...)), "prog")
}

func TestCxx(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	for _, tc := range []struct {
		name   string
		flags  []string
		args   []string
		status int
	}{
		// Debian's default: PIE, libstdc++.so.6 and libgcc_s.so.1 from ld.so.
		{name: "dynamic", flags: []string{"-O2", "-g"}, status: 3},
		{name: "dynamic -O0", flags: []string{"-O0", "-g", "-fno-omit-frame-pointer"}, status: 3},
		{name: "static", flags: []string{"-O2", "-static"}, status: 3},
		// An exception nobody catches: std::terminate prints it, abort().
		{name: "uncaught", flags: []string{"-O2", "-g"}, args: []string{"throw"}, status: 128 + int(syscall.SIGABRT)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin := cxxProgram(t, strings.Join(tc.flags, ""), tc.flags...)
			native := run(t, os.Environ(), nil, append([]string{bin}, tc.args...)...)
			require.Equal(t, tc.status, native.status, native.stderr)
			require.Contains(t, native.stdout, "static init: [constructor attribute] [first] [second] [lambda initializer] initialized=42\n")
			if tc.args == nil {
				for _, w := range []string{
					`parse "12x4": ParseError at 2: not a digit: 'x'`,
					"rethrown caught as std::exception",
					"threads: 8 started, total 31996000",
					"from a thread: worker 5 failed on purpose",
					"static destructor second\nstatic destructor first\n",
				} {
					require.Contains(t, native.stdout, w)
				}
			}
			guest := run(t, os.Environ(), nil, append([]string{rumpgo, "run", bin}, tc.args...)...)
			require.Equal(t, native.stdout, guest.stdout, "rumpgo stderr:\n%s", guest.stderr)
			require.Equal(t, native.status, guest.status, "rumpgo stderr:\n%s", guest.stderr)
			if tc.args != nil {
				const what = "terminate called after throwing an instance of 'std::logic_error'\n  what():  uncaught\n"
				require.Contains(t, native.stderr, what)
				require.True(t, strings.HasPrefix(guest.stderr, what), "rumpgo stderr:\n%s", guest.stderr)
				require.Contains(t, guest.stderr, "rumpgo: guest killed by SIGABRT")
			}
		})
	}
}

// TestCxxCrashReport: a NULL write three frames deep in C++ — a member
// function called by a member function called by a namespaced function —
// yields a report naming all three, demangled, with their source lines.
func TestCxxCrashReport(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	bin := cxxProgram(t, "crash", "-O0", "-g", "-fno-omit-frame-pointer")
	native := run(t, os.Environ(), nil, bin, "crash")
	require.Equal(t, 128+int(syscall.SIGSEGV), native.status, native.stderr)
	guest := run(t, os.Environ(), nil, rumpgo, "run", bin, "crash")
	require.Equal(t, native.status, guest.status, guest.stderr)
	require.Equal(t, native.stdout, guest.stdout)
	i := strings.Index(guest.stderr, "rumpgo: guest killed")
	require.GreaterOrEqual(t, i, 0, guest.stderr)
	report := guest.stderr[i:]
	// The line of each function's one statement.
	src, err := os.ReadFile(filepath.Join(moduleRoot, "tests", "testdata", "cxx", "main.cpp"))
	require.NoError(t, err)
	lineOf := func(s string) string {
		for n, l := range strings.Split(string(src), "\n") {
			if strings.Contains(l, s) {
				return fmt.Sprintf("cxx/main.cpp:%d)", n+1)
			}
		}
		t.Fatalf("main.cpp has no %q", s)
		return ""
	}
	rest := report
	for _, w := range []string{
		"rumpgo: guest killed by SIGSEGV: write of unmapped address 0x0 (SEGV_MAPERR)",
		"#0  0x", "crashy::Walker::level3(int)+0x", lineOf("void level3(int v)"),
		"#1  0x", "crashy::Walker::level2(int)+0x", lineOf("void level2(int v)"),
		"#2  0x", "crashy::level1(crashy::Walker&)+0x", lineOf("void level1(Walker &w)"),
		"#3  0x", "main+0x", "cxx/main.cpp:",
	} {
		j := strings.Index(rest, w)
		require.GreaterOrEqual(t, j, 0, "report lacks %q after what came before:\n%s", w, report)
		rest = rest[j+len(w):]
	}
	require.NotContains(t, report, "_ZN", "no mangled names left")
}

// TestCrashReportNoFramePointer: C built -O2 -fomit-frame-pointer (how
// Debian builds its libraries) keeps no frame-pointer chain, so only the
// call frame information finds the callers of the faulting function: a
// NULL write three calls deep names all three, and an abort() names the
// glibc frames up to main. Differential: the report's frames are the ones
// gdb finds in the --core file of the same crash.
func TestCrashReportNoFramePointer(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	need(t, "gcc", "gcc")
	src := filepath.Join(moduleRoot, "tests", "testdata", "cnofp", "main.c")
	build := func(key string, flags ...string) string {
		argv := append(append([]string{"gcc", "-O2", "-fomit-frame-pointer", "-g"}, flags...), "-o", "prog", src)
		return filepath.Join(cBuild(t, "cnofp"+key, cmdOf(argv...)), "prog")
	}
	for _, tc := range []struct {
		name   string
		bin    func() string
		args   []string
		signal syscall.Signal
		want   []string // report frames' functions, in order, from #0
	}{
		{name: "dynamic", bin: func() string { return build("") }, signal: syscall.SIGSEGV,
			want: []string{"nofp_level3", "nofp_level2", "nofp_level1", "main"}},
		{name: "static", bin: func() string { return build("-static", "-static") }, signal: syscall.SIGSEGV,
			want: []string{"nofp_level3", "nofp_level2", "nofp_level1", "main"}},
		// glibc's abort raises SIGABRT through pthread_kill; which of its
		// internal names a frame shows varies by release, abort and main
		// do not.
		{name: "abort in glibc", bin: func() string { return build("") }, args: []string{"abort"}, signal: syscall.SIGABRT,
			want: []string{"abort", "main"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin := tc.bin()
			native := run(t, os.Environ(), nil, append([]string{bin}, tc.args...)...)
			require.Equal(t, 128+int(tc.signal), native.status, native.stderr)
			core := filepath.Join(t.TempDir(), "core")
			guest := run(t, os.Environ(), nil, append([]string{rumpgo, "run", "--core", core, bin}, tc.args...)...)
			require.Equal(t, native.status, guest.status, guest.stderr)
			require.Equal(t, native.stdout, guest.stdout)
			frames := reportFrames(t, guest.stderr)
			rest := frames
			for _, w := range tc.want {
				i := indexOfFunc(rest, w)
				require.GreaterOrEqual(t, i, 0, "report lacks %s after what came before: %q\n%s", w, frames, guest.stderr)
				rest = rest[i+1:]
			}
			if tc.signal == syscall.SIGSEGV {
				require.Equal(t, tc.want, frames[:len(tc.want)], "the faulting function and its callers, nothing between:\n%s", guest.stderr)
				require.Contains(t, guest.stderr, "cnofp/main.c:", "file:line from DWARF")
			}

			// gdb unwinds the same crash from the core file with its own CFI
			// reader: its frames, down to main, must be the report's. They
			// are compared by address, since gdb names glibc's frames from
			// its debug files; the frames gdb makes up from debug information
			// (inlined calls, and tail calls, whose callers are not on the
			// stack) are left out.
			if _, err := exec.LookPath("gdb"); err != nil {
				t.Skipf("no gdb: %v", err)
			}
			out, err := exec.Command("gdb", "-nx", "-batch", "-ex",
				`frame apply all -q python f = gdb.selected_frame(); print("PC", hex(f.pc()), f.type() in (gdb.INLINE_FRAME, gdb.TAILCALL_FRAME))`,
				bin, core).CombinedOutput()
			require.NoError(t, err, "%s", out)
			var gdbPCs []string
			for _, m := range regexp.MustCompile(`(?m)^PC (0x[0-9a-f]+) (True|False)$`).FindAllStringSubmatch(string(out), -1) {
				if m[2] == "False" {
					gdbPCs = append(gdbPCs, m[1])
				}
			}
			if len(gdbPCs) == 0 && strings.Contains(string(out), "Python scripting is not supported") {
				t.Skipf("gdb without Python: %s", out)
			}
			pcs := reportPCs(guest.stderr)
			require.GreaterOrEqual(t, len(gdbPCs), len(tc.want), "%s", out)
			require.GreaterOrEqual(t, len(pcs), len(gdbPCs), "report: %q\ngdb: %q\n%s", pcs, gdbPCs, guest.stderr)
			require.Equal(t, gdbPCs, pcs[:len(gdbPCs)], "rumpgo's report and gdb on its core disagree:\n%s\n%s", guest.stderr, out)
		})
	}
}

// indexOfFunc finds function fn in list, or a part gcc split off it
// (fn.cold, fn.part.0).
func indexOfFunc(list []string, fn string) int {
	for i, v := range list {
		if v == fn || strings.HasPrefix(v, fn+".") {
			return i
		}
	}
	return -1
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// reportFrames lists the functions of a crash report's backtrace
// ("  #3  0x000055555555512b main+0x1b (main.c:22) in /prog").
var reportFrameRE = regexp.MustCompile(`(?m)^  #\d+ +0x[0-9a-f]+ (\S+?)(\+0x[0-9a-f]+)? `)

func reportFrames(t *testing.T, stderr string) []string {
	var out []string
	for _, m := range reportFrameRE.FindAllStringSubmatch(stderr, -1) {
		out = append(out, m[1])
	}
	require.NotEmpty(t, out, "no backtrace in:\n%s", stderr)
	return out
}

// reportPCs lists the addresses of a crash report's frames, as gdb
// prints them (0x-prefixed, no leading zeros).
func reportPCs(stderr string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`(?m)^  #\d+ +0x0*([0-9a-f]+) `).FindAllStringSubmatch(stderr, -1) {
		out = append(out, "0x"+m[1])
	}
	return out
}
