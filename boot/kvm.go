package boot

import (
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ioctl numbers from linux/kvm.h for x86-64.
const (
	kvmGetAPIVersion       = 0xAE00
	kvmCreateVM            = 0xAE01
	kvmCheckExtension      = 0xAE03
	kvmGetVCPUMmapSize     = 0xAE04
	kvmGetSupportedCPUID   = 0xC008AE05
	kvmCreateVCPU          = 0xAE41
	kvmSetUserMemoryRegion = 0x4020AE46
	kvmRun                 = 0xAE80
	kvmGetRegs             = 0x8090AE81
	kvmSetRegs             = 0x4090AE82
	kvmGetSregs            = 0x8138AE83
	kvmSetSregs            = 0x4138AE84
	kvmInterrupt           = 0x4004AE86
	kvmGetMSRs             = 0xC008AE88
	kvmSetMSRs             = 0x4008AE89
	kvmSetCPUID2           = 0x4008AE90
	kvmSetXCRs             = 0x4188AEA7
	kvmGetXsave            = 0x9000AEA4
	kvmSetXsave            = 0x5000AEA5
)

// KVM capabilities and constants.
const (
	KVM_API_VERSION        = 12
	KVM_CAP_NR_VCPUS       = 9
	KVM_CAP_MAX_VCPUS      = 66
	KVM_CAP_SYNC_REGS      = 74
	KVM_CAP_IMMEDIATE_EXIT = 136

	KVM_SYNC_X86_REGS  = 1 << 0
	KVM_SYNC_X86_SREGS = 1 << 1

	KVM_EXIT_UNKNOWN         = 0
	KVM_EXIT_EXCEPTION       = 1
	KVM_EXIT_IO              = 2
	KVM_EXIT_HLT             = 5
	KVM_EXIT_IRQ_WINDOW_OPEN = 7
	KVM_EXIT_MMIO            = 6
	KVM_EXIT_SHUTDOWN        = 8
	KVM_EXIT_FAIL_ENTRY      = 9
	KVM_EXIT_INTR            = 10
	KVM_EXIT_INTERNAL_ERROR  = 17

	KVM_EXIT_IO_OUT = 1
)

// Regs is struct kvm_regs.
type Regs struct {
	RAX, RBX, RCX, RDX, RSI, RDI, RSP, RBP uint64
	R8, R9, R10, R11, R12, R13, R14, R15   uint64
	RIP, RFLAGS                            uint64
}

// SegReg is struct kvm_segment.
type SegReg struct {
	Base                                 uint64
	Limit                                uint32
	Selector                             uint16
	Type, Present, DPL, DB, S, L, G, AVL uint8
	Unusable, _                          uint8
}

// DTable is struct kvm_dtable.
type DTable struct {
	Base  uint64
	Limit uint16
	_     [3]uint16
}

// Sregs is struct kvm_sregs.
type Sregs struct {
	CS, DS, ES, FS, GS, SS, TR, LDT SegReg
	GDT, IDT                        DTable
	CR0, CR2, CR3, CR4, CR8         uint64
	EFER, APICBase                  uint64
	InterruptBitmap                 [4]uint64
}

// Run is the head of struct kvm_run as mapped from the vCPU fd.
type Run struct {
	RequestInterruptWindow uint8
	ImmediateExit          uint8
	_                      [6]uint8
	ExitReason             uint32
	ReadyForInjection      uint8
	IFFlag                 uint8
	Flags                  uint16
	CR8                    uint64
	APICBase               uint64
	exit                   [256]byte
	ValidRegs              uint64
	DirtyRegs              uint64
	SyncRegs               Regs
	SyncSregs              Sregs
}

// IO is the KVM_EXIT_IO member of kvm_run's exit union.
type IO struct {
	Direction  uint8
	Size       uint8
	Port       uint16
	Count      uint32
	DataOffset uint64
}

// MMIO is the KVM_EXIT_MMIO member of kvm_run's exit union.
type MMIO struct {
	PhysAddr uint64
	Data     [8]byte
	Len      uint32
	IsWrite  uint8
}

// MMIO returns the MMIO exit description.
func (r *Run) MMIO() *MMIO { return (*MMIO)(unsafe.Pointer(&r.exit[0])) }

// IO returns the port I/O exit description.
func (r *Run) IO() *IO { return (*IO)(unsafe.Pointer(&r.exit[0])) }

// ExitData returns the raw exit union, for error reports.
func (r *Run) ExitData() []byte { return r.exit[:] }

type cpuidEntry struct {
	Function, Index, Flags, EAX, EBX, ECX, EDX uint32
	_                                          [3]uint32
}

type msrEntry struct {
	Index, _ uint32
	Data     uint64
}

// ioctl retries a call a signal interrupted (KVM_CREATE_VM answers EINTR
// when the Go runtime's SIGURG lands during it), except KVM_RUN, whose
// EINTR is how a vCPU is kicked.
func ioctl(fd int, req uintptr, arg uintptr) (uintptr, error) {
	for {
		r, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, arg)
		switch {
		case e == unix.EINTR && req != kvmRun:
			continue
		case e != 0:
			return r, e
		}
		return r, nil
	}
}

