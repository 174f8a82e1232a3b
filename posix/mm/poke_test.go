package mm_test

import (
	"testing"

	"github.com/rumpgo/rumpgo/posix/mm"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestPoke: a debugger's write goes into a read-only private page, across
// a page boundary, and leaves the mapping read-only; outside any mapping
// it is EFAULT.
func TestPoke(t *testing.T) {
	as, _ := newSpace(t, 32<<20)
	a, e := as.Mmap(0, 2*4096, unix.PROT_READ|unix.PROT_EXEC, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	require.Zero(t, e)
	require.Equal(t, unix.EFAULT, as.CopyOut(a, []byte{0xcc}))
	require.Zero(t, as.Poke(a+4095, []byte{0xcc, 0xcd}))
	got := make([]byte, 2)
	require.Zero(t, as.CopyIn(a+4095, got))
	require.Equal(t, []byte{0xcc, 0xcd}, got)
	require.Equal(t, unix.EFAULT, as.CopyOut(a, []byte{1}), "still read-only for the program")
	require.Equal(t, mm.FaultAccErr, as.Fault(a, mm.Write))
	require.Equal(t, unix.EFAULT, as.Poke(a+2*4096, []byte{1}), "past the mapping")
}
