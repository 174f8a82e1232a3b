#include "textflag.h"

// The per-vCPU words live in the vCPU's mailbox, at the GS base (PVM keeps
// GS_BASE for supervisor code and swaps in KERNEL_GS_BASE for user code).
// IN_USER is set from the start of switchToUser to the end of the entries'
// TO_KERNEL, so that while the kernel's own FS base and stack are not in
// place the monitor interrupts the vCPU (boot.KickVector, taken in user
// mode since virtual IF is off here) instead of delivering a signal to the
// kernel's runtime, whose handler needs them.
// Offsets are boot.Mailbox*; userState offsets are the Regs fields, then FS.
#define IN_USER 0xc0
#define KERNEL_SP 0xc8
#define USER_REGS 0xd0
#define KERNEL_FS 0xd8
#define VIF 0xe0
#define SCRATCH 0xe8
#define SCRATCH2 0xf0
#define SCRATCH3 0xf8

// userState beyond the registers.
#define FSBASE 144
#define VECTOR 152
#define ERRCODE 160
#define ADDR 168
#define XSAVEAREA 176

// xsave64 (%rcx) / xrstor64 (%rcx), every state component (EDX:EAX = -1):
// the kernel's Go code uses SSE and AVX, so the app's extended state is
// saved on every entry and restored on every return.
#define XSAVE64_CX BYTE $0x48; BYTE $0x0f; BYTE $0xae; BYTE $0x21
#define XRSTOR64_CX BYTE $0x48; BYTE $0x0f; BYTE $0xae; BYTE $0x29

// The registers both entries save as they were at the event and both
// returns load alike: all but AX, BX, CX, SP and R11, which each handles
// itself, and BP, which the entries save in the open (go vet checks that
// BP is saved before it is restored). AX points at the userState.
#define SAVE_REGS \
	MOVQ DX, 24(AX); MOVQ SI, 32(AX); MOVQ DI, 40(AX) \
	MOVQ R8, 64(AX); MOVQ R9, 72(AX); MOVQ R10, 80(AX); MOVQ R12, 96(AX) \
	MOVQ R13, 104(AX); MOVQ R14, 112(AX); MOVQ R15, 120(AX)
#define LOAD_REGS \
	MOVQ 8(AX), BX; MOVQ 24(AX), DX; MOVQ 32(AX), SI; MOVQ 40(AX), DI \
	MOVQ 56(AX), BP; MOVQ 64(AX), R8; MOVQ 72(AX), R9; MOVQ 80(AX), R10 \
	MOVQ 96(AX), R12; MOVQ 104(AX), R13; MOVQ 112(AX), R14; MOVQ 120(AX), R15

// TO_KERNEL ends both entries once the app's registers are in the
// userState at AX: it saves the app's FS base and extended state, gives
// the kernel's Go code the x87 and MXCSR defaults it assumes (the app's
// could unmask exceptions), loads the kernel's FS base and stack, and
// returns from switchToUser with reason.
#define TO_KERNEL(reason) \
	RDFSBASE_BX; MOVQ BX, FSBASE(AX); MOVQ XSAVEAREA(AX), CX \
	MOVL $-1, AX; MOVL $-1, DX; XSAVE64_CX \
	BYTE $0xdb; BYTE $0xe3; LDMXCSR ·kernelMXCSR(SB) \
	MOVQ KERNEL_FS(GS), BX; WRFSBASE_BX \
	MOVQ KERNEL_SP(GS), SP; MOVQ 0(SP), BP; ADDQ $8, SP \
	MOVQ VIF(GS), BX; MOVB $0, (BX); MOVB $0, IN_USER(GS) \
	MOVQ reason, 24(SP); RET

// The vectors whose exception frame carries an error code: 8, 10-14, 17,
// 21, 29, 30.
#define ERRMASK $0x60227d00

// The app's segments in the IRET frame (boot's GDT: Linux's __USER_CS/DS).
#define USER_CS $0x33
#define USER_SS $0x2b

