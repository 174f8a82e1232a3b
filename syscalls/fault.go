package syscalls

import (
	"fmt"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/mm"
	"github.com/rumpgo/rumpgo/rumpglue"
	"golang.org/x/sys/unix"
)

// x86 exception vectors.
const (
	vecDE = 0  // divide error
	vecDB = 1  // debug
	vecBP = 3  // breakpoint
	vecOF = 4  // overflow
	vecBR = 5  // bound range
	vecUD = 6  // invalid opcode
	vecNM = 7  // device not available
	vecDF = 8  // double fault
	vecTS = 10 // invalid TSS
	vecNP = 11 // segment not present
	vecSS = 12 // stack fault
	vecGP = 13 // general protection
	vecPF = 14 // page fault
	vecMF = 16 // x87 error
	vecAC = 17 // alignment check
	vecXM = 19 // SIMD error
)

// #PF error code bits.
const (
	pfProtection = 1 << 0
	pfWrite      = 1 << 1
	pfFetch      = 1 << 4
)

// faultSignal resolves a fault: a zero Signo when handled (a page brought
// in), or the signal Linux would send a user process, with a description.
func faultSignal(t *Thread, f rumpglue.Fault, rip uint64) (posix.SigInfo, string) {
	sig := func(sig unix.Signal, code int, addr uint64) posix.SigInfo {
		return posix.SigInfo{Signo: int32(sig), Code: int32(code), Addr: addr}
	}
	switch f.Vector {
	case vecPF:
		access := mm.Read
		switch {
		case f.ErrorCode&pfFetch != 0:
			access = mm.Exec
		case f.ErrorCode&pfWrite != 0:
			access = mm.Write
		}
		switch t.mm().Fault(f.Addr, access) {
		case mm.FaultHandled:
			return posix.SigInfo{}, ""
		case mm.FaultMapErr:
			return sig(unix.SIGSEGV, posix.SEGV_MAPERR, f.Addr), fmt.Sprintf("%s of unmapped address %#x (SEGV_MAPERR)", accessName(access), f.Addr)
		case mm.FaultAccErr:
			return sig(unix.SIGSEGV, posix.SEGV_ACCERR, f.Addr), fmt.Sprintf("%s of address %#x forbidden by its mapping (SEGV_ACCERR)", accessName(access), f.Addr)
		case mm.FaultBeyondEOF:
			return sig(unix.SIGBUS, posix.BUS_ADRERR, f.Addr), fmt.Sprintf("%s of %#x past the end of its mapped file", accessName(access), f.Addr)
		default:
			return sig(unix.SIGBUS, posix.BUS_ADRERR, f.Addr), fmt.Sprintf("out of guest memory paging in %#x", f.Addr)
		}
	case vecDE:
		return sig(unix.SIGFPE, posix.FPE_INTDIV, rip), "integer divide error (#DE)"
	case vecMF, vecXM:
		return sig(unix.SIGFPE, posix.FPE_FLTINV, rip), "floating-point exception"
	case vecDB, vecBP:
		return sig(unix.SIGTRAP, posix.SI_KERNEL, 0), "breakpoint or debug trap"
	case vecUD:
		if n, ok := softInterrupt(t, rip); ok {
			// INT n at CPL 3 through a DPL 0 gate: a #GP on Linux (which
			// opens only vectors 3 and 4, and 0x80 for 32-bit calls, to
			// user mode), but PVM reports #UD for every INT n.
			if n == vecBP {
				return sig(unix.SIGTRAP, posix.SI_KERNEL, 0), "breakpoint (int $3)"
			}
			return sig(unix.SIGSEGV, posix.SI_KERNEL, 0), fmt.Sprintf("software interrupt int $%#x (#GP)", n)
		}
		return sig(unix.SIGILL, posix.ILL_ILLOPN, rip), "invalid opcode (#UD)"
	case vecAC:
		return sig(unix.SIGBUS, posix.BUS_ADRALN, 0), "alignment check (#AC)"
	case vecDF:
		return sig(unix.SIGSEGV, posix.SI_KERNEL, 0), "double fault (#DF)"
	case vecSS:
		// Linux's exc_stack_segment and exc_segment_not_present: SIGBUS.
		// A non-canonical RSP is the way a program gets here.
		return sig(unix.SIGBUS, posix.SI_KERNEL, 0), fmt.Sprintf("stack segment fault (#SS, error %#x): a non-canonical stack address", f.ErrorCode)
	case vecNP:
		return sig(unix.SIGBUS, posix.SI_KERNEL, 0), fmt.Sprintf("segment not present (#NP, error %#x)", f.ErrorCode)
	case vecGP:
		// INT n through a DPL 0 gate, where the CPU (not PVM) checks the
		// gate: the error code names the IDT entry.
		if n, ok := softInterrupt(t, rip); ok && f.ErrorCode == uint64(n)<<3|2 {
			return sig(unix.SIGSEGV, posix.SI_KERNEL, 0), fmt.Sprintf("software interrupt int $%#x (#GP)", n)
		}
		return sig(unix.SIGSEGV, posix.SI_KERNEL, 0), fmt.Sprintf("general protection fault (#GP, error %#x): a privileged instruction, a non-canonical address or a misaligned SSE operand", f.ErrorCode)
	}
	return sig(unix.SIGSEGV, posix.SI_KERNEL, 0), fmt.Sprintf("general protection or segment fault (vector %d, error %#x)", f.Vector, f.ErrorCode)
}

// softInterrupt reports whether the instruction at rip is INT imm8 (CD
// ib), and its vector.
func softInterrupt(t *Thread, rip uint64) (byte, bool) {
	var insn [2]byte
	if t.mm().CopyIn(rip, insn[:]) != 0 || insn[0] != 0xcd {
		return 0, false
	}
	return insn[1], true
}

func accessName(a mm.Access) string {
	switch a {
	case mm.Write:
		return "write"
	case mm.Exec:
		return "execute"
	}
	return "read"
}
