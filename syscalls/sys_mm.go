package syscalls

import (
	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/mm"
	"github.com/rumpgo/rumpgo/posix/vfs"
	"golang.org/x/sys/unix"
)

func init() {
	register(unix.SYS_MMAP, Entry{Name: "mmap", Support: Partial, Note: "anonymous and file mappings (MAP_PRIVATE copies pages when first touched, so later writes to the file do not show in pages already touched; MAP_SHARED maps tmpfs pages themselves); /dev/zero maps anonymous memory (shared or private); other files without pages (devices, /proc) are ENODEV",
		fn: sysMmap, args: []argKind{aPtr, aUint, aProt, aMapFlags, aFD, aHex}, ret: rHex})
	register(unix.SYS_MUNMAP, Entry{Name: "munmap", fn: sysMunmap, args: []argKind{aPtr, aUint}})
	register(unix.SYS_MPROTECT, Entry{Name: "mprotect", fn: sysMprotect, args: []argKind{aPtr, aUint, aProt}})
	register(unix.SYS_MADVISE, Entry{Name: "madvise", fn: sysMadvise, args: []argKind{aPtr, aUint, aMadvise}})
	register(unix.SYS_MINCORE, Entry{Name: "mincore", fn: sysMincore, args: []argKind{aPtr, aUint, aPtr}})
	register(unix.SYS_MSYNC, Entry{Name: "msync", fn: sysMsync, args: []argKind{aPtr, aUint, aHex}})
	register(unix.SYS_BRK, Entry{Name: "brk", fn: sysBrk, args: []argKind{aPtr}, ret: rHex})
}

func (t *Thread) mm() *mm.AddressSpace { return t.Task.Group.MM }

func sysMmap(t *Thread, a Args) (uint64, unix.Errno) {
	flags := a.Int(3)
	if a[5]%mm.PageSize != 0 {
		return 0, unix.EINVAL
	}
	if flags&unix.MAP_ANONYMOUS == 0 {
		return t.mmapFile(a, flags)
	}
	if e := t.mayExpand(a[0], a[1], a.Int(2), flags); e != 0 {
		return 0, e
	}
	addr, e := t.mm().Mmap(a[0], a[1], a.Int(2), flags)
	return addr, e
}

// isData reports whether a mapping counts against RLIMIT_DATA: private,
// writable and not a stack, as Linux's is_data_mapping.
func isData(prot, flags int) bool {
	return prot&unix.PROT_WRITE != 0 && flags&(unix.MAP_SHARED|unix.MAP_GROWSDOWN) == 0
}

// mayExpand checks RLIMIT_AS and RLIMIT_DATA before a mapping of length
// bytes (at addr when fixed) is made, as Linux's may_expand_vm: the address
// space may not grow past RLIMIT_AS, nor its private writable part past
// RLIMIT_DATA (ENOMEM). A fixed mapping counts only what it adds to what it
// replaces. The sums are taken before the mapping is made, so threads
// mapping at once can together exceed the limit by their requests.
func (t *Thread) mayExpand(addr, length uint64, prot, flags int) unix.Errno {
	lim := t.Task.Group.Limits
	as, data := lim.Get(unix.RLIMIT_AS), lim.Get(unix.RLIMIT_DATA)
	if as.Cur == posix.RLIM_INFINITY && data.Cur == posix.RLIM_INFINITY {
		return 0 // the usual case: no need to walk the mappings
	}
	length = (length + mm.PageSize - 1) &^ (mm.PageSize - 1)
	if length == 0 {
		return 0 // mm rejects it
	}
	fixed := flags&(unix.MAP_FIXED|unix.MAP_FIXED_NOREPLACE) != 0
	var total, dataTotal, overlap uint64
	for _, v := range t.mm().VMAs() {
		n := v.End - v.Start
		total += n
		if isData(v.Prot, v.Flags) {
			dataTotal += n
		}
		if fixed && v.End > addr && v.Start < addr+length {
			overlap += min(v.End, addr+length) - max(v.Start, addr)
		}
	}
	grow := length - min(overlap, length)
	if total+grow > as.Cur {
		return unix.ENOMEM
	}
	// Linux lets a zero soft RLIMIT_DATA mean the hard one, for programs
	// that lower it only to catch mistakes.
	if isData(prot, flags) && dataTotal+grow > data.Cur && !(data.Cur == 0 && dataTotal+grow <= data.Max) {
		return unix.ENOMEM
	}
	return 0
}

func sysMunmap(t *Thread, a Args) (uint64, unix.Errno) { return 0, t.mm().Munmap(a[0], a[1]) }

func sysMprotect(t *Thread, a Args) (uint64, unix.Errno) {
	return 0, t.mm().Mprotect(a[0], a[1], a.Int(2))
}

func sysMadvise(t *Thread, a Args) (uint64, unix.Errno) {
	return 0, t.mm().Madvise(a[0], a[1], a.Int(2))
}

