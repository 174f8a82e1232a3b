package boot

import (
	"fmt"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// x86-64 page-table entry bits.
const (
	PTE_P  = 1 << 0
	PTE_W  = 1 << 1
	PTE_U  = 1 << 2
	PTE_A  = 1 << 5
	PTE_D  = 1 << 6
	PTE_PS = 1 << 7
	PTE_G  = 1 << 8
	// PTE_PROTNONE is a software bit: a PROT_NONE page keeps its frame in a
	// not-present entry, so mprotect back restores its contents.
	PTE_PROTNONE = 1 << 9
	PTE_NX       = 1 << 63
	pteAddr      = 0x000f_ffff_ffff_f000
)

// PageTable is a 4-level x86-64 page table that the host writes in guest
// memory. The caller serializes changes (the address space's lock); the guest
// CPU may walk the table concurrently, so entries are stored atomically.
//
// A and D are set on every leaf up front: with shadow paging a clean or
// unaccessed entry costs an extra fault to track what we never read.
type PageTable struct {
	mem  *Memory
	Root uint64 // guest-physical address of the PML4, for CR3
}

// NewPageTable allocates an empty PML4, 8 KiB aligned with its KPTI user
// root after it (Memory.AllocPair), so that any table can serve a vCPU in
// supervisor mode.
func NewPageTable(mem *Memory) (*PageTable, error) {
	root, err := mem.AllocPair()
	if err != nil {
		return nil, err
	}
	return &PageTable{mem: mem, Root: root}, nil
}

// PageTableAt is the page table whose PML4 is the frame at root.
func PageTableAt(mem *Memory, root uint64) *PageTable { return &PageTable{mem: mem, Root: root} }

// FillLower gives every empty lower-half slot of the PML4 (0–255) an
// empty table, so that nothing mapped later changes the PML4's lower half:
// a copy of it (CopyRoot) then sees every mapping made through either.
// The guest kernel's per-process roots share the kernel's lower half so.
func (pt *PageTable) FillLower() error {
	for i := uint64(0); i < 256; i++ {
		e := pt.entry(pt.Root, i)
		if atomic.LoadUint64(e)&PTE_P != 0 {
			continue
		}
		f, err := pt.mem.Alloc()
		if err != nil {
			return err
		}
		atomic.StoreUint64(e, f|PTE_P|PTE_W|PTE_U|PTE_A)
	}
	return nil
}

// CopyRoot writes from's PML4 into pt's: both roots then translate the
// same, through the same lower tables. It fails unless from's lower half
// is filled (FillLower), which is what keeps the copy true.
func (pt *PageTable) CopyRoot(from *PageTable) error {
	for i := uint64(0); i < 512; i++ {
		v := atomic.LoadUint64(from.entry(from.Root, i))
		if i < 256 && v&PTE_P == 0 {
			return fmt.Errorf("PML4 slot %d of %#x is empty: the lower half was not filled", i, from.Root)
		}
		atomic.StoreUint64(pt.entry(pt.Root, i), v)
	}
	return nil
}

// MapHuge maps the 2 MiB page at pa (2 MiB aligned) at va with leaf flags.
func (pt *PageTable) MapHuge(va, pa, flags uint64) error {
	table := pt.Root
	for level := 3; level > 1; level-- {
		e := pt.entry(table, index(va, level))
		v := atomic.LoadUint64(e)
		if v&PTE_P == 0 {
			f, err := pt.mem.Alloc()
			if err != nil {
				return err
			}
			v = f | PTE_P | PTE_W | PTE_U | PTE_A
			atomic.StoreUint64(e, v)
		}
		table = v & pteAddr
	}
	SetPTE(pt.entry(table, index(va, 1)), pa|flags|PTE_PS)
	return nil
}

func (pt *PageTable) entry(table uint64, idx uint64) *uint64 { return pt.mem.Word(table + idx*8) }

func index(va uint64, level int) uint64 { return (va >> (12 + 9*uint(level))) & 511 }

// leaf returns the level-0 entry for va, creating intermediate tables when
// create is set; nil if absent.
func (pt *PageTable) leaf(va uint64, create bool) (*uint64, error) {
	table := pt.Root
	for level := 3; level > 0; level-- {
		e := pt.entry(table, index(va, level))
		v := atomic.LoadUint64(e)
		if v&PTE_P == 0 {
			if !create {
				return nil, nil
			}
			f, err := pt.mem.Alloc()
			if err != nil {
				return nil, err
			}
			// Intermediate levels grant everything; leaves decide.
			v = f | PTE_P | PTE_W | PTE_U | PTE_A
			atomic.StoreUint64(e, v)
		}
		table = v & pteAddr
	}
	return pt.entry(table, index(va, 0)), nil
}

// ProtFlags turns mmap protections into leaf bits. PROT_NONE pages are never
// present, so callers unmap instead of asking for flags 0.
func ProtFlags(prot int) uint64 {
	f := uint64(PTE_P | PTE_U | PTE_A | PTE_D)
	if prot&unix.PROT_WRITE != 0 {
		f |= PTE_W
	}
	if prot&unix.PROT_EXEC == 0 {
		f |= PTE_NX
	}
	return f
}

// PTEProt decodes a leaf entry written with ProtFlags or PTE_PROTNONE: its
// frame, its PROT_* bits, and whether it maps anything.
func PTEProt(pte uint64) (frame uint64, prot int, ok bool) {
	switch {
	case pte&PTE_P != 0:
		prot = unix.PROT_READ
		if pte&PTE_W != 0 {
			prot |= unix.PROT_WRITE
		}
		if pte&PTE_NX == 0 {
			prot |= unix.PROT_EXEC
		}
		return Frame(pte), prot, true
	case pte&PTE_PROTNONE != 0:
		return Frame(pte), unix.PROT_NONE, true
	}
	return 0, 0, false
}

// Map installs va -> pa with the given leaf flags.
func (pt *PageTable) Map(va, pa, flags uint64) error {
	e, err := pt.leaf(va, true)
	if err != nil {
		return err
	}
	atomic.StoreUint64(e, pa|flags)
	return nil
}

// Lookup returns the leaf entry for va (0 when not present).
func (pt *PageTable) Lookup(va uint64) uint64 {
	e, _ := pt.leaf(va, false)
	if e == nil {
		return 0
	}
	return atomic.LoadUint64(e)
}

// Frame returns the frame of a present entry.
func Frame(pte uint64) uint64 { return pte & pteAddr }

// Walk calls fn for every present or PROT_NONE leaf in [start, end), skipping absent
// upper-level tables so that sparse ranges cost little. fn gets a pointer to
// the entry and may rewrite it with SetPTE.
func (pt *PageTable) Walk(start, end uint64, fn func(va uint64, e *uint64)) {
	pt.walk(pt.Root, 3, 0, start, end, fn)
}

func (pt *PageTable) walk(table uint64, level int, base, start, end uint64, fn func(uint64, *uint64)) {
	span := uint64(1) << (12 + 9*uint(level))
	for i := uint64(0); i < 512; i++ {
		lo := base + i*span
		if level == 3 && i >= 256 {
			lo |= 0xffff_0000_0000_0000 // sign-extend the upper half
		}
		last := lo + span - 1 // inclusive: the top entry's end overflows
		if last < start || lo >= end {
			continue
		}
		e := pt.entry(table, i)
		v := atomic.LoadUint64(e)
		if level == 0 {
			if v&(PTE_P|PTE_PROTNONE) != 0 {
				fn(lo, e)
			}
			continue
		}
		if v&PTE_P == 0 {
			continue
		}
		pt.walk(v&pteAddr, level-1, lo, start, end, fn)
	}
}

// Unmap clears every present or PROT_NONE leaf in [start, end), calling fn
// with its frame and whether it was present: only a present one can be in
// a vCPU's translations.
func (pt *PageTable) Unmap(start, end uint64, fn func(va, pa uint64, present bool)) {
	pt.Walk(start, end, func(va uint64, e *uint64) {
		old := atomic.LoadUint64(e)
		SetPTE(e, 0)
		fn(va, Frame(old), old&PTE_P != 0)
	})
}

// Protect rewrites the protection of the leaves in [start, end), calling
// narrowed with the frame of each present one that loses write or execute
// permission or becomes PROT_NONE: translations of it must be dropped.
func (pt *PageTable) Protect(start, end uint64, prot int, narrowed func(pa uint64)) {
	pt.Walk(start, end, func(va uint64, e *uint64) {
		pa := Frame(*e)
		if old := *e; old&PTE_P != 0 && (prot&unix.PROT_WRITE == 0 && old&PTE_W != 0 ||
			prot&unix.PROT_EXEC == 0 && old&PTE_NX == 0 || prot == unix.PROT_NONE) {
			narrowed(pa)
		}
		if prot == unix.PROT_NONE {
			SetPTE(e, pa|PTE_PROTNONE)
		} else {
			SetPTE(e, pa|ProtFlags(prot))
		}
	})
}

// Present calls fn for every leaf in [start, end) that has a frame,
// PROT_NONE ones included, in address order.
func (pt *PageTable) Present(start, end uint64, fn func(va, pa uint64, prot int)) {
	pt.Walk(start, end, func(va uint64, e *uint64) {
		pa, prot, _ := PTEProt(*e)
		fn(va, pa, prot)
	})
}

// SetPTE stores a leaf entry atomically.
func SetPTE(e *uint64, v uint64) { atomic.StoreUint64(e, v) }
