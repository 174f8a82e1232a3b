// Package launch boots one program: it reads the ELF, builds the machine,
// loads the image and its initial stack into a fresh address space, starts
// the first thread and waits for the guest to end. It is the wiring between
// boot, rumpglue, posix and syscalls that the CLI and tests share.
package launch

import (
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/rumpgo/rumpgo/boot"
	"github.com/rumpgo/rumpgo/image"
	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/mm"
	"github.com/rumpgo/rumpgo/rumpglue"
	"github.com/rumpgo/rumpgo/rumpglue/kvm"
	"github.com/rumpgo/rumpgo/syscalls"
	"golang.org/x/sys/unix"
)

// Config says what to run and how.
type Config struct {
	Path   string   // the ELF on the host
	Argv   []string // argv, argv[0] included
	Env    []string
	Memory uint64 // guest RAM in bytes
	CPUs   int    // CPUs the guest is told it has
	// Stdio are the host descriptors the guest gets as 0, 1 and 2.
	Stdio [3]int
	// Strace receives --strace lines; nil turns tracing off.
	Strace io.Writer
	// Report receives crash and failure reports.
	Report io.Writer
	// SyscallPath is "exit" (every syscall exits the VM), "poll" (calls go
	// through a shared mailbox to a polling monitor thread, no exit), or ""
	// for the machine's default (poll on hosts with 4 or more CPUs).
	SyscallPath string
	// ForwardSignals delivers SIGINT, SIGTERM, SIGHUP, SIGUSR1/2 and
	// SIGQUIT sent to this process to the guest while it runs.
	ForwardSignals bool
	// ForwardAll, with ForwardSignals, forwards every signal a process
	// can catch (an OCI container's, as runc's kill and its terminal
	// deliver them), and SIGINT is never the way out.
	ForwardAll bool
	// InitSignals makes the first process its PID namespace's init, as
	// a container's is under runc: signals it has no handler for are
	// dropped (a C program ignores docker stop's SIGTERM; Go's runtime,
	// re-raising one it does not handle, exits 2), SIGKILL and SIGSTOP
	// only from the host. posix.ThreadGroup.SetUnkillable.
	InitSignals bool
	// KeepSignal, when set, is asked about each signal ForwardSignals
	// would forward: true keeps it from the guest (the SIGCONT of an
	// OCI runtime's resume, which is the host's business).
	KeepSignal func(os.Signal) bool
	// NoVDSO maps no vDSO (and passes no AT_SYSINFO_EHDR): every clock read
	// is then a system call, as before the vDSO existed; for comparisons.
	NoVDSO bool
	// UID and GID are the guest's user and group (--user); zero is root.
	UID, GID uint32
	// Cwd is the guest's working directory; empty means rumpgo's own
	// path (an empty directory unless a volume is there), or / for an
	// image. See fs.go.
	Cwd string
	// Net is the guest's network (--net, -p, --ip); see net.go.
	Net NetConfig
	// Image, when set, is the guest's root: its tree under a writable
	// layer; Path is then the program's path in it. See image.go.
	Image *image.Image
	// Volumes are host directories mounted in the guest (-v).
	Volumes []Volume
	// Core, when set, receives an ELF core file if the guest dies of a
	// core-dumping signal (--core); see syscalls/core_dump.go.
	Core syscalls.CoreFile
	// PIDs is how many processes (zombies included) the guest may have
	// at once (--pids); 0 is DefaultPIDs.
	PIDs int
	// Sandbox confines the monitor (seccomp and Landlock, see package
	// sandbox) before the guest's first instruction; it cannot be undone,
	// so it is for processes that run one guest and exit (rumpgo run).
	Sandbox bool
	// Timeout, when positive, stops a guest still running that long after
	// Run began (--timeout), as SIGKILL would; Result.TimedOut says so.
	Timeout time.Duration
	// Kernel is KernelHost (or "") for the monitor answering every system
	// call, KernelGuest for the guest kernel (kernel.go).
	Kernel string
	// TmpfsSize bounds the file data of each tmpfs the run gets — the
	// root (or an image's writable layer), /tmp and /dev/shm — in bytes
	// (--tmpfs-size); 0 is half of Memory each, as Linux's default.
	TmpfsSize int64

	// The fields below are what an OCI runtime (package oci) needs beyond
	// rumpgo run's flags.

	// RootDir, when set, is a host directory — an OCI bundle's rootfs —
	// that is the guest's root: read-only under a tmpfs layer, as an
	// image's tree; Path is then the program's path in it (image.go).
	RootDir string
	// RootReadOnly makes the root mount read-only (root.readonly).
	RootReadOnly bool
	// RootWritable makes RootDir itself the guest's writable root, as
	// runc's: writes reach the directory (Docker's container layer),
	// files keep the guest's owners, and rumpgo writes none of its /etc
	// defaults there. Without it, or with RootReadOnly, RootDir is
	// read-only under a tmpfs.
	RootWritable bool
	// Hostname is the guest's (uname, /etc/hostname); "" is "rumpgo".
	Hostname string
	// Files are written into the guest's root before it starts,
	// replacing what is there: guest path -> content.
	Files map[string]string
	// Tmpfs are more tmpfs mounts. With RootDir, /tmp is a tmpfs only
	// when listed here, as in a container.
	Tmpfs []TmpfsMount
	// Rlimits are the first process's resource limits (RLIMIT_* -> value).
	Rlimits map[int]posix.Rlimit
	// Groups are the first process's supplementary groups (GID included
	// when empty).
	Groups []uint32
	// Started, when set, is called once the first thread runs, with a
	// handle on the guest for starting more processes in it (spawn.go).
	Started func(*Guest)
	// Observe, when set, is called once before the guest's first
	// instruction, after the sandbox is in place, with the kernel and its
	// first thread: where a profiler or a debugger attaches (debug/...).
	// The first thread runs the OnCPU functions Observe queued before it
	// enters the guest.
	Observe func(k *syscalls.Kernel, first *syscalls.Thread)

	// alsoPlace are more host programs placed at their paths in a bare
	// program's root, with their libraries (the guest kernel's app).
	alsoPlace []string
	// clock answers the clock system calls when this run keeps no vDSO
	// page itself (the guest kernel's, kernel.Clock).
	clock syscalls.Clock
	// vdsoFrames, when set, are a vDSO to map instead of one of this run's
	// own (the guest kernel's, which the monitor keeps current).
	vdsoFrames []uint64
}

