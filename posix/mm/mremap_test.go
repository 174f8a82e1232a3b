package mm_test

import (
	"testing"

	"github.com/rumpgo/rumpgo/posix/mm"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

const pg = mm.PageSize

// fill writes a distinct byte at the start of each of n pages from addr.
func fill(t *testing.T, as *mm.AddressSpace, addr uint64, n int) {
	for i := 0; i < n; i++ {
		require.Zero(t, as.CopyOut(addr+uint64(i)*pg, []byte{byte('a' + i)}))
	}
}

// firstBytes reads the first byte of each of n pages from addr.
func firstBytes(t *testing.T, as *mm.AddressSpace, addr uint64, n int) string {
	out := make([]byte, n)
	for i := range out {
		b := make([]byte, 1)
		require.Zero(t, as.CopyIn(addr+uint64(i)*pg, b))
		out[i] = b[0]
	}
	return string(out)
}

func TestMremap(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, as *mm.AddressSpace, p *pager)
	}{
		{"grow in place", func(t *testing.T, as *mm.AddressSpace, _ *pager) {
			a, _ := as.Mmap(0xc0_0000_0000, 2*pg, rw, anon)
			fill(t, as, a, 2)
			got, e := as.Mremap(a, 2*pg, 4*pg, 0, 0)
			require.Zero(t, e)
			require.Equal(t, a, got)
			require.Equal(t, "ab\x00\x00", firstBytes(t, as, a, 4))
			require.Len(t, as.VMAs(), 1, "one mapping, extended")
		}},
		{"no room without MAYMOVE", func(t *testing.T, as *mm.AddressSpace, _ *pager) {
			a, _ := as.Mmap(0xc0_0000_0000, 2*pg, rw, anon)
			_, e := as.Mmap(a+2*pg, pg, rw, anon|unix.MAP_FIXED)
			require.Zero(t, e)
			_, e = as.Mremap(a, 2*pg, 4*pg, 0, 0)
			require.Equal(t, unix.ENOMEM, e)
		}},
		{"move keeps the pages", func(t *testing.T, as *mm.AddressSpace, p *pager) {
			a, _ := as.Mmap(0xc0_0000_0000, 3*pg, rw, anon)
			_, _ = as.Mmap(a+3*pg, pg, rw, anon|unix.MAP_FIXED)
			fill(t, as, a, 3)
			before := p.shootdowns
			got, e := as.Mremap(a, 3*pg, 8*pg, mm.MREMAP_MAYMOVE, 0)
			require.Zero(t, e)
			require.NotEqual(t, a, got)
			require.Equal(t, "abc\x00\x00\x00\x00\x00", firstBytes(t, as, got, 8))
			require.Equal(t, mm.FaultMapErr, as.Fault(a, mm.Read), "the old range is gone")
			require.Greater(t, p.shootdowns, before)
		}},
		{"shrink", func(t *testing.T, as *mm.AddressSpace, _ *pager) {
			a, _ := as.Mmap(0, 4*pg, rw, anon)
			fill(t, as, a, 4)
			got, e := as.Mremap(a, 4*pg, 2*pg, 0, 0)
			require.Zero(t, e)
			require.Equal(t, a, got)
			require.Equal(t, "ab", firstBytes(t, as, a, 2))
			require.Equal(t, mm.FaultMapErr, as.Fault(a+3*pg, mm.Read))
		}},
		{"fixed replaces the target", func(t *testing.T, as *mm.AddressSpace, _ *pager) {
			a, _ := as.Mmap(0, 2*pg, rw, anon)
			fill(t, as, a, 2)
			target, _ := as.Mmap(0xd0_0000_0000, 4*pg, unix.PROT_NONE, anon)
			got, e := as.Mremap(a, 2*pg, 4*pg, mm.MREMAP_MAYMOVE|mm.MREMAP_FIXED, target)
			require.Zero(t, e)
			require.Equal(t, target, got)
			require.Equal(t, "ab\x00\x00", firstBytes(t, as, target, 4))
		}},
		{"dontunmap leaves an empty mapping", func(t *testing.T, as *mm.AddressSpace, _ *pager) {
			a, _ := as.Mmap(0, 2*pg, rw, anon)
			fill(t, as, a, 2)
			got, e := as.Mremap(a, 2*pg, 2*pg, mm.MREMAP_MAYMOVE|mm.MREMAP_DONTUNMAP, 0)
			require.Zero(t, e)
			require.Equal(t, "ab", firstBytes(t, as, got, 2))
			require.Equal(t, "\x00\x00", firstBytes(t, as, a, 2))
		}},
		{"PROT_NONE moves and stays inaccessible", func(t *testing.T, as *mm.AddressSpace, _ *pager) {
			a, _ := as.Mmap(0, 2*pg, rw, anon)
			fill(t, as, a, 2)
			require.Zero(t, as.Mprotect(a, 2*pg, unix.PROT_NONE))
			got, e := as.Mremap(a, 2*pg, 3*pg, mm.MREMAP_MAYMOVE|mm.MREMAP_FIXED, 0xe0_0000_0000)
			require.Zero(t, e)
			require.Equal(t, mm.FaultAccErr, as.Fault(got, mm.Read))
			require.Zero(t, as.Mprotect(got, 3*pg, rw))
			require.Equal(t, "ab\x00", firstBytes(t, as, got, 3))
		}},
		{"commit limit", func(t *testing.T, as *mm.AddressSpace, _ *pager) {
			a, _ := as.Mmap(0, 2*pg, rw, anon)
			_, e := as.Mremap(a, 2*pg, 64<<20, mm.MREMAP_MAYMOVE, 0)
			require.Equal(t, unix.ENOMEM, e)
			c, _ := as.Committed()
			require.EqualValues(t, 2*pg, c)
		}},
		{"bad arguments", func(t *testing.T, as *mm.AddressSpace, _ *pager) {
			a, _ := as.Mmap(0, 2*pg, rw, anon)
			for _, bad := range []struct {
				old, oldSize, newSize uint64
				flags                 int
				newAddr               uint64
				want                  unix.Errno
			}{
				{a + 1, pg, 2 * pg, mm.MREMAP_MAYMOVE, 0, unix.EINVAL},                        // unaligned
				{a, pg, 0, mm.MREMAP_MAYMOVE, 0, unix.EINVAL},                                 // no new size
				{a, pg, 2 * pg, 0x80, 0, unix.EINVAL},                                         // unknown flag
				{a, pg, 2 * pg, mm.MREMAP_FIXED, 0xd0_0000_0000, unix.EINVAL},                 // FIXED without MAYMOVE
				{a, pg, 2 * pg, mm.MREMAP_MAYMOVE | mm.MREMAP_DONTUNMAP, 0, unix.EINVAL},      // DONTUNMAP resizing
				{a, 4 * pg, 8 * pg, mm.MREMAP_MAYMOVE, 0, unix.EFAULT},                        // past the mapping
				{0xf0_0000_0000, pg, 2 * pg, mm.MREMAP_MAYMOVE, 0, unix.EFAULT},               // nothing there
				{a, 0, pg, mm.MREMAP_MAYMOVE, 0, unix.EINVAL},                                 // duplicate a private mapping
				{a, 2 * pg, 2 * pg, mm.MREMAP_MAYMOVE | mm.MREMAP_FIXED, a + pg, unix.EINVAL}, // overlapping target
			} {
				_, e := as.Mremap(bad.old, bad.oldSize, bad.newSize, bad.flags, bad.newAddr)
				require.Equal(t, bad.want, e, "%+v", bad)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			as, p := newSpace(t, 32<<20)
			tc.run(t, as, p)
		})
	}
}
