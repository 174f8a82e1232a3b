// Command bench is rumpgo's performance suite: it measures the same
// programs natively and under rumpgo, side by side in one run, prints one
// Markdown table with the machine it ran on, checks the project's targets
// (issue 11) and writes all of it to docs/performance.md.
//
// Run it from anywhere inside the module:
//
//	go run ./tests/bench            # the full suite, a few minutes; writes docs/performance.md
//	go run ./tests/bench -tiny      # every row once at a tiny size, ~20 s; writes nothing
//
// It builds rumpgo (./cmd/rumpgo, unless -rumpgo names a prebuilt binary)
// and its guest programs itself. Rows (groups for -rows in brackets):
//
//   - [hello] boot-to-exit of a Go hello world (tests/bench/hello): wall
//     time of the whole process, native exec vs `rumpgo run hello`,
//     interleaved, after one discarded warm-up run of each.
//   - [qemu] the same binary as /init of a QEMU microVM booting the
//     installed Debian kernel from an initramfs, until qemu exits (qemu.go):
//     under TCG, and an attempt under KVM with a timeout (PVM hosts never
//     finish booting a stock kernel; the row says what the console showed
//     last). "skipped: qemu-system-x86 not installed" without qemu.
//   - [syscall] getpid and clock_gettime as system calls, time.Now through
//     the vDSO: ns per call as the program itself reports it, so start-up
//     is excluded; getpid also with --syscalls poll (no exits), and a
//     no-libc getpid loop (tests/testdata/kgetpid) on the monitor path and
//     under `--kernel guest` (the guest kernel, docs/design/guest-kernel.md;
//     built with gcc, the rows say so where gcc or supervisor mode is missing).
//   - [runtime] signal to itself, futex ping-pong, thread create+join: ns
//     per operation as tests/testdata/rtbench reports it.
//   - [touch] the first touch of each page of a fresh 1 GiB anonymous mmap:
//     ns per 4 KiB page, i.e. the page-fault path; and of 4 MiB of stack by a
//     no-libc program (tests/testdata/ktouch) on both paths.
//   - [http] a Go net/http server (tests/testdata/httpserve), natively and
//     under `rumpgo run -p`, 64 keep-alive connections from a load
//     generator in this process: requests/s, p50 and p99 latency, one
//     64 MiB download, and the host process's VmRSS/VmHWM when the server
//     is idle after 10 requests. Both listen on [::1]: the project's hosts
//     have no 127.0.0.1 on lo.
//   - [files] sequential read of a 256 MiB file (1 MiB reads) from an image
//     and from a volume; creating small files in a tmpfs (files.go).
//   - [size] hello's binary against the image `rumpgo build` makes of it.
//   - [profile] the cost of `rumpgo run --profile` at its default rate:
//     tests/testdata/cpuhot's work loop (hot Go code and a getpid a round),
//     ns per round under rumpgo without and with the profiler.
//
// Cells are "median (min–max)" over the runs; ratio is rumpgo's median
// over the baseline's (native unless the row names another).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rumpgo/rumpgo/tests/bench/internal/gobuild"
	"github.com/rumpgo/rumpgo/tests/bench/internal/httpload"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// sizes is how much each row does.
type sizes struct {
	runs         int // runs of each per-operation row
	helloRuns    int
	getpidCalls  int
	timenowCalls int
	opCalls      int
	touchMiB     int
	readMiB      int
	createFiles  int
	httpConns    int
	httpRuns     int
	httpDur      time.Duration
	qemuRuns     int
	kvmTimeout   time.Duration
}

var (
	fullSizes = sizes{runs: 5, helloRuns: 20, getpidCalls: 100000, timenowCalls: 1000000, opCalls: 2000,
		touchMiB: 1024, readMiB: 256, createFiles: 10000, httpConns: 64, httpRuns: 3, httpDur: 5 * time.Second,
		qemuRuns: 3, kvmTimeout: 30 * time.Second}
	// tinySizes keeps every row but makes it quick: the suite's own test.
	// time.Now needs enough calls for the guest's 1 ms clock to move
	// many times.
	tinySizes = sizes{runs: 1, helloRuns: 1, getpidCalls: 1000, timenowCalls: 1000000, opCalls: 50,
		touchMiB: 16, readMiB: 8, createFiles: 100, httpConns: 64, httpRuns: 1, httpDur: 300 * time.Millisecond,
		qemuRuns: 1, kvmTimeout: 3 * time.Second}
)

