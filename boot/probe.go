package boot

import (
	"errors"
	"fmt"
	"sync"

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
	// popcnt %rax,%rax; hlt
	v, err := m.runProbe([]byte{0xf3, 0x48, 0x0f, 0xb8, 0xc0, 0xf4})
	if err != nil {
		return err
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

// ErrNoSupervisor means the host's KVM cannot run guest supervisor code
// natively: not a PVM host, or one without VIF pages and KPTI mode.
var ErrNoSupervisor = errors.New("the host's KVM does not run guest supervisor mode natively (no PVM VIF page support)")

// probePort is the port the supervisor probe reports on.
const probePort = 0x10

var supervisorOnce struct {
	sync.Once
	err error
}

// SupervisorAvailable reports whether this host runs guest code at CPL 0
// natively (PVM with a VIF page and KPTI mode): the signature and feature
// MSRs say so, and a probe guest executes SSE and POPCNT at CPL 0, which
// KVM's emulator cannot. The answer is computed once per process.
func SupervisorAvailable() error {
	supervisorOnce.Do(func() { supervisorOnce.err = probeSupervisor() })
	return supervisorOnce.err
}

func probeSupervisor() error {
	m, err := NewMachine(16 << 20)
	if err != nil {
		return err
	}
	defer m.Close()
	// The signature first, from a vCPU in user mode: registering a VIF page
	// on a host that does not know the MSR would fail less clearly.
	v, err := m.NewVCPU(0)
	if err != nil {
		return err
	}
	if sig, err := v.GetMSR(MSR_PVM_SIGNATURE); err != nil || sig&0xffffffff != PVMSignature {
		return ErrNoSupervisor
	}
	if f, err := v.GetMSR(MSR_PVM_FEATURES); err != nil || f&PVMFeatures != PVMFeatures {
		return fmt.Errorf("%w: features %#x lack %#x", ErrNoSupervisor, f, PVMFeatures)
	}
	m.supervisor = true
	// xorps %xmm0,%xmm0; popcnt %rax,%rax; out %al,$probePort (HLT at CPL 0
	// does not exit in PVM's native mode).
	if v, err = m.runProbe([]byte{0x0f, 0x57, 0xc0, 0xf3, 0x48, 0x0f, 0xb8, 0xc0, 0xe6, probePort}); err != nil {
		return err
	}
	switch {
	case v.Run.ExitReason == KVM_EXIT_IO && v.Run.IO().Port == probePort:
		if rax := v.Regs().RAX; rax != 8 {
			return fmt.Errorf("supervisor probe computed popcnt(0xff) = %d", rax)
		}
		return nil
	case v.Run.ExitReason == KVM_EXIT_INTERNAL_ERROR:
		return fmt.Errorf("%w: the probe ran in KVM's emulator", ErrNoSupervisor)
	}
	if v.Run.ExitReason == KVM_EXIT_IO && v.Run.IO().Port >= PortException {
		vec := int(v.Run.IO().Port - PortException)
		f := v.ExceptionFrame(vec)
		return fmt.Errorf("supervisor probe took exception %d at rip %#x (error code %#x, address %#x)", vec, f.RIP, f.ErrorCode, f.CR2)
	}
	return fmt.Errorf("supervisor probe ended with KVM exit %d at rip %#x", v.Run.ExitReason, v.Regs().RIP)
}

// runProbe maps code at 0x400000 in a fresh page table and runs it on a new
// vCPU with RAX = 0xff until its first exit.
func (m *Machine) runProbe(code []byte) (*VCPU, error) {
	pt, err := NewPageTable(m.Mem)
	if err != nil {
		return nil, err
	}
	if err := m.MapKernel(pt); err != nil {
		return nil, err
	}
	frame, err := m.Mem.Alloc()
	if err != nil {
		return nil, err
	}
	copy(m.Mem.Bytes(frame, PageSize), code)
	if err := pt.Map(0x400000, frame, ProtFlags(unix.PROT_READ|unix.PROT_EXEC)); err != nil {
		return nil, err
	}
	v, err := m.NewVCPU(pt.Root)
	if err != nil {
		return nil, err
	}
	*v.Regs() = Regs{RIP: 0x400000, RFLAGS: 0x2, RAX: 0xff}
	v.MarkRegsDirty()
	if err := v.Enter(); err != nil {
		return nil, fmt.Errorf("KVM_RUN: %w", err)
	}
	return v, nil
}
