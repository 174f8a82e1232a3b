package tests

import (
	"fmt"
	"os"
	"path/filepath"
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