var allGroups = []string{"hello", "qemu", "syscall", "runtime", "touch", "http", "files", "size", "profile"}

// bench is one run of the suite.
type bench struct {
	sizes
	tiny           bool
	root, dir      string
	rumpgo, kernel string
	stderr         io.Writer
	rows           []row
	failed         bool
	kvmEvidence    string    // what the QEMU/KVM attempt showed, for the report
	helloGuest     []float64 // rumpgo's hello times, for the QEMU rows
	helloSyscalls  int       // hello's system calls under rumpgo, for the report
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	s := fullSizes
	tiny := fs.Bool("tiny", false, "run every row once at a tiny size (the suite's test; writes no report unless -doc)")
	fs.IntVar(&s.runs, "runs", s.runs, "runs of each per-operation row")
	fs.IntVar(&s.runs, "getpid-runs", s.runs, "the same as -runs (old name)")
	fs.IntVar(&s.helloRuns, "n", s.helloRuns, "runs of hello on each side")
	fs.IntVar(&s.getpidCalls, "getpid-calls", s.getpidCalls, "getpid calls per run")
	fs.IntVar(&s.timenowCalls, "timenow-calls", s.timenowCalls, "time.Now calls per run")
	fs.IntVar(&s.opCalls, "op-calls", s.opCalls, "operations per signal, futex and thread run")
	fs.IntVar(&s.touchMiB, "touch-mib", s.touchMiB, "MiB mmapped and touched page by page per run")
	fs.IntVar(&s.readMiB, "read-mib", s.readMiB, "MiB of the file read sequentially")
	fs.IntVar(&s.createFiles, "create-files", s.createFiles, "small files created per run")
	fs.IntVar(&s.httpConns, "c", s.httpConns, "HTTP keep-alive connections")
	fs.IntVar(&s.httpRuns, "http-runs", s.httpRuns, "HTTP server runs on each side")
	fs.DurationVar(&s.httpDur, "d", s.httpDur, "HTTP measuring time per run (after 1 s of warm-up)")
	fs.IntVar(&s.qemuRuns, "qemu-runs", s.qemuRuns, "QEMU boots (TCG)")
	fs.DurationVar(&s.kvmTimeout, "kvm-timeout", s.kvmTimeout, "how long the QEMU/KVM attempt may take")
	rumpgoFlag := fs.String("rumpgo", "", "use this rumpgo binary instead of building ./cmd/rumpgo")
	kernel := fs.String("kernel", "", "the kernel QEMU boots (default: the newest /boot/vmlinuz-*)")
	rowsFlag := fs.String("rows", strings.Join(allGroups, ","), "the groups of rows to measure")
	files := fs.Bool("files", false, "the same as -rows files")
	doc := fs.String("doc", "", "write the report here (default: docs/performance.md for a full run of every row; - for none)")
	note := fs.String("note", "", "a remark on the conditions for the report, e.g. that the host was shared")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *tiny {
		// Flags given explicitly win over the tiny sizes.
		set := map[string]string{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = f.Value.String() })
		s = tinySizes
		for name, v := range set {
			fs.Set(name, v)
		}
	}
	if *files {
		*rowsFlag = "files"
	}
	groups := map[string]bool{}
	for _, g := range strings.Split(*rowsFlag, ",") {
		if !slices.Contains(allGroups, g) {
			fmt.Fprintf(stderr, "bench: unknown group %q in -rows (have %s)\n", g, strings.Join(allGroups, ","))
			return 2
		}
		groups[g] = true
	}
	if s.runs < 1 || s.helloRuns < 1 || s.getpidCalls < 1 || s.timenowCalls < 2 || s.opCalls < 1 || s.touchMiB < 1 ||
		s.readMiB < 1 || s.createFiles < 1 || s.httpConns < 1 || s.httpRuns < 1 || s.qemuRuns < 1 {
		fmt.Fprintln(stderr, "bench: counts must be positive, -timenow-calls at least 2")
		return 2
	}
	docPath := *doc
	if docPath == "" && !*tiny && len(groups) == len(allGroups) {
		docPath = "docs/performance.md"
	}

	b := &bench{sizes: s, tiny: *tiny, stderr: stderr, kernel: *kernel}
	var err error
	if b.root, err = gobuild.ModuleRoot(); err != nil {
		return b.fail("%v", err)
	}
	if b.dir, err = os.MkdirTemp("", "rumpgo-bench-"); err != nil {
		return b.fail("%v", err)
	}
	defer os.RemoveAll(b.dir)
	m := readMachine()
	start := time.Now()

	b.progress("building rumpgo and the guest programs")
	b.rumpgo = *rumpgoFlag
	if b.rumpgo == "" {
		b.rumpgo = filepath.Join(b.dir, "rumpgo")
		if err := gobuild.Build(b.root, b.rumpgo, "./cmd/rumpgo"); err != nil {
			return b.fail("%v", err)
		}
	}
	if err := gobuild.Build(b.root, b.dir+"/", "./tests/bench/hello", "./tests/testdata/getpid",
		"./tests/testdata/timenow", "./tests/testdata/rtbench", "./tests/testdata/fsvol",
		"./tests/testdata/httpserve", "./tests/testdata/cpuhot"); err != nil {
		return b.fail("%v", err)
	}

	for _, g := range allGroups {
		if !groups[g] {
			continue
		}
		switch g {
		case "hello":
			b.hello()
		case "qemu":
			b.qemu()
		case "syscall":
			b.syscalls()
		case "runtime":
			b.runtimeOps()
		case "touch":
			b.touch()
		case "http":
			b.http()
		case "files":
			b.files()
		case "size":
			b.size()
		case "profile":
			b.profile()
		}
	}
	m.loadEnd = loadAvg()
	m.took = time.Since(start)

	fmt.Fprintln(stdout, m.line())
	fmt.Fprintln(stdout)
	fmt.Fprint(stdout, b.table())
	fmt.Fprintln(stdout)
	fmt.Fprint(stdout, b.targets())
	if docPath != "-" && docPath != "" {
		if !filepath.IsAbs(docPath) {
			docPath = filepath.Join(b.root, docPath)
		}
		cmdline := "go run ./tests/bench"
		for _, a := range args {
			cmdline += " " + shellQuote(a)
		}
		if err := os.WriteFile(docPath, []byte(b.report(m, cmdline, *note)), 0o644); err != nil {
			return b.fail("%v", err)
		}
		fmt.Fprintf(stderr, "bench: wrote %s\n", docPath)
	}
	if b.failed {
		return 1
	}
	return 0
}

