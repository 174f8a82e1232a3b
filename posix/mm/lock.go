package mm

import (
	"golang.org/x/sys/unix"
)

// Memory locking (mlock(2) and friends). There is no swap here, so a
// locked page is one that is present and stays so: locking faults the
// range in (unless on fault) and marks its VMAs, whose size is VmLck and
// what RLIMIT_MEMLOCK bounds. A child does not inherit the locks.

// mlockall flags (asm-generic/mman-common.h).
const (
	MCL_CURRENT   = 1
	MCL_FUTURE    = 2
	MCL_ONFAULT   = 4
	MLOCK_ONFAULT = 1
)

// LockedBytes is the size of the locked mappings (VmLck).
func (as *AddressSpace) LockedBytes() uint64 {
	as.mu.RLock()
	defer as.mu.RUnlock()
	return as.lockedLocked()
}

func (as *AddressSpace) lockedLocked() uint64 {
	var n uint64
	for _, v := range as.vmas {
		if v.Locked {
			n += v.End - v.Start
		}
	}
	return n
}

// Mlock locks (or, lock false, unlocks) [addr, addr+length), which must
// be mapped (ENOMEM, as Linux). allow says whether the locked total may
// reach a size: the caller's RLIMIT_MEMLOCK check. onFault leaves the
// pages to be faulted in as touched (MLOCK_ONFAULT).
func (as *AddressSpace) Mlock(addr, length uint64, lock, onFault bool, allow func(total uint64) unix.Errno) unix.Errno {
	start := pageDown(addr)
	if length > ^uint64(0)-addr {
		return unix.ENOMEM
	}
	end := pageUp(addr + length)
	if end < start {
		return unix.ENOMEM
	}
	if start == end {
		return 0
	}
	as.mu.Lock()
	defer as.mu.Unlock()
	var newly uint64
	for a := start; a < end; {
		i := as.find(a)
		if i < 0 {
			return unix.ENOMEM
		}
		v := as.vmas[i]
		if !v.Locked {
			newly += min(v.End, end) - max(v.Start, a)
		}
		a = v.End
	}
	if lock && newly > 0 {
		if e := allow(as.lockedLocked() + newly); e != 0 {
			return e
		}
	}
	as.setLocked(start, end, lock)
	if lock && !onFault {
		as.populate(start, end)
	}
	return 0
}

// setLocked marks the VMAs of [start, end), splitting them at its ends.
func (as *AddressSpace) setLocked(start, end uint64, lock bool) {
	var parts []VMA
	for _, v := range as.vmas {
		if v.End > start && v.Start < end {
			if v.File != nil && v.Start < start {
				v.Off += start - v.Start
			}
			v.Start, v.End = max(v.Start, start), min(v.End, end)
			v.Locked = lock
			parts = append(parts, v)
		}
	}
	as.carve(start, end)
	for _, v := range parts {
		as.insert(v)
	}
}

// populate faults in the accessible pages of [start, end), writable
// private ones for writing (their copy-on-write broken), as Linux's
// mlock populates them.
func (as *AddressSpace) populate(start, end uint64) {
	for a := start; a < end; a += PageSize {
		i := as.find(a)
		if i < 0 {
			continue
		}
		v := as.vmas[i]
		if !v.accessible() {
			a = v.End - PageSize
			continue
		}
		acc := Read
		if v.Prot&unix.PROT_WRITE != 0 && v.Flags&unix.MAP_SHARED == 0 {
			acc = Write
		}
		if pa, prot, ok := as.pager.Translate(a); ok && (acc == Read || prot&unix.PROT_WRITE != 0) {
			_ = pa
			continue
		}
		if as.faultLocked(a, acc) == FaultOOM {
			return
		}
	}
}

// Mlockall is mlockall(2): lock every mapping now (MCL_CURRENT) and those
// made later (MCL_FUTURE).
func (as *AddressSpace) Mlockall(flags int, allow func(total uint64) unix.Errno) unix.Errno {
	if flags == 0 || flags&^(MCL_CURRENT|MCL_FUTURE|MCL_ONFAULT) != 0 || flags == MCL_ONFAULT {
		return unix.EINVAL
	}
	as.mu.Lock()
	defer as.mu.Unlock()
	if flags&MCL_CURRENT != 0 {
		var total uint64
		for _, v := range as.vmas {
			total += v.End - v.Start
		}
		if e := allow(total); e != 0 {
			return e
		}
		for i := range as.vmas {
			as.vmas[i].Locked = true
		}
		if flags&MCL_ONFAULT == 0 {
			for _, v := range append([]VMA(nil), as.vmas...) {
				if !v.Special() {
					as.populate(v.Start, v.End)
				}
			}
		}
	}
	as.lockFuture = flags&MCL_FUTURE != 0
	return 0
}

// Munlockall unlocks every mapping and ends MCL_FUTURE.
func (as *AddressSpace) Munlockall() {
	as.mu.Lock()
	defer as.mu.Unlock()
	for i := range as.vmas {
		as.vmas[i].Locked = false
	}
	for i := len(as.vmas) - 1; i >= 0; i-- {
		if i < len(as.vmas) {
			as.merge(i)
		}
	}
	as.lockFuture = false
}

// Frame returns the frame behind the page at va when it is present, and
// whether it may be written (no copy-on-write pending), for pagemap.
func (as *AddressSpace) Frame(va uint64) (pa uint64, ok bool) {
	as.mu.RLock()
	defer as.mu.RUnlock()
	pa, _, ok = as.pager.Translate(va)
	return pa, ok
}
