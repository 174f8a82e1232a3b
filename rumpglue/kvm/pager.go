package kvm

import (
	"sync"

	"github.com/rumpgo/rumpgo/boot"
	"golang.org/x/sys/unix"
)

// Pager implements mm.Pager on the machine's memory and page table.
type Pager struct {
	m *Machine

	mu    sync.Mutex
	stale []uint64 // frames that lost a mapping or a permission: see Shootdown
}

// Pager returns the mm.Pager of the machine's address space.
func (m *Machine) Pager() *Pager { return m.pager }

func (p *Pager) AllocFrame() (uint64, error) { return p.m.M.Mem.Alloc() }
func (p *Pager) FreeFrames(frames []uint64)  { p.m.M.Mem.Free(frames) }
func (p *Pager) Bytes(pa, n uint64) []byte   { return p.m.M.Mem.Bytes(pa, n) }

// Shootdown drops every vCPU's translations of the frames whose mappings
// were removed or narrowed since the last call (boot.Memory.Invalidate).
// KVM flushes the vCPUs itself, so no vCPU needs a kick.
func (p *Pager) Shootdown() {
	p.mu.Lock()
	stale := p.stale
	p.stale = nil
	p.mu.Unlock()
	if len(stale) > 0 {
		p.m.M.Mem.Invalidate(stale)
	}
}

func (p *Pager) markStale(pa uint64) {
	p.mu.Lock()
	p.stale = append(p.stale, pa)
	p.mu.Unlock()
}
func (p *Pager) MapPage(va, pa uint64, prot int) error {
	return p.m.PT.Map(va, pa, boot.ProtFlags(prot))
}

func (p *Pager) Translate(va uint64) (uint64, int, bool) { return boot.PTEProt(p.m.PT.Lookup(va)) }

func (p *Pager) UnmapRange(start, end uint64, fn func(va, pa uint64)) {
	p.m.PT.Walk(start, end, func(va uint64, e *uint64) {
		pa := boot.Frame(*e)
		if *e&boot.PTE_P != 0 {
			p.markStale(pa)
		}
		boot.SetPTE(e, 0)
		fn(va, pa)
	})
}

func (p *Pager) ProtectRange(start, end uint64, prot int) {
	p.m.PT.Walk(start, end, func(va uint64, e *uint64) {
		pa := boot.Frame(*e)
		if old := *e; old&boot.PTE_P != 0 && (prot&unix.PROT_WRITE == 0 && old&boot.PTE_W != 0 ||
			prot&unix.PROT_EXEC == 0 && old&boot.PTE_NX == 0 || prot == unix.PROT_NONE) {
			p.markStale(pa)
		}
		if prot == unix.PROT_NONE {
			boot.SetPTE(e, pa|boot.PTE_PROTNONE)
		} else {
			boot.SetPTE(e, pa|boot.ProtFlags(prot))
		}
	})
}