// shellQuote quotes a for sh when it needs it.
func shellQuote(a string) string {
	if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:=,+-") == "" {
		return a
	}
	return "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
}

func (b *bench) bin(name string) string { return filepath.Join(b.dir, name) }

func (b *bench) fail(format string, a ...any) int {
	fmt.Fprintf(b.stderr, "bench: "+format+"\n", a...)
	return 1
}

func (b *bench) progress(format string, a ...any) {
	fmt.Fprintf(b.stderr, "bench: "+format+"\n", a...)
}

// row is one line of the table.
type row struct {
	id                 string // for the targets
	name               string
	base, guest, ratio string
	baseMed, guestMed  float64
	measured           bool // both medians are real
}

// add records a measured row; an error on either side marks the row (and
// the run) failed.
func (b *bench) add(id, name string, base, guest []float64, errB, errG error, unit func(float64) (float64, string)) {
	cell := func(v []float64, err error) string {
		if err != nil {
			b.failed = true
			fmt.Fprintf(b.stderr, "bench: %s: %v\n", name, err)
			return "failed"
		}
		return spread(v, unit)
	}
	r := row{id: id, name: name, base: cell(base, errB), guest: cell(guest, errG), ratio: "–"}
	if errB == nil && errG == nil {
		r.baseMed, r.guestMed, r.measured = median(base), median(guest), true
		r.ratio = ratio(r.guestMed / r.baseMed)
	}
	b.rows = append(b.rows, r)
	b.progress("| %s | %s | %s | %s |", r.name, r.base, r.guest, r.ratio)
}

// addText records a row whose cells are words, not measurements.
func (b *bench) addText(id, name, base, guest string) {
	b.rows = append(b.rows, row{id: id, name: name, base: base, guest: guest, ratio: "–"})
	b.progress("| %s | %s | %s | – |", name, base, guest)
}

func (b *bench) find(id string) (row, bool) {
	for _, r := range b.rows {
		if r.id == id {
			return r, r.measured
		}
	}
	return row{}, false
}

func (b *bench) table() string {
	var w strings.Builder
	w.WriteString("| measurement | native (or the baseline named) | rumpgo | ratio |\n|---|---|---|---|\n")
	for _, r := range b.rows {
		fmt.Fprintf(&w, "| %s | %s | %s | %s |\n", r.name, cellEscape(r.base), cellEscape(r.guest), r.ratio)
	}
	return w.String()
}

func cellEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func ratio(x float64) string {
	if x > 0 && x < 0.01 {
		return fmt.Sprintf("1/%.0f", 1/x)
	}
	if x >= 10 {
		return fmt.Sprintf("%.0f×", x)
	}
	return fmt.Sprintf("%.2f×", x)
}

// --- the rows ---

func (b *bench) hello() {
	hello := b.bin("hello")
	nat, gst, errN, errG := interleaved(b.helloRuns, !b.tiny, []string{hello}, []string{b.rumpgo, "run", hello})
	b.add("hello", fmt.Sprintf("hello boot-to-exit, Go hello world (wall, %s)", b.of(b.helloRuns)), nat, gst, errN, errG, ms)
	_, gk, _, errK := interleaved(b.helloRuns, !b.tiny, []string{hello}, []string{b.rumpgo, "run", "--kernel", "guest", hello})
	b.add("hello-guest-kernel", fmt.Sprintf("hello boot-to-exit under `--kernel guest` (wall, %s)", b.of(b.helloRuns)), nat, gk, errN, errK, ms)
	if errG == nil {
		b.helloGuest = gst
		// "rumpgo: N syscalls in T; exit status 0" on stderr.
		if _, stderr, _, err := runOnce(b.rumpgo, "run", "--summary", hello); err == nil {
			if i := strings.Index(stderr, "rumpgo: "); i >= 0 {
				fmt.Sscanf(stderr[i:], "rumpgo: %d syscalls", &b.helloSyscalls)
			}
		}
	}
}

// of is "median of N" or "once".
func (b *bench) of(n int) string {
	if n == 1 {
		return "once"
	}
	return fmt.Sprintf("median of %d", n)
}

func (b *bench) qemu() {
	qemu, kernel, skip := findQEMU(b.kernel)
	const name = "hello boot-to-exit; baseline: the same binary as /init of a QEMU microVM (kernel %s, %s) (wall, %s)"
	if skip != "" {
		b.addText("qemu-tcg", fmt.Sprintf(name, "", "TCG", "–"), skip, "–")
		b.addText("qemu-kvm", fmt.Sprintf(name, "", "KVM", "–"), skip, "–")
		return
	}
	initrd := b.bin("initrd.cpio")
	if err := writeInitrd(initrd, b.bin("hello")); err != nil {
		b.add("qemu-tcg", "QEMU initrd", nil, nil, err, err, ms)
		return
	}
	// rumpgo's side is the hello row's; measured here when that row was
	// not asked for.
	gst, errG := b.helloGuest, error(nil)
	if gst == nil {
		_, gst, _, errG = interleaved(b.helloRuns, !b.tiny, nil, []string{b.rumpgo, "run", b.bin("hello")})
	}
	warm := 1
	if b.tiny {
		warm = 0
	}
	// The KVM attempt first: when it works (hardware VMX), it is the fair
	// baseline and is timed like the rest.
	kvmArgv := qemuArgv(qemu, kernel, initrd, "kvm", false)
	el, console, done, err := qemuBoot(kvmArgv, b.kvmTimeout)
	kvmName := fmt.Sprintf(name, kernelName(kernel), "KVM", b.of(b.qemuRuns))
	switch {
	case err != nil:
		b.kvmEvidence = fmt.Sprintf("qemu -accel kvm failed after %v: %v", el.Round(time.Millisecond), firstLine(err.Error()))
		b.addText("qemu-kvm", kvmName, "failed: "+firstLine(err.Error()), "–")
	case !done:
		b.kvmEvidence = fmt.Sprintf("no exit within %v; the console (without `quiet`) showed last: «%s»", b.kvmTimeout, lastLine(console))
		b.addText("qemu-kvm", kvmName, "did not finish: "+b.kvmEvidence, "–")
	default:
		v, err := qemuTimes(b.qemuRuns, warm, qemuArgv(qemu, kernel, initrd, "kvm", true), 2*b.kvmTimeout)
		b.kvmEvidence = "booted and exited"
		b.add("qemu-kvm", kvmName, v, gst, err, errG, ms)
	}
	v, err := qemuTimes(b.qemuRuns, warm, qemuArgv(qemu, kernel, initrd, "tcg", true), 5*time.Minute)
	b.add("qemu-tcg", fmt.Sprintf(name, kernelName(kernel), "TCG", b.of(b.qemuRuns)), v, gst, err, errG, ms)
}

