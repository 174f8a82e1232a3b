package mm

import (
	"sort"

	"golang.org/x/sys/unix"
)

// VMA is one mapping: a page-aligned range with one protection.
type VMA struct {
	Start, End uint64
	Prot       int
	Flags      int // MAP_* flags the mapping was made with that matter later
	Name       string

	// frames, for a special mapping (MapSpecial), are the fixed frames
	// behind it: frames[i] backs the page at frameBase+i*PageSize.
	frames    []uint64
	frameBase uint64

	// File, for a file mapping (MmapFile), is the mapped file and Off the
	// file offset of Start. noWrite marks a shared mapping of a file
	// opened read-only, which mprotect may not make writable (Linux's
	// missing VM_MAYWRITE).
	File    File
	Off     uint64
	noWrite bool

	// Locked marks mlocked pages (lock.go).
	Locked bool

	// dontFork (MADV_DONTFORK) leaves the range out of a fork's child;
	// wipeOnFork (MADV_WIPEONFORK) gives the child zero pages there.
	dontFork, wipeOnFork bool
}

// sharedFile reports a shared file mapping: its pages are the file's
// frames, neither committed nor freed by the address space.
func (v VMA) sharedFile() bool { return v.File != nil && v.Flags&unix.MAP_SHARED != 0 }

func (v VMA) accessible() bool { return v.Prot != unix.PROT_NONE }

// reserveOnly reports a mapping that is reserved, not committed: what
// MAP_NORESERVE asks for, and thread stacks (MAP_STACK), of which a
// process with many threads touches a few pages each. Linux's heuristic
// overcommit charges neither against RAM; a page of one that finds no
// frame is SIGBUS, as Linux's out-of-memory fault.
func (v VMA) reserveOnly() bool { return v.Flags&(unix.MAP_NORESERVE|unix.MAP_STACK) != 0 }

// charged reports whether v's pages count against the commit limit.
func (v VMA) charged() bool {
	return v.accessible() && !v.Special() && !v.sharedFile() && !v.reserveOnly()
}

// Special reports whether v maps frames the machine owns ([vvar], [vdso]).
func (v VMA) Special() bool { return v.frames != nil }

// find returns the index of the VMA containing addr, or -1.
func (as *AddressSpace) find(addr uint64) int {
	i := sort.Search(len(as.vmas), func(i int) bool { return as.vmas[i].End > addr })
	if i < len(as.vmas) && as.vmas[i].Start <= addr {
		return i
	}
	return -1
}

// VMAs returns a copy of the mappings, for /proc/self/maps and tests.
func (as *AddressSpace) VMAs() []VMA {
	as.mu.RLock()
	defer as.mu.RUnlock()
	return append([]VMA(nil), as.vmas...)
}

// commitOf is how many committed bytes [start, end) holds now.
func (as *AddressSpace) commitOf(start, end uint64) uint64 {
	var n uint64
	for _, v := range as.vmas {
		if v.End <= start || v.Start >= end || !v.charged() {
			continue // special mappings are the machine's memory, shared file pages the file's
		}
		n += min(v.End, end) - max(v.Start, start)
	}
	return n
}

// reservedBytes is how much of [start, end) reserve-only mappings hold.
func (as *AddressSpace) reservedBytes(start, end uint64) uint64 {
	var n uint64
	for _, v := range as.vmas {
		if v.End > start && v.Start < end && v.reserveOnly() && !v.sharedFile() {
			n += min(v.End, end) - max(v.Start, start)
		}
	}
	return n
}

// free reports whether no VMA overlaps [start, end).
func (as *AddressSpace) free(start, end uint64) bool {
	i := sort.Search(len(as.vmas), func(i int) bool { return as.vmas[i].End > start })
	return i == len(as.vmas) || as.vmas[i].Start >= end
}

// carve removes [start, end) from the VMA list, splitting VMAs it cuts.
// Pages are not touched.
func (as *AddressSpace) carve(start, end uint64) {
	out := as.vmas[:0:0]
	for _, v := range as.vmas {
		if v.End <= start || v.Start >= end {
			out = append(out, v)
			continue
		}
		if v.Start < start {
			l := v
			l.End = start
			out = append(out, l)
		}
		if v.End > end {
			r := v
			r.Start = end
			if r.File != nil {
				r.Off += end - v.Start
			}
			out = append(out, r)
		}
	}
	as.vmas = out
}

