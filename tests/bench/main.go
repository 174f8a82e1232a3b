// Command bench compares rumpgo with running the same binary natively and
// prints the result as one Markdown table, ready to paste into a report.
//
// Run it from anywhere inside the module:
//
//	go run ./tests/bench [-files] [-n 20] [-getpid-calls 100000] [-getpid-runs 5] [-timenow-calls 1000000] [-op-calls 2000] [-rumpgo PATH]
//
// It builds rumpgo (./cmd/rumpgo, unless -rumpgo names a prebuilt binary) and
// the static testdata programs hello and getpid, then measures:
//
//   - hello boot-to-exit: wall time of the whole process, native exec vs.
//     `rumpgo run hello`, -n times each after one discarded warm-up run;
//     this is what a user waits for, VM creation and ELF loading included.
//   - getpid round trip: ns per syscall.Getpid as the program itself reports
//     it, -getpid-runs runs each, so start-up cost is excluded; once through
//     VM exits and once with --syscalls poll (no exits).
//   - signal, futex ping-pong, thread create+join: ns per operation as
//     testdata/rtbench reports it, -op-calls operations per run.
//   - first touch: ns per 4 KiB page of a fresh anonymous mmap of
//     -touch-mib MiB, i.e. the page-fault path.
//   - time.Now: ns per call as testdata/timenow reports it, -getpid-runs runs
//     each; under rumpgo the vDSO answers it from memory. The clock_gettime
//     row is the same program's -syscall mode: one clock read as a system
//     call, what time.Now cost twice over before the vDSO.
//
// Cells are "median (min–max)"; ratio is rumpgo median / native median.
// A machine line (CPU, kernel, whether /dev/kvm is PVM) precedes the table
// because the costs differ by an order of magnitude between PVM and VMX.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	os.Exit(run())
}

// run returns the exit status so the deferred cleanup of built binaries runs.
func run() int {
	n := flag.Int("n", 20, "runs of hello on each side")
	getpidCalls := flag.Int("getpid-calls", 100000, "getpid calls per getpid run")
	getpidRuns := flag.Int("getpid-runs", 5, "getpid runs on each side")
	timenowCalls := flag.Int("timenow-calls", 1000000, "time.Now calls per timenow run")
	touchMiB := flag.Int("touch-mib", 256, "MiB mmapped and touched page by page per run")
	opCalls := flag.Int("op-calls", 2000, "operations per signal, futex and thread run")
	rumpgoFlag := flag.String("rumpgo", "", "use this rumpgo binary instead of building ./cmd/rumpgo")
	files := flag.Bool("files", false, "measure only file reads and creation, -getpid-runs runs each (files.go)")
	flag.Parse()
	if *n < 1 || *getpidCalls < 1 || *getpidRuns < 1 || *timenowCalls < 2 || *opCalls < 1 {
		return fail("-n, -getpid-calls and -getpid-runs must be positive, -timenow-calls at least 2")
	}

	root, err := moduleRoot()
	if err != nil {
		return fail("%v", err)
	}
	dir, err := os.MkdirTemp("", "rumpgo-bench-")
	if err != nil {
		return fail("%v", err)
	}
	defer os.RemoveAll(dir)

	rumpgo := *rumpgoFlag
	if rumpgo == "" {
		rumpgo = filepath.Join(dir, "rumpgo")
		if err := goBuild(root, rumpgo, "./cmd/rumpgo"); err != nil {
			return fail("%v", err)
		}
	}
	if *files {
		return fileBench(rumpgo, root, dir, *getpidRuns)
	}
	hello := filepath.Join(dir, "hello")
	getpid := filepath.Join(dir, "getpid")
	timenow := filepath.Join(dir, "timenow")
	rtbench := filepath.Join(dir, "rtbench")
	for bin, pkg := range map[string]string{hello: "./tests/testdata/hello", getpid: "./tests/testdata/getpid",
		timenow: "./tests/testdata/timenow", rtbench: "./tests/testdata/rtbench"} {
		if err := goBuild(root, bin, pkg); err != nil {
			return fail("%v", err)
		}
	}

	fmt.Println(machineLine())
	fmt.Println()

	failed := false
	row := func(name string, native, guest []float64, errN, errG error, unit func(float64) (float64, string)) {
		cell := func(v []float64, err error) string {
			if err != nil {
				failed = true
				fmt.Fprintf(os.Stderr, "bench: %s: %v\n", name, err)
				return "failed"
			}
			return spread(v, unit)
		}
		ratio := "–"
		if errN == nil && errG == nil {
			ratio = fmt.Sprintf("%.1f×", median(guest)/median(native))
		}
		fmt.Printf("| %s | %s | %s | %s |\n", name, cell(native, errN), cell(guest, errG), ratio)
	}

	fmt.Println("| measurement | native | rumpgo | ratio |")
	fmt.Println("|---|---|---|---|")

	hn, errN := wallTimes(*n, hello)
	hg, errG := wallTimes(*n, rumpgo, "run", hello)
	row(fmt.Sprintf("hello boot-to-exit (wall, median of %d)", *n), hn, hg, errN, errG, ms)

	arg := strconv.Itoa(*getpidCalls)
	gn, errN := getpidNs(*getpidRuns, getpid, arg)
	gg, errG := getpidNs(*getpidRuns, rumpgo, "run", getpid, arg)
	row(fmt.Sprintf("getpid round trip (ns/call, median of %d)", *getpidRuns), gn, gg, errN, errG, ns)
	// The same calls through the mailbox a monitor thread polls: no exit.
	gp, errP := getpidNs(*getpidRuns, rumpgo, "run", "--syscalls", "poll", getpid, arg)
	row(fmt.Sprintf("getpid, --syscalls poll (ns/call, median of %d)", *getpidRuns), gn, gp, errN, errP, ns)

	arg = strconv.Itoa(*timenowCalls)
	tn, errN := perCallNs(*getpidRuns, timenow, arg)
	tg, errG := perCallNs(*getpidRuns, rumpgo, "run", timenow, arg)
	row(fmt.Sprintf("time.Now (ns/call, median of %d)", *getpidRuns), tn, tg, errN, errG, ns)
	// Each system call exits to the monitor: fewer of them.
	arg = strconv.Itoa(max(*timenowCalls/100, 2))
	sn, errN := perCallNs(*getpidRuns, timenow, "-syscall", arg)
	sg, errG := perCallNs(*getpidRuns, rumpgo, "run", timenow, "-syscall", arg)
	row(fmt.Sprintf("clock_gettime system call (ns/call, median of %d)", *getpidRuns), sn, sg, errN, errG, ns)

	for _, op := range []struct{ name, arg string }{
		{"signal to itself, kill to signal.Notify", "signal"},
		{"futex ping-pong between two threads (per round trip)", "futex"},
		{"create and join a thread", "thread"},
	} {
		arg := strconv.Itoa(*opCalls)
		on, errN := perCallNs(*getpidRuns, rtbench, op.arg, arg)
		og, errG := perCallNs(*getpidRuns, rumpgo, "run", rtbench, op.arg, arg)
		row(fmt.Sprintf("%s (ns/op, median of %d)", op.name, *getpidRuns), on, og, errN, errG, ns)
	}

	arg = strconv.Itoa(*touchMiB)
	pn, errN := perCallNs(*getpidRuns, rtbench, "touch", arg)
	pg, errG := perCallNs(*getpidRuns, rumpgo, "run", "--memory", strconv.Itoa(*touchMiB+256), rtbench, "touch", arg)
	row(fmt.Sprintf("first touch of a fresh page, %d MiB mmap (ns/page, median of %d)", *touchMiB, *getpidRuns), pn, pg, errN, errG, ns)

	if failed {
		return 1
	}
	return 0
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("run this inside the rumpgo module")
	}
	return filepath.Dir(gomod), nil
}

