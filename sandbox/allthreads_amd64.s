#include "textflag.h"

// llHandler is the signal handler onAllThreads installs: on the thread
// that takes the signal it sets no_new_privs, enforces the Landlock
// ruleset llFD, and records gettid()<<32 | the result in llTIDs. Every
// register it touches is restored by rt_sigreturn.
TEXT ·llHandler(SB),NOSPLIT|NOFRAME,$0
	MOVQ	$157, AX	// prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
	MOVQ	$38, DI
	MOVQ	$1, SI
	XORQ	DX, DX
	XORQ	R10, R10
	XORQ	R8, R8
	SYSCALL
	MOVQ	$446, AX	// landlock_restrict_self(llFD, 0)
	MOVQ	·llFD(SB), DI
	XORQ	SI, SI
	SYSCALL
	MOVL	AX, R12		// zero-extends the result
	MOVQ	$186, AX	// gettid()
	SYSCALL
	SHLQ	$32, AX
	ORQ	AX, R12
	MOVQ	$1, CX
	LOCK
	XADDQ	CX, ·llCount(SB)
	CMPQ	CX, $1024
	JAE	full
	LEAQ	·llTIDs(SB), BX
	MOVQ	R12, (BX)(CX*8)
full:
	RET

// llRestorer returns from llHandler.
TEXT ·llRestorer(SB),NOSPLIT|NOFRAME,$0
	MOVQ	$15, AX		// rt_sigreturn
	SYSCALL
	INT	$3

// func llAddrs() (handler, restorer uintptr)
TEXT ·llAddrs(SB),NOSPLIT,$0-16
	LEAQ	·llHandler(SB), AX
	MOVQ	AX, handler+0(FP)
	LEAQ	·llRestorer(SB), AX
	MOVQ	AX, restorer+8(FP)
	RET
