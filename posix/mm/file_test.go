package mm_test

import (
	"testing"

	"github.com/rumpgo/rumpgo/posix/mm"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// memFile is an mm.File of size bytes whose shared pages live in frames.
type memFile struct {
	data   []byte
	frames map[uint64]uint64
	fr     mm.Frames
	refs   int
	syncs  int
}

func (f *memFile) MapRef()   { f.refs++ }
func (f *memFile) MapUnref() { f.refs-- }
func (f *memFile) ReadPage(pg uint64, dst []byte) bool {
	if pg*mm.PageSize >= uint64(len(f.data)) {
		return false
	}
	clear(dst)
	if pa, ok := f.frames[pg]; ok {
		copy(dst, f.fr.Bytes(pa, mm.PageSize))
		return true
	}
	copy(dst, f.data[pg*mm.PageSize:])
	return true
}
func (f *memFile) SharedPage(fr mm.Frames, pg uint64) (uint64, bool, error) {
	if pg*mm.PageSize >= uint64(len(f.data)) {
		return 0, false, nil
	}
	if pa, ok := f.frames[pg]; ok {
		return pa, true, nil
	}
	pa, err := fr.AllocFrame()
	if err != nil {
		return 0, true, err
	}
	copy(fr.Bytes(pa, mm.PageSize), f.data[pg*mm.PageSize:])
	f.frames[pg], f.fr = pa, fr
	return pa, true, nil
}
func (f *memFile) Sync(off, n uint64) unix.Errno     { f.syncs++; return 0 }
func (f *memFile) MapInfo() (uint64, uint64, string) { return 0, 7, "/memfile" }

func TestFileMappings(t *testing.T) {
	as, _ := newSpace(t, 16<<20)
	f := &memFile{data: make([]byte, 5000), frames: map[uint64]uint64{}}
	copy(f.data, "file")
	rw := unix.PROT_READ | unix.PROT_WRITE

	sh, errno := as.MmapFile(0, 3*mm.PageSize, rw, unix.MAP_SHARED, f, 0, false)
	require.Zero(t, errno)
	require.Equal(t, 1, f.refs)
	require.Zero(t, as.CopyOut(sh, []byte("SHARED")))
	b := make([]byte, 6)
	require.Zero(t, as.CopyIn(sh, b))
	require.Equal(t, "SHARED", string(b))
	require.Equal(t, "SHARED", string(f.fr.Bytes(f.frames[0], 6)), "the write is in the file's frame")
	require.Equal(t, mm.FaultBeyondEOF, as.Fault(sh+2*mm.PageSize, mm.Read), "past the end of file")
	c, _ := as.Committed()
	require.Zero(t, c, "shared file pages are not committed")

	pr, errno := as.MmapFile(0, mm.PageSize, rw, unix.MAP_PRIVATE, f, 0, false)
	require.Zero(t, errno)
	require.Zero(t, as.CopyIn(pr, b))
	require.Equal(t, "SHARED", string(b), "a private mapping starts as the file")
	require.Zero(t, as.CopyOut(pr, []byte("privat")))
	require.Equal(t, "SHARED", string(f.fr.Bytes(f.frames[0], 6)), "its writes stay private")

	require.Zero(t, as.Msync(sh, mm.PageSize, 4 /* MS_SYNC */))
	require.Equal(t, 1, f.syncs)
	require.Equal(t, unix.ENOMEM, as.Msync(0x100000, mm.PageSize, 4))

	// Splitting keeps offsets: unmapping the first page leaves page 1 at
	// sh+PageSize mapping file page 1.
	require.Zero(t, as.Munmap(sh, mm.PageSize))
	vmas := as.VMAs()
	var found bool
	for _, v := range vmas {
		if v.Start == sh+mm.PageSize {
			found = true
			require.EqualValues(t, mm.PageSize, v.Off)
		}
	}
	require.True(t, found)
	require.Zero(t, as.Munmap(sh, 3*mm.PageSize))
	require.Zero(t, as.Munmap(pr, mm.PageSize))
	require.Equal(t, 0, f.refs, "the last unmap drops the reference")

	ro, errno := as.MmapFile(0, mm.PageSize, unix.PROT_READ, unix.MAP_SHARED, f, 0, true)
	require.Zero(t, errno)
	require.Equal(t, unix.EACCES, as.Mprotect(ro, mm.PageSize, rw))
	_, errno = as.MmapFile(0, mm.PageSize, unix.PROT_READ, unix.MAP_SHARED, f, 1, false)
	require.Equal(t, unix.EINVAL, errno)
}
