package tests

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/rumpgo/rumpgo/libc/musl"
	"github.com/stretchr/testify/require"
)

// C programs and cgo: dynamic ELFs through their own ld.so, static glibc,
// static-PIE and static musl builds, a library of the program's own, a
// dlopened one, and symbolized crash reports. Each program runs natively
// and under rumpgo; stdout and exit status must match.

// cBuild runs a build command once per test binary, in a directory of its
// own under buildDir named key, and returns that directory. build gets the
// directory and returns the command's argv, or an env-carrying *exec.Cmd.
func cBuild(t *testing.T, key string, cmds ...func(dir string) *exec.Cmd) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built["c:"+key]; ok {
		return p
	}
	dir := filepath.Join(buildDir, "c-"+key)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	for _, mk := range cmds {
		cmd := mk(dir)
		if cmd.Dir == "" {
			cmd.Dir = dir
		}
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building %s: %v: %v\n%s", key, cmd.Args, err, b)
		}
	}
	built["c:"+key] = dir
	return dir
}

func need(t *testing.T, tool, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		t.Fatalf("needs %s (apt-get install %s): %v", tool, pkg, err)
	}
}

func cmdOf(argv ...string) func(string) *exec.Cmd {
	return func(string) *exec.Cmd { return exec.Command(argv[0], argv[1:]...) }
}

// clibc builds tests/testdata/clibc as variant and returns the program.
func clibc(t *testing.T, variant string) string {
	t.Helper()
	src := filepath.Join(moduleRoot, "tests", "testdata", "clibc")
	main, lib, plugin := filepath.Join(src, "main.c"), filepath.Join(src, "libshared.c"), filepath.Join(src, "plugin.c")
	libs := []func(string) *exec.Cmd{
		cmdOf("gcc", "-shared", "-fPIC", "-O1", "-g", "-o", "libshared.so", lib),
		cmdOf("gcc", "-shared", "-fPIC", "-O1", "-g", "-o", "libplugin.so", plugin),
	}
	// The program finds both libraries next to itself: DT_RUNPATH $ORIGIN.
	dynamic := []string{"-DWITH_LIB", "-DWITH_DL", main, "-L.", "-lshared", "-Wl,-rpath,$ORIGIN", "-pthread", "-ldl"}
	var cmds []func(string) *exec.Cmd
	switch variant {
	case "pie": // Debian's default: PIE, with full RELRO and no executable stack
		need(t, "gcc", "gcc")
		cmds = append(libs, cmdOf(append([]string{"gcc", "-O1", "-g", "-fno-omit-frame-pointer", "-pie", "-fPIE", "-Wl,-z,now", "-Wl,-z,relro", "-Wl,-z,noexecstack", "-o", "prog"}, dynamic...)...))
	case "nopie": // fixed addresses, lazy binding through the PLT
		need(t, "gcc", "gcc")
		cmds = append(libs, cmdOf(append([]string{"gcc", "-O1", "-g", "-no-pie", "-Wl,-z,lazy", "-o", "prog"}, dynamic...)...))
	case "static":
		need(t, "gcc", "gcc")
		cmds = append(cmds, cmdOf("gcc", "-O1", "-g", "-static", "-o", "prog", main, "-pthread"))
	case "static-pie":
		need(t, "gcc", "gcc")
		cmds = append(cmds, cmdOf("gcc", "-O1", "-g", "-static-pie", "-o", "prog", main, "-pthread"))
	case "musl": // musl has no IFUNC
		need(t, musl.CC, "musl-tools")
		cmds = append(cmds, cmdOf(musl.CC, "-O1", "-g", "-static", "-DNO_IFUNC", "-o", "prog", main, "-pthread"))
	default:
		t.Fatalf("no clibc variant %q", variant)
	}
	return filepath.Join(cBuild(t, "clibc-"+variant, cmds...), "prog")
}

