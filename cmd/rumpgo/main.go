// Command rumpgo runs unmodified Linux x86-64 programs as KVM unikernels.
//
//	rumpgo run [flags] PROGRAM|IMAGE [ARGS...]
//	rumpgo build -o IMAGE [flags] PROGRAM [--] [ARGS...]   (build.go)
//	rumpgo inspect IMAGE                                 (inspect.go)
//	rumpgo port list | build NAME | test NAME            (port.go)
//
// Exit status: the guest's (128+N when signal N killed it); 125 when rumpgo
// itself fails or is misused; 126 when PROGRAM is not a runnable x86-64
// executable; 127 when PROGRAM does not exist.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/rumpgo/rumpgo/boot"
	"github.com/rumpgo/rumpgo/image"
	"github.com/rumpgo/rumpgo/kernel"
	"github.com/rumpgo/rumpgo/launch"
	"github.com/rumpgo/rumpgo/syscalls"
)

// Exit statuses of rumpgo's own failures, as a shell's for exec failures.
const (
	exitFailure    = launch.ExitFailure
	exitNotRunable = launch.ExitNotRunnable
	exitNotFound   = launch.ExitNotFound
	exitTimedOut   = 124 // --timeout stopped the guest, as timeout(1)
)

func main() { os.Exit(Main(os.Args[1:], os.Stderr)) }

const usage = `usage: rumpgo run [flags] PROGRAM|IMAGE [ARGS...]
       rumpgo build -o IMAGE [flags] PROGRAM [--] [ARGS...]
       rumpgo inspect IMAGE
       rumpgo port list | build [-o IMAGE] NAME | test NAME
       rumpgo doctor

Runs PROGRAM, an unmodified static Linux x86-64 executable, in a KVM guest
with no kernel. stdin, stdout and stderr are the guest's; the exit status is
the guest's.
`

// Main runs the CLI and returns its exit status.
func Main(args []string, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, "rumpgo: missing command\n"+usage)
		return exitFailure
	}
	switch args[0] {
	case "run":
		return run(args[1:], stderr)
	case "build":
		return build(args[1:], stderr)
	case "port":
		return port(args[1:], os.Stdout, stderr)
	case "inspect":
		return inspect(args[1:], os.Stdout, stderr)
	case "doctor":
		return doctor(os.Stdout)
	case "guest-kernel":
		// Not for users: rumpgo itself, booted at CPL 0 by run --kernel guest.
		return launch.GuestKernel(args[1:], guestKernelEnv(), stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stderr, usage)
		return 0
	}
	fmt.Fprintf(stderr, "rumpgo: unknown command %q\n%s", args[0], usage)
	return exitFailure
}

