package kernel

import (
	"github.com/rumpgo/rumpgo/boot"
	"golang.org/x/sys/unix"
)

// x86 exception vectors and #PF error-code bits the kernel looks at.
const (
	vecDE = 0  // divide error
	vecBP = 3  // INT3
	vecUD = 6  // invalid opcode
	vecPF = 14 // page fault

	pfPresent = 1 << 0
)

// faultAround is how many pages a page fault maps at once: the aligned
// block around the faulting page, within its region, so that a stack
// growing down and a heap growing up both profit. On PVM every exception
// from user mode costs an exit (docs/design/guest-kernel.md).
const faultAround = 16

// fault serves an exception of the app: a page fault in a demand-paged
// region maps pages and returns 0 (the instruction runs again); any other
// exception returns the signal that kills the app, as Linux's default
// action would.
func (k *kern) fault(st *userState) unix.Signal {
	switch st.Vector {
	case boot.KickVector:
		// The monitor interrupted the app to reach this thread: one call
		// of the kernel's own, on whose return the monitor delivers what
		// is pending (a signal to the kernel, a stop).
		unix.Getpid()
		return 0
	case vecPF:
		if st.ErrorCode&pfPresent == 0 && k.space.demand(st.Addr) {
			return 0
		}
		return unix.SIGSEGV
	case vecDE:
		return unix.SIGFPE
	case vecBP:
		return unix.SIGTRAP
	case vecUD:
		// PVM reports #UD for INT n at CPL 3, where Linux's DPL 0 gates
		// give #GP (SIGSEGV), or SIGTRAP for int $3 (syscalls/fault.go does
		// the same on the monitor path).
		var insn [2]byte
		if k.space.read(st.RIP, insn[:]) == nil && insn[0] == 0xcd {
			if insn[1] == vecBP {
				return unix.SIGTRAP
			}
			return unix.SIGSEGV
		}
		return unix.SIGILL
	}
	return unix.SIGSEGV
}

// region is a range of the app's address space whose pages are mapped on
// first touch.
type region struct {
	lo, hi uint64
	prot   int
}

// demand maps the page at addr and the unmapped pages of its faultAround
// block, if addr is in a demand-paged region; it reports whether the page
// at addr is mapped now.
func (s *space) demand(addr uint64) bool {
	page := addr &^ (boot.PageSize - 1)
	for _, r := range s.lazy {
		if page < r.lo || page >= r.hi {
			continue
		}
		if s.MapFixed(page, boot.PageSize, r.prot) != nil {
			return false
		}
		const block = faultAround * boot.PageSize
		lo, hi := max(r.lo, page&^(block-1)), min(r.hi, page&^(block-1)+block)
		for va := lo; va < hi; va += boot.PageSize {
			if s.pt.Lookup(va) == 0 && s.MapFixed(va, boot.PageSize, r.prot) != nil {
				break // out of frames: the faulting page is mapped, the rest can wait
			}
		}
		return true
	}
	return false
}