// rdfsbase %rbx / wrfsbase %rbx
#define RDFSBASE_BX BYTE $0xf3; BYTE $0x48; BYTE $0x0f; BYTE $0xae; BYTE $0xc3
#define WRFSBASE_BX BYTE $0xf3; BYTE $0x48; BYTE $0x0f; BYTE $0xae; BYTE $0xd3

// func switchToUser(s *userState, iret bool) (reason uint64)
//
// Runs the app from s until its next SYSCALL or exception, which
// syscallEntry or faultCommon turn into a return from this function with s
// updated. Without iret the return to user is SYSRET-like (RCX and R11 are
// the app's RIP and RFLAGS, as after a system call); with it, every
// register is restored through an IRET frame (after a fault). Only SP and
// BP survive, as ABI0 promises the caller.
TEXT ·switchToUser(SB),NOSPLIT|NOFRAME,$0-24
	MOVQ s+0(FP), AX
	MOVBLZX iret+8(FP), DX
	MOVQ VIF(GS), BX
	MOVB $0, (BX) // virtual IF off across the switch, as PVM's return expects
	MOVB $1, IN_USER(GS)
	SUBQ $8, SP // PUSHQ BP, which the entries pop
	MOVQ BP, 0(SP)
	MOVQ AX, USER_REGS(GS)
	MOVQ SP, KERNEL_SP(GS)
	RDFSBASE_BX
	MOVQ BX, KERNEL_FS(GS)
	MOVQ FSBASE(AX), BX
	WRFSBASE_BX
	MOVQ XSAVEAREA(AX), CX
	MOVQ DX, R8
	MOVQ AX, R9
	MOVL $-1, AX
	MOVL $-1, DX
	XRSTOR64_CX
	MOVQ R9, AX
	MOVQ R8, DX
	TESTQ DX, DX
	JNE viaframe
	LOAD_REGS
	MOVQ 128(AX), CX  // RIP
	MOVQ 136(AX), R11 // RFLAGS
	MOVQ 48(AX), SP
	MOVQ 0(AX), AX
	INT $0x19 // SYSRET-like: RCX=rip, R11=rflags, RSP; no exit with the KPTI pair
	UD2
viaframe:
	SUBQ $40, SP // the IRET frame, below the saved kernel SP
	MOVQ 128(AX), BX
	MOVQ BX, 0(SP)
	MOVQ USER_CS, 8(SP)
	MOVQ 136(AX), BX
	MOVQ BX, 16(SP)
	MOVQ 48(AX), BX
	MOVQ BX, 24(SP)
	MOVQ USER_SS, 32(SP)
	LOAD_REGS
	MOVQ 16(AX), CX
	MOVQ 88(AX), R11
	MOVQ 0(AX), AX
	INT $0x17 // IRET-like: RSP points at rip, cs, rflags, rsp, ss
	UD2

// syscallEntry is LSTAR. A SYSCALL from the app (IN_USER set) saves the
// app's registers in its userState and returns from switchToUser; one from
// the kernel's own Go runtime goes on to the stub, which exits to the
// monitor, as in stage 1. SYSCALL left RCX = rip, R11 = rflags.
TEXT ·syscallEntry(SB),NOSPLIT|NOFRAME,$0
	CMPB IN_USER(GS), $0
	JEQ kernelcall
	MOVQ AX, SCRATCH(GS)
	MOVQ USER_REGS(GS), AX
	SAVE_REGS
	MOVQ BP, 56(AX)
	MOVQ BX, 8(AX)
	MOVQ CX, 16(AX)
	MOVQ SP, 48(AX)
	MOVQ R11, 88(AX)
	MOVQ CX, 128(AX)
	MOVQ R11, 136(AX)
	MOVQ SCRATCH(GS), BX
	MOVQ BX, 0(AX)
	TO_KERNEL($1) // reason: a system call
kernelcall:
	// Tail-jump to the stub without touching RCX or R11; flags are
	// already saved in R11.
	SUBQ $8, SP
	MOVQ AX, SCRATCH(GS)
	MOVQ ·stubSyscall(SB), AX
	MOVQ AX, (SP)
	MOVQ SCRATCH(GS), AX
	RET