// noLibcRows builds tests/testdata/NAME/NAME.c without libc (which the
// guest kernel prototype can run) and measures it natively, through the
// monitor and under --kernel guest: the program prints "KEY X".
func (b *bench) noLibcRows(name, key string, flags []string, args ...string) (native, monitor, guest []float64, errN, errM, errK error) {
	bin := b.bin(name)
	src := filepath.Join(b.root, "tests", "testdata", name, name+".c")
	cc := append([]string{"-O2", "-static", "-nostdlib", "-fno-stack-protector", "-fno-pie", "-no-pie"}, flags...)
	if out, err := exec.Command("gcc", append(cc, "-o", bin, src)...).CombinedOutput(); err != nil {
		err = fmt.Errorf("building %s with gcc: %v: %s", name, err, out)
		return nil, nil, nil, err, err, err
	}
	native, errN = stdoutValue(b.runs, key, append([]string{bin}, args...)...)
	monitor, errM = stdoutValue(b.runs, key, append([]string{b.rumpgo, "run", bin}, args...)...)
	guest, errK = stdoutValue(b.runs, key, append([]string{b.rumpgo, "run", "--kernel", "guest", bin}, args...)...)
	return
}

// guestKernelGetpid measures the getpid round trip with a no-libc C loop
// (tests/testdata/kgetpid) on both paths.
func (b *bench) guestKernelGetpid(arg string) {
	kn, km, kk, errN, errM, errK := b.noLibcRows("kgetpid", "getpid_ns", nil, arg)
	b.add("getpid-c", fmt.Sprintf("getpid round trip, a no-libc C loop (per call, %s)", b.of(b.runs)), kn, km, errN, errM, ns)
	b.add("getpid-guest-kernel", fmt.Sprintf("getpid, the same C loop under `--kernel guest`: answered in the VM by the guest kernel (per call, %s)", b.of(b.runs)), kn, kk, errN, errK, ns)
}

func (b *bench) syscalls() {
	getpid, timenow := b.bin("getpid"), b.bin("timenow")
	arg := strconv.Itoa(b.getpidCalls)
	gn, errN := getpidNs(b.runs, getpid, arg)
	gg, errG := getpidNs(b.runs, b.rumpgo, "run", getpid, arg)
	b.add("getpid", fmt.Sprintf("getpid round trip (per call, %s)", b.of(b.runs)), gn, gg, errN, errG, ns)
	// The same calls through the mailbox a monitor thread polls: no exit.
	gp, errP := getpidNs(b.runs, b.rumpgo, "run", "--syscalls", "poll", getpid, arg)
	b.add("getpid-poll", fmt.Sprintf("getpid, `--syscalls poll`: exit-less while a host CPU is free to poll (per call, %s)", b.of(b.runs)), gn, gp, errN, errP, ns)
	b.guestKernelGetpid(arg)
	gk, errK := getpidNs(b.runs, b.rumpgo, "run", "--kernel", "guest", getpid, arg)
	b.add("getpid-go-guest-kernel", fmt.Sprintf("getpid from Go under `--kernel guest`: syscalls and posix in the VM (per call, %s)", b.of(b.runs)), gn, gk, errN, errK, ns)

	arg = strconv.Itoa(b.timenowCalls)
	tn, errN := perCallNs(b.runs, timenow, arg)
	tg, errG := perCallNs(b.runs, b.rumpgo, "run", timenow, arg)
	b.add("timenow", fmt.Sprintf("time.Now() (per call, %s)", b.of(b.runs)), tn, tg, errN, errG, ns)
	// Every clock system call (and every exit) publishes the time page,
	// which the vDSO's readers then retry over: the price of one guest time.
	cn, errN := perCallNs(b.runs, timenow, "-contend", arg)
	cg, errG := perCallNs(b.runs, b.rumpgo, "run", timenow, "-contend", arg)
	b.add("timenow-contend", fmt.Sprintf("time.Now() while another thread makes clock_gettime system calls (per call, %s)", b.of(b.runs)), cn, cg, errN, errG, ns)
	// Each system call exits to the monitor: fewer of them.
	arg = strconv.Itoa(max(b.timenowCalls/100, 2))
	sn, errN := perCallNs(b.runs, timenow, "-syscall", arg)
	sg, errG := perCallNs(b.runs, b.rumpgo, "run", timenow, "-syscall", arg)
	b.add("clock", fmt.Sprintf("clock_gettime as a system call (per call, %s)", b.of(b.runs)), sn, sg, errN, errG, ns)
	sk, errK := perCallNs(b.runs, b.rumpgo, "run", "--kernel", "guest", timenow, "-syscall", arg)
	b.add("clock-guest-kernel", fmt.Sprintf("clock_gettime as a system call under `--kernel guest` (per call, %s)", b.of(b.runs)), sn, sk, errN, errK, ns)
}