// sysBrk moves the break. Growth counts against RLIMIT_AS and RLIMIT_DATA
// (the heap is private and writable); past them the break stays put, which
// is how brk fails.
func sysBrk(t *Thread, a Args) (uint64, unix.Errno) {
	old := t.mm().Brk(0)
	oldEnd := (old + mm.PageSize - 1) &^ (mm.PageSize - 1)
	if a[0] > oldEnd && t.mayExpand(oldEnd, a[0]-oldEnd, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_FIXED) != 0 {
		return old, 0
	}
	return t.mm().Brk(a[0]), 0
}

// MAP_SHARED_VALIDATE asks mmap to refuse unknown flags (linux/mman.h).
const MAP_SHARED_VALIDATE = 0x03

// legacyMapMask are the flags MAP_SHARED_VALIDATE accepts (LEGACY_MAP_MASK
// in linux/mman.h), the huge page size bits included.
const legacyMapMask = unix.MAP_SHARED | unix.MAP_PRIVATE | unix.MAP_FIXED | unix.MAP_ANONYMOUS | unix.MAP_DENYWRITE |
	unix.MAP_EXECUTABLE | 0x4000000 /* MAP_UNINITIALIZED */ | unix.MAP_GROWSDOWN | unix.MAP_LOCKED | unix.MAP_NORESERVE |
	unix.MAP_POPULATE | unix.MAP_NONBLOCK | unix.MAP_STACK | unix.MAP_HUGETLB | unix.MAP_32BIT | 0x3f<<26

// mmapFile maps the file at fd a[4] from offset a[5].
func (t *Thread) mmapFile(a Args, flags int) (uint64, unix.Errno) {
	f, e := t.file(a.Int(4))
	if e != 0 {
		return 0, e
	}
	prot := a.Int(2)
	vf, ok := f.File.(*vfs.File)
	if !ok {
		return 0, unix.ENODEV
	}
	if vf.PathOnly() {
		return 0, unix.EBADF
	}
	// file_mmap_ok: the mapping must end within the largest file offset
	// (MAX_LFS_FILESIZE), before the flags and access are checked.
	const maxLFSFileSize = 1<<63 - 1
	if length := (a[1] + mm.PageSize - 1) &^ (mm.PageSize - 1); a[1] != 0 && length != 0 &&
		(length > maxLFSFileSize || a[5] > maxLFSFileSize-length) {
		return 0, unix.EOVERFLOW
	}
	if flags&MAP_SHARED_VALIDATE == MAP_SHARED_VALIDATE {
		// Shared, with the flags checked: Linux's legacy ones only
		// (MAP_SYNC needs a DAX file, which none is here).
		if flags&^legacyMapMask != 0 {
			return 0, unix.EOPNOTSUPP
		}
		flags &^= unix.MAP_PRIVATE
	}
	shared := flags&unix.MAP_SHARED != 0
	// Mapping needs a readable file; a writable shared mapping a
	// writable one, and never an append-only one (Linux's do_mmap).
	if !readable(f) {
		return 0, unix.EACCES
	}
	if shared && prot&unix.PROT_WRITE != 0 && (!writable(f) || f.Flags()&unix.O_APPEND != 0) {
		return 0, unix.EACCES
	}
	if _, ok := vf.Impl().(interface{ AnonymousMapping() }); ok {
		// /dev/zero: anonymous memory, shared (shmem_zero_setup) or not.
		if e := t.mayExpand(a[0], a[1], prot, flags); e != 0 {
			return 0, e
		}
		return t.mm().Mmap(a[0], a[1], prot, flags|unix.MAP_ANONYMOUS)
	}
	mf, ok := vf.Mappable()
	if !ok {
		return 0, unix.ENODEV
	}
	if a[1] == 0 {
		return 0, unix.EINVAL
	}
	if e := t.mayExpand(a[0], a[1], prot, flags); e != 0 {
		return 0, e
	}
	return t.mm().MmapFile(a[0], a[1], prot, flags, mf, a[5], !writable(f))
}

func sysMsync(t *Thread, a Args) (uint64, unix.Errno) {
	return 0, t.mm().Msync(a[0], a[1], a.Int(2))
}

// sysMincore reports which pages of a mapped range are in memory: one byte
// per page, 1 when the page is present in the guest's page table.
func sysMincore(t *Thread, a Args) (uint64, unix.Errno) {
	addr, length := a[0], a[1]
	if addr%mm.PageSize != 0 {
		return 0, unix.EINVAL
	}
	if length == 0 {
		return 0, 0
	}
	end := addr + (length+mm.PageSize-1)&^(mm.PageSize-1)
	if end < addr || end > mm.StackTop {
		return 0, unix.ENOMEM
	}
	// Every page of the range must be mapped, as Linux checks.
	next := addr
	for _, v := range t.mm().VMAs() {
		if v.End <= next || v.Start > next {
			if v.Start > next && v.Start < end {
				return 0, unix.ENOMEM
			}
			continue
		}
		next = v.End
		if next >= end {
			break
		}
	}
	if next < end {
		return 0, unix.ENOMEM
	}
	vec := make([]byte, (end-addr)/mm.PageSize)
	var probe [1]byte
	for i := range vec {
		if t.mm().ReadResident(addr+uint64(i)*mm.PageSize, probe[:]) {
			vec[i] = 1
		}
	}
	return 0, t.mm().CopyOut(a[2], vec)
}