// Result is how the guest ended.
type Result struct {
	Status      posix.ExitStatus
	Unsupported []string // unimplemented syscalls the guest made, "name×count"
	Calls       uint64
	CallTimes   []syscalls.CallStats // time per syscall, the most first
	Failure     error                // the machine failed (exit 125), not the guest
	Elapsed     time.Duration
	TimedOut    bool // Config.Timeout stopped the guest
}

// DefaultMemory is --memory's default.
const DefaultMemory = 512 << 20

// DefaultPIDs is --pids' default: every thread needs a vCPU of its own,
// so the machine's vCPUs (boot.MaxVCPUs) bound processes anyway.
const DefaultPIDs = 128

// Run boots cfg.Path and waits for it to exit. Errors before the guest runs
// are returned as is: *boot.ExecError for files that are not runnable, fs
// errors for missing files, others for machine failures.
func Run(cfg Config) (*Result, error) {
	start := time.Now()
	if err := cfg.Net.Validate(); err != nil {
		return nil, err
	}
	if cfg.Kernel == KernelGuest {
		var err error
		if cfg, err = asGuestKernel(cfg); err != nil { // kernel.go
			return nil, err
		}
	}
	exe, err := readExe(cfg) // image.go
	if err != nil {
		return nil, err
	}
	if cfg.Memory == 0 {
		cfg.Memory = DefaultMemory
	}
	if cfg.Memory < 16<<20 || cfg.Memory%boot.PageSize != 0 {
		return nil, fmt.Errorf("--memory must be at least 16 MiB, got %d bytes", cfg.Memory)
	}
	if cfg.Kernel == KernelGuest {
		// --memory is the app's, as on the monitor path; the guest
		// kernel's own heap comes on top (host memory is touched only
		// as it is used).
		cfg.Memory += GuestKernelMemory
	}
	if cfg.CPUs <= 0 {
		cfg.CPUs = runtime.NumCPU()
	}
	if cfg.PIDs <= 0 {
		cfg.PIDs = DefaultPIDs
	}
	m, err := kvm.New(cfg.Memory, 0, cfg.Kernel == KernelGuest)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	switch cfg.SyscallPath {
	case "poll":
		m.Poll = true
	case "exit":
		m.Poll = false
	}
	if cfg.Kernel == KernelGuest {
		// The guest kernel's hypercalls must reach this vCPU's own exit,
		// not a poller (boot/hypercall.go).
		m.Poll = false
		if err := prepareGuestKernel(&cfg, m); err != nil {
			return nil, err
		}
	}
	return run(cfg, m, exe, start)
}

// vm is the machine a run's guest runs on: the monitor's KVM machine
// (rumpglue/kvm), or inside the VM the guest kernel's (package kernel).
type vm interface {
	rumpglue.Machine
	// Space is the first address space, the one the program loads into.
	Space() rumpglue.Space
	CPUID(fn, index uint32) (eax, ebx, ecx, edx uint32, ok bool)
	// Wait waits until every thread has left the machine.
	Wait()
}

