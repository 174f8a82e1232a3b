package mm

import "golang.org/x/sys/unix"

// madviseRange is the advice that looks at each mapping of [start, end)
// (ENOMEM where nothing is mapped, as Linux's madvise_walk_vmas):
// MADV_REMOVE (EINVAL but for shared file mappings that are not locked;
// for those EOPNOTSUPP, as a file system without hole punching answers:
// the hole would have to leave every mapping of the file), the
// MADV_POPULATE_* faults (EINVAL for PROT_NONE, and for writing a
// read-only mapping), and the fork advice (MADV_WIPEONFORK only for
// private anonymous memory).
func (as *AddressSpace) madviseRange(start, end uint64, advice int) unix.Errno {
	as.mu.Lock()
	defer as.mu.Unlock()
	for a := start; a < end; {
		i := as.find(a)
		if i < 0 {
			return unix.ENOMEM
		}
		v := as.vmas[i]
		switch advice {
		case unix.MADV_REMOVE:
			if v.Locked || !v.sharedFile() {
				return unix.EINVAL
			}
		case unix.MADV_POPULATE_READ, unix.MADV_POPULATE_WRITE:
			if v.Prot == unix.PROT_NONE || advice == unix.MADV_POPULATE_WRITE && v.Prot&unix.PROT_WRITE == 0 {
				return unix.EINVAL
			}
		case unix.MADV_WIPEONFORK:
			if v.File != nil || v.Flags&unix.MAP_SHARED != 0 {
				return unix.EINVAL
			}
		case unix.MADV_DONTFORK:
			if v.Special() {
				return unix.EINVAL // VM_IO, VM_PFNMAP: the vDSO and its kin
			}
		}
		a = v.End
	}
	switch advice {
	case unix.MADV_REMOVE:
		return unix.EOPNOTSUPP
	case unix.MADV_POPULATE_READ, unix.MADV_POPULATE_WRITE:
		as.populate(start, end)
	default:
		as.setRange(start, end, func(v *VMA) {
			switch advice {
			case unix.MADV_DONTFORK, unix.MADV_DOFORK:
				v.dontFork = advice == unix.MADV_DONTFORK
			case unix.MADV_WIPEONFORK, unix.MADV_KEEPONFORK:
				v.wipeOnFork = advice == unix.MADV_WIPEONFORK
			}
		})
	}
	return 0
}

// setRange changes the VMAs of [start, end) with fn, splitting those
// that reach outside it. as.mu is held.
func (as *AddressSpace) setRange(start, end uint64, fn func(v *VMA)) {
	var parts []VMA
	for _, v := range as.vmas {
		if v.End > start && v.Start < end {
			if v.File != nil && v.Start < start {
				v.Off += start - v.Start
			}
			v.Start, v.End = max(v.Start, start), min(v.End, end)
			fn(&v)
			parts = append(parts, v)
		}
	}
	as.carve(start, end)
	for _, v := range parts {
		as.insert(v)
	}
}
