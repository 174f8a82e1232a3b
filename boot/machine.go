package boot

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Guest layout. Guest-physical [0, ReservedSize) belongs to the machine and
// is mapped, supervisor-only, at KernelBase in every address space; the rest
// of RAM is frames for the app. Everything lives in the lower half: PVM
// reserves the upper half for the host. The app's space ends below
// KernelBase (posix/mm.StackTop).
const (
	KernelBase   = 0x7fff_c000_0000 // lower half: PVM gives a guest nothing else
	ReservedSize = 0x100000

	gdtPA     = 0x1000
	idtPA     = 0x2000
	stubPA    = 0x3000
	tssPA     = 0x4000 // tssSize bytes per vCPU
	istPA     = 0x10000
	mailboxPA = 0x60000 // MailboxSize bytes per vCPU, user-accessible
	mmioPA    = 1 << 46 // no memslot: a store here is KVM_EXIT_MMIO
	mmioVA    = KernelBase + 0xfc000
	tssSize   = 128
	istSize   = 512 // per stack; two stacks per vCPU
	MaxVCPUs  = 256 // bounded by the TSS and IST areas above

)

// Stub entry points (offsets fixed by .org in stub.S).
const (
	StubSyscall   = KernelBase + stubPA + 0x000
	StubVectors   = KernelBase + stubVectors // + 16*vector
	stubMMIOStore = stubPA + 0x192           // the slow path's store to the MMIO page
	stubVectors   = stubPA + 0x200
)

// The syscall mailbox: MailboxSize bytes per vCPU, at its GS base, that the
// stub's syscall entry shares with a monitor thread polling it (stub.S).
// The guest can write it; the monitor treats every field as guest input.
const (
	MailboxSize    = 256
	MailboxSeq     = 0x00 // guest: the number of the call it posted
	MailboxAck     = 0x08 // monitor: = Seq when RET holds the result
	MailboxRet     = 0x10 // monitor: the result (RAX)
	MailboxCtl     = 0x18 // monitor: MailboxPolling while a thread polls
	MailboxSlow    = 0x20 // monitor: = Seq when the call must finish on the vCPU
	MailboxSpin    = 0x28 // monitor: how many rounds the guest waits (u32)
	MailboxRegs    = 0x40 // guest: the registers at SYSCALL, as struct kvm_regs without RIP and RFLAGS
	MailboxPolling = 1

	// The guest kernel's per-vCPU words (kernel/entry_amd64.s), in the
	// part of the mailbox the stub does not use.
	MailboxInUser   = 0xc0 // kernel: 1 while the app runs on this vCPU
	MailboxKernelSP = 0xc8 // kernel: its stack pointer in switchToUser
	MailboxUserRegs = 0xd0 // kernel: where the entry saves the app's registers
	MailboxKernelFS = 0xd8 // kernel: its FS base (the Go runtime's TLS)
	MailboxVIF      = 0xe0 // monitor: the VIF page, through the physmap
	MailboxScratch  = 0xe8
)

// Ports the stub exits through.
const (
	// MMIOSyscall is the guest-physical address the syscall entry stores to.
	MMIOSyscall   = mmioPA
	PortException = 0x20 // + vector
)

// MMIOAccess is what the guest touched when it accessed the MMIO page other
// than through the stub's syscall store: its guest-virtual address, for a
// page fault. ok is false for any other unbacked guest-physical address.
func MMIOAccess(pa uint64) (va uint64, ok bool) {
	if pa < mmioPA || pa >= mmioPA+PageSize {
		return 0, false
	}
	return mmioVA + pa - mmioPA, true
}

// StubStore reports whether rip, at an MMIO exit, is just past the
// stub's syscall store: the only MMIO access a syscall makes.
func StubStore(rip uint64) bool {
	return rip > KernelBase+stubMMIOStore && rip <= KernelBase+stubMMIOStore+15
}

// SegReg selectors in our GDT.
const (
	selCode     = 0x08
	selData     = 0x10
	selUserData = 0x2b // as Linux's __USER_DS
	selUserCode = 0x33 // as Linux's __USER_CS
	selTSS      = 0x40
)