// run boots exe, cfg's program, on m and waits for it to exit.
func run(cfg Config, m vm, exe *boot.ELF, start time.Time) (*Result, error) {
	space := m.Space()
	as := mm.New(space, commitLimit(cfg.Memory))
	loaded, err := exe.Load(loaderSpace{as})
	if err != nil {
		return nil, err
	}
	as.SetBrk(loaded.Brk)
	var vd *guestVDSO
	switch {
	case cfg.vdsoFrames != nil:
		if vd, err = sharedVDSO(as, cfg.vdsoFrames); err != nil {
			return nil, err
		}
	case !cfg.NoVDSO:
		if vd, err = mapVDSO(as, space); err != nil {
			return nil, err
		}
	}

	fds := posix.NewFDTable()
	for i, fd := range cfg.Stdio {
		if _, e := fds.Install(posix.NewHostFile(fd), i, false, 3); e != 0 {
			return nil, fmt.Errorf("stdio %d: %v", i, e)
		}
	}
	hostname := "rumpgo"
	if cfg.Hostname != "" {
		hostname = cfg.Hostname
	}
	km := vd.machine(m) // refreshes the vDSO's clocks on every exit
	k := syscalls.NewKernel(km, syscalls.SystemInfo{
		Hostname: hostname, CPUs: cfg.CPUs, MemBytes: cfg.Memory,
		UID: cfg.UID, GID: cfg.GID, Comm: filepath.Base(cfg.Path), Boot: start,
	})
	k.Strace, k.Crashes = cfg.Strace, cfg.Report
	k.Core = cfg.Core
	if vd != nil && vd.clock != nil {
		k.Clock = vd.clock // the clock system calls answer from the vDSO page's sequence
	} else if cfg.clock != nil {
		k.Clock = cfg.clock
	}
	k.Procs.Limit = cfg.PIDs
	k.Loader = &loader{m: m, k: k, cfg: cfg, vd: vd}
	group, _ := k.Procs.NewProcess(nil, 0)
	group.MM, group.FDs = as, fds
	group.SetUnkillable(cfg.InitSignals)
	for r, v := range cfg.Rlimits {
		if _, e := group.Limits.Set(r, v, true); e != 0 {
			return nil, fmt.Errorf("rlimit %d (%d, %d): %v", r, v.Cur, v.Max, e)
		}
	}
	task, _ := group.NewTask()
	if err := setupFS(fsSetup{cfg: cfg, k: k, group: group, frames: space, start: start, host: hostname, etc: NetEtc(cfg.Net)}); err != nil {
		return nil, err
	}
	// The interpreter comes from the guest's root, so it loads after it.
	interp, interpELF, err := loadInterp(k.FS(), group, as, exe)
	if err != nil {
		return nil, err
	}
	sp, err := setupStack(as, m.CPUID, exe, loaded, interp, cfg, vd)
	if err != nil {
		return nil, err
	}
	k.Images = loadedImages(cfg, exe, loaded, interpELF, interp)
	k.SaveAuxv(as, sp) // for a core file's NT_AUXV
	stopNet, err := setupNet(cfg.Net, k)
	if err != nil {
		return nil, err
	}
	defer stopNet()
	regs := startRegs(loaded, interp, sp)
	if cfg.ForwardSignals {
		defer forwardSignals(group, cfg.Report, cfg.ForwardAll, cfg.KeepSignal)()
	}
	if vd != nil && vd.clock != nil {
		vd.clock.Start(0)
		defer vd.clock.Stop()
	}
	if cfg.Sandbox { // sandbox.go: from here on the monitor is confined
		if _, err := confine(cfg); err != nil {
			return nil, err
		}
	}
	first := k.NewThread(task)
	if cfg.Observe != nil {
		cfg.Observe(k, first)
	}
	if err := km.Start(first, space, regs, 0); err != nil {
		return nil, err
	}
	if cfg.Started != nil {
		cfg.Started(&Guest{k: k, m: m, cfg: cfg, vd: vd, init: group})
	}
	var timedOut atomic.Bool
	if cfg.Timeout > 0 {
		timer := time.AfterFunc(cfg.Timeout-time.Since(start), func() {
			select {
			case <-group.Dying():
			default:
				timedOut.Store(true)
				group.ExitGroup(posix.ExitStatus{Signal: int(unix.SIGKILL)})
			}
		})
		defer timer.Stop()
	}
	<-group.Dying()
	m.Stop()
	waitStopped(m, 2*time.Second)
	if !timedOut.Load() {
		k.ReportKill(group) // a sent SIGKILL's report line, as die writes the others'
	}
	return &Result{
		Status:      group.Status(),
		Unsupported: k.Unsupported(),
		Calls:       k.Calls(),
		CallTimes:   k.CallTimes(),
		Failure:     k.Failure(),
		Elapsed:     time.Since(start),
		TimedOut:    timedOut.Load(),
	}, nil
}