// TestCLibc runs the C program in every build natively and under rumpgo:
// printf, brk and mmap malloc, realloc through mremap, pthreads, TLS of
// every model (local-exec, initial-exec, global- and local-dynamic in a
// library, lazily allocated in a dlopened one), an IFUNC, dlopen,
// getaddrinfo of localhost through /etc/hosts, readlink of
// /proc/self/exe, statx, getrandom GRND_NONBLOCK, sched_setaffinity,
// prlimit64 and membarrier.
func TestCLibc(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	for _, tc := range []struct {
		variant string
		interp  bool     // dynamic: has PT_INTERP
		pie     bool     // ET_DYN
		flags   []string // rumpgo's
	}{
		{variant: "pie", interp: true, pie: true},
		{variant: "nopie", interp: true},
		{variant: "static"},
		{variant: "static-pie", pie: true},
		{variant: "musl"},
		// ld.so's and libc's calls through the exit-less mailbox path.
		{variant: "pie", interp: true, pie: true, flags: []string{"--syscalls", "poll"}},
	} {
		t.Run(strings.Join(append([]string{tc.variant}, tc.flags...), " "), func(t *testing.T) {
			bin := clibc(t, tc.variant)
			f, err := elf.Open(bin)
			require.NoError(t, err)
			hasInterp := false
			for _, p := range f.Progs {
				hasInterp = hasInterp || p.Type == elf.PT_INTERP
			}
			require.Equal(t, tc.interp, hasInterp, "PT_INTERP")
			require.Equal(t, tc.pie, f.Type == elf.ET_DYN, "ELF type %v", f.Type)
			f.Close()

			native := run(t, os.Environ(), nil, bin, "3")
			require.Equal(t, 3, native.status, native.stderr)
			require.Contains(t, native.stdout, "malloc: 0 bad bytes")
			guest := run(t, os.Environ(), nil, append(append([]string{rumpgo, "run"}, tc.flags...), bin, "3")...)
			require.Equal(t, native.stdout, guest.stdout, "rumpgo stderr:\n%s", guest.stderr)
			require.Equal(t, native.status, guest.status, "rumpgo stderr:\n%s", guest.stderr)
		})
	}
}

// cgoProgram builds tests/testdata/<name> with cgo: dynamic against glibc,
// or fully static against musl through libc/musl.
func cgoProgram(t *testing.T, name string, static bool) string {
	t.Helper()
	key := name + "-cgo"
	if static {
		key += "-musl"
	}
	return filepath.Join(cBuild(t, key, func(dir string) *exec.Cmd {
		out := filepath.Join(dir, name)
		if static {
			cmd, err := musl.Command(moduleRoot, out, "-buildvcs=false", "./tests/testdata/"+name)
			require.NoError(t, err)
			return cmd
		}
		need(t, "gcc", "gcc")
		cmd := exec.Command("go", "build", "-buildvcs=false", "-o", out, "./tests/testdata/"+name)
		cmd.Dir = moduleRoot
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
		return cmd
	}), name)
}

// TestCgo: a cgo program whose C prints with printf and runs pthreads,
// called from several goroutines: dynamic against glibc, and static with
// musl.
func TestCgo(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	for _, static := range []bool{false, true} {
		name := map[bool]string{false: "glibc-dynamic", true: "musl-static"}[static]
		t.Run(name, func(t *testing.T) {
			bin := cgoProgram(t, "cgohello", static)
			native := run(t, os.Environ(), nil, bin)
			require.Contains(t, native.stdout, "hello, Go, from C\nC: 4 pthreads summed to 2008010\n")
			guest := run(t, os.Environ(), nil, rumpgo, "run", bin)
			require.Equal(t, native.stdout, guest.stdout, "rumpgo stderr:\n%s", guest.stderr)
			require.Equal(t, native.status, guest.status, "rumpgo stderr:\n%s", guest.stderr)
		})
	}
}

