package launch

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/rumpgo/rumpgo/boot"
	"github.com/rumpgo/rumpgo/kernel"
	"github.com/rumpgo/rumpgo/libc/vdso"
	"github.com/rumpgo/rumpgo/rumpglue/kvm"
)

// Which code answers the guest's system calls (Config.Kernel).
const (
	KernelHost  = "host"  // the monitor, one VM exit per call (stage 1)
	KernelGuest = "guest" // the guest kernel inside the VM (stage 2, docs/design/guest-kernel.md)
)

// KernelGODEBUG is in the guest kernel's environment, not the app's: the
// kernel's runtime is preempted by signals only at its own calls while the
// app runs, so asynchronous preemption would only add kicks.
const KernelGODEBUG = "GODEBUG=asyncpreemptoff=1"

// asGuestKernel turns cfg into the run of the guest kernel serving cfg's
// program: the monitor boots rumpgo itself (`rumpgo guest-kernel PATH
// ARGV...`), with the app, and a dynamic app's ld.so and libraries, at
// their host paths in the kernel's root, where the kernel reads them as
// Run reads them from the host.
func asGuestKernel(cfg Config) (Config, error) {
	if cfg.Image != nil || cfg.RootDir != "" {
		return cfg, fmt.Errorf("--kernel guest: images are not supported yet")
	}
	if cfg.Net.Mode != NetNone || len(cfg.Net.Forwards) > 0 {
		return cfg, fmt.Errorf("--kernel guest: networks beyond loopback are not supported yet")
	}
	if err := boot.SupervisorAvailable(); err != nil {
		return cfg, fmt.Errorf("--kernel guest: %w", err)
	}
	app, err := filepath.Abs(cfg.Path)
	if err != nil {
		return cfg, err
	}
	if _, err := boot.ReadELF(app); err != nil {
		return cfg, err // refused here, as Run refuses it, before a VM exists
	}
	self, err := os.Executable()
	if err != nil {
		return cfg, err
	}
	argv := cfg.Argv
	if len(argv) == 0 {
		argv = []string{cfg.Path}
	}
	// The volumes are the kernel's, at their guest paths, and the kernel
	// mounts those for the app: each host call of the app's file system
	// is one of the kernel's, answered by the monitor.
	kargv := []string{"rumpgo", "guest-kernel"}
	for _, v := range cfg.Volumes {
		opt := v.Guest
		if v.ReadOnly {
			opt += ":ro"
		}
		kargv = append(kargv, "-v", opt)
	}
	if cfg.Strace != nil {
		// The app's calls are the kernel's to trace; the kernel's own
		// would be the runtime's.
		kargv = append(kargv, "--strace")
		cfg.Strace = nil
	}
	cfg.Argv = append(append(kargv, "--", app), argv...)
	cfg.Path = self
	cfg.alsoPlace = append(cfg.alsoPlace, app)
	return cfg, nil
}

// prepareGuestKernel sets aside the app's frames and tells the kernel
// about them and its page table. The kernel itself (its Go heap, the
// netstack) lives in the rest, which it pages in as any stage-1 guest.
func prepareGuestKernel(cfg *Config, m *kvm.Machine) error {
	frames := cfg.Memory / 4 * 3 / boot.PageSize
	first, err := m.M.Mem.AllocRange(frames)
	if err != nil {
		return err
	}
	// Each of the app's processes gets a root pair whose kernel root is a
	// copy of this one (kernel.Machine.NewSpace): with the lower half
	// filled now, the monitor's later mappings for the kernel reach all.
	if err := boot.PageTableAt(m.M.Mem, m.Root()).FillLower(); err != nil {
		return err
	}
	p := kernel.Params{RAM: m.M.Mem.Size(), PoolStart: first, PoolEnd: first + frames*boot.PageSize, Root: m.Root()}
	cfg.Env = append(cfg.Env[:len(cfg.Env):len(cfg.Env)], kernel.Env+"="+p.String(), KernelGODEBUG)
	return nil
}

// GuestKernel is the guest kernel's main (rumpgo guest-kernel [--strace]
// [-v GUEST[:ro]]... -- PATH ARGV...), inside the VM at CPL 0: it runs the program at PATH with argv
// and envv as Run runs a program, on a kernel.Machine, so that the app's
// system calls are answered here, by syscalls and posix, without a VM
// exit. It returns the app's exit status as rumpgo run would.
//
// What the app gets yet: a tmpfs root holding it, the kernel's volumes at
// the same paths, the kernel's stdio, user and working directory as its
// own, loopback networking, one process, and the kernel's own vDSO.
func GuestKernel(args, envv []string, stderr io.Writer) int {
	fail := func(code int, err error) int {
		fmt.Fprintf(stderr, "rumpgo guest kernel: %v\n", err)
		return code
	}
	p, err := kernel.ParseParams(os.Getenv(kernel.Env))
	if err != nil {
		return fail(125, fmt.Errorf("%v (it runs only inside rumpgo run --kernel guest)", err))
	}
	var vols []Volume
	var strace io.Writer
	for len(args) > 0 && args[0] != "--" {
		switch {
		case args[0] == "--strace":
			strace = stderr
			args = args[1:]
		case args[0] == "-v" && len(args) >= 2:
			guest, ro := strings.CutSuffix(args[1], ":ro")
			vols = append(vols, Volume{Host: guest, Guest: guest, ReadOnly: ro})
			args = args[2:]
		default:
			return fail(125, fmt.Errorf("unknown argument %q", args[0]))
		}
	}
	if len(args) < 2 || args[0] != "--" {
		return fail(125, fmt.Errorf("usage: rumpgo guest-kernel [--strace] [-v GUEST[:ro]]... -- PATH ARGV..."))
	}
	path, argv := args[1], args[2:]
	exe, err := boot.ReadELF(path)
	if err != nil {
		return fail(126, err)
	}
	m, err := kernel.NewMachine(p)
	if err != nil {
		return fail(125, err)
	}
	frames, shared, err := m.VDSOFrames(vdso.VvarSize/boot.PageSize, vdso.ImagePages())
	if err != nil {
		return fail(125, err)
	}
	cfg := Config{
		Path: path, Argv: argv, Env: envv,
		// The app's RAM is the pool; commitLimit takes the machine's
		// reserved area off a VM's size.
		Memory: p.PoolEnd - p.PoolStart + boot.ReservedSize,
		CPUs:   runtime.NumCPU(), PIDs: DefaultPIDs,
		Stdio: [3]int{0, 1, 2}, Report: stderr, Volumes: vols, Strace: strace,
		UID: uint32(os.Getuid()), GID: uint32(os.Getgid()),
		ForwardSignals: true, clock: kernel.Clock{},
		// The kernel's own vDSO, or none when the kernel has none.
		vdsoFrames: frames, NoVDSO: !shared,
	}
	res, err := run(cfg, m, exe, time.Now())
	if err != nil {
		return fail(126, err)
	}
	if strace != nil && len(res.Unsupported) > 0 { // as rumpgo run --strace reports them
		fmt.Fprintf(stderr, "rumpgo guest kernel: unsupported syscalls answered ENOSYS: %s\n", strings.Join(res.Unsupported, ", "))
	}
	if res.Failure != nil {
		return 125
	}
	return res.Status.WaitStatus()
}
