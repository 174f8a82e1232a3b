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
// user mode on the CPU). GS base points at this vCPU's mailbox (Mailbox* in
// machine.go): the entry saves every register there and numbers the call by
// bumping SEQ; if a monitor thread is polling the mailbox, it spins until the
// monitor answers — no VM exit at all. The answer is ACK=SEQ (RAX is RET) or
// SLOW=SEQ (finish on the vCPU); no answer within SPIN rounds, or no poller,
// also takes the slow path: a store to the MMIO page, which exits to the
// monitor without a CPL change. Only RAX, RCX and R11 change, as SYSCALL
// allows; the fast path restores the arithmetic flags from R11 as SYSRET
// would (OF through an ADD, the rest through SAHF).
	.org 0x000
syscall_entry:
	mov %rax, %gs:0x40
	mov %rbx, %gs:0x48
	mov %rcx, %gs:0x50
	mov %rdx, %gs:0x58
	mov %rsi, %gs:0x60
	mov %rdi, %gs:0x68
	mov %rsp, %gs:0x70
	mov %rbp, %gs:0x78
	mov %r8, %gs:0x80
	mov %r9, %gs:0x88
	mov %r10, %gs:0x90
	mov %r11, %gs:0x98
	mov %r12, %gs:0xa0
	mov %r13, %gs:0xa8
	mov %r14, %gs:0xb0
	mov %r15, %gs:0xb8
	mov %gs:0x00, %rax
	inc %rax
	mov %rax, %gs:0x00
	testb $1, %gs:0x18
	jz slow_exit
	mov %gs:0x28, %ecx
1:	cmp %gs:0x08, %rax
	je fast_done
	cmp %gs:0x20, %rax
	je slow_exit
	pause
	dec %ecx
	jnz 1b
	jmp slow_exit
fast_done:
	mov %r11d, %eax
	shr $11, %eax
	and $1, %eax
	add $0x7f, %al
	movzbl %r11b, %eax
	xchg %al, %ah
	sahf
	mov %gs:0x10, %rax
	mov %gs:0x50, %rcx
	jmp *%rcx

// 0x180: the slow path. RAX and RCX come back from the mailbox, so the
// monitor sees the registers SYSCALL left; it completes the call and sets
// RIP itself.
	.org 0x180
slow_exit:
	mov %gs:0x40, %rax
	mov %gs:0x50, %rcx
mmio_store:
	// mov %al, mmio_page(%rip), encoded by hand: the page is outside this
	// section, and as(1) would leave the displacement to a linker.
	.byte 0x88, 0x05
	.long mmio_page - (. + 4 - _start)
	jmp *%rcx

// 0x200 + 16*v: exception vector v. Every vector runs on an IST stack, so the
// app's red zone and a broken RSP are never touched. The frame the monitor
// reads, from the IST top down: SS, RSP, RFLAGS, CS, RIP, error code (0 if the
// CPU pushes none), saved RAX, CR2.
.macro vec n, err
	.org 0x200 + 16*\n
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
	.org 0x400
// The MMIO page sits at KernelBase+0xfc000; the stub at KernelBase+0x3000.
	.set mmio_page, 0xfc000 - 0x3000