// KVM is an open /dev/kvm.
type KVM struct {
	fd       int
	mmapSize int
	MaxVCPUs int
}

// OpenKVM opens /dev/kvm and checks the capabilities rumpgo relies on.
func OpenKVM() (*KVM, error) {
	fd, err := unix.Open("/dev/kvm", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open /dev/kvm: %w", err)
	}
	k := &KVM{fd: fd}
	fail := func(err error) (*KVM, error) { unix.Close(fd); return nil, err }
	if v, err := ioctl(fd, kvmGetAPIVersion, 0); err != nil || v != KVM_API_VERSION {
		return fail(fmt.Errorf("/dev/kvm: unexpected API version %d (%v)", v, err))
	}
	for _, c := range []struct {
		cap  uintptr
		name string
	}{{KVM_CAP_SYNC_REGS, "KVM_CAP_SYNC_REGS"}, {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"}} {
		if v, err := ioctl(fd, kvmCheckExtension, c.cap); err != nil || v == 0 {
			return fail(fmt.Errorf("/dev/kvm lacks %s", c.name))
		}
	}
	sz, err := ioctl(fd, kvmGetVCPUMmapSize, 0)
	if err != nil {
		return fail(fmt.Errorf("KVM_GET_VCPU_MMAP_SIZE: %w", err))
	}
	k.mmapSize = int(sz)
	k.MaxVCPUs = 1
	if v, err := ioctl(fd, kvmCheckExtension, KVM_CAP_MAX_VCPUS); err == nil && v > 0 {
		k.MaxVCPUs = int(v)
	} else if v, err := ioctl(fd, kvmCheckExtension, KVM_CAP_NR_VCPUS); err == nil && v > 0 {
		k.MaxVCPUs = int(v)
	}
	return k, nil
}

// Close releases /dev/kvm.
func (k *KVM) Close() error { return unix.Close(k.fd) }

// supportedCPUID returns KVM_GET_SUPPORTED_CPUID's table.
func (k *KVM) supportedCPUID() ([]cpuidEntry, error) {
	for n := 64; n <= 4096; n *= 2 {
		buf := make([]byte, 8+n*int(unsafe.Sizeof(cpuidEntry{})))
		*(*uint32)(unsafe.Pointer(&buf[0])) = uint32(n)
		_, err := ioctl(k.fd, kvmGetSupportedCPUID, uintptr(unsafe.Pointer(&buf[0])))
		if err == unix.E2BIG {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("KVM_GET_SUPPORTED_CPUID: %w", err)
		}
		nent := *(*uint32)(unsafe.Pointer(&buf[0]))
		entries := unsafe.Slice((*cpuidEntry)(unsafe.Pointer(&buf[8])), nent)
		return append([]cpuidEntry(nil), entries...), nil
	}
	return nil, fmt.Errorf("KVM_GET_SUPPORTED_CPUID: table too large")
}

func kvmAvailable() error {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return err
	}
	return f.Close()
}

// Available reports why /dev/kvm cannot be used, or nil.
func Available() error { return kvmAvailable() }