// faultCommon is where every vector stub (vecN, below) goes, with the
// vector pushed on the IST stack above the CPU's frame. An exception of the
// kernel itself goes on to the stage-1 stub's vector, which hands it to
// the monitor, with the stack as the CPU left it. One of the app saves the
// app's state and its fault in the userState and returns from
// switchToUser with reason 2.
TEXT ·faultCommon(SB),NOSPLIT|NOFRAME,$0
	MOVQ AX, SCRATCH(GS)
	MOVQ BX, SCRATCH2(GS)
	MOVQ 0(SP), AX // the vector
	MOVQ ERRMASK, BX
	BTQ AX, BX
	MOVQ $16, BX // CS, after the vector and RIP
	JCC noerr
	MOVQ $24, BX // and the error code
noerr:
	ADDQ SP, BX
	TESTQ $3, 0(BX)
	JNE fromuser
	SHLQ $4, AX
	ADDQ ·stubVectors(SB), AX
	MOVQ AX, 0(SP) // in the vector's place: RET jumps there, SP as the CPU left it
	MOVQ SCRATCH2(GS), BX
	MOVQ SCRATCH(GS), AX
	RET
fromuser:
	MOVQ AX, SCRATCH3(GS)
	MOVQ USER_REGS(GS), AX
	SAVE_REGS
	MOVQ BP, 56(AX)
	MOVQ CX, 16(AX)
	MOVQ R11, 88(AX)
	MOVQ SCRATCH(GS), CX
	MOVQ CX, 0(AX)
	MOVQ SCRATCH2(GS), CX
	MOVQ CX, 8(AX)
	MOVQ -8(BX), CX
	MOVQ CX, 128(AX) // RIP
	MOVQ 8(BX), CX
	MOVQ CX, 136(AX) // RFLAGS
	MOVQ 16(BX), CX
	MOVQ CX, 48(AX) // RSP
	MOVQ SCRATCH3(GS), CX
	MOVQ CX, VECTOR(AX)
	XORQ CX, CX
	MOVQ BX, DX
	SUBQ SP, DX
	CMPQ DX, $24
	JNE haveerr
	MOVQ 8(SP), CX
haveerr:
	MOVQ CX, ERRCODE(AX)
	MOVQ VIF(GS), CX
	MOVQ 8(CX), CX // PVM's CR2 cell
	MOVQ CX, ADDR(AX)
	TO_KERNEL($2) // reason: a fault

TEXT ·vec0(SB),NOSPLIT|NOFRAME,$0
	SUBQ $8, SP
	MOVQ $0, 0(SP)
	JMP ·faultCommon(SB)

TEXT ·vec1(SB),NOSPLIT|NOFRAME,$0
	SUBQ $8, SP
	MOVQ $1, 0(SP)
	JMP ·faultCommon(SB)

TEXT ·vec2(SB),NOSPLIT|NOFRAME,$0
	SUBQ $8, SP
	MOVQ $2, 0(SP)
	JMP ·faultCommon(SB)

TEXT ·vec3(SB),NOSPLIT|NOFRAME,$0
	SUBQ $8, SP
	MOVQ $3, 0(SP)
	JMP ·faultCommon(SB)

TEXT ·vec4(SB),NOSPLIT|NOFRAME,$0
	SUBQ $8, SP
	MOVQ $4, 0(SP)
	JMP ·faultCommon(SB)

TEXT ·vec5(SB),NOSPLIT|NOFRAME,$0
	SUBQ $8, SP
	MOVQ $5, 0(SP)
	JMP ·faultCommon(SB)

TEXT ·vec6(SB),NOSPLIT|NOFRAME,$0
	SUBQ $8, SP
	MOVQ $6, 0(SP)
	JMP ·faultCommon(SB)

TEXT ·vec7(SB),NOSPLIT|NOFRAME,$0
	SUBQ $8, SP
	MOVQ $7, 0(SP)
	JMP ·faultCommon(SB)

TEXT ·vec8(SB),NOSPLIT|NOFRAME,$0
	SUBQ $8, SP
	MOVQ $8, 0(SP)
	JMP ·faultCommon(SB)

TEXT ·vec9(SB),NOSPLIT|NOFRAME,$0
	SUBQ $8, SP
	MOVQ $9, 0(SP)
	JMP ·faultCommon(SB)