// insert adds v (whose range is free) and merges it with equal neighbours.
func (as *AddressSpace) insert(v VMA) {
	i := sort.Search(len(as.vmas), func(i int) bool { return as.vmas[i].Start >= v.End })
	as.vmas = append(as.vmas, VMA{})
	copy(as.vmas[i+1:], as.vmas[i:])
	as.vmas[i] = v
	as.merge(i)
}

func (as *AddressSpace) merge(i int) {
	same := func(a, b VMA) bool {
		return a.End == b.Start && a.Prot == b.Prot && a.Flags == b.Flags && a.Name == b.Name &&
			!a.Special() && !b.Special() && a.File == b.File && a.noWrite == b.noWrite && a.Locked == b.Locked &&
			a.dontFork == b.dontFork && a.wipeOnFork == b.wipeOnFork &&
			(a.File == nil || a.Off+(a.End-a.Start) == b.Off)
	}
	if i+1 < len(as.vmas) && same(as.vmas[i], as.vmas[i+1]) {
		as.vmas[i].End = as.vmas[i+1].End
		as.vmas = append(as.vmas[:i+1], as.vmas[i+2:]...)
	}
	if i > 0 && same(as.vmas[i-1], as.vmas[i]) {
		as.vmas[i-1].End = as.vmas[i].End
		as.vmas = append(as.vmas[:i], as.vmas[i+1:]...)
	}
}

// dropPages unmaps the present pages of [start, end) and frees their frames
// after every vCPU has forgotten them. Frames of special mappings stay with
// their owner.
func (as *AddressSpace) dropPages(start, end uint64) {
	var frames []uint64
	dropped := false
	shared := as.sharedFileRanges(start, end)
	as.pager.UnmapRange(start, end, func(va, pa uint64) {
		dropped = true
		if _, ok := as.pinned[pa]; !ok && !inRanges(shared, va) {
			frames = append(frames, pa)
		}
	})
	if dropped {
		as.pager.Shootdown()
	}
	if len(frames) > 0 {
		as.freeFrames(frames)
	}
}

// findGap returns the highest free range of length bytes below mmapBase.
func (as *AddressSpace) findGap(length uint64) (uint64, bool) {
	top := uint64(mmapBase)
	for i := len(as.vmas) - 1; i >= -1; i-- {
		lo := uint64(mmapMin)
		if i >= 0 {
			lo = max(lo, as.vmas[i].End)
		}
		if i >= 0 && as.vmas[i].Start >= top {
			continue
		}
		if top >= lo && top-lo >= length {
			return top - length, true
		}
		if i >= 0 {
			top = min(top, as.vmas[i].Start)
		}
	}
	return 0, false
}

const supportedMapFlags = unix.MAP_SHARED | unix.MAP_PRIVATE | unix.MAP_FIXED | unix.MAP_ANONYMOUS |
	unix.MAP_NORESERVE | unix.MAP_POPULATE | unix.MAP_GROWSDOWN | unix.MAP_STACK |
	unix.MAP_FIXED_NOREPLACE | unix.MAP_DENYWRITE | unix.MAP_EXECUTABLE | unix.MAP_LOCKED |
	unix.MAP_NONBLOCK | unix.MAP_HUGETLB | 0x3f<<26 /* MAP_HUGE_SHIFT sizes */

// Mmap maps anonymous memory; MmapFile maps files.
func (as *AddressSpace) Mmap(addr, length uint64, prot, flags int) (uint64, unix.Errno) {
	if flags&unix.MAP_SHARED != 0 && length > 0 && pageUp(length) != 0 {
		// Shared anonymous memory is a file of its own (shmem.go).
		return as.mmap(addr, length, prot, flags, NewShmem(as.pager, pageUp(length)), 0, false)
	}
	return as.mmap(addr, length, prot, flags, nil, 0, false)
}

