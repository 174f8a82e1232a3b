package launch

import (
	"encoding/json"
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
	"github.com/rumpgo/rumpgo/posix"
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
	kc := kernelConfig{
		Cwd: cfg.Cwd, Strace: cfg.Strace != nil, NoVDSO: cfg.NoVDSO,
		CPUs: cfg.CPUs, PIDs: cfg.PIDs, TmpfsSize: cfg.TmpfsSize, Hostname: cfg.Hostname,
		Files: cfg.Files, Tmpfs: cfg.Tmpfs, Rlimits: cfg.Rlimits, Groups: cfg.Groups,
		InitSignals: cfg.InitSignals, ForwardAll: cfg.ForwardAll,
	}
	for _, v := range cfg.Volumes {
		kc.Volumes = append(kc.Volumes, Volume{Host: v.Guest, Guest: v.Guest, ReadOnly: v.ReadOnly})
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
		kc.Image = kernelImagePath
		cfg.Image = nil
	} else {
		cfg.alsoPlace = append(cfg.alsoPlace, app)
	}
	// The app's calls are the kernel's to trace; the kernel's own would
	// be the runtime's. Its files, limits and mounts are the app's.
	cfg.Strace = nil
	cfg.Files, cfg.Tmpfs, cfg.Rlimits, cfg.Groups, cfg.Hostname = nil, nil, nil, nil, ""
	cfg.InitSignals, cfg.TmpfsSize = false, 0
	js, err := json.Marshal(kc)
	if err != nil {
		return cfg, err
	}
	kargv := []string{"rumpgo", "guest-kernel", string(js)}
	cfg.Argv = append(append(kargv, "--", app), argv...)
	cfg.Path = self
	return cfg, nil
}

// kernelConfig is what of a run's Config the guest kernel takes from the
// monitor, as rumpgo guest-kernel's first argument (JSON): what the app
// sees. The machine's settings (memory, the sandbox, signals from the
// host, the network's host side) stay the monitor's.
type kernelConfig struct {
	Volumes     []Volume // at their guest paths, which are the kernel's too
	Image       string   // the kernel's path of the app's image file
	Cwd         string
	Strace      bool
	NoVDSO      bool
	CPUs, PIDs  int
	TmpfsSize   int64
	Hostname    string
	Files       map[string]string
	Tmpfs       []TmpfsMount
	Rlimits     map[int]posix.Rlimit
	Groups      []uint32
	InitSignals bool
	ForwardAll  bool
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

// GuestKernel is the guest kernel's main (rumpgo guest-kernel CONFIG --
// PATH ARGV..., CONFIG a kernelConfig in JSON), inside the VM at CPL 0: it
// runs the program at PATH with argv and envv as Run runs a program, on a
// kernel.Machine, so that the app's system calls are answered here, by
// syscalls and posix, without a VM exit. It returns the app's exit status
// as rumpgo run would.
//
// What the app gets: a tmpfs root holding it, or the tree of the image at
// CONFIG's Image under a tmpfs layer (PATH is then the program's path in
// it); the kernel's volumes at the same paths, the kernel's stdio and
// user, CONFIG's files, mounts, limits and working directory (or the
// kernel's own, or / for an image), loopback networking, processes, and
// the kernel's own vDSO.
func GuestKernel(args, envv []string, stderr io.Writer) int {
	fail := func(code int, err error) int {
		fmt.Fprintf(stderr, "rumpgo: %v\n", err)
		return code
	}
	p, err := kernel.ParseParams(os.Getenv(kernel.Env))
	if err != nil {
		return fail(125, fmt.Errorf("%v (it runs only inside rumpgo run --kernel guest)", err))
	}
	if len(args) < 3 || args[1] != "--" {
		return fail(125, fmt.Errorf("usage: rumpgo guest-kernel CONFIG -- PATH ARGV..."))
	}
	var kc kernelConfig
	if err := json.Unmarshal([]byte(args[0]), &kc); err != nil {
		return fail(125, fmt.Errorf("CONFIG: %v", err))
	}
	path, argv := args[2], args[3:]
	var im *image.Image
	if kc.Image != "" {
		// Indexed here, through the kernel's own reads of the file.
		if im, err = image.Open(kc.Image); err != nil {
			return fail(126, err)
		}
		defer im.Close()
	}
	exe, err := readExe(Config{Path: path, Image: im})
	if err != nil {
		return Failure(stderr, path, err)
	}
	m, err := kernel.NewMachine(p)
	if err != nil {
		return fail(125, err)
	}
	frames, shared, err := m.VDSOFrames(vdso.VvarSize/boot.PageSize, vdso.ImagePages())
	if err != nil {
		return fail(125, err)
	}
	var strace io.Writer
	if kc.Strace {
		strace = stderr
	}
	cfg := Config{
		Path: path, Argv: argv, Env: envv,
		// The app's RAM is the pool; commitLimit takes the machine's
		// reserved area off a VM's size.
		Memory: p.PoolEnd - p.PoolStart + boot.ReservedSize,
		CPUs:   kc.CPUs, PIDs: kc.PIDs, TmpfsSize: kc.TmpfsSize,
		Stdio: [3]int{0, 1, 2}, Report: stderr, Volumes: kc.Volumes, Strace: strace,
		Image: im, Cwd: kc.Cwd, Hostname: kc.Hostname,
		Files: kc.Files, Tmpfs: kc.Tmpfs, Rlimits: kc.Rlimits, Groups: kc.Groups,
		UID: uint32(os.Getuid()), GID: uint32(os.Getgid()),
		ForwardSignals: true, ForwardAll: kc.ForwardAll, InitSignals: kc.InitSignals,
		clock: kernel.Clock{},
		// The kernel's own vDSO, or none when the kernel has none.
		vdsoFrames: frames, NoVDSO: kc.NoVDSO || !shared,
	}
	if cfg.CPUs <= 0 {
		cfg.CPUs = runtime.NumCPU()
	}
	if cfg.PIDs <= 0 {
		cfg.PIDs = DefaultPIDs
	}
	res, err := run(cfg, m, exe, time.Now())
	if err != nil {
		return Failure(stderr, path, err)
	}
	if strace != nil && len(res.Unsupported) > 0 { // as rumpgo run --strace reports them
		fmt.Fprintf(stderr, "rumpgo: unsupported syscalls answered ENOSYS: %s\n", strings.Join(res.Unsupported, ", "))
	}
	if res.Failure != nil {
		return 125
	}
	return res.Status.WaitStatus()
}
