package boot

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// ErrEmulatedOnly means the host's KVM ran the probe in its instruction
// emulator rather than on the CPU, so guests using SSE (every Go binary)
// cannot run. PVM hosts do this while a vCPU is in PVM's "non-PVM mode".
var ErrEmulatedOnly = errors.New("the host's KVM runs this machine's vCPUs in its instruction emulator, which cannot execute SSE: Go guests cannot run here")

// ProbeNativeExecution boots a one-page guest that executes POPCNT, an
// instruction KVM's emulator lacks, in user mode where the app runs, and
// reports whether the vCPU runs guest code natively.
func ProbeNativeExecution() error {
	m, err := NewMachine(16 << 20)
	if err != nil {
		return err
	}
	defer m.Close()
	pt, err := NewPageTable(m.Mem)
	if err != nil {
		return err
	}
	if err := m.MapKernel(pt); err != nil {
		return err
	}
	code, err := m.Mem.Alloc()
	if err != nil {
		return err
	}
	// popcnt %rax,%rax; hlt
	copy(m.Mem.Bytes(code, PageSize), []byte{0xf3, 0x48, 0x0f, 0xb8, 0xc0, 0xf4})
	if err := pt.Map(0x400000, code, ProtFlags(unix.PROT_READ|unix.PROT_EXEC)); err != nil {
		return err
	}
	v, err := m.NewVCPU(pt.Root)
	if err != nil {
		return err
	}
	*v.Regs() = Regs{RIP: 0x400000, RFLAGS: 0x2, RAX: 0xff}
	v.MarkRegsDirty()
	if err := v.Enter(); err != nil {
		return fmt.Errorf("KVM_RUN: %w", err)
	}
	// HLT is privileged at CPL 3: the #GP reaches the stub, which saves RAX.
	switch v.Run.ExitReason {
	case KVM_EXIT_IO:
		if v.Run.IO().Port != PortException+13 {
			return fmt.Errorf("probe exited on port %#x", v.Run.IO().Port)
		}
		if rax := v.ExceptionFrame(13).RAX; rax != 8 {
			return fmt.Errorf("probe computed popcnt(0xff) = %d", rax)
		}
		return nil
	case KVM_EXIT_INTERNAL_ERROR:
		return ErrEmulatedOnly
	}
	return fmt.Errorf("probe ended with KVM exit %d", v.Run.ExitReason)
}
