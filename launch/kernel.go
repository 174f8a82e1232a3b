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
	"github.com/rumpgo/rumpgo/image"
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

// kernelImagePath is where the guest kernel finds the app's image: the
// image file is a read-only volume of the kernel's there, in the kernel's
// own namespace (the app never sees it).
const kernelImagePath = "/.rumpgo/image"

// asGuestKernel turns cfg into the run of the guest kernel serving cfg's
// program: the monitor boots rumpgo itself (`rumpgo guest-kernel PATH
// ARGV...`), with the app, and a dynamic app's ld.so and libraries, at
// their host paths in the kernel's root, where the kernel reads them as
// Run reads them from the host. An image's app is in the image: the
// image file is the kernel's (kernelImagePath), and the kernel serves
// its tree to the app as Run does.
func asGuestKernel(cfg Config) (Config, error) {
	if cfg.RootDir != "" {
		return cfg, fmt.Errorf("--kernel guest: a root directory (an OCI bundle's rootfs) is not supported yet")
	}
	if cfg.Net.Mode != NetNone || len(cfg.Net.Forwards) > 0 {
		return cfg, fmt.Errorf("--kernel guest: networks beyond loopback are not supported yet")
	}
	if err := boot.SupervisorAvailable(); err != nil {
		return cfg, fmt.Errorf("--kernel guest: %w", err)
	}
	app, given := cfg.Path, cfg.Path
	if cfg.Image == nil {
		var err error
		if app, err = filepath.Abs(cfg.Path); err != nil {
			return cfg, err
		}
		cfg.Path = app
	}
	// Refused here, as Run refuses it, before a VM exists.
	if _, err := readExe(cfg); err != nil {
		return cfg, err
	}
	self, err := os.Executable()
	if err != nil {
		return cfg, err
	}
	argv := cfg.Argv
	if len(argv) == 0 {
		argv = []string{given}
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
	if cfg.Image != nil {
		for _, v := range cfg.Volumes {
			if pathWithin(kernelImagePath, v.Guest) || pathWithin(v.Guest, kernelImagePath) {
				return cfg, fmt.Errorf("--kernel guest: volume %s: %s is the guest kernel's", v, kernelImagePath)
			}
		}
		img, err := filepath.Abs(cfg.Image.Path)
		if err != nil {
			return cfg, err
		}
		// The kernel's own volumes beside the app's; the image stays the
		// caller's to close.
		cfg.Volumes = append(cfg.Volumes[:len(cfg.Volumes):len(cfg.Volumes)], Volume{Host: img, Guest: kernelImagePath, ReadOnly: true})
		kargv = append(kargv, "--image", kernelImagePath)
		cfg.Image = nil
	} else {
		cfg.alsoPlace = append(cfg.alsoPlace, app)
	}
	if cfg.Cwd != "" {
		// The kernel starts there too (it is made in the kernel's root),
		// but an image's app starts in / without it.
		kargv = append(kargv, "-w", cfg.Cwd)
	}
	if cfg.Strace != nil {
		// The app's calls are the kernel's to trace; the kernel's own
		// would be the runtime's.
		kargv = append(kargv, "--strace")
		cfg.Strace = nil
	}
	cfg.Argv = append(append(kargv, "--", app), argv...)
	cfg.Path = self
	return cfg, nil
}

// pathWithin reports whether the absolute path p is dir or below it.
func pathWithin(p, dir string) bool {
	return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
}

// GuestKernelMemory is the guest kernel's own RAM, on top of the app's
// --memory: its Go heap (file tables, the netstack, buffers); the app's
// pages, page tables and tmpfs data are the app's.
const GuestKernelMemory = 256 << 20

// prepareGuestKernel sets aside the app's frames and tells the kernel
// about them and its page table. The kernel itself (its Go heap, the
// netstack) lives in the rest, which it pages in as any stage-1 guest.
func prepareGuestKernel(cfg *Config, m *kvm.Machine) error {
	frames := (cfg.Memory - GuestKernelMemory) / boot.PageSize
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
// [-v GUEST[:ro]]... [--image FILE] [-w DIR] -- PATH ARGV...), inside the
// VM at CPL 0: it runs the program at PATH with argv and envv as Run runs
// a program, on a kernel.Machine, so that the app's system calls are
// answered here, by syscalls and posix, without a VM exit. It returns the
// app's exit status as rumpgo run would.
//
// What the app gets yet: a tmpfs root holding it, or with --image the
// tree of the image at the kernel's FILE under a tmpfs layer (PATH is
// then the program's path in it); the kernel's volumes at the same paths,
// the kernel's stdio and user, DIR (or the kernel's own, or / for an
// image) as its working directory, loopback networking, one process, and
// the kernel's own vDSO.
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
	var imagePath, cwd string
	for len(args) > 0 && args[0] != "--" {
		switch {
		case args[0] == "--strace":
			strace = stderr
			args = args[1:]
		case args[0] == "-v" && len(args) >= 2:
			guest, ro := strings.CutSuffix(args[1], ":ro")
			vols = append(vols, Volume{Host: guest, Guest: guest, ReadOnly: ro})
			args = args[2:]
		case args[0] == "--image" && len(args) >= 2:
			imagePath = args[1]
			args = args[2:]
		case args[0] == "-w" && len(args) >= 2:
			cwd = args[1]
			args = args[2:]
		default:
			return fail(125, fmt.Errorf("unknown argument %q", args[0]))
		}
	}
	if len(args) < 2 || args[0] != "--" {
		return fail(125, fmt.Errorf("usage: rumpgo guest-kernel [--strace] [-v GUEST[:ro]]... [--image FILE] [-w DIR] -- PATH ARGV..."))
	}
	path, argv := args[1], args[2:]
	var im *image.Image
	if imagePath != "" {
		// Indexed here, through the kernel's own reads of the file.
		if im, err = image.Open(imagePath); err != nil {
			return fail(126, err)
		}
		defer im.Close()
	}
	exe, err := readExe(Config{Path: path, Image: im})
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
		Image: im, Cwd: cwd,
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
