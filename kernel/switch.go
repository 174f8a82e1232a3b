package kernel

import (
	"encoding/binary"
	"unsafe"

	"github.com/rumpgo/rumpgo/boot"
	"github.com/rumpgo/rumpgo/rumpglue"
)

// userState is what entry_amd64.s saves and loads: the app's registers as
// rumpglue.Regs (struct kvm_regs), its FS base, the last fault, and where
// its extended (FPU, SSE, AVX) state is kept.
type userState struct {
	rumpglue.Regs
	FSBase uint64
	rumpglue.Fault
	xsave uintptr // 64-byte aligned XSAVE area in xsaveBuf

	xsaveBuf []byte
}

// newUserState is the state of a thread starting at regs, with the
// extended state in its initial configuration (an XSAVE header of zeros).
func newUserState(regs rumpglue.Regs) *userState {
	s := &userState{Regs: regs, xsaveBuf: make([]byte, boot.XsaveSize+64)}
	p := uintptr(unsafe.Pointer(&s.xsaveBuf[0]))
	s.xsave = (p + 63) &^ 63
	// XRSTOR loads MXCSR from the image whatever its header says: Linux's
	// initial 0x1f80 (exceptions masked), and the mask FXSAVE reports.
	binary.LittleEndian.PutUint32(s.xsaveArea()[24:], 0x1f80)
	binary.LittleEndian.PutUint32(s.xsaveArea()[28:], 0xffff)
	return s
}

// xsaveArea is the app's XSAVE image, as the entry saves it.
func (s *userState) xsaveArea() []byte {
	off := s.xsave - uintptr(unsafe.Pointer(&s.xsaveBuf[0]))
	return s.xsaveBuf[off : off+boot.XsaveSize]
}

// Why switchToUser returned.
const (
	reasonSyscall = 1
	reasonFault   = 2
)

// Where the kernel's own SYSCALLs and exceptions go on to: the stage-1
// stub, which hands them to the monitor.
var (
	stubSyscall uint64 = boot.StubSyscall
	stubVectors uint64 = boot.StubVectors
)

func switchToUser(s *userState, iret bool) uint64
func syscallEntryAddr() uintptr
func vectorTable() *[33]uintptr
func wrmsr(msr uint32, value uint64)
func cpuid(fn, index uint32) (eax, ebx, ecx, edx uint32)
func writeCR3(root uint64)

// xgetbv is XCR0: the state components XSAVE and XRSTOR handle.
func xgetbv() uint64

// The runtime's syscall bracket: while the app runs, this M is "in a
// system call", so the kernel's GC and scheduler never wait for it.
//
//go:linkname entersyscall runtime.entersyscall
func entersyscall()

//go:linkname exitsyscall runtime.exitsyscall
func exitsyscall()

// runUser runs the app until its next system call or fault; iret restores
// every register (after a fault). It must not split the stack between
// entersyscall and exitsyscall.
//
//go:nosplit
func runUser(s *userState, iret bool) uint64 {
	entersyscall()
	r := switchToUser(s, iret)
	exitsyscall()
	return r
}

// installVectors points the IDT's exception gates and boot.KickVector at
// this package's stubs (vecN in entry_amd64.s), which keep the kernel's
// own exceptions going to the monitor and bring the app's here. NMI, #DF
// and #MC stay with the stub. The IDT is shared by every vCPU.
func installVectors() {
	idt := boot.IDT()
	for v, addr := range vectorTable() {
		if v == 2 || v == 8 || v == 18 {
			continue
		}
		boot.SetGate(idt, v, uint64(addr))
	}
}
