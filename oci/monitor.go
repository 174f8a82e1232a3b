package oci

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/rumpgo/rumpgo/boot"
	"github.com/rumpgo/rumpgo/launch"
	"golang.org/x/sys/unix"
)

// monitorMain is the container's process: it checks the bundle again
// (create's Plan is not passed over, the bundle is), says so on fd 3,
// waits for start, takes over the network namespace's interface and runs
// the guest; its exit status is the guest's.
func monitorMain(args []string) int {
	fl := flag.NewFlagSet(initCommand, flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	bundle := fl.String("bundle", "", "")
	sync := openHelperSync()
	fail := sync.fail
	if err := fl.Parse(args); err != nil || fl.NArg() != 1 {
		return fail(errors.New("monitor: bad arguments"))
	}
	dir := fl.Arg(0)
	spec, err := ReadSpec(*bundle)
	if err != nil {
		return fail(err)
	}
	plan, err := Translate(spec, *bundle)
	if err != nil {
		return fail(err)
	}
	ctl, err := listenControl(dir) // exec.go
	if err != nil {
		return fail(err)
	}
	sync.ok()

	// start opens the fifo for reading; until then this open waits.
	fifo, err := os.OpenFile(filepath.Join(dir, "exec.fifo"), os.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		fmt.Fprintf(os.Stderr, "rumpgo-oci: waiting for start: %v\n", err)
		return 125
	}
	fifo.Write([]byte{0})
	fifo.Close()

	cfg := plan.Config
	cfg.Stdio = [3]int{0, 1, 2}
	cfg.Report = os.Stderr
	cfg.ForwardSignals, cfg.ForwardAll, cfg.InitSignals = true, true, true
	cfg.KeepSignal = func(sig os.Signal) bool {
		// resume's SIGCONT ends a pause, which the guest never saw.
		return sig == unix.SIGCONT && os.Remove(filepath.Join(dir, "resuming")) == nil
	}
	switch plan.Net {
	case NetHost:
		// The host's network: outbound connections through the host's
		// sockets (see the docs table for what differs from runc).
		cfg.Net.Mode = launch.NetNAT
		cfg.Net.HostLoopback = true
	default:
		eth, _, err := takeOverNetwork()
		if err != nil {
			fmt.Fprintf(os.Stderr, "rumpgo-oci: %v\n", err)
			return 125
		}
		if eth != nil {
			cfg.Net.Mode, cfg.Net.Eth = launch.NetLink, eth
		}
	}
	cfg.Started = func(g *launch.Guest) { go serveControl(ctl, g) }
	res, err := launch.Run(cfg)
	if err != nil {
		return runFailure(cfg.Path, err)
	}
	if res.TimedOut {
		fmt.Fprintf(os.Stderr, "rumpgo: annotation rumpgo.timeout %v: the guest was still running; stopped it\n", cfg.Timeout)
		return 124
	}
	if res.Failure != nil {
		return 125
	}
	return res.Status.WaitStatus()
}

// runFailure reports why the program did not start, with the statuses a
// shell (and rumpgo run) gives.
func runFailure(path string, err error) int {
	var ee *boot.ExecError
	switch {
	case errors.As(err, &ee):
		fmt.Fprintf(os.Stderr, "rumpgo: %v\n", err)
		return 126
	case errors.Is(err, fs.ErrNotExist):
		fmt.Fprintf(os.Stderr, "rumpgo: %s: no such file\n", path)
		return 127
	}
	fmt.Fprintf(os.Stderr, "rumpgo: %s\n", strings.ReplaceAll(err.Error(), "\n", "; "))
	return 125
}