// Control-register and MSR bits the machine sets.
const (
	CR0_PE = 1 << 0
	CR0_MP = 1 << 1
	CR0_ET = 1 << 4
	CR0_NE = 1 << 5
	CR0_WP = 1 << 16
	CR0_AM = 1 << 18
	CR0_PG = 1 << 31

	CR4_PAE        = 1 << 5
	CR4_OSFXSR     = 1 << 9
	CR4_OSXMMEXCPT = 1 << 10
	CR4_FSGSBASE   = 1 << 16
	CR4_OSXSAVE    = 1 << 18

	EFER_SCE = 1 << 0
	EFER_LME = 1 << 8
	EFER_LMA = 1 << 10
	EFER_NXE = 1 << 11

	MSR_STAR           = 0xc0000081
	MSR_LSTAR          = 0xc0000082
	MSR_CSTAR          = 0xc0000083
	MSR_SFMASK         = 0xc0000084
	MSR_FS_BASE        = 0xc0000100
	MSR_GS_BASE        = 0xc0000101
	MSR_KERNEL_GS_BASE = 0xc0000102
)

// Supervisor mode (docs/design/guest-kernel.md): on a PVM host that offers
// it, the vCPU runs guest code at CPL 0 natively once a VIF page is
// registered. In KPTI mode PVM takes the CPL from CR3 bit 12 (the user root
// is the kernel root + 4 KiB) and pushes exception frames only on stacks in
// the upper half, so the reserved area is mapped there too, at UpperBase
// (PML4 slot 511; slot 256 is not usable by a guest on these hosts).
const (
	UpperBase = 0xffff_ff80_0000_0000
	// PhysmapBase maps all of guest RAM for the guest kernel (slot 384),
	// through which it writes user page tables and copies user memory.
	PhysmapBase = 0xffff_c000_0000_0000

	MSR_PVM_VIF       = 0x4b564d10 // VIF page GPA | PVM_F_* feature bits
	MSR_PVM_SIGNATURE = 0x4b564d11 // reads "PVM\0"
	MSR_PVM_FEATURES  = 0x4b564d12 // the feature bits the host offers

	PVMSignature = 0x4d5650

	// Feature bits of MSR_PVM_VIF: KPTI (bit 0), GS swapped on event and
	// syscall entry (1, 2), return via IRET frame (3), CR2 in the VIF page
	// (4), exit-less return to user (2|3|6).
	PVMFeatures = 0x5f
)

// Machine is one KVM VM: its guest RAM, descriptor tables, stub and vCPUs.
type Machine struct {
	kvm   *KVM
	vmfd  int
	Mem   *Memory
	cpuid []cpuidEntry
	xcr0  uint64

	// supervisor: new vCPUs start at CPL 0 with a VIF page (supervisor mode).
	supervisor bool

	mu    sync.Mutex
	vcpus []*VCPU
}

// EnableSupervisor makes vCPUs created from now on run guest code at CPL 0,
// natively, in PVM's supervisor mode. Call it before MapKernel and the first
// NewVCPU. It fails on hosts whose KVM does not offer the mode.
func (m *Machine) EnableSupervisor() error {
	if err := SupervisorAvailable(); err != nil {
		return err
	}
	m.supervisor = true
	return nil
}

// Supervisor reports whether vCPUs run at CPL 0.
func (m *Machine) Supervisor() bool { return m.supervisor }

