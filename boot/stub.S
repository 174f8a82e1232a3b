// The stub: the only guest code rumpgo itself provides.
//
// The app runs at CPL 3. SYSCALL arrives in the syscall entry still at CPL 3
// and leaves through an MMIO store; exceptions arrive at CPL 0 on IST stacks
// and leave through an OUT to a port that names the vector. The monitor
// completes every event by writing registers itself; nothing here returns
// with SYSRETQ or IRETQ, which PVM's emulated supervisor mode cannot run.
//
// Offsets are fixed with .org so the Go side can name them as constants
// (stub.go); stub_test.go reassembles this file and compares the blob.

	.code64
	.text
	.globl _start
_start:

// 0x000: LSTAR. The app's SYSCALL arrives here still at CPL 3 (PVM runs
// user mode on the CPU). A store to the MMIO page exits to the monitor
// without a CPL change; KVM then completes the store and the stub returns
// through RCX with the RAX the monitor wrote. Nothing else is touched.
	.org 0x000
syscall_entry:
	// mov %al, mmio_page(%rip), encoded by hand: the page is outside this
	// section, and as(1) would leave the displacement to a linker.
	.byte 0x88, 0x05
	.long mmio_page - 6
	jmp *%rcx

// 0x100 + 16*v: exception vector v. Every vector runs on an IST stack, so the
// app's red zone and a broken RSP are never touched. The frame the monitor
// reads, from the IST top down: SS, RSP, RFLAGS, CS, RIP, error code (0 if the
// CPU pushes none), saved RAX, CR2.
.macro vec n, err
	.org 0x100 + 16*\n
	.if \err == 0
	push $0
	.endif
	push %rax
	mov %cr2, %rax
	push %rax
	out %al, $(0x20 + \n)
	hlt
.endm

	vec 0, 0
	vec 1, 0
	vec 2, 0
	vec 3, 0
	vec 4, 0
	vec 5, 0
	vec 6, 0
	vec 7, 0
	vec 8, 1
	vec 9, 0
	vec 10, 1
	vec 11, 1
	vec 12, 1
	vec 13, 1
	vec 14, 1
	vec 15, 0
	vec 16, 0
	vec 17, 1
	vec 18, 0
	vec 19, 0
	vec 20, 0
	vec 21, 1
	vec 22, 0
	vec 23, 0
	vec 24, 0
	vec 25, 0
	vec 26, 0
	vec 27, 0
	vec 28, 0
	vec 29, 1
	vec 30, 1
	vec 31, 0
	.org 0x300
// The MMIO page sits at KernelBase+0xfc000; the stub at KernelBase+0x3000.
	.set mmio_page, 0xfc000 - 0x3000