func (b *bench) runtimeOps() {
	rtbench := b.bin("rtbench")
	for _, op := range []struct{ name, arg string }{
		{"signal to itself, kill to signal.Notify", "signal"},
		{"futex ping-pong between two threads (per round trip", "futex"},
		{"create and join a thread", "thread"},
		{"spawn a child process (os/exec of a static Go program) and reap it", "spawn"},
	} {
		arg := strconv.Itoa(b.opCalls)
		if op.arg == "spawn" {
			arg = strconv.Itoa(max(b.opCalls/50, 2)) // each one boots a Go runtime
		}
		on, errN := perCallNs(b.runs, rtbench, op.arg, arg)
		og, errG := perCallNs(b.runs, b.rumpgo, "run", rtbench, op.arg, arg)
		name := fmt.Sprintf("%s (per op, %s)", op.name, b.of(b.runs))
		if op.arg == "futex" {
			name = fmt.Sprintf("%s, %s)", op.name, b.of(b.runs))
		}
		b.add(op.arg, name, on, og, errN, errG, ns)
		if op.arg != "spawn" { // the guest kernel runs one process yet
			ok, errK := perCallNs(b.runs, b.rumpgo, "run", "--kernel", "guest", rtbench, op.arg, arg)
			b.add(op.arg+"-guest-kernel", strings.Replace(name, " (per", ", under `--kernel guest` (per", 1), on, ok, errN, errK, ns)
		}
	}
}

// guestKernelTouch measures first touches of stack pages with a no-libc
// program (tests/testdata/ktouch) on both paths.
func (b *bench) guestKernelTouch() {
	tn, tm, tk, errN, errM, errK := b.noLibcRows("ktouch", "ns_per_page", []string{"-fno-stack-clash-protection"})
	b.add("touch-c", fmt.Sprintf("page fault: first touch of each 4 KiB page of 4 MiB of stack, a no-libc C loop (per page, %s)", b.of(b.runs)), tn, tm, errN, errM, ns)
	b.add("touch-guest-kernel", fmt.Sprintf("page fault, the same C loop under `--kernel guest`: served in the VM by the guest kernel (per page, %s)", b.of(b.runs)), tn, tk, errN, errK, ns)
}

func (b *bench) touch() {
	b.guestKernelTouch()
	rtbench := b.bin("rtbench")
	arg := strconv.Itoa(b.touchMiB)
	pn, errN := perCallNs(b.runs, rtbench, "touch", arg)
	pg, errG := perCallNs(b.runs, b.rumpgo, "run", "--memory", strconv.Itoa(b.touchMiB+256), rtbench, "touch", arg)
	b.add("touch", fmt.Sprintf("page fault: first touch of each 4 KiB page of a fresh %s mmap (per page, %s)", mibName(b.touchMiB), b.of(b.runs)),
		pn, pg, errN, errG, ns)
}

// profile measures --profile's overhead against rumpgo without it. The
// two sides alternate run by run, so that a neighbour's load on a shared
// host weighs on both alike.
func (b *bench) profile() {
	cpuhot := b.bin("cpuhot")
	arg := strconv.Itoa(b.opCalls * 20) // 40000 rounds, a few seconds, at full size
	out := filepath.Join(b.dir, "cpuhot.pprof")
	var plain, prof []float64
	var errP, errQ error
	for range b.runs {
		if errP == nil {
			var v []float64
			v, errP = perCallNs(1, b.rumpgo, "run", cpuhot, "work", arg)
			plain = append(plain, v...)
		}
		if errQ == nil {
			var v []float64
			v, errQ = perCallNs(1, b.rumpgo, "run", "--profile", out, cpuhot, "work", arg)
			prof = append(prof, v...)
		}
	}
	b.add("profile", fmt.Sprintf("--profile at its default 100 Hz: a round of hot Go code (65536 steps) and a getpid; baseline: rumpgo without --profile (per round, %s)", b.of(b.runs)),
		plain, prof, errP, errQ, ns)
}

func mibName(mib int) string {
	if mib%1024 == 0 {
		return fmt.Sprintf("%d GiB", mib/1024)
	}
	return fmt.Sprintf("%d MiB", mib)
}

