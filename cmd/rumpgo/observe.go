package main

import (
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/rumpgo/rumpgo/debug/control"
	"github.com/rumpgo/rumpgo/launch"
	"github.com/rumpgo/rumpgo/syscalls"
)

// observeFlags are the run flags that look inside a running guest: the
// live summary's socket, the profiler and the gdb stub (package debug/...).
type observeFlags struct {
	control string
}

func (o *observeFlags) register(fl *flag.FlagSet) {
	fl.StringVar(&o.control, "control", "", "answer on the Unix socket `PATH` with the live summary (syscalls made, time per syscall, unsupported calls) while the guest runs, without stopping it (e.g. socat - UNIX-CONNECT:PATH)")
}

// apply sets up what the flags ask for before the guest starts (sockets
// and files are made before the monitor is confined) and returns what
// to do once it ended.
func (o *observeFlags) apply(cfg *launch.Config, stderr io.Writer) (finish func(*launch.Result), ok bool) {
	var observers []func(k *syscalls.Kernel, first *syscalls.Thread)
	var closers []func(*launch.Result)
	if o.control != "" {
		l, err := control.Listen(o.control)
		if err != nil {
			fmt.Fprintf(stderr, "rumpgo: %v\n", err)
			return nil, false
		}
		start := time.Now()
		observers = append(observers, func(k *syscalls.Kernel, _ *syscalls.Thread) { go control.Serve(l, k, start) })
		closers = append(closers, func(*launch.Result) { l.Close() })
	}
	if len(observers) > 0 {
		prev := cfg.Observe
		cfg.Observe = func(k *syscalls.Kernel, first *syscalls.Thread) {
			if prev != nil {
				prev(k, first)
			}
			for _, f := range observers {
				f(k, first)
			}
		}
	}
	return func(res *launch.Result) {
		for _, c := range closers {
			c(res)
		}
	}, true
}