func (as *AddressSpace) mmap(addr, length uint64, prot, flags int, file File, off uint64, noWrite bool) (uint64, unix.Errno) {
	if length == 0 || flags&(unix.MAP_SHARED|unix.MAP_PRIVATE) == 0 {
		return 0, unix.EINVAL
	}
	if prot&^(unix.PROT_READ|unix.PROT_WRITE|unix.PROT_EXEC) != 0 {
		return 0, unix.EINVAL
	}
	if flags&unix.MAP_HUGETLB != 0 {
		return 0, unix.EINVAL // no hugetlbfs pool, as a Linux box without reserved huge pages
	}
	length = pageUp(length)
	if length == 0 || length > StackTop {
		return 0, unix.ENOMEM
	}
	fixed := flags&(unix.MAP_FIXED|unix.MAP_FIXED_NOREPLACE) != 0
	if fixed && addr%PageSize != 0 {
		return 0, unix.EINVAL
	}
	as.mu.Lock()
	defer as.mu.Unlock()
	var start uint64
	switch {
	case fixed:
		if addr < mmapMin {
			return 0, unix.EPERM // below vm.mmap_min_addr
		}
		if addr+length > StackTop || addr+length < addr {
			return 0, unix.ENOMEM
		}
		if flags&unix.MAP_FIXED_NOREPLACE != 0 && flags&unix.MAP_FIXED == 0 && !as.free(addr, addr+length) {
			return 0, unix.EEXIST
		}
		start = addr
	default:
		hint := pageDown(addr)
		if hint >= mmapMin && hint+length <= StackTop && hint+length > hint && as.free(hint, hint+length) {
			start = hint
		} else {
			var ok bool
			if start, ok = as.findGap(length); !ok {
				return 0, unix.ENOMEM
			}
		}
	}
	end := start + length
	newCommit := as.committed - as.commitOf(start, end)
	if prot != unix.PROT_NONE && !(file != nil && flags&unix.MAP_SHARED != 0) && flags&(unix.MAP_NORESERVE|unix.MAP_STACK) == 0 {
		newCommit += length
	}
	if newCommit > as.limit {
		return 0, unix.ENOMEM
	}
	as.dropPages(start, end)
	as.carve(start, end)
	as.committed = newCommit
	as.insert(VMA{Start: start, End: end, Prot: prot, Flags: flags & (unix.MAP_SHARED | unix.MAP_PRIVATE | unix.MAP_GROWSDOWN | unix.MAP_NORESERVE | unix.MAP_STACK),
		File: file, Off: off, noWrite: noWrite, Locked: as.lockFuture || flags&unix.MAP_LOCKED != 0})
	as.syncFileRefs()
	if flags&unix.MAP_POPULATE != 0 && prot != unix.PROT_NONE {
		for va := start; va < end; va += faultAround * PageSize {
			if as.faultLocked(va, Read) != FaultHandled {
				break
			}
		}
	}
	return start, 0
}

// rangeArgs validates an (addr, length) pair of munmap/mprotect/madvise.
func rangeArgs(addr, length uint64) (uint64, uint64, unix.Errno) {
	if addr%PageSize != 0 {
		return 0, 0, unix.EINVAL
	}
	end := pageUp(addr + length)
	if addr+length < addr || end > StackTop+PageSize {
		return 0, 0, unix.EINVAL
	}
	return addr, end, 0
}

// Munmap removes [addr, addr+length).
func (as *AddressSpace) Munmap(addr, length uint64) unix.Errno {
	if length == 0 {
		return unix.EINVAL
	}
	start, end, e := rangeArgs(addr, length)
	if e != 0 {
		return e
	}
	as.mu.Lock()
	defer as.mu.Unlock()
	as.committed -= as.commitOf(start, end)
	as.dropPages(start, end)
	as.carve(start, end)
	as.syncFileRefs()
	return 0
}