func (b *bench) http() {
	server := b.bin("httpserve")
	warm := time.Second
	if b.tiny {
		warm = 0
	}
	var res [2][]httpload.Result
	var errs [2]error
	// Alternate the sides so both see the same host load.
	for range b.httpRuns {
		for side := range 2 {
			if errs[side] != nil {
				continue
			}
			port, err := httpload.FreePort()
			if err != nil {
				errs[side] = err
				continue
			}
			addr := fmt.Sprintf("[::1]:%d", port)
			argv := []string{server, addr}
			if side == 1 {
				argv = []string{b.rumpgo, "run", "-p", fmt.Sprintf("[::1]:%d:8080", port), server, ":8080"}
			}
			r, err := httpload.Run(argv, addr, b.httpConns, warm, b.httpDur)
			if err == nil && r.Errs > 0 {
				err = fmt.Errorf("%q: %d requests failed", argv, r.Errs)
			}
			if err != nil {
				errs[side] = err
				continue
			}
			res[side] = append(res[side], r)
		}
	}
	pick := func(side int, f func(httpload.Result) float64) []float64 {
		var v []float64
		for _, r := range res[side] {
			v = append(v, f(r))
		}
		return v
	}
	of := b.of(b.httpRuns)
	for _, m := range []struct {
		id, name string
		f        func(httpload.Result) float64
		unit     func(float64) (float64, string)
	}{
		{"http-rps", fmt.Sprintf("HTTP requests/s, %d keep-alive connections, %v per run (higher is better, %s)", b.httpConns, b.httpDur, of),
			func(r httpload.Result) float64 { return r.RPS }, plain},
		{"http-p50", fmt.Sprintf("HTTP p50 latency, same runs (%s)", of), func(r httpload.Result) float64 { return r.P50 }, ms},
		{"http-p99", fmt.Sprintf("HTTP p99 latency, same runs (%s)", of), func(r httpload.Result) float64 { return r.P99 }, ms},
		{"http-bulk", fmt.Sprintf("HTTP one 64 MiB download, guest→host (MB/s, higher is better, %s)", of),
			func(r httpload.Result) float64 { return r.BulkMBps }, plain},
		{"rss", fmt.Sprintf("idle Go HTTP server after 10 requests: host process VmRSS (%s)", of),
			func(r httpload.Result) float64 { return r.RSS }, mib},
		{"hwm", fmt.Sprintf("the same: host process VmHWM, its peak so far (%s)", of),
			func(r httpload.Result) float64 { return r.HWM }, mib},
	} {
		b.add(m.id, m.name, pick(0, m.f), pick(1, m.f), errs[0], errs[1], m.unit)
	}
}

func (b *bench) size() {
	hello := b.bin("hello")
	img := b.bin("hello.img")
	var bin, image []float64
	errB, errI := error(nil), error(nil)
	if st, err := os.Stat(hello); err != nil {
		errB = err
	} else {
		bin = []float64{float64(st.Size())}
	}
	if out, err := exec.Command(b.rumpgo, "build", "-o", img, hello).CombinedOutput(); err != nil {
		errI = fmt.Errorf("rumpgo build: %v\n%s", err, out)
	} else if st, err := os.Stat(img); err != nil {
		errI = err
	} else {
		image = []float64{float64(st.Size())}
	}
	b.add("size", "hello on disk: the binary vs its image from `rumpgo build`", bin, image, errB, errI, mib)
}

// --- running programs ---

// runOnce runs argv with empty stdin and returns stdout and stderr; a
// non-zero exit is an error carrying stderr, since timing a failing run
// means nothing.
func runOnce(argv ...string) (string, string, time.Duration, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	el := time.Since(start)
	if err != nil {
		return "", "", el, fmt.Errorf("%q: %v\n%s", argv, err, stderr.Bytes())
	}
	return stdout.String(), stderr.String(), el, nil
}

// interleaved times a and b alternately n times each (wall ns), after one
// discarded warm-up run of each when warm: the first run pays for the page
// cache. A nil argv is skipped.
func interleaved(n int, warm bool, a, b []string) (va, vb []float64, errA, errB error) {
	one := func(argv []string, v *[]float64, errp *error, keep bool) {
		if argv == nil || *errp != nil {
			return
		}
		_, _, el, err := runOnce(argv...)
		if err != nil {
			*errp = err
			return
		}
		if keep {
			*v = append(*v, float64(el.Nanoseconds()))
		}
	}
	if warm {
		one(a, &va, &errA, false)
		one(b, &vb, &errB, false)
	}
	for range n {
		one(a, &va, &errA, true)
		one(b, &vb, &errB, true)
	}
	return
}