// TestIconv: a dynamic glibc program converting to charsets that need
// glibc's gconv modules, which rumpgo packs because the program calls
// iconv_open (launch.ResolveLibs).
func TestIconv(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	need(t, "gcc", "gcc")
	dir := cBuild(t, "ciconv", cmdOf("gcc", "-O1", "-o", "prog", filepath.Join(moduleRoot, "tests", "testdata", "ciconv", "main.c")))
	bin := filepath.Join(dir, "prog")
	native := run(t, os.Environ(), nil, bin)
	require.Contains(t, native.stdout, "UTF-8 -> ISO-8859-15: 63 61 66 e9 20 a4\n")
	guest := run(t, os.Environ(), nil, rumpgo, "run", bin)
	require.Equal(t, native.stdout, guest.stdout, "rumpgo stderr:\n%s", guest.stderr)
	require.Equal(t, native.status, guest.status)
}

// TestCrashReport: a guest that dies of a signal gets a report naming the
// faulting functions and their source lines, from the ELF's symbols,
// DWARF or Go line table, following frame pointers through guest memory.
func TestCrashReport(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	src := filepath.Join(moduleRoot, "tests", "testdata", "ccrash", "main.c")
	flags := []string{"-O0", "-g", "-fno-omit-frame-pointer"}
	cDyn := func(t *testing.T) string {
		need(t, "gcc", "gcc")
		return filepath.Join(cBuild(t, "ccrash", cmdOf(append(append([]string{"gcc"}, flags...), "-o", "prog", src)...)), "prog")
	}
	cStatic := func(t *testing.T) string {
		need(t, "gcc", "gcc")
		return filepath.Join(cBuild(t, "ccrash-static", cmdOf(append(append([]string{"gcc", "-static"}, flags...), "-o", "prog", src)...)), "prog")
	}
	goCrash := func(t *testing.T) string { return program(t, "gocrash") }
	cgoCrash := func(t *testing.T) string { return cgoProgram(t, "gocrash", false) }

	for _, tc := range []struct {
		name   string
		bin    func(*testing.T) string
		args   []string
		env    []string
		signal syscall.Signal
		want   []string // lines of the report, in order
	}{
		{name: "C NULL write, dynamic", bin: cDyn, signal: syscall.SIGSEGV, want: []string{
			"rumpgo: guest killed by SIGSEGV: write of unmapped address 0x0 (SEGV_MAPERR)",
			"rumpgo: registers of thread 1:",
			"#0  0x", "crash_level3+0x", "ccrash/main.c:10) in ",
			"#1  0x", "crash_level2+0x", "ccrash/main.c:13)",
			"#2  0x", "crash_level1+0x", "ccrash/main.c:15)",
			"#3  0x", "main+0x", "ccrash/main.c:22)",
		}},
		{name: "C NULL write, static", bin: cStatic, signal: syscall.SIGSEGV, want: []string{
			"rumpgo: guest killed by SIGSEGV",
			"crash_level3+0x", "ccrash/main.c:10)",
			"crash_level2+0x", "crash_level1+0x", "main+0x", "ccrash/main.c:22)",
		}},
		{name: "C abort", bin: cDyn, args: []string{"abort"}, signal: syscall.SIGABRT, want: []string{
			"rumpgo: guest killed by SIGABRT", "#0  0x", "libc.so.6",
		}},
		{name: "Go nil dereference", bin: goCrash, env: []string{"GOTRACEBACK=crash"}, signal: syscall.SIGABRT, want: []string{
			"rumpgo: guest killed by SIGABRT",
			"runtime.raise+0x",
			"runtime.sigpanic+0x",
			"main.crashHere+0x", "gocrash/main.go:17) in ",
			"main.main+0x", "gocrash/main.go:26)",
		}},
		// Which thread Go's crash handler re-raises SIGABRT on varies, and
		// the frame-pointer walk stops at libc's signal trampoline (no
		// frame pointers), so only the symbolized Go side is certain.
		{name: "Go fault in cgo", bin: cgoCrash, args: []string{"cgo"}, env: []string{"GOTRACEBACK=crash"}, signal: syscall.SIGABRT, want: []string{
			"rumpgo: guest killed by SIGABRT",
			"rumpgo: backtrace",
			"runtime.", "src/runtime/",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin := tc.bin(t)
			env := append(os.Environ(), tc.env...)
			native := run(t, env, nil, append([]string{bin}, tc.args...)...)
			guest := run(t, env, nil, append([]string{rumpgo, "run", bin}, tc.args...)...)
			require.Equal(t, 128+int(tc.signal), native.status, native.stderr)
			require.Equal(t, native.status, guest.status, guest.stderr)
			require.Equal(t, native.stdout, guest.stdout)
			report := guest.stderr[strings.Index(guest.stderr, "rumpgo: guest killed"):]
			rest := report
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				require.GreaterOrEqual(t, i, 0, "report lacks %q after what came before:\n%s", w, report)
				rest = rest[i+len(w):]
			}
			require.LessOrEqual(t, strings.Count(report, "\n  #"), 32, "the backtrace is bounded")
		})
	}
}

