package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rumpgo/rumpgo/debug/control"
	"github.com/rumpgo/rumpgo/debug/profile"
	"github.com/rumpgo/rumpgo/launch"
	"github.com/rumpgo/rumpgo/syscalls"
)

// observeFlags are the run flags that look inside a running guest: the
// live summary's socket, the profiler and the gdb stub (package debug/...).
type observeFlags struct {
	control     string
	profile     string
	profileRate int
}

func (o *observeFlags) register(fl *flag.FlagSet) {
	fl.StringVar(&o.control, "control", "", "answer on the Unix socket `PATH` with the live summary (syscalls made, time per syscall, unsupported calls) while the guest runs, without stopping it (e.g. socat - UNIX-CONNECT:PATH)")
	fl.StringVar(&o.profile, "profile", "", "sample every guest thread from the monitor and write a pprof CPU profile to `FILE` at exit (go tool pprof -top FILE); time in rumpgo's handling of a call shows as a frame syscall:NAME")
	fl.IntVar(&o.profileRate, "profile-rate", profile.DefaultHz, "--profile's samples per second (`HZ`)")
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
	if o.profileRate <= 0 || o.profileRate > 10000 {
		fmt.Fprintf(stderr, "rumpgo: --profile-rate %d: want 1 to 10000\n", o.profileRate)
		return nil, false
	}
	if o.profile != "" {
		f, err := os.Create(o.profile)
		if err != nil {
			fmt.Fprintf(stderr, "rumpgo: --profile: %v\n", err)
			return nil, false
		}
		var p *profile.Profiler
		observers = append(observers, func(k *syscalls.Kernel, _ *syscalls.Thread) { p = profile.Start(k, o.profileRate) })
		closers = append(closers, func(*launch.Result) {
			defer f.Close()
			if p == nil {
				return
			}
			p.Stop()
			if err := p.Write(f); err != nil {
				fmt.Fprintf(stderr, "rumpgo: --profile %s: %v\n", o.profile, err)
				return
			}
			taken, guest, calls := p.Stats()
			fmt.Fprintf(stderr, "rumpgo: --profile: %d samples (%d in guest code, %d in syscalls) in %s\n", taken, guest, calls, o.profile)
		})
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
