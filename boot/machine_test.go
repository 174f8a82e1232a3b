package boot

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func requireKVM(t *testing.T) {
	t.Helper()
	if err := Available(); err != nil {
		t.Skipf("needs /dev/kvm: %v", err)
	}
}

func TestRunLayout(t *testing.T) {
	require.EqualValues(t, 304, unsafe.Offsetof(Run{}.SyncRegs))
	require.EqualValues(t, 144, unsafe.Sizeof(Regs{}))
	require.EqualValues(t, 312, unsafe.Sizeof(Sregs{}))
	require.EqualValues(t, 24, unsafe.Sizeof(SegReg{}))
}

// newTestGuest maps code at 0x400000 and a stack page, and returns a vCPU
// about to run it.
func newTestGuest(t *testing.T, code []byte) (*Machine, *PageTable, *VCPU) {
	requireKVM(t)
	m, err := NewMachine(16 << 20)
	require.NoError(t, err)
	t.Cleanup(m.Close)
	pt, err := NewPageTable(m.Mem)
	require.NoError(t, err)
	require.NoError(t, m.MapKernel(pt))
	f, err := m.Mem.Alloc()
	require.NoError(t, err)
	copy(m.Mem.Bytes(f, PageSize), code)
	require.NoError(t, pt.Map(0x400000, f, ProtFlags(unix.PROT_READ|unix.PROT_EXEC)))
	s, err := m.Mem.Alloc()
	require.NoError(t, err)
	require.NoError(t, pt.Map(0x7000000, s, ProtFlags(unix.PROT_READ|unix.PROT_WRITE)))
	v, err := m.NewVCPU(pt.Root)
	require.NoError(t, err)
	r := v.Regs()
	*r = Regs{RIP: 0x400000, RSP: 0x7001000, RFLAGS: 0x3202} // IOPL 3: the stub may OUT at CPL 3
	v.MarkRegsDirty()
	return m, pt, v
}

func TestSyscallExit(t *testing.T) {
	// mov $39,%eax; syscall; mov %rax,%rbx; hlt
	code := []byte{0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0x48, 0x89, 0xc3, 0xf4}
	_, _, v := newTestGuest(t, code)
	require.NoError(t, v.Enter())
	require.EqualValues(t, KVM_EXIT_MMIO, v.Run.ExitReason, "exit %d", v.Run.ExitReason)
	require.EqualValues(t, MMIOSyscall, v.Run.MMIO().PhysAddr)
	r := v.Regs()
	require.EqualValues(t, 39, r.RAX)
	require.EqualValues(t, 0x400007, r.RCX)
	r.RAX = 1234
	v.MarkRegsDirty()
	// KVM completes the stub's store, the stub returns through RCX, and the
	// app's HLT (privileged at CPL 3) ends in the #GP vector.
	require.NoError(t, v.Enter())
	require.EqualValues(t, KVM_EXIT_IO, v.Run.ExitReason, "exit %d", v.Run.ExitReason)
	require.EqualValues(t, PortException+13, v.Run.IO().Port)
	require.EqualValues(t, 1234, v.Regs().RBX)
}

func TestPageFaultExit(t *testing.T) {
	// mov $0x12345678,%eax; movq (0x9000000),%rbx  ; hlt
	code := []byte{0xb8, 0x78, 0x56, 0x34, 0x12, 0x48, 0x8b, 0x1c, 0x25, 0x00, 0x00, 0x00, 0x09, 0xf4}
	m, pt, v := newTestGuest(t, code)
	require.NoError(t, v.Enter())
	require.EqualValues(t, KVM_EXIT_IO, v.Run.ExitReason, "exit %d", v.Run.ExitReason)
	require.EqualValues(t, PortException+14, v.Run.IO().Port)
	f := v.ExceptionFrame(14)
	require.EqualValues(t, 0x9000000, f.CR2)
	require.EqualValues(t, 0x400005, f.RIP)
	require.EqualValues(t, 0x12345678, f.RAX)
	require.EqualValues(t, 0x7001000, f.RSP)
	// Map the page and resume at the faulting instruction, in user mode.
	p, err := m.Mem.Alloc()
	require.NoError(t, err)
	m.Mem.Bytes(p, 8)[0] = 42
	require.NoError(t, pt.Map(0x9000000, p, ProtFlags(unix.PROT_READ)))
	r := v.Regs()
	r.RIP, r.RSP, r.RFLAGS, r.RAX = f.RIP, f.RSP, f.RFLAGS, f.RAX
	v.MarkRegsDirty()
	require.NoError(t, v.ReturnToUser())
	require.NoError(t, v.Enter())
	require.EqualValues(t, PortException+13, v.Run.IO().Port, "the HLT after the load")
	require.EqualValues(t, 42, v.Regs().RBX)
}

func TestProbeNativeExecution(t *testing.T) {
	requireKVM(t)
	err := ProbeNativeExecution()
	if err != nil {
		require.ErrorIs(t, err, ErrEmulatedOnly)
		t.Logf("this host: %v", err)
	}
}

func TestPTEProtRoundTrip(t *testing.T) {
	for _, prot := range []int{unix.PROT_READ, unix.PROT_READ | unix.PROT_WRITE, unix.PROT_READ | unix.PROT_EXEC,
		unix.PROT_READ | unix.PROT_WRITE | unix.PROT_EXEC} {
		f, got, ok := PTEProt(0x5000 | ProtFlags(prot))
		require.True(t, ok)
		require.EqualValues(t, 0x5000, f)
		require.Equal(t, prot, got)
	}
	f, got, ok := PTEProt(0x6000 | PTE_PROTNONE)
	require.True(t, ok)
	require.EqualValues(t, 0x6000, f)
	require.Equal(t, unix.PROT_NONE, got)
	_, _, ok = PTEProt(0)
	require.False(t, ok)
}

func TestSupervisorAvailable(t *testing.T) {
	requireKVM(t)
	err := SupervisorAvailable()
	if err != nil {
		require.ErrorIs(t, err, ErrNoSupervisor)
		t.Logf("this host: %v", err)
	}
}