// Mprotect changes the protection of [addr, addr+length), which must be
// fully mapped (ENOMEM otherwise, as Linux).
func (as *AddressSpace) Mprotect(addr, length uint64, prot int) unix.Errno {
	if prot&^(unix.PROT_READ|unix.PROT_WRITE|unix.PROT_EXEC|unix.PROT_GROWSDOWN|unix.PROT_GROWSUP) != 0 {
		return unix.EINVAL
	}
	prot &= unix.PROT_READ | unix.PROT_WRITE | unix.PROT_EXEC
	start, end, e := rangeArgs(addr, length)
	if e != 0 {
		return e
	}
	if start == end {
		return 0
	}
	as.mu.Lock()
	defer as.mu.Unlock()
	for a := start; a < end; {
		i := as.find(a)
		if i < 0 {
			return unix.ENOMEM
		}
		if as.vmas[i].Special() && prot&unix.PROT_WRITE != 0 {
			// The frames are shared with the machine, which Linux's [vvar]
			// refuses too (no VM_MAYWRITE). Linux would let [vdso] become a
			// private copy; we keep it shared, so it refuses as well.
			return unix.EACCES
		}
		if as.vmas[i].noWrite && prot&unix.PROT_WRITE != 0 {
			return unix.EACCES // a shared mapping of a file opened read-only
		}
		a = as.vmas[i].End
	}
	newCommit := as.committed - as.commitOf(start, end)
	if prot != unix.PROT_NONE {
		newCommit += end - start - as.sharedFileBytes(start, end) - as.reservedBytes(start, end)
	}
	if newCommit > as.limit {
		return unix.ENOMEM
	}
	var parts []VMA
	for _, v := range as.vmas {
		if v.End > start && v.Start < end {
			if v.File != nil && v.Start < start {
				v.Off += start - v.Start
			}
			v.Start, v.End = max(v.Start, start), min(v.End, end)
			parts = append(parts, v)
		}
	}
	downgrade := false
	for _, v := range parts {
		if v.Prot&^prot != 0 {
			downgrade = true
		}
	}
	as.carve(start, end)
	for _, v := range parts {
		v.Prot = prot
		as.insert(v)
	}
	as.committed = newCommit
	// PROT_NONE keeps the frames: contents survive a later mprotect back.
	as.pager.ProtectRange(start, end, prot)
	if prot&unix.PROT_WRITE != 0 {
		as.keepCOWReadOnly(start, end)
		downgrade = true
	}
	if downgrade {
		as.pager.Shootdown()
	}
	return 0
}

// Madvise applies advice. MADV_DONTNEED and MADV_FREE drop the pages (they
// read back as zero); advice about caching, huge pages or fork has no
// effect to have here and succeeds, as it does on Linux.
func (as *AddressSpace) Madvise(addr, length uint64, advice int) unix.Errno {
	start, end, e := rangeArgs(addr, length)
	if e != 0 {
		return e
	}
	switch advice {
	case unix.MADV_REMOVE, unix.MADV_POPULATE_READ, unix.MADV_POPULATE_WRITE,
		unix.MADV_DONTFORK, unix.MADV_DOFORK, unix.MADV_WIPEONFORK, unix.MADV_KEEPONFORK:
		return as.madviseRange(start, end, advice)
	case unix.MADV_DONTNEED, unix.MADV_FREE:
		as.mu.Lock()
		defer as.mu.Unlock()
		for a := start; a < end; {
			i := as.find(a)
			if i < 0 {
				return unix.ENOMEM
			}
			a = as.vmas[i].End
		}
		as.dropPages(start, end)
		return 0
	case unix.MADV_NORMAL, unix.MADV_RANDOM, unix.MADV_SEQUENTIAL, unix.MADV_WILLNEED,
		unix.MADV_HUGEPAGE, unix.MADV_NOHUGEPAGE,
		unix.MADV_DONTDUMP, unix.MADV_DODUMP, unix.MADV_MERGEABLE, unix.MADV_UNMERGEABLE,
		unix.MADV_COLD, unix.MADV_PAGEOUT, unix.MADV_COLLAPSE:
		// Hints: nothing to do, but the range must be mapped.
		return as.madviseRange(start, end, advice)
	}
	return unix.EINVAL
}

// SetBrk sets where the program break starts (the end of the loaded image).
func (as *AddressSpace) SetBrk(start uint64) {
	as.mu.Lock()
	defer as.mu.Unlock()
	as.brkStart, as.brk = start, start
}

// Brk moves the program break as brk(2) does: it returns the new break, or
// the old one when the request cannot be met.
func (as *AddressSpace) Brk(addr uint64) uint64 {
	as.mu.Lock()
	defer as.mu.Unlock()
	if addr < as.brkStart || addr > mmapBase {
		return as.brk
	}
	oldEnd, newEnd := pageUp(as.brk), pageUp(addr)
	switch {
	case newEnd > oldEnd:
		if !as.free(oldEnd, newEnd) || as.committed+(newEnd-oldEnd) > as.limit {
			return as.brk
		}
		as.committed += newEnd - oldEnd
		as.insert(VMA{Start: oldEnd, End: newEnd, Prot: unix.PROT_READ | unix.PROT_WRITE, Flags: unix.MAP_PRIVATE, Name: "[heap]"})
	case newEnd < oldEnd:
		as.committed -= as.commitOf(newEnd, oldEnd)
		as.dropPages(newEnd, oldEnd)
		as.carve(newEnd, oldEnd)
	}
	as.brk = addr
	return addr
}
