package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rumpgo/rumpgo/debug/control"
	"github.com/rumpgo/rumpgo/debug/gdbstub"
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
	gdb         string
	gdbAttach   bool
}

func (o *observeFlags) register(fl *flag.FlagSet) {
	fl.StringVar(&o.control, "control", "", "answer on the Unix socket `PATH` with the live summary (syscalls made, time per syscall, unsupported calls) while the guest runs, without stopping it (e.g. socat - UNIX-CONNECT:PATH)")
	fl.StringVar(&o.profile, "profile", "", "sample every guest thread from the monitor and write a pprof CPU profile to `FILE` at exit (go tool pprof -top FILE); time in rumpgo's handling of a call shows as a frame syscall:NAME")
	fl.IntVar(&o.profileRate, "profile-rate", profile.DefaultHz, "--profile's samples per second (`HZ`)")
	fl.StringVar(&o.gdb, "gdb", "", "serve gdb's remote protocol on `[HOST:]PORT` (loopback without HOST; port 0 picks one) and stop the guest before its first instruction until gdb connects and continues (gdb PROGRAM -ex 'target remote :PORT')")
	fl.BoolVar(&o.gdbAttach, "gdb-attach", false, "with --gdb, start the guest at once: a gdb that connects later stops it where it runs, as attaching does")
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
	if o.gdbAttach && o.gdb == "" {
		fmt.Fprintf(stderr, "rumpgo: --gdb-attach needs --gdb [HOST:]PORT\n")
		return nil, false
	}
	if o.gdb != "" {
		ls, err := gdbListen(o.gdb)
		if err != nil {
			fmt.Fprintf(stderr, "rumpgo: --gdb %s: %v\n", o.gdb, err)
			return nil, false
		}
		stop := !o.gdbAttach
		if stop {
			fmt.Fprintf(stderr, "rumpgo: --gdb: the guest waits for gdb on %s (target remote %s)\n", ls[0].Addr(), ls[0].Addr())
		} else {
			fmt.Fprintf(stderr, "rumpgo: --gdb: gdb can attach on %s (target remote %s)\n", ls[0].Addr(), ls[0].Addr())
		}
		program := ""
		if cfg.Image == nil {
			program, _ = filepath.Abs(cfg.Path)
		}
		var stub *gdbstub.Stub
		observers = append(observers, func(k *syscalls.Kernel, first *syscalls.Thread) {
			stub = gdbstub.New(k, first, stop)
			go stub.Serve(ls, stop, program)
		})
		closers = append(closers, func(res *launch.Result) {
			if stub != nil && res != nil {
				stub.Exited(res.Status)
			}
			// gdb gets the exit status before the connection goes.
			time.Sleep(100 * time.Millisecond)
			for _, l := range ls {
				l.Close()
			}
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

// gdbListen opens --gdb's listeners: HOST:PORT as given, or PORT (":PORT")
// on the loopback addresses this host has, ::1 and 127.0.0.1, with the
// same port; never every interface unasked, since whoever connects owns
// the guest.
func gdbListen(addr string) ([]net.Listener, error) {
	if !strings.Contains(addr, ":") {
		addr = ":" + addr
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if host != "" {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, err
		}
		return []net.Listener{l}, nil
	}
	var ls []net.Listener
	var first error
	for _, h := range []string{"::1", "127.0.0.1"} {
		l, err := net.Listen("tcp", net.JoinHostPort(h, port))
		if err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		ls = append(ls, l)
		port = fmt.Sprint(l.Addr().(*net.TCPAddr).Port) // the second on the port the first got
	}
	if len(ls) == 0 {
		return nil, first
	}
	return ls, nil
}
