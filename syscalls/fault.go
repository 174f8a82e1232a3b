package syscalls

import (
	"fmt"

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

// faultSignal resolves a fault: 0 when handled (a page brought in), or the
// signal Linux would send a user process, with a description.
func faultSignal(t *Thread, f rumpglue.Fault) (int, string) {
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
			return 0, ""
		case mm.FaultMapErr:
			return int(unix.SIGSEGV), fmt.Sprintf("%s of unmapped address %#x (SEGV_MAPERR)", accessName(access), f.Addr)
		case mm.FaultAccErr:
			return int(unix.SIGSEGV), fmt.Sprintf("%s of address %#x forbidden by its mapping (SEGV_ACCERR)", accessName(access), f.Addr)
		default:
			return int(unix.SIGBUS), fmt.Sprintf("out of guest memory paging in %#x", f.Addr)
		}
	case vecDE:
		return int(unix.SIGFPE), "integer divide error (#DE)"
	case vecMF, vecXM:
		return int(unix.SIGFPE), "floating-point exception"
	case vecDB, vecBP:
		return int(unix.SIGTRAP), "breakpoint or debug trap"
	case vecUD:
		return int(unix.SIGILL), "invalid opcode (#UD)"
	case vecAC:
		return int(unix.SIGBUS), "alignment check (#AC)"
	case vecDF:
		return int(unix.SIGSEGV), "double fault (#DF)"
	}
	return int(unix.SIGSEGV), fmt.Sprintf("general protection or segment fault (vector %d, error %#x)", f.Vector, f.ErrorCode)
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