TEXT ·vec10(SB),NOSPLIT|NOFRAME,$0
	SUBQ $8, SP
	MOVQ $10, 0(SP)
	JMP ·faultCommon(SB)

TEXT ·vec11(SB),NOSPLIT|NOFRAME,$0
	SUBQ $8, SP
	MOVQ $11, 0(SP)
	JMP ·faultCommon(SB)

TEXT ·vec12(SB),NOSPLIT|NOFRAME,$0
	SUBQ $8, SP
	MOVQ $12, 0(SP)
	JMP ·faultCommon(SB)

TEXT ·vec13(SB),NOSPLIT|NOFRAME,$0
	SUBQ $8, SP
	MOVQ $13, 0(SP)
	JMP ·faultCommon(SB)

TEXT ·vec14(SB),NOSPLIT|NOFRAME,$0
	SUBQ $8, SP
	MOVQ $14, 0(SP)
	JMP ·faultCommon(SB)

TEXT ·vec15(SB),NOSPLIT|NOFRAME,$0
	SUBQ $8, SP
	MOVQ $15, 0(SP)
	JMP ·faultCommon(SB)

TEXT ·vec16(SB),NOSPLIT|NOFRAME,$0
	SUBQ $8, SP
	MOVQ $16, 0(SP)
	JMP ·faultCommon(SB)

TEXT ·vec17(SB),NOSPLIT|NOFRAME,$0
	SUBQ $8, SP
	MOVQ $17, 0(SP)
	JMP ·faultCommon(SB)

TEXT ·vec18(SB),NOSPLIT|NOFRAME,$0
	SUBQ $8, SP
	MOVQ $18, 0(SP)
	JMP ·faultCommon(SB)

TEXT ·vec19(SB),NOSPLIT|NOFRAME,$0
	SUBQ $8, SP
	MOVQ $19, 0(SP)
	JMP ·faultCommon(SB)

TEXT ·vec20(SB),NOSPLIT|NOFRAME,$0
	SUBQ $8, SP
	MOVQ $20, 0(SP)
	JMP ·faultCommon(SB)

TEXT ·vec21(SB),NOSPLIT|NOFRAME,$0
	SUBQ $8, SP
	MOVQ $21, 0(SP)
	JMP ·faultCommon(SB)

TEXT ·vec22(SB),NOSPLIT|NOFRAME,$0
	SUBQ $8, SP
	MOVQ $22, 0(SP)
	JMP ·faultCommon(SB)

TEXT ·vec23(SB),NOSPLIT|NOFRAME,$0
	SUBQ $8, SP
	MOVQ $23, 0(SP)
	JMP ·faultCommon(SB)

TEXT ·vec24(SB),NOSPLIT|NOFRAME,$0
	SUBQ $8, SP
	MOVQ $24, 0(SP)
	JMP ·faultCommon(SB)

TEXT ·vec25(SB),NOSPLIT|NOFRAME,$0
	SUBQ $8, SP
	MOVQ $25, 0(SP)
	JMP ·faultCommon(SB)

TEXT ·vec26(SB),NOSPLIT|NOFRAME,$0
	SUBQ $8, SP
	MOVQ $26, 0(SP)
	JMP ·faultCommon(SB)

TEXT ·vec27(SB),NOSPLIT|NOFRAME,$0
	SUBQ $8, SP
	MOVQ $27, 0(SP)
	JMP ·faultCommon(SB)

TEXT ·vec28(SB),NOSPLIT|NOFRAME,$0
	SUBQ $8, SP
	MOVQ $28, 0(SP)
	JMP ·faultCommon(SB)

TEXT ·vec29(SB),NOSPLIT|NOFRAME,$0
	SUBQ $8, SP
	MOVQ $29, 0(SP)
	JMP ·faultCommon(SB)

TEXT ·vec30(SB),NOSPLIT|NOFRAME,$0
	SUBQ $8, SP
	MOVQ $30, 0(SP)
	JMP ·faultCommon(SB)

TEXT ·vec31(SB),NOSPLIT|NOFRAME,$0
	SUBQ $8, SP
	MOVQ $31, 0(SP)
	JMP ·faultCommon(SB)


