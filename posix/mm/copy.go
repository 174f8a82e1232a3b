package mm

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// page returns the host view of the rest of the page holding addr, faulting
// it in when the VMA allows the access, as the kernel's copy_{to,from}_user
// does. The caller holds as.mu for reading; it may be upgraded briefly.
func (as *AddressSpace) page(addr uint64, a Access) ([]byte, unix.Errno) {
	for try := 0; try < 2; try++ {
		if pa, prot, ok := as.pager.Translate(addr); ok && allowed(prot, a) {
			off := addr % PageSize
			return as.pager.Bytes(pa+off, PageSize-off), 0
		}
		if try == 1 {
			break
		}
		as.mu.RUnlock()
		as.mu.Lock()
		r := as.faultLocked(addr, a)
		as.mu.Unlock()
		as.mu.RLock()
		if r != FaultHandled {
			return nil, unix.EFAULT
		}
	}
	return nil, unix.EFAULT
}

func userRange(addr uint64, n int) bool {
	end := addr + uint64(n)
	return end >= addr && end <= StackTop+PageSize
}

// CopyIn reads len(dst) bytes of guest memory at addr.
func (as *AddressSpace) CopyIn(addr uint64, dst []byte) unix.Errno {
	if !userRange(addr, len(dst)) {
		return unix.EFAULT
	}
	as.mu.RLock()
	defer as.mu.RUnlock()
	for len(dst) > 0 {
		p, e := as.page(addr, Read)
		if e != 0 {
			return e
		}
		n := copy(dst, p)
		dst, addr = dst[n:], addr+uint64(n)
	}
	return 0
}

// CopyOut writes src to guest memory at addr.
func (as *AddressSpace) CopyOut(addr uint64, src []byte) unix.Errno {
	if !userRange(addr, len(src)) {
		return unix.EFAULT
	}
	as.mu.RLock()
	defer as.mu.RUnlock()
	for len(src) > 0 {
		p, e := as.page(addr, Write)
		if e != 0 {
			return e
		}
		n := copy(p, src)
		src, addr = src[n:], addr+uint64(n)
	}
	return 0
}

// CopyInString reads a NUL-terminated string of at most max bytes
// (ENAMETOOLONG past it, as getname does).
func (as *AddressSpace) CopyInString(addr uint64, max int) (string, unix.Errno) {
	as.mu.RLock()
	defer as.mu.RUnlock()
	var out []byte
	for len(out) < max {
		if !userRange(addr, 1) {
			return "", unix.EFAULT
		}
		p, e := as.page(addr, Read)
		if e != 0 {
			return "", e
		}
		for i, c := range p {
			if c == 0 {
				return string(append(out, p[:i]...)), 0
			}
			if len(out)+i+1 >= max {
				return "", unix.ENAMETOOLONG
			}
		}
		out = append(out, p...)
		addr += uint64(len(p))
	}
	return "", unix.ENAMETOOLONG
}

// Word32 returns the host address of the aligned 32-bit guest word at addr,
// for futexes, which must read and compare it atomically. The pointer stays
// valid host memory for the machine's lifetime even if the guest unmaps it.
func (as *AddressSpace) Word32(addr uint64, a Access) (*uint32, unix.Errno) {
	if addr%4 != 0 {
		return nil, unix.EINVAL
	}
	if !userRange(addr, 4) {
		return nil, unix.EFAULT
	}
	as.mu.RLock()
	defer as.mu.RUnlock()
	p, e := as.page(addr, a)
	if e != 0 {
		return nil, e
	}
	return (*uint32)(unsafe.Pointer(&p[0])), 0
}