func goBuild(dir, out, pkg string) error {
	cmd := exec.Command("go", "build", "-buildvcs=false", "-o", out, pkg)
	cmd.Dir = dir
	// rumpgo runs static binaries; cgo would make hello dynamic.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

// runOnce runs argv with empty stdin and returns stdout; a non-zero exit is
// an error carrying stderr, since timing a failing run means nothing.
func runOnce(argv ...string) (string, time.Duration, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	el := time.Since(start)
	if err != nil {
		return "", el, fmt.Errorf("%q: %v\n%s", argv, err, stderr.Bytes())
	}
	return stdout.String(), el, nil
}

func wallTimes(n int, argv ...string) ([]float64, error) {
	// The first run pays for page cache and binary loading; drop it.
	if _, _, err := runOnce(argv...); err != nil {
		return nil, err
	}
	var v []float64
	for range n {
		_, el, err := runOnce(argv...)
		if err != nil {
			return nil, err
		}
		v = append(v, float64(el.Nanoseconds()))
	}
	return v, nil
}

func getpidNs(runs int, argv ...string) ([]float64, error) {
	var v []float64
	for range runs {
		out, _, err := runOnce(argv...)
		if err != nil {
			return nil, err
		}
		f := strings.Fields(out)
		if len(f) != 2 || f[0] != "getpid_ns" {
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

// perCallNs runs testdata/timenow, which reports "ns_per_call X" on stderr.
func perCallNs(runs int, argv ...string) ([]float64, error) {
	var v []float64
	for range runs {
		cmd := exec.Command(argv[0], argv[1:]...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("%q: %v\n%s", argv, err, stderr.Bytes())
		}
		x, ok := 0.0, false
		for _, line := range strings.Split(stderr.String(), "\n") {
			if f := strings.Fields(line); len(f) == 2 && f[0] == "ns_per_call" {
				var err error
				if x, err = strconv.ParseFloat(f[1], 64); err != nil {
					return nil, fmt.Errorf("%q: %v", argv, err)
				}
				ok = true
			}
		}
		if !ok {
			return nil, fmt.Errorf("%q: no ns_per_call in %q", argv, stderr.String())
		}
		v = append(v, x)
	}
	return v, nil
}

func median(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// spread formats "median (min–max) unit", scaling all three alike so the
// range stays readable.
func spread(v []float64, unit func(float64) (float64, string)) string {
	med := median(v)
	scale, name := unit(med)
	f := func(x float64) string { return strconv.FormatFloat(x/scale, 'f', prec(med/scale), 64) }
	return fmt.Sprintf("%s %s (%s–%s)", f(med), name, f(slices.Min(v)), f(slices.Max(v)))
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

func machineLine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel := "unknown kernel"
	var u syscall.Utsname
	if syscall.Uname(&u) == nil {
		kernel = cstr(u.Sysname[:]) + " " + cstr(u.Release[:])
	}
	kvm := "/dev/kvm: hardware KVM (no kvm_pvm module)"
	if _, err := os.Stat("/sys/module/kvm_pvm"); err == nil {
		kvm = "/dev/kvm: PVM (kvm_pvm loaded)"
	}
	if _, err := os.Stat("/dev/kvm"); err != nil {
		kvm = "/dev/kvm: absent"
	}
	return fmt.Sprintf("Machine: %s, %d CPUs, %s, %s", cpu, runtime.NumCPU(), kernel, kvm)
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

func fail(format string, a ...any) int {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", a...)
	return 1
}
