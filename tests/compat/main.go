// Command compat builds Go standard library test binaries (static, with
// `CGO_ENABLED=0 go test -c`), runs each natively and under
// `rumpgo run --test` with -test.short -test.v in the package's directory,
// counts the tests (subtests included) that pass, fail and skip, and writes
// COMPAT.md and COMPAT.json (docs/compat.md and docs/compat.json by default):
//
//	go run ./tests/compat                       # the full list, into docs/
//	go run ./tests/compat -pkgs errors,unicode/utf8 -o /tmp/out
//
// Run it from the module root. rumpgo is built from ./cmd/rumpgo unless
// -rumpgo names a binary.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DefaultPkgs is issue 7's list.
var DefaultPkgs = []string{
	"archive/tar", "archive/zip", "bufio", "bytes", "compress/gzip", "context",
	"crypto/sha256", "crypto/tls", "encoding/json", "errors", "fmt", "io", "io/fs",
	"math/big", "net", "net/http", "net/netip", "os", "os/exec", "os/signal",
	"os/user", "path/filepath", "regexp", "runtime", "runtime/pprof", "sort",
	"strconv", "strings", "sync", "sync/atomic", "syscall", "testing",
	"text/template", "time", "unicode/utf8",
}

// Counts are one run's results.
type Counts struct {
	Pass, Fail, Skip int
	Exit             int      // exit status; -1 when killed by the timeout
	TimedOut         bool     `json:",omitempty"`
	Seconds          float64  // wall time of the run
	Failed           []string `json:",omitempty"` // names of failed tests
	// LastRun is the last test started (=== RUN) when the run did not end
	// with its own PASS/FAIL line: where it crashed or hung.
	LastRun string `json:",omitempty"`
}

// Result is one package's.
type Result struct {
	Package    string
	BuildError string `json:",omitempty"`
	Native     Counts
	Rumpgo     Counts
	// Regressions are tests that fail under rumpgo and not natively
	// (addresses in subtest names masked as 0x_).
	Regressions []string `json:",omitempty"`
}

// Report is COMPAT.json.
type Report struct {
	Go         string
	Date       string
	Short      bool
	NativePass int
	RumpgoPass int
	RatioPct   float64 // RumpgoPass / NativePass, in percent
	Packages   []Result
}

func main() {
	out := flag.String("o", "docs", "directory to write compat.md and compat.json into")
	pkgList := flag.String("pkgs", "", "comma-separated packages (default: issue 7's list)")
	jobs := flag.Int("j", 2, "packages run at once")
	timeout := flag.Duration("timeout", 5*time.Minute, "per-package limit of each run (native and rumpgo)")
	rumpgo := flag.String("rumpgo", "", "rumpgo binary (default: built from ./cmd/rumpgo)")
	keep := flag.String("keep", "", "directory to keep each run's output in")
	syscallsOnly := flag.Bool("syscalls-only", false, "only write syscalls.md, the syscall support table")
	render := flag.Bool("render", false, "only rewrite compat.md from the compat.json in -o (after editing causes.go)")
	flag.Parse()
	err := os.MkdirAll(*out, 0o755)
	if err == nil {
		err = os.WriteFile(filepath.Join(*out, "syscalls.md"), syscallTable(), 0o644)
	}
	if err == nil && *render {
		var js []byte
		if js, err = os.ReadFile(filepath.Join(*out, "compat.json")); err == nil {
			var rep Report
			if err = json.Unmarshal(js, &rep); err == nil {
				err = os.WriteFile(filepath.Join(*out, "compat.md"), markdown(rep), 0o644)
			}
		}
	}
	if err != nil || *syscallsOnly || *render {
		if err != nil {
			fmt.Fprintln(os.Stderr, "compat:", err)
			os.Exit(1)
		}
		return
	}
	if err := mainErr(*out, *pkgList, *jobs, *timeout, *rumpgo, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "compat:", err)
		os.Exit(1)
	}
}

