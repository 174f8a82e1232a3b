package kernel

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"unsafe"

	"github.com/rumpgo/rumpgo/boot"
	"github.com/rumpgo/rumpgo/posix/mm"
	"golang.org/x/sys/unix"
)

// Env is the environment variable through which the monitor tells the
// guest kernel its machine: "ram=BYTES,pool=FIRST-END,root=GPA" (guest RAM
// size, the frames the kernel may hand out, its page table's root; the
// app's user root is root+4 KiB).
const Env = "RUMPGO_GUEST_KERNEL"

// AppFD is the descriptor on which the monitor passes the app's ELF.
const AppFD = 3

// Params are what Env carries.
type Params struct {
	RAM, PoolStart, PoolEnd, Root uint64
}

func (p Params) String() string {
	return fmt.Sprintf("ram=%d,pool=%#x-%#x,root=%#x", p.RAM, p.PoolStart, p.PoolEnd, p.Root)
}

// ParseParams reads Env's value; every field is required.
func ParseParams(s string) (Params, error) {
	var p Params
	seen := 0
	for _, kv := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(kv, "=")
		var err error
		switch k {
		case "ram":
			p.RAM, err = strconv.ParseUint(v, 0, 64)
		case "pool":
			a, b, _ := strings.Cut(v, "-")
			if p.PoolStart, err = strconv.ParseUint(a, 0, 64); err == nil {
				p.PoolEnd, err = strconv.ParseUint(b, 0, 64)
			}
		case "root":
			p.Root, err = strconv.ParseUint(v, 0, 64)
		default:
			return p, fmt.Errorf("%s: unknown field %q", Env, k)
		}
		if err != nil {
			return p, fmt.Errorf("%s: %s: %v", Env, k, err)
		}
		seen++
	}
	if seen != 3 || p.PoolStart >= p.PoolEnd || p.PoolEnd > p.RAM || p.Root%(2*boot.PageSize) != 0 || p.Root+2*boot.PageSize > p.RAM {
		return p, fmt.Errorf("%s=%q: want ram, pool and root, inside RAM", Env, s)
	}
	return p, nil
}

// Main runs the guest kernel: it loads the app passed on AppFD with argv
// and envv into the user root and serves it until it exits, returning its
// exit status. It must run inside the VM at CPL 0 (rumpgo run --kernel
// guest starts it so).
func Main(argv, envv []string, stdout, stderr io.Writer) int {
	p, err := ParseParams(os.Getenv(Env))
	if err != nil {
		fmt.Fprintf(stderr, "rumpgo guest kernel: %v (it runs only inside rumpgo run --kernel guest)\n", err)
		return 125
	}
	// The app's thread is this goroutine, on this M and its vCPU.
	runtime.LockOSThread()
	wrmsr(boot.MSR_LSTAR, uint64(syscallEntryAddr()))
	installVectors()

	ram := unsafe.Slice((*byte)(physmap()), p.RAM)
	mem := boot.MemoryView(ram, p.PoolStart, p.PoolEnd)
	sp := &space{mem: mem, pt: boot.PageTableAt(mem, p.Root+boot.PageSize)}
	if err := boot.MapEventTables(sp.pt); err != nil {
		fmt.Fprintf(stderr, "rumpgo guest kernel: %v\n", err)
		return 125
	}
	st, err := load(sp, argv, envv)
	if err != nil {
		fmt.Fprintf(stderr, "rumpgo guest kernel: %v\n", err)
		return 126
	}
	k := &kern{space: sp, stdout: stdout, stderr: stderr, unsupported: map[string]int{}}
	status := k.serve(st)
	if len(k.unsupported) > 0 {
		fmt.Fprintf(stderr, "rumpgo guest kernel: unsupported syscalls answered ENOSYS: %s\n", k.unsupportedList())
	}
	return status
}

// physmap is the guest kernel's view of guest-physical address 0.
func physmap() unsafe.Pointer {
	base := uintptr(boot.PhysmapBase)
	return *(*unsafe.Pointer)(unsafe.Pointer(&base))
}

// maxELF bounds the app's ELF, as boot.ReadELF does.
const maxELF = 1 << 30

// The app's stack: stackArgsSize mapped up front for the initial stack,
// the rest of userStackSize on first touch (8 MiB, Linux's default
// RLIMIT_STACK).
const (
	userStackSize = 8 << 20
	stackArgsSize = 256 << 10
)

// load maps the app's ELF and its initial stack into sp.
func load(sp *space, argv, envv []string) (*userState, error) {
	// The monitor passes a plain host descriptor: read it whole.
	data, err := io.ReadAll(io.LimitReader(os.NewFile(AppFD, "app"), maxELF))
	if err != nil {
		return nil, fmt.Errorf("the app's ELF (fd %d): %v", AppFD, err)
	}
	name := "app"
	if len(argv) > 0 {
		name = argv[0]
	}
	exe, err := boot.ReadELFAt(name, bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, err
	}
	if exe.Interp != "" {
		return nil, fmt.Errorf("%s: a dynamic ELF (interpreter %s): the guest kernel prototype loads static ELFs only", name, exe.Interp)
	}
	loaded, err := exe.Load(sp)
	if err != nil {
		return nil, err
	}
	top := uint64(mm.StackTop)
	if err := sp.MapFixed(top-stackArgsSize, stackArgsSize, unix.PROT_READ|unix.PROT_WRITE); err != nil {
		return nil, err
	}
	sp.lazy = append(sp.lazy, region{lo: top - userStackSize, hi: top - stackArgsSize, prot: unix.PROT_READ | unix.PROT_WRITE})
	a := boot.StackArgs{Argv: argv, Envv: envv, ExecFn: name, Platform: "x86_64", Auxv: []boot.Aux{
		{Type: boot.AT_PHDR, Val: loaded.Phdr}, {Type: boot.AT_PHENT, Val: loaded.Phent}, {Type: boot.AT_PHNUM, Val: loaded.Phnum},
		{Type: boot.AT_PAGESZ, Val: boot.PageSize}, {Type: boot.AT_ENTRY, Val: loaded.Entry},
	}}
	_, _ = rand.Read(a.Random[:])
	stackPtr, data, err := boot.BuildStack(top, a, stackArgsSize)
	if err != nil {
		return nil, err
	}
	if err := sp.Poke(stackPtr, data); err != nil {
		return nil, err
	}
	return newUserState(regsAt(loaded.Entry, stackPtr)), nil
}
