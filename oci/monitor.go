package oci

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"

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
	if err := fl.Parse(args); err != nil || fl.NArg() < 1 { // DIR [-- the guest's argv, for ps]
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
	started := handleCreatedSignals()
	sync.ok()

	// start opens the fifo for reading; until then this open waits.
	fifo, err := os.OpenFile(filepath.Join(dir, "exec.fifo"), os.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		fmt.Fprintf(os.Stderr, "rumpgo-oci: waiting for start: %v\n", err)
		return 125
	}
	started.Store(true)
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
		// Its servers are the host's, as under runc: each TCP port the
		// guest listens on is listened on in the host's namespace too.
		cfg.Net.PublishListening, cfg.Net.Report = true, os.Stderr
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

// handleCreatedSignals gives a created container's process runc's
// answer to a signal: under runc it is `runc init`, a Go program that is
// PID 1 of the container's PID namespace, waiting for start. The kernel
// gives an init only the signals it handles, and Go's runtime handles
// every one: those whose Go default is to end the program (SIGHUP,
// SIGINT, SIGTERM, and the crash signals SIGQUIT, SIGILL, SIGTRAP,
// SIGABRT, SIGBUS, SIGFPE, SIGSEGV, SIGSTKFLT, SIGSYS) make it re-raise
// the signal, which an init ignores, and exit 2; all others are dropped
// (measured with runc 1.1.5, TestKill created-*). Once the returned flag
// is set the container has started and the guest's forwarding takes
// over; a signal between the two is dropped, as an init without a
// handler would.
func handleCreatedSignals() *atomic.Bool {
	var started atomic.Bool
	c := make(chan os.Signal, 8)
	signal.Notify(c, launch.ForwardedAll...)
	go func() {
		for s := range c {
			if started.Load() {
				signal.Stop(c)
				return
			}
			switch s {
			case unix.SIGHUP, unix.SIGINT, unix.SIGTERM, unix.SIGQUIT, unix.SIGILL, unix.SIGTRAP, unix.SIGABRT,
				unix.SIGBUS, unix.SIGFPE, unix.SIGSEGV, unix.SIGSTKFLT, unix.SIGSYS:
				os.Exit(2)
			}
		}
	}()
	return &started
}