// TestDynamicErrors: what goes wrong with a dynamic program goes wrong as
// on Linux. A missing or wrong-machine library is ld.so's own error (exit
// 127, same message), a corrupt one too; a missing interpreter is
// rumpgo's one-line error naming it (exit 126).
func TestDynamicErrors(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	good := filepath.Dir(clibc(t, "pie"))
	prog, err := os.ReadFile(filepath.Join(good, "prog"))
	require.NoError(t, err)
	lib, err := os.ReadFile(filepath.Join(good, "libshared.so"))
	require.NoError(t, err)
	plugin, err := os.ReadFile(filepath.Join(good, "libplugin.so"))
	require.NoError(t, err)

	setup := func(t *testing.T, prog, lib []byte) string {
		dir := t.TempDir()
		writeExec(t, filepath.Join(dir, "prog"), prog)
		writeExec(t, filepath.Join(dir, "libplugin.so"), plugin)
		if lib != nil {
			writeExec(t, filepath.Join(dir, "libshared.so"), lib)
		}
		return filepath.Join(dir, "prog")
	}
	wrongMachine := bytes.Clone(lib)
	wrongMachine[18], wrongMachine[19] = byte(elf.EM_AARCH64), 0
	for _, tc := range []struct {
		name string
		lib  []byte
		want string
	}{
		{"missing library", nil, "libshared.so: cannot open shared object file"},
		{"wrong machine", wrongMachine, "libshared.so: cannot open shared object file"},
		{"truncated library", lib[:100], "libshared.so: cannot read file data"},
		{"empty library", []byte{}, "libshared.so: file too short"},
		{"not an ELF", bytes.Repeat([]byte("this is not a library\n"), 100), "libshared.so: invalid ELF header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin := setup(t, prog, tc.lib)
			native := run(t, os.Environ(), nil, bin)
			guest := run(t, os.Environ(), nil, rumpgo, "run", bin)
			require.Equal(t, 127, native.status, native.stderr)
			require.Contains(t, native.stderr, tc.want)
			require.Equal(t, native.status, guest.status, guest.stderr)
			require.Equal(t, native.stderr, guest.stderr)
		})
	}

	t.Run("missing interpreter", func(t *testing.T) {
		const interp, other = "/lib64/ld-linux-x86-64.so.2", "/lib64/ld-linux-x86-64.so.9"
		i := bytes.Index(prog, []byte(interp))
		require.Positive(t, i)
		b := bytes.Clone(prog)
		copy(b[i:], other)
		bin := setup(t, b, lib)
		guest := run(t, os.Environ(), nil, rumpgo, "run", bin)
		require.Equal(t, 126, guest.status, guest.stderr)
		requireOneLineError(t, guest.stderr)
		require.Contains(t, guest.stderr, "interpreter "+other+": no such file")
	})
}
