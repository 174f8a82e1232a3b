package mm

import (
	"sort"

	"golang.org/x/sys/unix"
)

// stackGuardGap is Linux's stack_guard_gap: a MAP_GROWSDOWN mapping grows
// no closer than this to the accessible mapping below it.
const stackGuardGap = 256 * PageSize

// maxStackGrowth bounds a MAP_GROWSDOWN mapping's size, as RLIMIT_STACK's
// default (8 MiB) does on Linux; the address space does not see the
// process's limits.
const maxStackGrowth = 8 << 20

// growDown is expand_downwards: a fault below a MAP_GROWSDOWN anonymous
// mapping, in the hole under it, extends the mapping down to the faulting
// page, unless that comes within stackGuardGap of the mapping below, makes
// it larger than maxStackGrowth, or passes the commit limit. It reports
// whether addr is now mapped. as.mu is held.
func (as *AddressSpace) growDown(addr uint64) bool {
	i := sort.Search(len(as.vmas), func(i int) bool { return as.vmas[i].End > addr })
	if i == len(as.vmas) {
		return false
	}
	v := &as.vmas[i]
	if v.Flags&unix.MAP_GROWSDOWN == 0 || addr >= v.Start || v.File != nil || v.Special() {
		return false
	}
	start := pageDown(addr)
	if i > 0 {
		prev := as.vmas[i-1]
		if prev.Flags&unix.MAP_GROWSDOWN == 0 && prev.accessible() && start-prev.End < stackGuardGap {
			return false
		}
	}
	if v.End-start > maxStackGrowth {
		return false
	}
	if v.charged() {
		grow := v.Start - start
		if as.committed+grow > as.limit {
			return false
		}
		as.committed += grow
	}
	v.Start = start
	return true
}
