package syscalls

import (
	"sync"

	"golang.org/x/sys/unix"
)

// Calls C libraries make that the Go runtime does not: mremap (glibc's
// realloc of large blocks) and membarrier (userspace RCU, JITs).

func init() {
	register(unix.SYS_MREMAP, Entry{Name: "mremap", Support: Partial,
		Note: "MAYMOVE, FIXED and DONTUNMAP move page-table entries, not bytes; old_size 0 duplicates only shared file mappings; [vdso] and [vvar] do not move",
		fn:   sysMremap, args: []argKind{aPtr, aUint, aUint, aHex, aPtr}, ret: rHex})
	register(unix.SYS_MEMBARRIER, Entry{Name: "membarrier", Support: Partial,
		Note: "GLOBAL and PRIVATE_EXPEDITED (through the host's membarrier, whose IPIs take every vCPU out of guest code); no SYNC_CORE or RSEQ variants",
		fn:   sysMembarrier, args: []argKind{aInt, aHex, aInt}})
}

func sysMremap(t *Thread, a Args) (uint64, unix.Errno) {
	old, oldSize, newSize, flags, newAddr := a[0], a[1], a[2], a.Int(3), a[4]
	if newSize > oldSize {
		// Growth counts against RLIMIT_AS and RLIMIT_DATA as a new
		// mapping of the difference would (Linux's vma_to_resize).
		prot, mflags := unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE
		for _, v := range t.mm().VMAs() {
			if v.Start <= old && old < v.End {
				prot, mflags = v.Prot, v.Flags
				break
			}
		}
		if e := t.mayExpand(0, newSize-oldSize, prot, mflags); e != 0 {
			return 0, e
		}
	}
	return t.mm().Mremap(old, oldSize, newSize, flags, newAddr)
}

// membarrier(2) commands (linux/membarrier.h).
const (
	MEMBARRIER_CMD_QUERY                      = 0
	MEMBARRIER_CMD_GLOBAL                     = 1 << 0
	MEMBARRIER_CMD_GLOBAL_EXPEDITED           = 1 << 1
	MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED  = 1 << 2
	MEMBARRIER_CMD_PRIVATE_EXPEDITED          = 1 << 3
	MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED = 1 << 4
)

// membarrierSupported is what QUERY reports. The guest is the only process
// of its machine, so its threads are all there is to order: every command
// is the host's PRIVATE_EXPEDITED on rumpgo itself, whose IPIs interrupt
// each CPU running one of our threads — vCPUs in guest code included, and
// leaving guest code serializes the vCPU.
const membarrierSupported = MEMBARRIER_CMD_GLOBAL | MEMBARRIER_CMD_GLOBAL_EXPEDITED |
	MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED | MEMBARRIER_CMD_PRIVATE_EXPEDITED |
	MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED

var (
	hostMembarrierOnce sync.Once
	hostMembarrierErr  unix.Errno
)

// hostMembarrier runs a private expedited barrier on the host process,
// registering it the first time.
func hostMembarrier() unix.Errno {
	hostMembarrierOnce.Do(func() {
		_, _, hostMembarrierErr = unix.Syscall(unix.SYS_MEMBARRIER, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0)
	})
	if hostMembarrierErr != 0 {
		return hostMembarrierErr
	}
	_, _, e := unix.Syscall(unix.SYS_MEMBARRIER, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0)
	return e
}

func sysMembarrier(t *Thread, a Args) (uint64, unix.Errno) {
	if hostMembarrier() != 0 {
		// A host without membarrier: answer as a Linux built without it.
		t.K.countUnsupported(unix.SYS_MEMBARRIER)
		return 0, unix.ENOSYS
	}
	cmd, flags := a.Int(0), a[1]
	if flags != 0 {
		return 0, unix.EINVAL
	}
	g := t.Task.Group
	switch cmd {
	case MEMBARRIER_CMD_QUERY:
		return membarrierSupported, 0
	case MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED:
		membarrierRegister(g, cmd)
		return 0, 0
	case MEMBARRIER_CMD_PRIVATE_EXPEDITED:
		// Linux refuses a process that did not register.
		if !membarrierIsRegistered(g, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) {
			return 0, unix.EPERM
		}
	case MEMBARRIER_CMD_GLOBAL, MEMBARRIER_CMD_GLOBAL_EXPEDITED:
	default:
		return 0, unix.EINVAL
	}
	return 0, hostMembarrier()
}

// membarrierRegs are the REGISTER_* commands each process made
// (*posix.ThreadGroup -> int); one process per machine keeps it tiny.
var membarrierRegs sync.Map

func membarrierRegister(g any, cmd int) {
	for {
		old, _ := membarrierRegs.LoadOrStore(g, 0)
		if membarrierRegs.CompareAndSwap(g, old, old.(int)|cmd) {
			return
		}
	}
}

func membarrierIsRegistered(g any, cmd int) bool {
	v, ok := membarrierRegs.Load(g)
	return ok && v.(int)&cmd != 0
}
