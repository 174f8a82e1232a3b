#include "textflag.h"

// The per-vCPU words live in the vCPU's mailbox, at the GS base (PVM keeps
// GS_BASE for supervisor code and swaps in KERNEL_GS_BASE for user code).
// Offsets are boot.Mailbox*; userState offsets are the Regs fields, then FS.
#define IN_USER 0xc0
#define KERNEL_SP 0xc8
#define USER_REGS 0xd0
#define KERNEL_FS 0xd8
#define VIF 0xe0
#define SCRATCH 0xe8

// rdfsbase %rbx / wrfsbase %rbx
#define RDFSBASE_BX BYTE $0xf3; BYTE $0x48; BYTE $0x0f; BYTE $0xae; BYTE $0xc3
#define WRFSBASE_BX BYTE $0xf3; BYTE $0x48; BYTE $0x0f; BYTE $0xae; BYTE $0xd3

// func switchToUser(s *userState) (reason uint64)
//
// Runs the app from s until its next SYSCALL, which syscallEntry turns
// into a return from this function with s updated. Only SP and BP survive,
// as ABI0 promises the caller.
TEXT ·switchToUser(SB),NOSPLIT|NOFRAME,$0-16
	MOVQ s+0(FP), AX
	SUBQ $8, SP // PUSHQ BP, which syscallEntry pops
	MOVQ BP, 0(SP)
	MOVQ AX, USER_REGS(GS)
	MOVQ SP, KERNEL_SP(GS)
	RDFSBASE_BX
	MOVQ BX, KERNEL_FS(GS)
	MOVQ 144(AX), BX
	WRFSBASE_BX
	MOVQ VIF(GS), BX
	MOVB $0, (BX) // virtual IF off across the switch, as PVM's return expects
	MOVB $1, IN_USER(GS)
	MOVQ 8(AX), BX
	MOVQ 24(AX), DX
	MOVQ 32(AX), SI
	MOVQ 40(AX), DI
	MOVQ 56(AX), BP
	MOVQ 64(AX), R8
	MOVQ 72(AX), R9
	MOVQ 80(AX), R10
	MOVQ 96(AX), R12
	MOVQ 104(AX), R13
	MOVQ 112(AX), R14
	MOVQ 120(AX), R15
	MOVQ 128(AX), CX  // RIP
	MOVQ 136(AX), R11 // RFLAGS
	MOVQ 48(AX), SP
	MOVQ 0(AX), AX
	INT $0x19 // SYSRET-like: RCX=rip, R11=rflags, RSP; no exit with the KPTI pair
	UD2

// syscallEntry is LSTAR. A SYSCALL from the app (IN_USER set) saves the
// app's registers in its userState and returns from switchToUser; one from
// the kernel's own Go runtime goes on to the stub, which exits to the
// monitor, as in stage 1. SYSCALL left RCX = rip, R11 = rflags.
TEXT ·syscallEntry(SB),NOSPLIT|NOFRAME,$0
	CMPB IN_USER(GS), $0
	JEQ kernelcall
	MOVB $0, IN_USER(GS)
	MOVQ AX, SCRATCH(GS)
	MOVQ USER_REGS(GS), AX
	MOVQ BX, 8(AX)
	MOVQ CX, 16(AX)
	MOVQ DX, 24(AX)
	MOVQ SI, 32(AX)
	MOVQ DI, 40(AX)
	MOVQ SP, 48(AX)
	MOVQ BP, 56(AX)
	MOVQ R8, 64(AX)
	MOVQ R9, 72(AX)
	MOVQ R10, 80(AX)
	MOVQ R11, 88(AX)
	MOVQ R12, 96(AX)
	MOVQ R13, 104(AX)
	MOVQ R14, 112(AX)
	MOVQ R15, 120(AX)
	MOVQ CX, 128(AX)
	MOVQ R11, 136(AX)
	MOVQ SCRATCH(GS), BX
	MOVQ BX, 0(AX)
	RDFSBASE_BX
	MOVQ BX, 144(AX)
	MOVQ KERNEL_FS(GS), BX
	WRFSBASE_BX
	MOVQ KERNEL_SP(GS), SP
	MOVQ 0(SP), BP // switchToUser's BP
	ADDQ $8, SP
	MOVQ $1, 16(SP) // reason: a system call
	RET
kernelcall:
	// Tail-jump to the stub without touching RCX or R11; flags are
	// already saved in R11.
	SUBQ $8, SP
	MOVQ AX, SCRATCH(GS)
	MOVQ ·stubSyscall(SB), AX
	MOVQ AX, (SP)
	MOVQ SCRATCH(GS), AX
	RET

// func syscallEntryAddr() uintptr
TEXT ·syscallEntryAddr(SB),NOSPLIT,$0-8
	LEAQ ·syscallEntry(SB), AX
	MOVQ AX, ret+0(FP)
	RET

// func wrmsr(msr uint32, value uint64)
TEXT ·wrmsr(SB),NOSPLIT,$0-16
	MOVL msr+0(FP), CX
	MOVQ value+8(FP), AX
	MOVQ AX, DX
	SHRQ $32, DX
	WRMSR
	RET
