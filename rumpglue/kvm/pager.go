package kvm

import (
	"errors"
	"sync"

	"github.com/rumpgo/rumpgo/boot"
	"github.com/rumpgo/rumpgo/rumpglue"
)

// Pager is one address space's page table on the machine: it implements
// mm.Pager, and rumpglue.Space for the vCPUs that run on it.
type Pager struct {
	m  *Machine
	pt *boot.PageTable

	mu    sync.Mutex
	stale []uint64            // frames that lost a mapping or a permission: see Shootdown
	users rumpglue.SpaceUsers // vCPUs whose CR3 is this table
}

// Pager returns the machine's first address space's page table.
func (m *Machine) Pager() *Pager { return m.pager }

// NewSpace implements rumpglue.Machine: a page table with nothing mapped
// but the machine's kernel window. Retired tables are reused as they are:
// their intermediate levels stay, so the shadow page tables KVM keeps for
// them never see a present upper-level entry change under them, which
// shadow paging would not notice (see boot.Memory.Invalidate).
func (m *Machine) NewSpace() (rumpglue.Space, error) {
	m.mu.Lock()
	if n := len(m.tables); n > 0 {
		pt := m.tables[n-1]
		m.tables = m.tables[:n-1]
		m.mu.Unlock()
		return &Pager{m: m, pt: pt}, nil
	}
	m.mu.Unlock()
	pt, err := boot.NewPageTable(m.M.Mem)
	if err == nil {
		err = m.M.MapKernel(pt)
	}
	if err != nil {
		return nil, err
	}
	return &Pager{m: m, pt: pt}, nil
}

// pagerOf is the machine's own Pager behind a Space.
func (m *Machine) pagerOf(s rumpglue.Space) (*Pager, error) {
	p, ok := s.(*Pager)
	if !ok || p.m != m {
		return nil, errors.New("address space of another machine")
	}
	return p, nil
}

// Retire implements mm.Pager: the address space unmapped everything and
// is gone. The table goes back to the pool once no vCPU runs on it.
func (p *Pager) Retire() { p.users.Retire(p.pool) }

func (p *Pager) use()   { p.users.Use() }
func (p *Pager) unuse() { p.users.Unuse(p.pool) }

func (p *Pager) pool() {
	if p == p.m.pager {
		return // the first table is every idle vCPU's CR3
	}
	p.m.mu.Lock()
	p.m.tables = append(p.m.tables, p.pt)
	p.m.mu.Unlock()
}

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
	return p.pt.Map(va, pa, boot.ProtFlags(prot))
}

func (p *Pager) Translate(va uint64) (uint64, int, bool) { return boot.PTEProt(p.pt.Lookup(va)) }

func (p *Pager) UnmapRange(start, end uint64, fn func(va, pa uint64)) {
	p.pt.Unmap(start, end, func(va, pa uint64, present bool) {
		if present {
			p.markStale(pa)
		}
		fn(va, pa)
	})
}

func (p *Pager) ProtectRange(start, end uint64, prot int) {
	p.pt.Protect(start, end, prot, p.markStale)
}

func (p *Pager) Present(start, end uint64, fn func(va, pa uint64, prot int)) {
	p.pt.Present(start, end, fn)
}

// Space is the machine's first address space, as rumpglue.Machine users
// take it.
func (m *Machine) Space() rumpglue.Space { return m.pager }

// CPUID is what the guest's CPUID instruction answers.
func (m *Machine) CPUID(fn, index uint32) (eax, ebx, ecx, edx uint32, ok bool) {
	return m.M.CPUID(fn, index)
}