func run(args []string, stderr io.Writer) int {
	fl := flag.NewFlagSet("rumpgo run", flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	memory := fl.Uint64("memory", launch.DefaultMemory>>20, "guest memory in MiB")
	cpus := fl.Int("cpus", 0, "CPUs the guest sees (default: the host's)")
	pids := fl.Int("pids", launch.DefaultPIDs, "most processes the guest may have at once (fork past it fails with EAGAIN)")
	strace := fl.Bool("strace", false, "print every syscall on stderr, as strace does")
	summary := fl.Bool("summary", false, "print a summary (syscalls made, time per syscall, unsupported calls) at exit; --control asks a running guest for it")
	user := fl.String("user", "0:0", "the guest's `UID[:GID]` (GID defaults to UID)")
	testRun := fl.Bool("test", false, "run a Go test binary for `go test -exec \"rumpgo run --test\"`: the working directory's module (or the directory) is mounted read-write at its own path (testmode.go)")
	syscallPath := fl.String("syscalls", "auto", "how syscalls reach rumpgo: `exit` (a VM exit each), poll (a mailbox a host thread polls, no exit), or auto (poll with 4+ host CPUs)")
	kernelPath := fl.String("kernel", defaultKernel(), "what answers the guest's system calls: `host` (the monitor, a VM exit each) or guest (the guest kernel inside the VM, in progress: docs/design/guest-kernel.md); the default is $RUMPGO_KERNEL, else host")
	noSandbox := fl.Bool("no-sandbox", false, "do not confine the monitor (seccomp filter and Landlock, package sandbox): for debugging")
	timeout := fl.Duration("timeout", 0, "stop the guest if it still runs after `DURATION` (e.g. 30s, 5m) and exit with status 124, as timeout(1)")
	coreFile := fl.String("core", "", "write an ELF core `FILE` (for gdb PROGRAM FILE) if the guest dies of a core-dumping signal (core.go)")
	tmpfsSize := fl.String("tmpfs-size", "", "most file data each tmpfs (/, an image's writable layer, /tmp, /dev/shm) holds: `SIZE` in bytes or with k, m, g, t (e.g. 64m); default half of --memory; writing past it gives ENOSPC")
	var nc launch.NetConfig
	netMode := fl.String("net", launch.NetNone, "the guest's network: `none` (loopback only, the default), nat (eth0, outbound TCP/UDP and DNS through the host) or nat,host-loopback (nat, and the gateway's address reaches the host's loopback)")
	fl.Func("p", "forward a host port into the guest: `[HOSTIP:]HOSTPORT:GUESTPORT[/tcp|/udp]` (repeatable)", func(v string) error {
		f, err := launch.ParseForward(v)
		nc.Forwards = append(nc.Forwards, f)
		return err
	})
	fl.Func("ip", "eth0's `ADDRESS/PREFIX` under --net nat (default 10.0.2.15/24)", func(v string) (err error) {
		nc.IP, err = netip.ParsePrefix(v)
		return err
	})
	var files runFiles // -e, -w, -v and images (runimage.go)
	files.register(fl)
	var obs observeFlags // --control, --profile, --gdb (observe.go)
	obs.register(fl)
	if err := fl.Parse(args); err != nil {
		fmt.Fprintf(stderr, "rumpgo: %v\n%s", err, usage)
		fl.SetOutput(stderr)
		fl.PrintDefaults()
		return exitFailure
	}
	if fl.NArg() == 0 {
		fmt.Fprint(stderr, "rumpgo: missing PROGRAM\n"+usage)
		return exitFailure
	}
	if *memory == 0 || *memory > 1<<20 {
		fmt.Fprintf(stderr, "rumpgo: --memory %d: want 16 to 1048576 MiB\n", *memory)
		return exitFailure
	}
	if *syscallPath != "auto" && *syscallPath != "exit" && *syscallPath != "poll" {
		fmt.Fprintf(stderr, "rumpgo: --syscalls %s: want exit, poll or auto\n", *syscallPath)
		return exitFailure
	}
	if *kernelPath != launch.KernelHost && *kernelPath != launch.KernelGuest {
		fmt.Fprintf(stderr, "rumpgo: --kernel %s: want host or guest\n", *kernelPath)
		return exitFailure
	}
	if err := nc.SetMode(*netMode); err != nil {
		fmt.Fprintf(stderr, "rumpgo: %v\n", err)
		return exitFailure
	}
	uid, gid, err := image.ParseUser(*user)
	if err != nil {
		fmt.Fprintf(stderr, "rumpgo: --user %s: %v\n", *user, err)
		return exitFailure
	}
	cfg := launch.Config{
		UID: uid, GID: gid, Net: nc,
		Path:           fl.Arg(0),
		Argv:           fl.Args(),
		Env:            os.Environ(),
		Memory:         *memory << 20,
		CPUs:           *cpus,
		PIDs:           *pids,
		Stdio:          [3]int{0, 1, 2},
		Report:         stderr,
		ForwardSignals: true,
		SyscallPath:    strings.TrimPrefix(*syscallPath, "auto"),
		Sandbox:        !*noSandbox,
		Kernel:         *kernelPath,
	}
	if *timeout < 0 {
		fmt.Fprintf(stderr, "rumpgo: --timeout %v: want a positive duration\n", *timeout)
		return exitFailure
	}
	cfg.Timeout = *timeout
	if *tmpfsSize != "" {
		n, err := parseSize(*tmpfsSize)
		if err != nil {
			fmt.Fprintf(stderr, "rumpgo: --tmpfs-size %s: %v\n", *tmpfsSize, err)
			return exitFailure
		}
		cfg.TmpfsSize = n
	}
	if *noSandbox {
		fmt.Fprintln(stderr, "rumpgo: --no-sandbox: the monitor runs unconfined (no seccomp filter, no Landlock)")
	}
	if *strace {
		cfg.Strace = stderr
	}
	if code, ok := files.apply(&cfg, fl, stderr); !ok {
		return code
	}
	if *testRun {
		memorySet := false
		fl.Visit(func(f *flag.Flag) { memorySet = memorySet || f.Name == "memory" })
		if err := testMode(&cfg, memorySet); err != nil {
			fmt.Fprintf(stderr, "rumpgo: --test: %v\n", err)
			return exitFailure
		}
	}
	if cfg.Image != nil {
		defer cfg.Image.Close()
	}
	closeCore, ok := openCore(&cfg, *coreFile, stderr)
	if !ok {
		return exitFailure
	}
	defer closeCore()
	finish, ok := obs.apply(&cfg, stderr)
	if !ok {
		return exitFailure
	}
	res, err := launch.Run(cfg)
	finish(res)
	if err != nil {
		return failure(stderr, cfg.Path, err)
	}
	if *summary || *strace {
		fmt.Fprintf(stderr, "rumpgo: %d syscalls in %v; exit status %d\n", res.Calls, res.Elapsed.Round(1e6), res.Status.WaitStatus())
	}
	if *summary {
		syscalls.WriteCallTimes(stderr, res.CallTimes)
	}
	if len(res.Unsupported) > 0 && (*summary || *strace) {
		fmt.Fprintf(stderr, "rumpgo: unsupported syscalls answered ENOSYS: %s\n", strings.Join(res.Unsupported, ", "))
	}
	if res.TimedOut {
		fmt.Fprintf(stderr, "rumpgo: --timeout %v: the guest was still running; stopped it\n", *timeout)
		return exitTimedOut
	}
	if res.Failure != nil {
		return exitFailure
	}
	return res.Status.WaitStatus()
}

// parseSize reads a size as --tmpfs-size takes it: bytes, or a number
// with k, m, g or t (binary units, as tmpfs's size= option; "KiB", "MB" and
// the like are read the same way), from 4 KiB (a page) to 1 TiB.
func parseSize(s string) (int64, error) {
	num := strings.TrimRight(s, "kKmMgGtTiIbB")
	unit := strings.ToLower(s[len(num):])
	shift := map[string]uint{"": 0, "b": 0, "k": 10, "kb": 10, "kib": 10, "m": 20, "mb": 20, "mib": 20,
		"g": 30, "gb": 30, "gib": 30, "t": 40, "tb": 40, "tib": 40}
	sh, ok := shift[unit]
	n, err := strconv.ParseUint(num, 10, 64)
	if !ok || err != nil {
		return 0, errors.New("want a size in bytes, or with k, m, g or t (e.g. 64m)")
	}
	if n > 1<<40>>sh || n<<sh < 4096 {
		return 0, errors.New("want 4k to 1t")
	}
	return int64(n << sh), nil
}

// doctor reports what this host can run, for users and CI logs.
func doctor(out io.Writer) int {
	if err := boot.Available(); err != nil {
		fmt.Fprintf(out, "kvm: unavailable: %v\n", err)
		return exitFailure
	}
	fmt.Fprintln(out, "kvm: /dev/kvm available")
	if err := boot.ProbeNativeExecution(); err != nil {
		fmt.Fprintf(out, "native execution: no: %v\n", err)
		return exitFailure
	}
	fmt.Fprintln(out, "native execution: yes")
	if err := boot.SupervisorAvailable(); err != nil {
		fmt.Fprintf(out, "native supervisor mode: no: %v\n", err)
		fmt.Fprintln(out, "path: the monitor answers every system call (--kernel host); --kernel guest cannot run here")
	} else {
		fmt.Fprintf(out, "native supervisor mode: yes (PVM VIF page, KPTI root pairs, feature bits %#x)\n", boot.PVMFeatures)
		fmt.Fprintln(out, "path: the monitor answers every system call (--kernel host, the default); --kernel guest runs the guest kernel prototype (docs/design/guest-kernel.md)")
	}
	return 0
}

// guestKernelEnv is the app's environment: the guest kernel's, without
// what the monitor added for the kernel itself (launch/kernel.go).
// defaultKernel is --kernel's default: $RUMPGO_KERNEL, so that a whole
// test suite (go test ./...) can run on either path, else the monitor.
func defaultKernel() string {
	if k := os.Getenv("RUMPGO_KERNEL"); k != "" {
		return k
	}
	return launch.KernelHost
}

func guestKernelEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, kernel.Env+"=") && kv != launch.KernelGODEBUG {
			env = append(env, kv)
		}
	}
	return env
}

// failure prints the one-line reason a program did not start and picks the
// exit status a shell would (launch.Failure, which the guest kernel uses
// too).
func failure(stderr io.Writer, path string, err error) int {
	return launch.Failure(stderr, path, err)
}
