#include "textflag.h"

// func callC(fn, a0, a1, a2 uintptr) uintptr
//
// Calls a System V function of three integer arguments, such as the image's
// own functions mapped into this process (vdso_test.go). The image uses no
// stack beyond its return address and no register Go needs preserved.
TEXT ·callC(SB), NOSPLIT, $0-40
	MOVQ fn+0(FP), AX
	MOVQ a0+8(FP), DI
	MOVQ a1+16(FP), SI
	MOVQ a2+24(FP), DX
	CALL AX
	MOVQ AX, ret+32(FP)
	RET