func mainErr(out, pkgList string, jobs int, timeout time.Duration, rumpgo, keep string) error {
	pkgs := DefaultPkgs
	if pkgList != "" {
		pkgs = strings.Split(pkgList, ",")
	}
	work, err := os.MkdirTemp("", "rumpgo-compat-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if rumpgo == "" {
		rumpgo = filepath.Join(work, "rumpgo")
		if b, err := exec.Command("go", "build", "-buildvcs=false", "-o", rumpgo, "./cmd/rumpgo").CombinedOutput(); err != nil {
			return fmt.Errorf("building rumpgo: %v\n%s", err, b)
		}
	} else if rumpgo, err = filepath.Abs(rumpgo); err != nil {
		return err
	}
	if keep != "" {
		if err := os.MkdirAll(keep, 0o755); err != nil {
			return err
		}
	}
	results := make([]Result, len(pkgs))
	sem := make(chan struct{}, max(jobs, 1))
	var wg sync.WaitGroup
	for i, pkg := range pkgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] = runPkg(pkg, work, rumpgo, keep, timeout)
			r := results[i]
			fmt.Fprintf(os.Stderr, "%-16s native %d/%d/%d (%.0fs)  rumpgo %d/%d/%d exit %d (%.0fs)%s\n", pkg,
				r.Native.Pass, r.Native.Fail, r.Native.Skip, r.Native.Seconds,
				r.Rumpgo.Pass, r.Rumpgo.Fail, r.Rumpgo.Skip, r.Rumpgo.Exit, r.Rumpgo.Seconds, r.BuildError)
		}()
	}
	wg.Wait()
	rep := Report{Go: runtime.Version(), Date: time.Now().UTC().Format(time.DateOnly), Short: true, Packages: results}
	for _, r := range results {
		rep.NativePass += r.Native.Pass
		rep.RumpgoPass += r.Rumpgo.Pass
	}
	if rep.NativePass > 0 {
		rep.RatioPct = float64(rep.RumpgoPass) * 100 / float64(rep.NativePass)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	js, _ := json.MarshalIndent(rep, "", "  ")
	if err := os.WriteFile(filepath.Join(out, "compat.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "compat.md"), markdown(rep), 0o644)
}

func runPkg(pkg, work, rumpgo, keep string, timeout time.Duration) Result {
	r := Result{Package: pkg}
	dirOut, err := exec.Command("go", "list", "-f", "{{.Dir}}", pkg).Output()
	if err != nil {
		r.BuildError = fmt.Sprintf("go list: %v", err)
		return r
	}
	dir := strings.TrimSpace(string(dirOut))
	bin := filepath.Join(work, strings.ReplaceAll(pkg, "/", "_")+".test")
	build := exec.Command("go", "test", "-c", "-o", bin, pkg)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		r.BuildError = fmt.Sprintf("go test -c: %v: %s", err, firstLine(b))
		return r
	}
	args := []string{"-test.short", "-test.v"}
	var nativeOut, guestOut []byte
	r.Native, nativeOut = runTest(dir, timeout, append([]string{bin}, args...))
	r.Rumpgo, guestOut = runTest(dir, timeout, append([]string{rumpgo, "run", "--test", bin}, args...))
	if keep != "" {
		base := filepath.Join(keep, strings.ReplaceAll(pkg, "/", "_"))
		os.WriteFile(base+".native", nativeOut, 0o644)
		os.WriteFile(base+".rumpgo", guestOut, 0o644)
	}
	nativeFailed := map[string]bool{}
	for _, n := range r.Native.Failed {
		nativeFailed[n] = true
	}
	for _, n := range r.Rumpgo.Failed {
		if !nativeFailed[n] {
			r.Regressions = append(r.Regressions, n)
		}
	}
	sort.Strings(r.Regressions)
	os.Remove(bin)
	return r
}

// result lines of -test.v: "--- PASS: TestX/sub (0.00s)", indented for subtests.
var resultLine = regexp.MustCompile(`(?m)^\s*--- (PASS|FAIL|SKIP): (\S+)`)

func runTest(dir string, timeout time.Duration, argv []string) (Counts, []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PWD="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	start := time.Now()
	err := cmd.Run()
	c := Counts{Seconds: time.Since(start).Round(100 * time.Millisecond).Seconds()}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		c.TimedOut, c.Exit = true, -1
	case errors.As(err, &ee):
		c.Exit = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			c.Exit = 128 + int(ws.Signal())
		}
	case err != nil:
		c.Exit = -1
		fmt.Fprintf(&buf, "\ncompat: %v\n", err)
	}
	for _, m := range resultLine.FindAllSubmatch(buf.Bytes(), -1) {
		name := addr.ReplaceAllString(string(m[2]), "0x_")
		switch string(m[1]) {
		case "PASS":
			c.Pass++
		case "FAIL":
			c.Fail++
			c.Failed = append(c.Failed, name)
		case "SKIP":
			c.Skip++
		}
	}
	if runs := runLine.FindAllSubmatch(buf.Bytes(), -1); len(runs) > 0 && !finished.Match(buf.Bytes()) {
		c.LastRun = string(runs[len(runs)-1][1])
	}
	return c, buf.Bytes()
}