func getpidNs(runs int, argv ...string) ([]float64, error) {
	return stdoutValue(runs, "getpid_ns", argv...)
}

// stdoutValue runs a program that prints one line "KEY X" on stdout and
// returns the Xs.
func stdoutValue(runs int, key string, argv ...string) ([]float64, error) {
	var v []float64
	for range runs {
		out, _, _, err := runOnce(argv...)
		if err != nil {
			return nil, err
		}
		f := strings.Fields(out)
		if len(f) != 2 || f[0] != key {
			return nil, fmt.Errorf("%q: unexpected output %q", argv, out)
		}
		x, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			return nil, fmt.Errorf("%q: %v", argv, err)
		}
		v = append(v, x)
	}
	return v, nil
}

// perCallNs runs a program that reports "ns_per_call X" on stderr
// (timenow, rtbench, fsvol).
func perCallNs(runs int, argv ...string) ([]float64, error) {
	var v []float64
	for range runs {
		_, stderr, _, err := runOnce(argv...)
		if err != nil {
			return nil, err
		}
		x, ok := 0.0, false
		for _, line := range strings.Split(stderr, "\n") {
			if f := strings.Fields(line); len(f) == 2 && f[0] == "ns_per_call" {
				if x, err = strconv.ParseFloat(f[1], 64); err != nil {
					return nil, fmt.Errorf("%q: %v", argv, err)
				}
				ok = true
			}
		}
		if !ok {
			return nil, fmt.Errorf("%q: no ns_per_call in %q", argv, stderr)
		}
		v = append(v, x)
	}
	return v, nil
}

// --- numbers ---

func median(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// spread formats "median unit (min–max)", scaling all three alike so the
// range stays readable; one value is just the value.
func spread(v []float64, unit func(float64) (float64, string)) string {
	med := median(v)
	scale, name := unit(med)
	f := func(x float64) string { return strconv.FormatFloat(x/scale, 'f', prec(med/scale), 64) }
	if name != "" {
		name = " " + name
	}
	if len(v) == 1 {
		return f(med) + name
	}
	return fmt.Sprintf("%s%s (%s–%s)", f(med), name, f(slices.Min(v)), f(slices.Max(v)))
}

// prec keeps about three significant digits.
func prec(x float64) int {
	switch {
	case x >= 100:
		return 0
	case x >= 10:
		return 1
	}
	return 2
}

func ms(float64) (float64, string) { return 1e6, "ms" }

func ns(med float64) (float64, string) {
	if med >= 10000 {
		return 1e3, "µs"
	}
	return 1, "ns"
}

func mib(float64) (float64, string) { return 1 << 20, "MiB" }

func plain(float64) (float64, string) { return 1, "" }

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// --- the machine ---

type machine struct {
	cpu, kernel, kvm string
	cpus             int
	date             time.Time
	loadStart        string
	loadEnd          string
	took             time.Duration
}

func readMachine() machine {
	m := machine{cpu: "unknown CPU", kernel: "unknown kernel", cpus: runtime.NumCPU(), date: time.Now(), loadStart: loadAvg()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	var u syscall.Utsname
	if syscall.Uname(&u) == nil {
		m.kernel = cstr(u.Sysname[:]) + " " + cstr(u.Release[:])
	}
	switch {
	case !exists("/dev/kvm"):
		m.kvm = "/dev/kvm absent"
	case exists("/sys/module/kvm_pvm"):
		m.kvm = "KVM backend PVM (kvm_pvm: software virtualization, shadow paging)"
	case exists("/sys/module/kvm_intel"):
		m.kvm = "KVM backend VMX (kvm_intel)"
	case exists("/sys/module/kvm_amd"):
		m.kvm = "KVM backend SVM (kvm_amd)"
	default:
		m.kvm = "KVM backend unknown"
	}
	return m
}

func (m machine) line() string {
	return fmt.Sprintf("Machine: %s, %d CPUs, %s, %s; %s; load average %s at the start, %s at the end; the run took %v",
		m.cpu, m.cpus, m.kernel, m.kvm, m.date.UTC().Format("2006-01-02 15:04 UTC"), m.loadStart, m.loadEnd, m.took.Round(time.Second))
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// loadAvg is the 1-minute load average, to tell a quiet host from a busy one.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "unknown"
}

func cstr(b []int8) string {
	s := make([]byte, 0, len(b))
	for _, c := range b {
		if c == 0 {
			break
		}
		s = append(s, byte(c))
	}
	return string(s)
}
