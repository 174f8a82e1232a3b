package mm

import "golang.org/x/sys/unix"

// MapSpecial maps frames the machine owns at addr, one page each, present
// from the start, as Linux installs [vvar] and [vdso]: the machine keeps
// writing the frames through its own view of them, and the address space
// never frees them. The range must be free (EEXIST otherwise) and prot may
// not include PROT_WRITE. The mapping is not committed against the limit,
// since its frames are already the machine's.
//
// Afterwards it behaves as Linux's special mappings do: munmap and MAP_FIXED
// remove it, PROT_NONE and back keeps it, MADV_DONTNEED drops its pages and
// the next touch brings the same frames back, and mprotect to writable fails
// with EACCES.
func (as *AddressSpace) MapSpecial(addr uint64, frames []uint64, prot int, name string) unix.Errno {
	length := uint64(len(frames)) * PageSize
	switch {
	case len(frames) == 0, addr%PageSize != 0, prot&^(unix.PROT_READ|unix.PROT_EXEC) != 0:
		return unix.EINVAL
	case addr < mmapMin || addr+length > StackTop || addr+length < addr:
		return unix.ENOMEM
	}
	as.mu.Lock()
	defer as.mu.Unlock()
	if !as.free(addr, addr+length) {
		return unix.EEXIST
	}
	if prot != unix.PROT_NONE {
		for i, f := range frames {
			if err := as.pager.MapPage(addr+uint64(i)*PageSize, f, prot); err != nil {
				as.pager.UnmapRange(addr, addr+length, func(_, _ uint64) {})
				return unix.ENOMEM
			}
		}
	}
	if as.pinned == nil {
		as.pinned = map[uint64]struct{}{}
	}
	for _, f := range frames {
		as.pinned[f] = struct{}{}
	}
	as.insert(VMA{Start: addr, End: addr + length, Prot: prot, Flags: unix.MAP_PRIVATE, Name: name,
		frames: append([]uint64(nil), frames...), frameBase: addr})
	return 0
}

// MmapBase is where top-down mmap placement starts; the machine's own
// mappings ([vvar], [vdso]) go just below it, as on Linux without ASLR.
const MmapBase = mmapBase
