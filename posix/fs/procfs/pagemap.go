package procfs

import (
	"encoding/binary"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/mm"
	"github.com/rumpgo/rumpgo/posix/vfs"
	"golang.org/x/sys/unix"
)

// pagemap bits (Documentation/admin-guide/mm/pagemap.rst).
const (
	PM_PFRAME_MASK    = 1<<55 - 1
	PM_SOFT_DIRTY     = 1 << 55
	PM_MMAP_EXCLUSIVE = 1 << 56
	PM_FILE           = 1 << 61
	PM_SWAP           = 1 << 62
	PM_PRESENT        = 1 << 63
	pmEntryBytes      = 8
)

// pagemap is /proc/PID/pagemap: one 64-bit entry per virtual page, read
// from the page table when read. Frame numbers are guest-physical, and
// shown only to a reader with CAP_SYS_ADMIN, as Linux does.
func (fs *FS) pagemap(n *node, pid int) *node {
	c := n.child("pagemap", vfs.S_IFREG|0o400)
	c.open = func(ctx *vfs.Context, flags int) (vfs.FileImpl, unix.Errno) {
		p, e := fs.proc(pid)
		if e != 0 {
			return nil, e
		}
		if p.Zombie || p.Group.MM == nil {
			return nil, unix.ESRCH
		}
		return &pagemapFile{as: p.Group.MM, frames: ctx.Cred.Capable(posix.CAP_SYS_ADMIN)}, 0
	}
	return c
}

type pagemapFile struct {
	as     *mm.AddressSpace
	frames bool
}

func (f *pagemapFile) ReadAt(_ *vfs.Context, b []byte, off int64) (int, unix.Errno) {
	if off%pmEntryBytes != 0 || len(b)%pmEntryBytes != 0 {
		return 0, unix.EINVAL
	}
	const pages = mm.StackTop / mm.PageSize
	first := uint64(off) / pmEntryBytes
	if off < 0 || first >= pages {
		return 0, 0
	}
	n := min(uint64(len(b)/pmEntryBytes), pages-first)
	vmas := f.as.VMAs()
	for i := uint64(0); i < n; i++ {
		va := (first + i) * mm.PageSize
		binary.LittleEndian.PutUint64(b[i*pmEntryBytes:], f.entry(vmas, va))
	}
	return int(n * pmEntryBytes), 0
}

func (f *pagemapFile) entry(vmas []mm.VMA, va uint64) uint64 {
	var v *mm.VMA
	for i := range vmas {
		if vmas[i].Start <= va && va < vmas[i].End {
			v = &vmas[i]
			break
		}
	}
	if v == nil {
		return 0
	}
	pa, ok := f.as.Frame(va)
	if !ok {
		return 0
	}
	e := uint64(PM_PRESENT | PM_SOFT_DIRTY)
	if v.File != nil || v.Flags&unix.MAP_SHARED != 0 {
		e |= PM_FILE
	} else {
		e |= PM_MMAP_EXCLUSIVE
	}
	if f.frames {
		e |= pa / mm.PageSize & PM_PFRAME_MASK
	}
	return e
}

func (f *pagemapFile) WriteAt(*vfs.Context, []byte, int64) (int, unix.Errno) { return 0, unix.EINVAL }
func (f *pagemapFile) Release()                                              {}
