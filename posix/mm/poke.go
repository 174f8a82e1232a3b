package mm

import "golang.org/x/sys/unix"

// Poke writes src to guest memory at addr as a debugger does (ptrace's
// FOLL_FORCE, /proc/PID/mem): also where the mapping forbids writing, so
// that a software breakpoint can go into a program's text. A page of a
// private mapping is the process's own copy (a frame a fork still shares
// is copied first, as a write fault would); shared file mappings and
// special ones (the vDSO, whose frames every process maps) are refused
// with EIO where they are not writable, since the bytes would reach the
// file or other processes. The protection of the mapping is unchanged.
func (as *AddressSpace) Poke(addr uint64, src []byte) unix.Errno {
	if !userRange(addr, len(src)) {
		return unix.EFAULT
	}
	as.mu.Lock()
	defer as.mu.Unlock()
	for len(src) > 0 {
		i := as.find(addr)
		if i < 0 {
			return unix.EFAULT
		}
		v := as.vmas[i]
		if v.Prot&unix.PROT_WRITE == 0 && (v.Special() || (v.File != nil && v.Flags&unix.MAP_SHARED != 0)) {
			return unix.EIO
		}
		pa, prot, ok := as.pager.Translate(addr)
		if !ok {
			if r := as.faultLocked(addr, Read); r != FaultHandled {
				return unix.EFAULT
			}
			if pa, prot, ok = as.pager.Translate(addr); !ok {
				return unix.EFAULT
			}
		}
		pa &^= PageSize - 1
		if prot&unix.PROT_WRITE == 0 && as.cow.shared(pa) {
			if r := as.breakCOW(v, addr, pa); r != FaultHandled {
				return unix.EFAULT
			}
			if pa, _, ok = as.pager.Translate(addr); !ok {
				return unix.EFAULT
			}
			pa &^= PageSize - 1
		}
		off := addr % PageSize
		n := copy(as.pager.Bytes(pa+off, PageSize-off), src)
		src, addr = src[n:], addr+uint64(n)
	}
	return 0
}