var (
	addr     = regexp.MustCompile(`0x[0-9a-f]+`)
	runLine  = regexp.MustCompile(`(?m)^=== RUN\s+(\S+)`)
	finished = regexp.MustCompile(`(?m)^(PASS|FAIL|ok\s|FAIL\s)`) // the binary's own last word
)

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return s
}

func counts(c Counts) string {
	s := fmt.Sprintf("%d/%d/%d", c.Pass, c.Fail, c.Skip)
	if c.TimedOut {
		s += " (timeout)"
	} else if c.Exit != 0 {
		s += fmt.Sprintf(" (exit %d)", c.Exit)
	}
	return s
}

func markdown(rep Report) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Go standard library tests under rumpgo\n\n")
	fmt.Fprintf(&b, "**%d of %d tests that pass natively pass under rumpgo (%.1f %%)** (tests passing under rumpgo / tests passing natively, subtests included).\n\n",
		rep.RumpgoPass, rep.NativePass, rep.RatioPct)
	fmt.Fprintf(&b, "Generated by `go run ./tests/compat` (%s, %s, `-test.short -test.v`, in the package's directory, under `rumpgo run --test`). Counts are pass/fail/skip of `--- PASS/FAIL/SKIP` lines; time is the rumpgo run's.\n\n", rep.Go, rep.Date)
	fmt.Fprintf(&b, "| package | native pass/fail/skip | rumpgo pass/fail/skip | rumpgo time | native time |\n|---|---|---|---|---|\n")
	for _, r := range rep.Packages {
		if r.BuildError != "" {
			fmt.Fprintf(&b, "| %s | build failed: %s | | | |\n", r.Package, r.BuildError)
			continue
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %.1fs | %.1fs |\n", r.Package, counts(r.Native), counts(r.Rumpgo), r.Rumpgo.Seconds, r.Native.Seconds)
	}
	fmt.Fprintf(&b, "\n## Tests that pass natively but not under rumpgo\n\n")
	any := false
	for _, r := range rep.Packages {
		if len(r.Regressions) == 0 {
			continue
		}
		any = true
		fmt.Fprintf(&b, "- **%s** (%d): %s\n", r.Package, len(r.Regressions), strings.Join(r.Regressions, ", "))
		if c, ok := causes[r.Package]; ok {
			fmt.Fprintf(&b, "  - cause: %s\n", c)
		} else {
			fmt.Fprintf(&b, "  - cause: not yet explained\n")
		}
	}
	for _, r := range rep.Packages {
		if r.Rumpgo.LastRun != "" {
			any = true
			fmt.Fprintf(&b, "- **%s**: the run ended early (%s) in %s; the tests after it did not run\n", r.Package, counts(r.Rumpgo), r.Rumpgo.LastRun)
		}
	}
	if !any {
		fmt.Fprintf(&b, "None.\n")
	}
	return b.Bytes()
}
