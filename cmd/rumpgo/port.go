package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/rumpgo/rumpgo/ports"
)

const portUsage = `usage: rumpgo port list
       rumpgo port build [-o IMAGE] NAME   (default IMAGE: NAME.img)
       rumpgo port test NAME

Ports are real servers packaged as images from the recipes in ports/NAME/
(built into rumpgo). build fetches the pinned program (go install through
the Go module proxy, or a Debian package's binary as is), caches it under
$RUMPGO_PORTS_CACHE (default $XDG_CACHE_HOME/rumpgo/ports) and bakes the
image; test builds it, boots it and runs the port's smoke checks.
`

// port is `rumpgo port`.
func port(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, "rumpgo port: missing subcommand\n"+portUsage)
		return exitFailure
	}
	switch args[0] {
	case "list":
		return portList(stdout, stderr)
	case "build":
		return portBuild(args[1:], stderr)
	case "test":
		return portTest(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stderr, portUsage)
		return 0
	}
	fmt.Fprintf(stderr, "rumpgo port: unknown subcommand %q\n%s", args[0], portUsage)
	return exitFailure
}

func portList(stdout, stderr io.Writer) int {
	rs, err := ports.List()
	if err != nil {
		fmt.Fprintf(stderr, "rumpgo port: %v\n", err)
		return exitFailure
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tVERSION\tSOURCE\tSTATUS")
	for _, r := range rs {
		status := "works"
		if r.Missing != "" {
			status = "partial: " + strings.SplitN(r.Missing, ":", 2)[0] + " missing"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", r.Name, r.Version, r.Source(), status)
	}
	w.Flush()
	return 0
}

// portContext ends on SIGINT or SIGTERM, so a long go install stops.
func portContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// buildPort fetches the port's program and bakes the image out.
func buildPort(ctx context.Context, r *ports.Recipe, out string, progress io.Writer) int {
	start := time.Now()
	bin, err := r.Fetch(ctx, ports.CacheDir(), progress)
	if err != nil {
		fmt.Fprintf(progress, "rumpgo port: %v\n", err)
		return exitFailure
	}
	staged, err := os.MkdirTemp("", "rumpgo-port-")
	if err != nil {
		fmt.Fprintf(progress, "rumpgo port: %v\n", err)
		return exitFailure
	}
	defer os.RemoveAll(staged)
	if err := r.Stage(staged); err != nil {
		fmt.Fprintf(progress, "rumpgo port: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(progress, "port %s: baking %s\n", r.Name, out)
	if code := build(r.BuildArgs(bin, staged, out), progress); code != 0 {
		return code
	}
	size := int64(0)
	if st, err := os.Stat(out); err == nil {
		size = st.Size()
	}
	fmt.Fprintf(progress, "port %s: built %s (%.1f MiB) in %v\n", r.Name, out, float64(size)/(1<<20), time.Since(start).Round(100*time.Millisecond))
	return 0
}

func portBuild(args []string, stderr io.Writer) int {
	fl := flag.NewFlagSet("rumpgo port build", flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	out := fl.String("o", "", "the image to write (default NAME.img)")
	if err := fl.Parse(args); err != nil || fl.NArg() != 1 {
		fmt.Fprint(stderr, "rumpgo port build: want [-o IMAGE] NAME\n"+portUsage)
		return exitFailure
	}
	r, err := ports.Get(fl.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "rumpgo port: %v\n", err)
		return exitFailure
	}
	if *out == "" {
		*out = r.Name + ".img"
	}
	ctx, cancel := portContext()
	defer cancel()
	code := buildPort(ctx, r, *out, stderr)
	if code == 0 {
		fmt.Fprintf(stderr, "run it: rumpgo run%s %s\n", portFlags(r), *out)
	}
	return code
}

// portFlags is an example of -p flags for the recipe's ports.
func portFlags(r *ports.Recipe) string {
	var s string
	for _, p := range r.Ports {
		guest, proto, _ := strings.Cut(p, "/")
		s += " -p [::1]:" + guest + ":" + guest
		if proto != "" {
			s += "/" + proto
		}
	}
	return s
}

func portTest(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprint(stderr, "rumpgo port test: want NAME\n"+portUsage)
		return exitFailure
	}
	r, err := ports.Get(args[0])
	if err != nil {
		fmt.Fprintf(stderr, "rumpgo port: %v\n", err)
		return exitFailure
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "rumpgo port: %v\n", err)
		return exitFailure
	}
	dir, err := os.MkdirTemp("", "rumpgo-port-test-")
	if err != nil {
		fmt.Fprintf(stderr, "rumpgo port: %v\n", err)
		return exitFailure
	}
	defer os.RemoveAll(dir)
	ctx, cancel := portContext()
	defer cancel()
	img := filepath.Join(dir, r.Name+".img")
	if code := buildPort(ctx, r, img, stderr); code != 0 {
		return code
	}
	tools, err := r.FetchTools(ctx, ports.CacheDir(), stderr)
	if err != nil {
		fmt.Fprintf(stderr, "rumpgo port: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "port %s: booting %s and running %d checks\n", r.Name, filepath.Base(img), len(r.Smoke))
	rep, err := r.Test(ctx, self, img, tools, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "rumpgo port: %v\n", err)
		return exitFailure
	}
	if rep.Ready > 0 {
		fmt.Fprintf(stdout, "port %s: boot to first answer: %v\n", r.Name, rep.Ready.Round(time.Millisecond))
	}
	if rep.Failed() {
		fmt.Fprintf(stdout, "port %s: FAIL; the guest's stderr:\n%s", r.Name, rep.Stderr)
		return 1
	}
	if r.Missing != "" {
		fmt.Fprintf(stdout, "port %s: ok, with a known gap: %s\n", r.Name, r.Missing)
	} else {
		fmt.Fprintf(stdout, "port %s: ok\n", r.Name)
	}
	return 0
}