// startRegs are a new program's registers: Linux starts a process with
// every register zero but RSP and RIP.
func startRegs(l, interp *boot.Loaded, sp uint64) rumpglue.Regs {
	regs := rumpglue.Regs{RIP: l.Entry, RSP: sp, RFLAGS: 0x202}
	if interp != nil {
		regs.RIP = interp.Entry // ld.so starts, then jumps to AT_ENTRY
	}
	return regs
}

// waitStopped waits for the vCPUs to leave, but not forever: a thread
// blocked in a host read of stdin cannot be interrupted, and the process
// is exiting anyway.
func waitStopped(m vm, limit time.Duration) {
	done := make(chan struct{})
	go func() { m.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(limit):
	}
}

// commitLimit is how much the guest may map: RAM less the machine's area
// and room for page tables (one 4 KiB table per 2 MiB mapped, plus upper
// levels).
func commitLimit(mem uint64) uint64 {
	usable := mem - boot.ReservedSize
	return usable - usable/256 - 64*boot.PageSize
}

// loaderSpace adapts an address space to the ELF loader.
type loaderSpace struct{ as *mm.AddressSpace }

func errnoErr(e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

func (l loaderSpace) MapFixed(addr, length uint64, prot int) error {
	_, e := l.as.Mmap(addr, length, prot, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_FIXED)
	return errnoErr(e)
}

func (l loaderSpace) Protect(addr, length uint64, prot int) error {
	return errnoErr(l.as.Mprotect(addr, length, prot))
}

func (l loaderSpace) Poke(addr uint64, data []byte) error { return errnoErr(l.as.CopyOut(addr, data)) }

// setupStack maps the main thread's stack and writes argv, envp and auxv.
// interp is the loaded interpreter of a dynamic program, else nil.
func setupStack(as *mm.AddressSpace, cpuid func(fn, index uint32) (eax, ebx, ecx, edx uint32, ok bool), exe *boot.ELF, l, interp *boot.Loaded, cfg Config, vd *guestVDSO) (uint64, error) {
	base := uint64(mm.StackTop - mm.StackSize)
	if _, e := as.Mmap(base, mm.StackSize, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_FIXED|unix.MAP_GROWSDOWN); e != 0 {
		return 0, fmt.Errorf("mapping the stack: %v", e)
	}
	_, _, _, hwcap, _ := cpuid(1, 0)
	_, xsaveSize, _, _, _ := cpuid(0xd, 0)
	uid, gid := uint64(cfg.UID), uint64(cfg.GID)
	aux := func(t, v uint64) boot.Aux { return boot.Aux{Type: t, Val: v} }
	// AT_BASE is where the interpreter was loaded (0 without one, as for
	// static and static-PIE programs); AT_EXECFN the path execve was given.
	var interpBase uint64
	if interp != nil {
		interpBase = interp.Base
	}
	a := boot.StackArgs{
		Argv: cfg.Argv, Envv: cfg.Env, ExecFn: cfg.Path, Platform: "x86_64",
		Auxv: []boot.Aux{
			aux(boot.AT_HWCAP, uint64(hwcap)),
			aux(boot.AT_PAGESZ, boot.PageSize),
			aux(boot.AT_CLKTCK, 100),
			aux(boot.AT_PHDR, l.Phdr),
			aux(boot.AT_PHENT, l.Phent),
			aux(boot.AT_PHNUM, l.Phnum),
			aux(boot.AT_BASE, interpBase),
			aux(boot.AT_FLAGS, 0),
			aux(boot.AT_ENTRY, l.Entry),
			aux(boot.AT_UID, uid), aux(boot.AT_EUID, uid),
			aux(boot.AT_GID, gid), aux(boot.AT_EGID, gid),
			aux(boot.AT_SECURE, 0),
			aux(boot.AT_HWCAP2, 0),
			// The signal frame the guest must have room for: the xsave area
			// plus siginfo, ucontext and the return address, rounded up.
			aux(boot.AT_MINSIGSTKSZ, uint64(xsaveSize)+1024),
		},
	}
	if vd != nil {
		a.Auxv = append(a.Auxv, aux(boot.AT_SYSINFO_EHDR, vd.ehdr))
	}
	if len(a.Argv) == 0 {
		a.Argv = []string{exe.Path}
		a.ExecFn = exe.Path
	}
	rand.Read(a.Random[:])
	sp, data, err := boot.BuildStack(mm.StackTop, a, mm.StackSize/4)
	if err != nil {
		return 0, fmt.Errorf("initial stack: %w", err)
	}
	if e := as.CopyOut(sp, data); e != 0 {
		return 0, fmt.Errorf("writing the initial stack: %v", e)
	}
	return sp, nil
}