TEXT ·vec32(SB),NOSPLIT|NOFRAME,$0
	SUBQ $8, SP
	MOVQ $32, 0(SP)
	JMP ·faultCommon(SB)

// vectors are the stubs' addresses, for the IDT: the 32 exceptions and
// boot.KickVector.
DATA ·vectors+0(SB)/8, $·vec0(SB)
DATA ·vectors+8(SB)/8, $·vec1(SB)
DATA ·vectors+16(SB)/8, $·vec2(SB)
DATA ·vectors+24(SB)/8, $·vec3(SB)
DATA ·vectors+32(SB)/8, $·vec4(SB)
DATA ·vectors+40(SB)/8, $·vec5(SB)
DATA ·vectors+48(SB)/8, $·vec6(SB)
DATA ·vectors+56(SB)/8, $·vec7(SB)
DATA ·vectors+64(SB)/8, $·vec8(SB)
DATA ·vectors+72(SB)/8, $·vec9(SB)
DATA ·vectors+80(SB)/8, $·vec10(SB)
DATA ·vectors+88(SB)/8, $·vec11(SB)
DATA ·vectors+96(SB)/8, $·vec12(SB)
DATA ·vectors+104(SB)/8, $·vec13(SB)
DATA ·vectors+112(SB)/8, $·vec14(SB)
DATA ·vectors+120(SB)/8, $·vec15(SB)
DATA ·vectors+128(SB)/8, $·vec16(SB)
DATA ·vectors+136(SB)/8, $·vec17(SB)
DATA ·vectors+144(SB)/8, $·vec18(SB)
DATA ·vectors+152(SB)/8, $·vec19(SB)
DATA ·vectors+160(SB)/8, $·vec20(SB)
DATA ·vectors+168(SB)/8, $·vec21(SB)
DATA ·vectors+176(SB)/8, $·vec22(SB)
DATA ·vectors+184(SB)/8, $·vec23(SB)
DATA ·vectors+192(SB)/8, $·vec24(SB)
DATA ·vectors+200(SB)/8, $·vec25(SB)
DATA ·vectors+208(SB)/8, $·vec26(SB)
DATA ·vectors+216(SB)/8, $·vec27(SB)
DATA ·vectors+224(SB)/8, $·vec28(SB)
DATA ·vectors+232(SB)/8, $·vec29(SB)
DATA ·vectors+240(SB)/8, $·vec30(SB)
DATA ·vectors+248(SB)/8, $·vec31(SB)
DATA ·vectors+256(SB)/8, $·vec32(SB)
GLOBL ·vectors(SB), RODATA, $264

// func vectorTable() *[33]uintptr
TEXT ·vectorTable(SB),NOSPLIT,$0-8
	LEAQ ·vectors(SB), AX
	MOVQ AX, ret+0(FP)
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

// func cpuid(fn, index uint32) (eax, ebx, ecx, edx uint32)
TEXT ·cpuid(SB),NOSPLIT,$0-24
	MOVL fn+0(FP), AX
	MOVL index+4(FP), CX
	CPUID
	MOVL AX, eax+8(FP)
	MOVL BX, ebx+12(FP)
	MOVL CX, ecx+16(FP)
	MOVL DX, edx+20(FP)
	RET

// func xgetbv() uint64
TEXT ·xgetbv(SB),NOSPLIT,$0-8
	XORL CX, CX
	BYTE $0x0f; BYTE $0x01; BYTE $0xd0 // xgetbv
	SHLQ $32, DX
	ORQ DX, AX
	MOVQ AX, ret+0(FP)
	RET

// The MXCSR Go code runs with: every exception masked, round to nearest.
DATA ·kernelMXCSR+0(SB)/4, $0x1f80
GLOBL ·kernelMXCSR(SB), RODATA, $4

// func writeCR3(root uint64)
// A write of CR3 exits on PVM (it is emulated): once per process switch
// of a vCPU, never on a system call's path.
TEXT ·writeCR3(SB),NOSPLIT,$0-8
	MOVQ root+0(FP), AX
	MOVQ AX, CR3
	RET
