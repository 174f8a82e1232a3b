package syscalls

import (
	"github.com/rumpgo/rumpgo/posix/mm"
	"golang.org/x/sys/unix"
)

func init() {
	register(unix.SYS_MMAP, Entry{Name: "mmap", Support: Partial, Note: "anonymous mappings; file mappings come with the VFS (ENODEV)",
		fn: sysMmap, args: []argKind{aPtr, aUint, aProt, aMapFlags, aFD, aHex}, ret: rHex})
	register(unix.SYS_MUNMAP, Entry{Name: "munmap", fn: sysMunmap, args: []argKind{aPtr, aUint}})
	register(unix.SYS_MPROTECT, Entry{Name: "mprotect", fn: sysMprotect, args: []argKind{aPtr, aUint, aProt}})
	register(unix.SYS_MADVISE, Entry{Name: "madvise", fn: sysMadvise, args: []argKind{aPtr, aUint, aMadvise}})
	register(unix.SYS_BRK, Entry{Name: "brk", fn: sysBrk, args: []argKind{aPtr}, ret: rHex})
}

func (t *Thread) mm() *mm.AddressSpace { return t.Task.Group.MM }

func sysMmap(t *Thread, a Args) (uint64, unix.Errno) {
	flags := a.Int(3)
	if a[5]%mm.PageSize != 0 {
		return 0, unix.EINVAL
	}
	if flags&unix.MAP_ANONYMOUS == 0 {
		if _, e := t.Task.Group.FDs.Get(a.Int(4)); e != 0 {
			return 0, e
		}
		return 0, unix.ENODEV // the file has no mmap: no VFS-backed files yet
	}
	addr, e := t.mm().Mmap(a[0], a[1], a.Int(2), flags)
	return addr, e
}

func sysMunmap(t *Thread, a Args) (uint64, unix.Errno) { return 0, t.mm().Munmap(a[0], a[1]) }

func sysMprotect(t *Thread, a Args) (uint64, unix.Errno) {
	return 0, t.mm().Mprotect(a[0], a[1], a.Int(2))
}

func sysMadvise(t *Thread, a Args) (uint64, unix.Errno) {
	return 0, t.mm().Madvise(a[0], a[1], a.Int(2))
}

func sysBrk(t *Thread, a Args) (uint64, unix.Errno) { return t.mm().Brk(a[0]), 0 }
