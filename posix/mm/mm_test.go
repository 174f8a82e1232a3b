package mm_test

import (
	"testing"

	"github.com/rumpgo/rumpgo/boot"
	"github.com/rumpgo/rumpgo/posix/mm"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// pager is mm.Pager over real page tables in real (host-mapped) guest
// memory, without a VM: mm never needs the CPU, only the tables.
type pager struct {
	mem        *boot.Memory
	pt         *boot.PageTable
	shootdowns int
}

func newSpace(t *testing.T, limit uint64) (*mm.AddressSpace, *pager) {
	mem, err := boot.NewMemory(64<<20, boot.ReservedSize)
	require.NoError(t, err)
	t.Cleanup(func() { mem.Close() })
	pt, err := boot.NewPageTable(mem)
	require.NoError(t, err)
	p := &pager{mem: mem, pt: pt}
	return mm.New(p, limit), p
}

func (p *pager) AllocFrame() (uint64, error) { return p.mem.Alloc() }
func (p *pager) FreeFrames(f []uint64)       { p.mem.Free(f) }
func (p *pager) Bytes(pa, n uint64) []byte   { return p.mem.Bytes(pa, n) }
func (p *pager) Shootdown()                  { p.shootdowns++ }
func (p *pager) MapPage(va, pa uint64, prot int) error {
	return p.pt.Map(va, pa, boot.ProtFlags(prot))
}
func (p *pager) Translate(va uint64) (uint64, int, bool) { return boot.PTEProt(p.pt.Lookup(va)) }
func (p *pager) UnmapRange(start, end uint64, fn func(va, pa uint64)) {
	p.pt.Walk(start, end, func(va uint64, e *uint64) { pa := boot.Frame(*e); boot.SetPTE(e, 0); fn(va, pa) })
}
func (p *pager) Retire() {}
func (p *pager) Present(start, end uint64, fn func(va, pa uint64, prot int)) {
	p.pt.Walk(start, end, func(va uint64, e *uint64) { pa, prot, _ := boot.PTEProt(*e); fn(va, pa, prot) })
}
func (p *pager) ProtectRange(start, end uint64, prot int) {
	p.pt.Walk(start, end, func(va uint64, e *uint64) {
		if prot == unix.PROT_NONE {
			boot.SetPTE(e, boot.Frame(*e)|boot.PTE_PROTNONE)
		} else {
			boot.SetPTE(e, boot.Frame(*e)|boot.ProtFlags(prot))
		}
	})
}

const (
	rw   = unix.PROT_READ | unix.PROT_WRITE
	anon = unix.MAP_PRIVATE | unix.MAP_ANONYMOUS
)

func TestMmapPlacement(t *testing.T) {
	as, _ := newSpace(t, 32<<20)
	a, e := as.Mmap(0, 8192, rw, anon)
	require.Zero(t, e)
	b, e := as.Mmap(0, 4096, rw, anon)
	require.Zero(t, e)
	require.Less(t, b, a, "top-down placement")
	h, e := as.Mmap(0xc000000000, 4096, unix.PROT_NONE, anon)
	require.Zero(t, e)
	require.EqualValues(t, 0xc000000000, h, "a free hint is honoured")
	_, e = as.Mmap(0xc000000000, 4096, rw, anon|unix.MAP_FIXED_NOREPLACE)
	require.Equal(t, unix.EEXIST, e)
	_, e = as.Mmap(0x1000, 4096, rw, anon|unix.MAP_FIXED)
	require.Equal(t, unix.EPERM, e, "below mmap_min_addr")
	_, e = as.Mmap(0x123, 4096, rw, anon|unix.MAP_FIXED)
	require.Equal(t, unix.EINVAL, e)
	_, e = as.Mmap(0, 0, rw, anon)
	require.Equal(t, unix.EINVAL, e)
}

func TestCommitLimit(t *testing.T) {
	as, _ := newSpace(t, 1<<20)
	// Reservations are free; making them accessible is what counts.
	r, e := as.Mmap(0, 64<<20, unix.PROT_NONE, anon)
	require.Zero(t, e)
	_, e = as.Mmap(r, 2<<20, rw, anon|unix.MAP_FIXED)
	require.Equal(t, unix.ENOMEM, e)
	_, e = as.Mmap(r, 1<<20, rw, anon|unix.MAP_FIXED)
	require.Zero(t, e)
	require.Equal(t, unix.ENOMEM, as.Mprotect(r+(1<<20), 4096, rw))
	require.Zero(t, as.Munmap(r, 4096))
	require.Zero(t, as.Mprotect(r+(1<<20), 4096, rw), "munmap returned the commit")
}

func TestMunmapSplitsAndDropsPages(t *testing.T) {
	as, p := newSpace(t, 32<<20)
	a, _ := as.Mmap(0, 3*4096, rw, anon)
	require.Zero(t, as.CopyOut(a, make([]byte, 3*4096)))
	require.Zero(t, as.Munmap(a+4096, 4096))
	vmas := as.VMAs()
	require.Len(t, vmas, 2)
	require.Equal(t, mm.FaultMapErr, as.Fault(a+4096, mm.Read))
	require.Equal(t, unix.EFAULT, as.CopyIn(a, make([]byte, 3*4096)))
	require.Equal(t, 1, p.shootdowns, "removing present pages shoots down TLBs")
}

func TestFaultsAndProtection(t *testing.T) {
	as, _ := newSpace(t, 32<<20)
	a, _ := as.Mmap(0, 4096, unix.PROT_READ, anon)
	require.Equal(t, mm.FaultHandled, as.Fault(a, mm.Read))
	require.Equal(t, mm.FaultAccErr, as.Fault(a, mm.Write))
	require.Equal(t, mm.FaultAccErr, as.Fault(a, mm.Exec))
	require.Equal(t, unix.EFAULT, as.CopyOut(a, []byte{1}), "the kernel cannot write a read-only page either")

	b, _ := as.Mmap(0, 4096, rw, anon)
	require.Zero(t, as.CopyOut(b, []byte("kept")))
	require.Zero(t, as.Mprotect(b, 4096, unix.PROT_NONE))
	require.Equal(t, unix.EFAULT, as.CopyIn(b, make([]byte, 4)))
	require.Zero(t, as.Mprotect(b, 4096, rw))
	got := make([]byte, 4)
	require.Zero(t, as.CopyIn(b, got))
	require.Equal(t, "kept", string(got), "PROT_NONE and back keeps contents")

	require.Zero(t, as.Madvise(b, 4096, unix.MADV_DONTNEED))
	require.Zero(t, as.CopyIn(b, got))
	require.Equal(t, []byte{0, 0, 0, 0}, got, "MADV_DONTNEED reads back zero")
	require.Equal(t, unix.ENOMEM, as.Mprotect(b+4096*16, 4096, rw), "unmapped range")
}

func TestCopyBounds(t *testing.T) {
	as, _ := newSpace(t, 32<<20)
	for _, addr := range []uint64{0, 8, mm.StackTop + 4096, ^uint64(0) - 2} {
		require.Equal(t, unix.EFAULT, as.CopyIn(addr, make([]byte, 4)), "%#x", addr)
	}
	a, _ := as.Mmap(0, 4096, rw, anon)
	require.Zero(t, as.CopyOut(a, []byte("abc\x00")))
	s, e := as.CopyInString(a, 64)
	require.Zero(t, e)
	require.Equal(t, "abc", s)
	_, e = as.CopyInString(a, 2)
	require.Equal(t, unix.ENAMETOOLONG, e)
	_, e = as.Word32(a+2, mm.Read)
	require.Equal(t, unix.EINVAL, e)
}

func TestBrk(t *testing.T) {
	as, _ := newSpace(t, 32<<20)
	as.SetBrk(0x600000)
	require.EqualValues(t, 0x600000, as.Brk(0))
	require.EqualValues(t, 0x602010, as.Brk(0x602010))
	require.Zero(t, as.CopyOut(0x602000, []byte{1}))
	require.EqualValues(t, 0x601000, as.Brk(0x601000))
	require.Equal(t, unix.EFAULT, as.CopyOut(0x601000, []byte{1}))
	require.EqualValues(t, 0x601000, as.Brk(0x600000+64<<20), "past the commit limit the break stays")
}

func TestSpecialMapping(t *testing.T) {
	as, p := newSpace(t, 32<<20)
	var frames []uint64
	for range 2 {
		f, err := p.mem.Alloc()
		require.NoError(t, err)
		frames = append(frames, f)
	}
	copy(p.mem.Bytes(frames[1], 4), "vdso")
	const at = 0x7fff_a000_0000
	rx := unix.PROT_READ | unix.PROT_EXEC
	require.Zero(t, as.MapSpecial(at, frames[:1], unix.PROT_READ, "[vvar]"))
	require.Zero(t, as.MapSpecial(at+4096, frames[1:], rx, "[vdso]"))
	for _, tc := range []struct {
		name string
		addr uint64
		prot int
		want unix.Errno
	}{
		{"taken", at, unix.PROT_READ, unix.EEXIST},
		{"unaligned", at + 8, unix.PROT_READ, unix.EINVAL},
		{"writable", 0x7000_0000, rw, unix.EINVAL},
		{"below mmap_min_addr", 0x1000, unix.PROT_READ, unix.ENOMEM},
	} {
		require.Equal(t, tc.want, as.MapSpecial(tc.addr, frames[:1], tc.prot, "x"), tc.name)
	}

	vmas := as.VMAs()
	require.Len(t, vmas, 2, "neighbouring special mappings stay apart")
	require.Equal(t, "[vvar]", vmas[0].Name)
	require.True(t, vmas[1].Special())
	committed, _ := as.Committed()
	require.Zero(t, committed, "the machine's frames are not the guest's commit")

	got := make([]byte, 4)
	require.Zero(t, as.CopyIn(at+4096, got), "present from the start")
	require.Equal(t, "vdso", string(got))
	require.Equal(t, mm.FaultAccErr, as.Fault(at, mm.Write))
	require.Equal(t, unix.EACCES, as.Mprotect(at, 8192, rw))
	require.Zero(t, as.Mprotect(at+4096, 4096, unix.PROT_NONE))
	require.Zero(t, as.Mprotect(at+4096, 4096, rx))
	require.Zero(t, as.Madvise(at+4096, 4096, unix.MADV_DONTNEED))
	require.Equal(t, mm.FaultHandled, as.Fault(at+4096, mm.Exec), "the same frame comes back")
	require.Zero(t, as.CopyIn(at+4096, got))
	require.Equal(t, "vdso", string(got))

	// Unmapping or mapping over it never hands the frames to the allocator.
	require.Zero(t, as.Munmap(at, 4096))
	_, e := as.Mmap(at+4096, 4096, rw, anon|unix.MAP_FIXED)
	require.Zero(t, e)
	require.Zero(t, as.CopyOut(at+4096, []byte("anon")))
	require.Equal(t, "vdso", string(p.mem.Bytes(frames[1], 4)), "a fresh frame backs the new mapping")
	require.Equal(t, unix.EFAULT, as.CopyIn(at, got))
	for range 64 {
		f, err := p.mem.Alloc()
		require.NoError(t, err)
		require.NotContains(t, frames, f)
	}
}

// TestReserveOnly: thread stacks (MAP_STACK) and MAP_NORESERVE mappings
// are reserved, not committed — a program with many 8 MiB thread stacks
// fits a small --memory as it fits Linux's heuristic overcommit (issue 22:
// pthread_create failed past ~60 threads under --memory 512) — while
// ordinary private mappings still count.
func TestReserveOnly(t *testing.T) {
	as, _ := newSpace(t, 16<<20)
	rw := unix.PROT_READ | unix.PROT_WRITE
	anon := unix.MAP_PRIVATE | unix.MAP_ANONYMOUS
	var stacks []uint64
	for i := 0; i < 8; i++ {
		a, e := as.Mmap(0, 8<<20, rw, anon|unix.MAP_STACK)
		require.Zero(t, e, "stack %d", i)
		stacks = append(stacks, a)
	}
	_, e := as.Mmap(0, 8<<20, rw, anon|unix.MAP_NORESERVE)
	require.Zero(t, e)
	committed, _ := as.Committed()
	require.Zero(t, committed)
	// The guard page glibc makes, and back: still nothing charged.
	require.Zero(t, as.Mprotect(stacks[0], 4096, unix.PROT_NONE))
	require.Zero(t, as.Mprotect(stacks[0], 4096, rw))
	committed, _ = as.Committed()
	require.Zero(t, committed)
	_, e = as.Mmap(0, 12<<20, rw, anon)
	require.Zero(t, e)
	_, e = as.Mmap(0, 8<<20, rw, anon)
	require.Equal(t, unix.ENOMEM, e, "ordinary mappings past the limit")
	require.Zero(t, as.Munmap(stacks[1], 8<<20))
	committed, _ = as.Committed()
	require.EqualValues(t, 12<<20, committed)
}