// NewMachine creates a VM with memSize bytes of RAM and installs the stub.
func NewMachine(memSize uint64) (*Machine, error) {
	k, err := OpenKVM()
	if err != nil {
		return nil, err
	}
	m := &Machine{kvm: k}
	if err := m.init(memSize); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

func (m *Machine) init(memSize uint64) error {
	fd, err := ioctl(m.kvm.fd, kvmCreateVM, 0)
	if err != nil {
		return fmt.Errorf("KVM_CREATE_VM: %w", err)
	}
	m.vmfd = int(fd)
	if m.Mem, err = NewMemory(memSize, ReservedSize); err != nil {
		return err
	}
	region := struct {
		Slot, Flags                       uint32
		GuestPhys, Size, UserspaceAddress uint64
	}{0, 0, 0, memSize, uint64(m.Mem.Host())}
	if _, err := ioctl(m.vmfd, kvmSetUserMemoryRegion, uintptr(unsafe.Pointer(&region))); err != nil {
		return fmt.Errorf("KVM_SET_USER_MEMORY_REGION: %w", err)
	}
	if m.cpuid, err = m.kvm.supportedCPUID(); err != nil {
		return err
	}
	m.xcr0 = 1 // x87 is always on
	for _, e := range m.cpuid {
		if e.Function == 0xd && e.Index == 0 {
			m.xcr0 = uint64(e.EAX) | uint64(e.EDX)<<32
		}
	}
	m.writeTables()
	return nil
}

func (m *Machine) writeTables() {
	le := binary.LittleEndian
	gdt := m.Mem.Bytes(gdtPA, PageSize)
	le.PutUint64(gdt[selCode:], 0x00af9b000000ffff) // 64-bit code, DPL 0
	le.PutUint64(gdt[selData:], 0x00cf93000000ffff) // data, DPL 0
	le.PutUint64(gdt[selUserData&^3:], 0x00cff3000000ffff)
	le.PutUint64(gdt[selUserCode&^3:], 0x00affb000000ffff)
	idt := m.Mem.Bytes(idtPA, PageSize)
	for v := range 32 {
		SetGate(idt, v, StubVectors+16*uint64(v))
	}
	copy(m.Mem.Bytes(stubPA, PageSize), stubBlob)
}

// MapKernel maps the machine's reserved area into pt at KernelBase.
func (m *Machine) MapKernel(pt *PageTable) error {
	if err := pt.Map(mmioVA, mmioPA, PTE_P|PTE_W|PTE_U|PTE_A|PTE_D|PTE_NX); err != nil {
		return err
	}
	for pa := uint64(0); pa < ReservedSize; pa += PageSize {
		if KernelBase+pa == mmioVA {
			continue
		}
		flags := uint64(PTE_P | PTE_W | PTE_A | PTE_D | PTE_NX)
		switch {
		case pa == stubPA:
			// User-executable: the app's SYSCALL arrives here at CPL 3.
			flags = PTE_P | PTE_A | PTE_U
		case pa >= mailboxPA && pa < mailboxPA+MaxVCPUs*MailboxSize:
			// The stub writes the mailboxes at CPL 3.
			flags |= PTE_U
		}
		if m.supervisor {
			// PVM's shadow MMU gives native supervisor code only pages with
			// U set; what keeps the app out is the KPTI user root, which
			// maps none of this.
			flags |= PTE_U
		}
		if err := pt.Map(KernelBase+pa, pa, flags); err != nil {
			return err
		}
		if m.supervisor && pa >= gdtPA && pa < mailboxPA {
			// Descriptor tables, TSS and IST stacks, where PVM reads
			// gates and pushes exception frames (see MapEventTables).
			if err := pt.Map(UpperBase+pa, pa, PTE_P|PTE_W|PTE_U|PTE_A|PTE_D|PTE_NX); err != nil {
				return err
			}
		}
	}
	if m.supervisor {
		const huge = 2 << 20
		for pa := uint64(0); pa < m.Mem.Size(); pa += huge {
			if err := pt.MapHuge(PhysmapBase+pa, pa, PTE_P|PTE_W|PTE_U|PTE_A|PTE_D|PTE_NX); err != nil {
				return err
			}
		}
	}
	return nil
}

// IDT is the machine's IDT as guest code at CPL 0 sees it (at KernelBase),
// for the guest kernel's SetGate.
func IDT() []byte {
	base := uintptr(KernelBase + idtPA)
	return unsafe.Slice(*(**byte)(unsafe.Pointer(&base)), PageSize)
}

// SetGate writes IDT gate v: a 64-bit interrupt gate to handler at DPL 0,
// on IST stack 2 for NMI, #DF and #MC and 1 for the rest, so that no
// exception ever runs on the app's stack. Gates 3 and 4 are DPL 3, as
// Linux opens them to user mode: int3 and into trap (#BP, #OF) where
// any other INT n is a #GP.
func SetGate(idt []byte, v int, handler uint64) {
	var g [16]byte
	le := binary.LittleEndian
	le.PutUint16(g[0:], uint16(handler))
	le.PutUint16(g[2:], selCode)
	g[4] = 1
	if v == 2 || v == 8 || v == 18 {
		g[4] = 2
	}
	g[5] = 0x8e // present, DPL 0, 64-bit interrupt gate
	if v == 3 || v == 4 {
		g[5] = 0xee // DPL 3
	}
	le.PutUint16(g[6:], uint16(handler>>16))
	le.PutUint32(g[8:], uint32(handler>>32))
	// Not one atomic update: a vCPU taking vector v between the two
	// stores would jump to half the old and half the new address. Gates
	// change only before the vCPUs run, and once as the guest kernel starts.
	e := unsafe.Slice((*uint64)(unsafe.Pointer(&idt[16*v])), 2)
	atomic.StoreUint64(&e[0], le.Uint64(g[:8]))
	atomic.StoreUint64(&e[1], le.Uint64(g[8:]))
}

// MapEventTables maps into a KPTI user root what PVM reads and writes
// while it delivers an exception from user mode: GDT, IDT, TSS and the IST
// stacks, at UpperBase, where a supervisor vCPU's descriptor-table
// registers point. PVM walks the user root for them before it switches to
// the kernel root; U is clear, so the app cannot touch them (PVM's walk
// is a supervisor access). In the upper half an access of the app's to
// them is an ordinary #PF: in the lower half, an access to a U=0 page
// loops in PVM's shadow MMU without ever reaching the guest.
func MapEventTables(pt *PageTable) error {
	for pa := uint64(gdtPA); pa < mailboxPA; pa += PageSize {
		if err := pt.Map(UpperBase+pa, pa, PTE_P|PTE_W|PTE_A|PTE_D|PTE_NX); err != nil {
			return err
		}
	}
	return nil
}

// Close releases the VM and its memory.
func (m *Machine) Close() {
	m.mu.Lock()
	for _, v := range m.vcpus {
		v.close()
	}
	m.vcpus = nil
	m.mu.Unlock()
	if m.vmfd > 0 {
		unix.Close(m.vmfd)
	}
	if m.Mem != nil {
		m.Mem.Close()
	}
	m.kvm.Close()
}

// MaxVCPUs is how many vCPUs this machine can create.
func (m *Machine) MaxVCPUs() int { return min(m.kvm.MaxVCPUs, MaxVCPUs) }

// VCPU is one virtual CPU. Its methods must be called from the one OS thread
// that runs it.
type VCPU struct {
	ID  int
	fd  int
	Run *Run
	run []byte
	m   *Machine
	vif uint64 // the VIF page in supervisor mode
}

// NewVCPU creates a vCPU in 64-bit ring 0 with paging rooted at cr3, the
// stub as its SYSCALL target, and every exception on an IST stack.
func (m *Machine) NewVCPU(cr3 uint64) (*VCPU, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id := len(m.vcpus)
	if id >= m.MaxVCPUs() {
		return nil, fmt.Errorf("vCPU limit %d reached", m.MaxVCPUs())
	}
	fd, err := ioctl(m.vmfd, kvmCreateVCPU, uintptr(id))
	if err != nil {
		return nil, fmt.Errorf("KVM_CREATE_VCPU: %w", err)
	}
	run, err := unix.Mmap(int(fd), 0, m.kvm.mmapSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		unix.Close(int(fd))
		return nil, fmt.Errorf("mmap kvm_run: %w", err)
	}
	v := &VCPU{ID: id, fd: int(fd), run: run, Run: (*Run)(unsafe.Pointer(&run[0])), m: m}
	if err := v.setup(cr3); err != nil {
		v.close()
		return nil, err
	}
	m.vcpus = append(m.vcpus, v)
	return v, nil
}

func (v *VCPU) close() {
	unix.Munmap(v.run)
	unix.Close(v.fd)
}

// istTop returns the guest-physical top of IST stack n (1 or 2) of vCPU id.
func istTop(id, n int) uint64 { return istPA + uint64(id)*2*istSize + uint64(n)*istSize }

func (v *VCPU) setup(cr3 uint64) error {
	m := v.m
	le := binary.LittleEndian
	tss := m.Mem.Bytes(tssPA+uint64(v.ID)*tssSize, tssSize)
	stacks := uint64(KernelBase)
	if m.supervisor {
		stacks = UpperBase
	}
	le.PutUint64(tss[0x04:], stacks+istTop(v.ID, 1)) // RSP0
	le.PutUint64(tss[0x24:], stacks+istTop(v.ID, 1))
	le.PutUint64(tss[0x2c:], stacks+istTop(v.ID, 2))
	le.PutUint16(tss[0x66:], 0x68) // no I/O bitmap

	if err := v.setCPUID(); err != nil {
		return err
	}
	var s Sregs
	if _, err := ioctl(v.fd, kvmGetSregs, uintptr(unsafe.Pointer(&s))); err != nil {
		return fmt.Errorf("KVM_GET_SREGS: %w", err)
	}
	// The app runs at CPL 3: PVM executes user mode on the CPU but emulates
	// supervisor mode instruction by instruction (no SSE), see README.
	code := SegReg{Limit: 0xffffffff, Selector: selUserCode, Type: 11, Present: 1, S: 1, L: 1, G: 1, DPL: 3}
	data := SegReg{Limit: 0xffffffff, Selector: selUserData, Type: 3, Present: 1, S: 1, DB: 1, G: 1, DPL: 3}
	s.CS = code
	s.DS, s.ES, s.FS, s.GS, s.SS = data, data, data, data, data
	if m.supervisor {
		KernelSegments(&s)
		s.FS, s.GS = s.DS, s.DS
	}
	s.GS.Base = KernelBase + v.mailboxPA()
	s.TR = SegReg{Base: stacks + tssPA + uint64(v.ID)*tssSize, Limit: 0x67, Selector: selTSS, Type: 11, Present: 1}
	s.LDT = SegReg{Unusable: 1}
	s.GDT = DTable{Base: stacks + gdtPA, Limit: 10*8 - 1}
	s.IDT = DTable{Base: stacks + idtPA, Limit: 256*16 - 1}
	s.CR0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_AM | CR0_PG
	s.CR3 = cr3
	// No CR4.FSGSBASE: the stub owns the GS base (the mailbox), and
	// AT_HWCAP2 does not offer the instructions, so RDGSBASE and friends
	// are #UD (SIGILL), as on a Linux that does not enable them. (PVM runs
	// user mode under the host's CR4 and ignores this: there WRGSBASE
	// works, and the next system call dies of SIGSEGV in the stub.)
	s.CR4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_OSXSAVE
	s.EFER = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE
	if err := v.SetSregs(&s); err != nil {
		return err
	}
	if err := v.setXCR0(m.xcr0); err != nil {
		return err
	}
	msrs := map[uint32]uint64{
		MSR_STAR:   selCode << 32,
		MSR_LSTAR:  StubSyscall,
		MSR_CSTAR:  StubSyscall,
		MSR_SFMASK: 0x100, // TF: single-step must not follow into the stub
	}
	if m.supervisor {
		// Registered from the host, the VIF page makes the vCPU native from
		// its first instruction (the KPTI bit lets KVM_SET_MSRS take it).
		vif, err := m.Mem.Alloc()
		if err != nil {
			return err
		}
		v.vif = vif
		msrs[MSR_PVM_VIF] = vif | PVMFeatures
		// And IF: the guest kernel runs with virtual interrupts off, so
		// boot.KickVector only ever arrives in its app.
		msrs[MSR_SFMASK] = 0x300
		binary.LittleEndian.PutUint64(v.Mailbox()[MailboxVIF:], PhysmapBase+vif)
	}
	if err := v.SetMSRs(msrs); err != nil {
		return err
	}
	v.Run.ValidRegs = KVM_SYNC_X86_REGS
	return nil
}

func (v *VCPU) setCPUID() error {
	entries := v.m.cpuid
	buf := make([]byte, 8+len(entries)*int(unsafe.Sizeof(cpuidEntry{})))
	binary.LittleEndian.PutUint32(buf, uint32(len(entries)))
	dst := unsafe.Slice((*cpuidEntry)(unsafe.Pointer(&buf[8])), len(entries))
	copy(dst, entries)
	for i := range dst {
		if dst[i].Function == 1 {
			// Initial APIC ID, so getcpu-style code sees distinct CPUs.
			dst[i].EBX = dst[i].EBX&0x00ffffff | uint32(v.ID)<<24
		}
	}
	if _, err := ioctl(v.fd, kvmSetCPUID2, uintptr(unsafe.Pointer(&buf[0]))); err != nil {
		return fmt.Errorf("KVM_SET_CPUID2: %w", err)
	}
	return nil
}

func (v *VCPU) setXCR0(xcr0 uint64) error {
	var x struct {
		N, Flags uint32
		XCRs     [16]struct {
			XCR, _ uint32
			Value  uint64
		}
		_ [16]uint64
	}
	x.N = 1
	x.XCRs[0].Value = xcr0
	if _, err := ioctl(v.fd, kvmSetXCRs, uintptr(unsafe.Pointer(&x))); err != nil {
		return fmt.Errorf("KVM_SET_XCRS (xcr0=%#x): %w", xcr0, err)
	}
	return nil
}

// SetMSRs writes model-specific registers.
func (v *VCPU) SetMSRs(msrs map[uint32]uint64) error {
	buf := make([]byte, 8+16*len(msrs))
	binary.LittleEndian.PutUint32(buf, uint32(len(msrs)))
	i := 0
	for idx, val := range msrs {
		e := (*msrEntry)(unsafe.Pointer(&buf[8+16*i]))
		e.Index, e.Data = idx, val
		i++
	}
	n, err := ioctl(v.fd, kvmSetMSRs, uintptr(unsafe.Pointer(&buf[0])))
	if err != nil || int(n) != len(msrs) {
		return fmt.Errorf("KVM_SET_MSRS: set %d of %d: %v", n, len(msrs), err)
	}
	return nil
}

// KickVector is the interrupt the monitor injects to bring a vCPU running
// the guest kernel's app into the kernel (the kernel's IDT takes it).
const KickVector = 32

// Interrupt injects external interrupt vector into the vCPU; it is taken
// when the vCPU next runs with interrupts enabled (Run.ReadyForInjection).
func (v *VCPU) Interrupt(vector uint32) error {
	if _, err := ioctl(v.fd, kvmInterrupt, uintptr(unsafe.Pointer(&vector))); err != nil {
		return fmt.Errorf("KVM_INTERRUPT: %w", err)
	}
	return nil
}

// GetMSR reads one model-specific register.
func (v *VCPU) GetMSR(index uint32) (uint64, error) {
	var buf struct {
		N, _ uint32
		E    msrEntry
	}
	buf.N, buf.E.Index = 1, index
	n, err := ioctl(v.fd, kvmGetMSRs, uintptr(unsafe.Pointer(&buf)))
	if err != nil || n != 1 {
		return 0, fmt.Errorf("KVM_GET_MSRS %#x: %v", index, err)
	}
	return buf.E.Data, nil
}

// GetSregs reads the special registers (an ioctl: not for hot paths).
func (v *VCPU) GetSregs(s *Sregs) error {
	_, err := ioctl(v.fd, kvmGetSregs, uintptr(unsafe.Pointer(s)))
	return err
}

// ReturnToUser puts the vCPU back at CPL 3 with user segments after the
// stub took an exception at CPL 0 (KVM's emulator cannot IRETQ there).
func (v *VCPU) ReturnToUser() error {
	var s Sregs
	if err := v.GetSregs(&s); err != nil {
		return err
	}
	UserSegments(&s)
	return v.SetSregs(&s)
}

// UserSegments sets CS, SS, DS and ES to the app's CPL 3 segments: for a
// return from the stub, and for a vCPU that starts another thread (its
// last one may have ended inside the stub, at CPL 0).
func UserSegments(s *Sregs) {
	s.CS = SegReg{Limit: 0xffffffff, Selector: selUserCode, Type: 11, Present: 1, S: 1, L: 1, G: 1, DPL: 3}
	data := SegReg{Limit: 0xffffffff, Selector: selUserData, Type: 3, Present: 1, S: 1, DB: 1, G: 1, DPL: 3}
	s.SS, s.DS, s.ES = data, data, data
}

// KernelSegments sets CS, SS, DS and ES to the CPL 0 segments a vCPU in
// supervisor mode runs with.
func KernelSegments(s *Sregs) {
	s.CS = SegReg{Limit: 0xffffffff, Selector: selCode, Type: 11, Present: 1, S: 1, L: 1, G: 1}
	data := SegReg{Limit: 0xffffffff, Selector: selData, Type: 3, Present: 1, S: 1, DB: 1, G: 1}
	s.SS, s.DS, s.ES = data, data, data
}

// SetSregs writes the special registers (~100 µs on PVM: not for hot paths).
func (v *VCPU) SetSregs(s *Sregs) error {
	if _, err := ioctl(v.fd, kvmSetSregs, uintptr(unsafe.Pointer(s))); err != nil {
		return fmt.Errorf("KVM_SET_SREGS: %w", err)
	}
	return nil
}

// Regs returns the synced general registers; after changing them call
// MarkRegsDirty so the next Enter loads them.
func (v *VCPU) Regs() *Regs { return &v.Run.SyncRegs }

// MarkRegsDirty makes the next Enter load Regs into the vCPU.
func (v *VCPU) MarkRegsDirty() { v.Run.DirtyRegs |= KVM_SYNC_X86_REGS }

// Enter runs the vCPU until its next exit. EINTR (a kick) is returned as is.
func (v *VCPU) Enter() error {
	_, err := ioctl(v.fd, kvmRun, 0)
	return err
}

func (v *VCPU) mailboxPA() uint64 { return mailboxPA + uint64(v.ID)*MailboxSize }

// Mailbox is this vCPU's syscall mailbox (host memory shared with the guest).
func (v *VCPU) Mailbox() []byte { return v.m.Mem.Bytes(v.mailboxPA(), MailboxSize) }

// XsaveSize is struct kvm_xsave: the XSAVE image of a vCPU's FPU, SSE and
// AVX state, in the standard (non-compacted) format.
const XsaveSize = 4096

// GetXsave reads the vCPU's extended state (an ioctl, no guest exit).
func (v *VCPU) GetXsave(buf *[XsaveSize]byte) error {
	if _, err := ioctl(v.fd, kvmGetXsave, uintptr(unsafe.Pointer(buf))); err != nil {
		return fmt.Errorf("KVM_GET_XSAVE: %w", err)
	}
	return nil
}

// SetXsave loads the vCPU's extended state.
func (v *VCPU) SetXsave(buf *[XsaveSize]byte) error {
	if _, err := ioctl(v.fd, kvmSetXsave, uintptr(unsafe.Pointer(buf))); err != nil {
		return fmt.Errorf("KVM_SET_XSAVE: %w", err)
	}
	return nil
}

// ExceptionFrame is what the stub leaves on the IST stack for a vector.
type ExceptionFrame struct {
	CR2, RAX, ErrorCode, RIP, CS, RFLAGS, RSP, SS uint64
}

// ExceptionFrame reads the frame of the exception this vCPU just took.
func (v *VCPU) ExceptionFrame(vector int) ExceptionFrame {
	n := 1
	if vector == 2 || vector == 8 || vector == 18 {
		n = 2
	}
	top := istTop(v.ID, n)
	b := v.m.Mem.Bytes(top-64, 64)
	le := binary.LittleEndian
	var f ExceptionFrame
	for i, p := range []*uint64{&f.CR2, &f.RAX, &f.ErrorCode, &f.RIP, &f.CS, &f.RFLAGS, &f.RSP, &f.SS} {
		*p = le.Uint64(b[8*i:])
	}
	return f
}

// CPUID returns the registers of a leaf as the vCPUs see it.
func (m *Machine) CPUID(fn, index uint32) (eax, ebx, ecx, edx uint32, ok bool) {
	for _, e := range m.cpuid {
		if e.Function == fn && (e.Index == index || e.Flags&1 == 0) {
			return e.EAX, e.EBX, e.ECX, e.EDX, true
		}
	}
	return 0, 0, 0, 0, false
}
