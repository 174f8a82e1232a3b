package mm_test

import (
	"testing"

	"github.com/rumpgo/rumpgo/boot"
	"github.com/rumpgo/rumpgo/posix/mm"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// forkOf forks as into a fresh page table on the same memory.
func forkOf(t *testing.T, as *mm.AddressSpace, p *pager) (*mm.AddressSpace, *pager) {
	pt, err := boot.NewPageTable(p.mem)
	require.NoError(t, err)
	cp := &pager{mem: p.mem, pt: pt}
	c, e := as.Fork(cp)
	require.Zero(t, e)
	return c, cp
}

func TestForkCopyOnWrite(t *testing.T) {
	as, p := newSpace(t, 32<<20)
	base := p.mem.InUse()
	addr, e := as.Mmap(0, 4*mm.PageSize, rw, anon)
	require.Zero(t, e)
	require.Zero(t, as.CopyOut(addr, []byte("parent")))
	require.Zero(t, as.CopyOut(addr+mm.PageSize, []byte("second")))
	before := p.mem.InUse()

	child, cp := forkOf(t, as, p)
	// Nothing is copied at fork: the pages are shared, read-only on both
	// sides, until one writes.
	for _, pg := range []*pager{p, cp} {
		_, prot, ok := boot.PTEProt(pg.pt.Lookup(addr))
		require.True(t, ok)
		require.Equal(t, unix.PROT_READ, prot)
	}
	sharedPA, _, _ := boot.PTEProt(cp.pt.Lookup(addr))
	parentPA, _, _ := boot.PTEProt(p.pt.Lookup(addr))
	require.Equal(t, parentPA, sharedPA)

	require.Zero(t, child.CopyOut(addr, []byte("child!")))
	require.Zero(t, as.CopyOut(addr+mm.PageSize, []byte("parent 2nd")))
	read := func(s *mm.AddressSpace, a uint64, n int) string {
		b := make([]byte, n)
		require.Zero(t, s.CopyIn(a, b))
		return string(b)
	}
	require.Equal(t, "parent", read(as, addr, 6))
	require.Equal(t, "child!", read(child, addr, 6))
	require.Equal(t, "parent 2nd", read(as, addr+mm.PageSize, 10))
	require.Equal(t, "second", read(child, addr+mm.PageSize, 6))

	// The parent's first page has one owner left: its write upgrades in place.
	require.Zero(t, as.CopyOut(addr, []byte("again")))
	pa, prot, _ := boot.PTEProt(p.pt.Lookup(addr))
	require.Equal(t, parentPA, pa)
	require.Equal(t, rw, prot)

	// mprotect may not make a still-shared page writable.
	require.Zero(t, child.Mprotect(addr, 4*mm.PageSize, unix.PROT_READ))
	require.Zero(t, child.Mprotect(addr, 4*mm.PageSize, rw))
	_, prot, _ = boot.PTEProt(cp.pt.Lookup(addr + 3*mm.PageSize))
	require.Equal(t, unix.PROT_READ, prot, "shared with the parent (fault-around mapped it there)")
	require.Zero(t, child.CopyOut(addr+3*mm.PageSize, []byte("x")))
	require.Equal(t, "x", read(child, addr+3*mm.PageSize, 1))
	require.Equal(t, "\x00", read(as, addr+3*mm.PageSize, 1))
	require.Greater(t, p.mem.InUse(), before)

	child.Release()
	as.Release()
	require.LessOrEqual(t, p.mem.InUse(), base+16, "frames leak after both sides are gone (page tables aside)")
}
