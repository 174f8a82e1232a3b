// Package mm owns a process's address space: its VMAs, program break,
// commit accounting, demand paging, and every copy between the emulation
// layer and guest memory (bounds- and permission-checked, EFAULT otherwise).
//
// It talks to the machine only through Pager, so the same code can later
// run inside the guest on a nano-kernel.
package mm

import (
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// PageSize is the x86-64 base page size.
const PageSize = 4096

// Pager is what an address space needs from the machine: guest-physical
// frames, host views of them, and one page table.
type Pager interface {
	// AllocFrame returns a zeroed guest-physical frame.
	AllocFrame() (uint64, error)
	// FreeFrames returns frames; they read as zero when handed out again.
	FreeFrames(frames []uint64)
	// Bytes is the host view of guest-physical [pa, pa+n), within one frame.
	Bytes(pa, n uint64) []byte
	// MapPage installs va -> pa with prot (never PROT_NONE).
	MapPage(va, pa uint64, prot int) error
	// Translate returns the frame and protection of a present page.
	Translate(va uint64) (pa uint64, prot int, ok bool)
	// UnmapRange clears every present page in [start, end), calling fn with
	// its frame.
	UnmapRange(start, end uint64, fn func(va, pa uint64))
	// ProtectRange rewrites the protection of present pages in [start, end).
	ProtectRange(start, end uint64, prot int)
	// Present calls fn for every page in [start, end) that has a frame,
	// PROT_NONE ones included, in address order.
	Present(start, end uint64, fn func(va, pa uint64, prot int))
	// Shootdown makes every vCPU drop stale translations before it next runs
	// guest code; called after present pages were removed or downgraded and
	// before their frames are reused.
	Shootdown()
	// Retire gives the page table back once the address space is gone
	// (Release) and nothing is mapped in it any more.
	Retire()
}

// Layout of the lower half, as Linux lays out a 47-bit address space without
// randomization, except that the top GiB belongs to the machine (boot's
// kernel window), so the stack ends below it.
const (
	StackTop  = 0x7fff_bfff_f000
	StackSize = 8 << 20 // RLIMIT_STACK's default
	mmapBase  = StackTop - StackSize - 128<<20
	mmapMin   = 0x10000 // vm.mmap_min_addr
	// faultAround is how many pages one fault maps (aligned, inside the VMA):
	// each fault is a VM exit, while mapping a page the guest may not touch
	// costs the host nothing until it does.
	faultAround = 16
)

// AddressSpace is one process's memory.
type AddressSpace struct {
	mu    sync.RWMutex
	pager Pager
	vmas  []VMA

	brkStart, brk uint64

	// committed counts bytes of accessible (not PROT_NONE) mappings; every
	// such page may need a frame, so mappings past limit fail with ENOMEM
	// instead of the guest dying on a fault it cannot handle.
	committed, limit uint64

	// lockFuture locks mappings as they are made (mlockall MCL_FUTURE).
	lockFuture bool

	// pinned are the frames of special mappings: never freed here.
	pinned map[uint64]struct{}

	// files are the files some VMA maps, each holding one MapRef.
	files map[File]struct{}

	// sharers are the processes beyond the first using it (fork.go).
	sharers int

	id uint64 // FutexKey's tag

	cow *cowFrames // frames shared with forked address spaces (fork.go)
}

var lastID atomic.Uint64

// FutexKey is the futex queue key of addr here: a private futex belongs to
// one address space. The tag takes the 17 bits above the 47-bit user
// range, so ids repeat after 131072 address spaces; a shared futex across
// processes (MAP_SHARED memory) is keyed per process, a known gap.
func (as *AddressSpace) FutexKey(addr uint64) uint64 {
	return as.id<<47 | addr&(1<<47-1)
}

// New makes an empty address space whose accessible mappings may total
// commitLimit bytes.
func New(p Pager, commitLimit uint64) *AddressSpace {
	return &AddressSpace{pager: p, limit: commitLimit, id: lastID.Add(1) % (1 << 17),
		cow: &cowFrames{extra: map[uint64]int{}}}
}

// Pager is the page table the address space maps through.
func (as *AddressSpace) Pager() Pager { return as.pager }

// Committed returns the committed bytes and the limit.
func (as *AddressSpace) Committed() (uint64, uint64) {
	as.mu.RLock()
	defer as.mu.RUnlock()
	return as.committed, as.limit
}

func pageDown(a uint64) uint64 { return a &^ (PageSize - 1) }
func pageUp(a uint64) uint64   { return (a + PageSize - 1) &^ (PageSize - 1) }

// FaultResult says how a page fault ended.
type FaultResult int

const (
	FaultHandled   FaultResult = iota // mapped; resume the instruction
	FaultMapErr                       // no mapping: SIGSEGV/SEGV_MAPERR
	FaultAccErr                       // mapping forbids the access: SIGSEGV/SEGV_ACCERR
	FaultOOM                          // no frame left: SIGBUS, as Linux's VM_FAULT_OOM
	FaultBeyondEOF                    // a file mapping's page past the end of file: SIGBUS
)

// Access is what a faulting instruction tried to do.
type Access int

const (
	Read Access = iota
	Write
	Exec
)

func allowed(prot int, a Access) bool {
	switch a {
	case Write:
		return prot&unix.PROT_WRITE != 0
	case Exec:
		return prot&unix.PROT_EXEC != 0
	}
	return prot&(unix.PROT_READ|unix.PROT_WRITE|unix.PROT_EXEC) != 0
}

// Fault handles a page fault at addr.
func (as *AddressSpace) Fault(addr uint64, a Access) FaultResult {
	as.mu.Lock()
	defer as.mu.Unlock()
	return as.faultLocked(addr, a)
}

func (as *AddressSpace) faultLocked(addr uint64, a Access) FaultResult {
	i := as.find(addr)
	if i < 0 && as.growDown(addr) {
		i = as.find(addr)
	}
	if i < 0 {
		return FaultMapErr
	}
	v := as.vmas[i]
	if !allowed(v.Prot, a) {
		return FaultAccErr
	}
	if pa, prot, ok := as.pager.Translate(addr); ok {
		if a == Write && prot&unix.PROT_WRITE == 0 && v.Prot&unix.PROT_WRITE != 0 {
			return as.breakCOW(v, addr, pa)
		}
		// Present and allowed: a stale translation; resuming retries it.
		return FaultHandled
	}
	if v.Special() {
		// Unmapped by MADV_DONTNEED: the same frame comes back, as a
		// special mapping's page does on Linux.
		va := pageDown(addr)
		if err := as.pager.MapPage(va, v.frames[(va-v.frameBase)/PageSize], v.Prot); err != nil {
			return FaultOOM
		}
		return FaultHandled
	}
	if v.File != nil {
		return as.faultFile(v, addr)
	}
	block := pageDown(addr) &^ (faultAround*PageSize - 1)
	start, end := max(block, v.Start), min(block+faultAround*PageSize, v.End)
	for va := start; va < end; va += PageSize {
		if _, _, ok := as.pager.Translate(va); ok {
			continue
		}
		f, err := as.pager.AllocFrame()
		if err != nil {
			if va <= addr {
				return FaultOOM
			}
			break
		}
		if err := as.pager.MapPage(va, f, v.Prot); err != nil {
			as.pager.FreeFrames([]uint64{f})
			return FaultOOM
		}
	}
	if _, _, ok := as.pager.Translate(addr); !ok {
		return FaultOOM
	}
	return FaultHandled
}
