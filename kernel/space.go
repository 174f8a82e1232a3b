package kernel

import (
	"github.com/rumpgo/rumpgo/boot"
	"golang.org/x/sys/unix"
)

// space is the app's address space: the KPTI user root, written through
// the physmap with frames from the kernel's pool. It implements
// boot.AddressSpace for the ELF loader.
type space struct {
	mem  *boot.Memory
	pt   *boot.PageTable
	lazy []region // demand-paged (fault.go)
}

func (s *space) MapFixed(addr, length uint64, prot int) error {
	for va := addr; va < addr+length; va += boot.PageSize {
		f, err := s.mem.Alloc()
		if err != nil {
			return err
		}
		if err := s.pt.Map(va, f, leafFlags(prot)); err != nil {
			return err
		}
	}
	return nil
}

func (s *space) Protect(addr, length uint64, prot int) error {
	for va := addr; va < addr+length; va += boot.PageSize {
		if f, _, ok := boot.PTEProt(s.pt.Lookup(va)); ok {
			if err := s.pt.Map(va, f, leafFlags(prot)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *space) Poke(addr uint64, data []byte) error {
	return s.copy(addr, data, func(page, b []byte) { copy(page, b) }, false)
}

// read copies app memory at addr into buf, as the app may read it.
func (s *space) read(addr uint64, buf []byte) error {
	return s.copy(addr, buf, func(page, b []byte) { copy(b, page) }, true)
}

// copy walks [addr, addr+len(b)) page by page; checked refuses pages the
// app could not read itself (EFAULT).
func (s *space) copy(addr uint64, b []byte, move func(page, b []byte), checked bool) error {
	for len(b) > 0 {
		pte := s.pt.Lookup(addr)
		f, _, ok := boot.PTEProt(pte)
		if !ok || checked && pte&boot.PTE_P == 0 {
			return unix.EFAULT
		}
		off := addr % boot.PageSize
		n := min(uint64(len(b)), boot.PageSize-off)
		move(s.mem.Bytes(f+off, n), b[:n])
		addr += n
		b = b[n:]
	}
	return nil
}

// leafFlags are the leaf bits for prot; a PROT_NONE page keeps its frame in
// a not-present entry, so a later Protect finds it.
func leafFlags(prot int) uint64 {
	if prot == unix.PROT_NONE {
		return boot.PTE_PROTNONE
	}
	return boot.ProtFlags(prot)
}
