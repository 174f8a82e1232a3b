package kernel

import (
	"encoding/binary"
	"sync"
	"syscall"
	"unsafe"

	"github.com/rumpgo/rumpgo/boot"
	"github.com/rumpgo/rumpgo/rumpglue"
	"golang.org/x/sys/unix"
)

// Pager is one process's page table, the user root of a KPTI pair, as
// posix/mm sees it (mm.Pager): the kernel writes it through the physmap,
// with frames from the pool the monitor set aside. The pair's kernel root,
// 4 KiB below, is the kernel's own (the first process's pair is the
// monitor's root) or a copy of it (Machine.NewSpace): a vCPU runs a
// process with that kernel root in CR3, and PVM switches to the user root
// on the way to user mode.
type Pager struct {
	m   *Machine
	mem *boot.Memory
	pt  *boot.PageTable

	mu      sync.Mutex
	stale   []uint64            // frames that lost a mapping or a permission: see Shootdown
	scratch uint64              // the frame Shootdown passes their list in
	users   rumpglue.SpaceUsers // app threads running in this address space
}

func newPager(m *Machine, mem *boot.Memory, root uint64) (*Pager, error) {
	scratch, err := mem.Alloc()
	if err != nil {
		return nil, err
	}
	p := &Pager{m: m, mem: mem, pt: boot.PageTableAt(mem, root), scratch: scratch}
	// PVM reads the descriptor tables through the user root when the app
	// takes an exception.
	if err := boot.MapEventTables(p.pt); err != nil {
		return nil, err
	}
	return p, nil
}

// physRAM is guest RAM through the kernel's physmap.
func physRAM(size uint64) []byte {
	base := uintptr(boot.PhysmapBase)
	return unsafe.Slice(*(**byte)(unsafe.Pointer(&base)), size)
}

func (p *Pager) AllocFrame() (uint64, error) { return p.mem.Alloc() }
func (p *Pager) FreeFrames(frames []uint64)  { p.mem.Free(frames) }
func (p *Pager) Bytes(pa, n uint64) []byte   { return p.mem.Bytes(pa, n) }

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

func (p *Pager) markStale(pa uint64) {
	p.mu.Lock()
	p.stale = append(p.stale, pa)
	p.mu.Unlock()
}

// Shootdown hands the stale frames to the monitor (HypercallInvalidate),
// which makes KVM drop every vCPU's translations of them before it
// returns: KVM's shadow tables do not see this kernel's writes to the
// user root, and PVM would make INVLPG an exit anyway.
func (p *Pager) Shootdown() {
	p.mu.Lock()
	defer p.mu.Unlock()
	list := p.mem.Bytes(p.scratch, boot.PageSize)
	for len(p.stale) > 0 {
		n := min(len(p.stale), boot.HypercallInvalidateMax)
		for i, f := range p.stale[:n] {
			binary.LittleEndian.PutUint64(list[i*8:], f)
		}
		// A failure means the list was bad, which only a bug here makes.
		if r, _, _ := syscall.RawSyscall(boot.HypercallInvalidate, uintptr(p.scratch), uintptr(n), 0); r != 0 {
			panic("rumpgo guest kernel: HypercallInvalidate refused: " + unix.Errno(-r).Error())
		}
		p.stale = p.stale[n:]
	}
	p.stale = nil
}

// kernelRoot is the pair's kernel root, what CR3 holds while a vCPU runs
// this process.
func (p *Pager) kernelRoot() uint64 { return p.pt.Root - boot.PageSize }

// Retire implements mm.Pager: the process unmapped everything and is
// gone; its pair goes back to the machine's pool once no thread runs in
// it. Pairs are never freed: their kernel roots stay the kernel's, so a
// vCPU whose CR3 still holds one runs the kernel correctly.
func (p *Pager) Retire() { p.users.Retire(p.pool) }

func (p *Pager) use()   { p.users.Use() }
func (p *Pager) unuse() { p.users.Unuse(p.pool) }

// pool hands the pair to NewSpace; the first process's is the monitor's
// own root, which serves a later process as well as any.
func (p *Pager) pool() {
	p.m.mu.Lock()
	p.m.spare = append(p.m.spare, p)
	p.m.mu.Unlock()
}
