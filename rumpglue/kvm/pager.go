package kvm

import (
	"github.com/rumpgo/rumpgo/boot"
	"golang.org/x/sys/unix"
)

// Pager implements mm.Pager on the machine's memory and page table.
type Pager struct{ m *Machine }

// Pager returns the mm.Pager of the machine's address space.
func (m *Machine) Pager() *Pager { return &Pager{m} }

func (p *Pager) AllocFrame() (uint64, error) { return p.m.M.Mem.Alloc() }
func (p *Pager) FreeFrames(frames []uint64)  { p.m.M.Mem.Free(frames) }
func (p *Pager) Bytes(pa, n uint64) []byte   { return p.m.M.Mem.Bytes(pa, n) }
func (p *Pager) Shootdown()                  { p.m.Shootdown() }
func (p *Pager) MapPage(va, pa uint64, prot int) error {
	return p.m.PT.Map(va, pa, boot.ProtFlags(prot))
}

func (p *Pager) Translate(va uint64) (uint64, int, bool) {
	pte := p.m.PT.Lookup(va)
	switch {
	case pte&boot.PTE_P != 0:
		prot := unix.PROT_READ
		if pte&boot.PTE_W != 0 {
			prot |= unix.PROT_WRITE
		}
		if pte&boot.PTE_NX == 0 {
			prot |= unix.PROT_EXEC
		}
		return boot.Frame(pte), prot, true
	case pte&boot.PTE_PROTNONE != 0:
		return boot.Frame(pte), unix.PROT_NONE, true
	}
	return 0, 0, false
}

func (p *Pager) UnmapRange(start, end uint64, fn func(va, pa uint64)) {
	p.m.PT.Walk(start, end, func(va uint64, e *uint64) {
		pa := boot.Frame(*e)
		boot.SetPTE(e, 0)
		fn(va, pa)
	})
}

func (p *Pager) ProtectRange(start, end uint64, prot int) {
	p.m.PT.Walk(start, end, func(va uint64, e *uint64) {
		pa := boot.Frame(*e)
		if prot == unix.PROT_NONE {
			boot.SetPTE(e, pa|boot.PTE_PROTNONE)
		} else {
			boot.SetPTE(e, pa|boot.ProtFlags(prot))
		}
	})
}
