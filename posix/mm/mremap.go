package mm

import "golang.org/x/sys/unix"

// mremap(2) flags (linux/mman.h).
const (
	MREMAP_MAYMOVE   = 1
	MREMAP_FIXED     = 2
	MREMAP_DONTUNMAP = 4
)

// Mremap is mremap(2): it shrinks, grows or moves the part [old,
// old+oldSize) of one mapping to newSize bytes and returns where it now
// is. glibc's realloc of a large (mmap'd) block uses it with
// MREMAP_MAYMOVE, so the block grows without a copy.
//
// Growing happens in place when the pages after the mapping are free,
// else, with MREMAP_MAYMOVE, by moving the page-table entries (not the
// bytes) to a free range or, with MREMAP_FIXED, to newAddr, replacing
// what was there. MREMAP_DONTUNMAP leaves the old range mapped but empty
// (a private anonymous mapping reads zeros there afterwards). An oldSize
// of 0, which on Linux duplicates a shared mapping, is EINVAL here
// unless the mapping is a shared file mapping. Special mappings ([vdso],
// [vvar]) do not move (EINVAL).
func (as *AddressSpace) Mremap(old, oldSize, newSize uint64, flags int, newAddr uint64) (uint64, unix.Errno) {
	switch {
	case flags&^(MREMAP_MAYMOVE|MREMAP_FIXED|MREMAP_DONTUNMAP) != 0,
		old%PageSize != 0,
		flags&MREMAP_FIXED != 0 && flags&MREMAP_MAYMOVE == 0,
		flags&MREMAP_DONTUNMAP != 0 && (flags&MREMAP_MAYMOVE == 0 || oldSize != newSize):
		return 0, unix.EINVAL
	}
	oldSize, newSize = pageUp(oldSize), pageUp(newSize)
	if newSize == 0 || newSize > StackTop || old+oldSize < old || old+oldSize > StackTop {
		return 0, unix.EINVAL
	}
	fixed := flags&MREMAP_FIXED != 0
	if fixed {
		if newAddr%PageSize != 0 || newAddr+newSize < newAddr || newAddr+newSize > StackTop {
			return 0, unix.EINVAL
		}
		if newAddr < mmapMin {
			return 0, unix.EPERM
		}
		// The ranges may not overlap.
		if newAddr < old+max(oldSize, 1) && old < newAddr+newSize {
			return 0, unix.EINVAL
		}
	}

	as.mu.Lock()
	defer as.mu.Unlock()
	i := as.find(old)
	if i < 0 {
		return 0, unix.EFAULT
	}
	v := as.vmas[i]
	if old+oldSize > v.End {
		return 0, unix.EFAULT // the range must lie in one mapping
	}
	if v.Special() {
		return 0, unix.EINVAL
	}
	if oldSize == 0 {
		// Duplicate a shared mapping: only file pages can be shared twice.
		if !v.sharedFile() || flags&MREMAP_MAYMOVE == 0 {
			return 0, unix.EINVAL
		}
	}
	commits := v.charged()

	// Shrink in place, or move while shrinking when fixed.
	if newSize <= oldSize && !fixed && flags&MREMAP_DONTUNMAP == 0 {
		if newSize < oldSize {
			as.unmapLocked(old+newSize, old+oldSize)
		}
		return old, 0
	}

	// Grow in place.
	grow := newSize - min(newSize, oldSize)
	if !fixed && flags&MREMAP_DONTUNMAP == 0 && oldSize > 0 && old+oldSize == v.End &&
		old+newSize <= StackTop && as.free(v.End, old+newSize) {
		if commits && as.committed+grow > as.limit {
			return 0, unix.ENOMEM
		}
		if commits {
			as.committed += grow
		}
		as.vmas[i].End = old + newSize
		as.merge(i)
		return old, 0
	}
	if flags&MREMAP_MAYMOVE == 0 {
		return 0, unix.ENOMEM
	}

	// Move: choose the target, drop what it replaces, then carry the
	// present pages over.
	var dst uint64
	if fixed {
		dst = newAddr
	} else {
		var ok bool
		if dst, ok = as.findGap(newSize); !ok {
			return 0, unix.ENOMEM
		}
	}
	newCommit := as.committed - as.commitOf(dst, dst+newSize)
	if commits {
		newCommit += newSize
		if flags&MREMAP_DONTUNMAP == 0 {
			newCommit -= oldSize // the old range goes
		}
	}
	if newCommit > as.limit {
		return 0, unix.ENOMEM
	}
	if fixed {
		as.dropPages(dst, dst+newSize)
		as.carve(dst, dst+newSize)
	}
	moved := v
	moved.Start, moved.End = dst, dst+newSize
	if v.File != nil {
		moved.Off = v.Off + (old - v.Start)
	}
	keep := min(oldSize, newSize)
	type pte struct{ va, pa uint64 }
	var pages []pte
	if oldSize > 0 {
		as.pager.UnmapRange(old, old+keep, func(va, pa uint64) { pages = append(pages, pte{va, pa}) })
		if len(pages) > 0 {
			as.pager.Shootdown() // before the frames are reachable elsewhere
		}
		if keep < oldSize {
			as.dropPages(old+keep, old+oldSize) // a moving shrink frees the tail
		}
	}
	if flags&MREMAP_DONTUNMAP == 0 && oldSize > 0 {
		as.carve(old, old+oldSize)
	}
	as.committed = newCommit
	as.insert(moved)
	as.syncFileRefs()
	mapProt := v.Prot
	if mapProt == unix.PROT_NONE {
		mapProt = unix.PROT_READ // then taken away below: PROT_NONE keeps frames unreachable
	}
	for _, p := range pages {
		if err := as.pager.MapPage(p.va-old+dst, p.pa, mapProt); err != nil {
			// No page-table page left: the page is lost (it reads as zero
			// again, or from the file), which is all we can do here.
			if !v.sharedFile() {
				as.freeFrames([]uint64{p.pa})
			}
		}
	}
	if v.Prot == unix.PROT_NONE && len(pages) > 0 {
		as.pager.ProtectRange(dst, dst+newSize, unix.PROT_NONE)
	}
	if v.Prot&unix.PROT_WRITE != 0 && len(pages) > 0 {
		as.keepCOWReadOnly(dst, dst+newSize)
		as.pager.Shootdown()
	}
	return dst, 0
}

// unmapLocked is Munmap's body (as.mu held for writing).
func (as *AddressSpace) unmapLocked(start, end uint64) {
	as.committed -= as.commitOf(start, end)
	as.dropPages(start, end)
	as.carve(start, end)
	as.syncFileRefs()
}
