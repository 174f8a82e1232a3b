package syscalls

import (
	"encoding/binary"
	"fmt"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/rumpglue"
	"golang.org/x/sys/unix"
)

// The x86-64 signal frame, struct rt_sigframe in
// arch/x86/include/asm/sigframe.h: the restorer's address (which the
// handler's RET pops), a ucontext, a siginfo, and — separately, 64-byte
// aligned below it — the XSAVE image the ucontext points to.
const (
	frameSize = 440

	frPretcode = 0
	frUcFlags  = 8
	frUcLink   = 16
	frUcStack  = 24  // stack_t: ss_sp, ss_flags, ss_size
	frMcontext = 48  // struct sigcontext, 256 bytes
	frSigmask  = 304 // uc_sigmask
	frInfo     = 312 // siginfo_t

	// struct sigcontext, relative to frMcontext.
	scR8      = 0
	scRIP     = 128
	scEflags  = 136
	scCS      = 144 // cs, gs, fs, ss: four u16
	scErr     = 152
	scTrapno  = 160
	scOldmask = 168
	scCR2     = 176
	scFpstate = 184
)

// uc_flags (asm/ucontext.h).
const (
	UC_FP_XSTATE         = 0x1
	UC_SIGCONTEXT_SS     = 0x2
	UC_STRICT_RESTORE_SS = 0x4
)

// The software-reserved bytes of the FXSAVE area that tell a reader how
// big the XSAVE image behind it is (asm/sigcontext.h struct _fpx_sw_bytes).
const (
	FP_XSTATE_MAGIC1 = 0x46505853
	FP_XSTATE_MAGIC2 = 0x46505845
	fpxSwBytes       = 464
	xstateBV         = 512 // XSAVE header: the features present in the image
)

// xsaveMax is the size of KVM's XSAVE buffer (struct kvm_xsave).
const xsaveMax = 4096

// RFLAGS bits.
const (
	flagTF = 1 << 8
	flagIF = 1 << 9
	flagDF = 1 << 10
	flagRF = 1 << 16
	// userFlags are those rt_sigreturn takes from the frame (Linux's
	// FIX_EFLAGS): the arithmetic flags, TF, DF, RF and AC.
	userFlags = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | flagTF | flagDF | 0x800 | flagRF | 1<<18
)

// The order of the general registers in struct sigcontext.
func sigcontextRegs(r *rumpglue.Regs) []*uint64 {
	return []*uint64{&r.R8, &r.R9, &r.R10, &r.R11, &r.R12, &r.R13, &r.R14, &r.R15,
		&r.RDI, &r.RSI, &r.RBP, &r.RBX, &r.RDX, &r.RAX, &r.RCX, &r.RSP}
}

// User segment selectors as the guest's GDT defines them.
const (
	userCS = 0x33
	userSS = 0x2b
)

// setupFrame builds a signal frame for info on the right stack and points
// the thread at the handler, as Linux's setup_rt_frame does.
func (t *Thread) setupFrame(info posix.SigInfo, act posix.SigAction) unix.Errno {
	r := t.cpu.Regs()
	var xs [xsaveMax]byte
	size, err := t.cpu.ExtendedState(xs[:])
	if err != nil {
		t.K.report("rumpgo: reading FPU state for a signal: %v", err)
		return unix.EFAULT
	}
	if act.Flags&posix.SA_RESTORER == 0 {
		// x86-64 has no kernel-provided restorer: without one the handler
		// could not return, and Linux refuses the frame.
		return unix.EFAULT
	}

	alt := t.Task.AltStack
	sp := r.RSP
	if act.Flags&posix.SA_ONSTACK != 0 && alt.Enabled() && !alt.On(sp) {
		sp = alt.SP + alt.Size
		if uint32(alt.Flags)&posix.SS_AUTODISARM != 0 {
			t.Task.AltStack = posix.AltStack{Flags: posix.SS_DISABLE}
		}
	} else {
		sp -= 128 // the red zone below the interrupted code's RSP
	}
	fpAddr := (sp - uint64(size) - 4) &^ 63
	frame := ((fpAddr - frameSize) &^ 15) - 8

	le := binary.LittleEndian
	fp := make([]byte, size+4)
	copy(fp, xs[:size])
	le.PutUint32(fp[fpxSwBytes:], FP_XSTATE_MAGIC1)
	le.PutUint32(fp[fpxSwBytes+4:], uint32(size+4))
	le.PutUint64(fp[fpxSwBytes+8:], le.Uint64(xs[xstateBV:]))
	le.PutUint32(fp[fpxSwBytes+16:], uint32(size))
	le.PutUint32(fp[size:], FP_XSTATE_MAGIC2)

	mask := t.Task.TakeSavedMask()
	var b [frameSize]byte
	le.PutUint64(b[frPretcode:], act.Restorer)
	le.PutUint64(b[frUcFlags:], UC_FP_XSTATE|UC_SIGCONTEXT_SS|UC_STRICT_RESTORE_SS)
	le.PutUint64(b[frUcStack:], alt.SP)
	le.PutUint32(b[frUcStack+8:], uint32(altFlags(alt, r.RSP)))
	le.PutUint64(b[frUcStack+16:], alt.Size)
	mc := b[frMcontext:]
	for i, p := range sigcontextRegs(r) {
		le.PutUint64(mc[scR8+8*i:], *p)
	}
	le.PutUint64(mc[scRIP:], r.RIP)
	le.PutUint64(mc[scEflags:], r.RFLAGS)
	le.PutUint16(mc[scCS:], userCS)
	le.PutUint16(mc[scCS+6:], userSS)
	if f := t.fault; f != nil && info.Code > 0 {
		le.PutUint64(mc[scErr:], f.ErrorCode)
		le.PutUint64(mc[scTrapno:], uint64(f.Vector))
		le.PutUint64(mc[scCR2:], f.Addr)
	}
	le.PutUint64(mc[scOldmask:], mask)
	le.PutUint64(mc[scFpstate:], fpAddr)
	le.PutUint64(b[frSigmask:], mask)
	info.Encode(b[frInfo:])

	if e := t.mm().CopyOut(fpAddr, fp); e != 0 {
		return e
	}
	if e := t.mm().CopyOut(frame, b[:]); e != 0 {
		return e
	}

	sig := int(info.Signo)
	block := act.Mask
	if act.Flags&posix.SA_NODEFER == 0 {
		block |= posix.Bit(sig)
	}
	t.Task.SetMask(t.Task.Mask() | block)
	r.RDI, r.RSI, r.RDX, r.RAX = uint64(sig), frame+frInfo, frame+frUcFlags, 0
	r.RSP, r.RIP = frame, act.Handler
	r.RFLAGS &^= flagTF | flagDF | flagRF
	return 0
}

// altFlags is ss_flags as sigaltstack would report it for a thread at sp.
func altFlags(a posix.AltStack, sp uint64) int32 {
	switch {
	case !a.Enabled():
		return posix.SS_DISABLE
	case a.On(sp):
		return posix.SS_ONSTACK
	}
	return int32(uint32(a.Flags) & posix.SS_AUTODISARM)
}

// sysRtSigreturn restores what setupFrame saved. The handler's RET popped
// the restorer's address, so the frame starts 8 bytes below RSP.
func sysRtSigreturn(t *Thread, a Args) (uint64, unix.Errno) {
	r := t.cpu.Regs()
	frame := r.RSP - 8
	var b [frameSize]byte
	if e := t.mm().CopyIn(frame, b[:]); e != 0 {
		t.badFrame(frame, "cannot read the signal frame")
		return r.RAX, 0
	}
	le := binary.LittleEndian
	mc := b[frMcontext:]
	var regs rumpglue.Regs = *r
	for i, p := range sigcontextRegs(&regs) {
		*p = le.Uint64(mc[scR8+8*i:])
	}
	regs.RIP = le.Uint64(mc[scRIP:])
	regs.RFLAGS = r.RFLAGS&^userFlags | le.Uint64(mc[scEflags:])&userFlags | flagIF

	if fpAddr := le.Uint64(mc[scFpstate:]); fpAddr != 0 {
		var xs [xsaveMax]byte
		size, err := t.cpu.ExtendedState(xs[:])
		if err == nil {
			if e := t.mm().CopyIn(fpAddr, xs[:size]); e != 0 {
				t.badFrame(frame, "cannot read the saved FPU state")
				return r.RAX, 0
			}
			err = t.cpu.SetExtendedState(xs[:])
		}
		if err != nil {
			t.badFrame(frame, fmt.Sprintf("bad saved FPU state: %v", err))
			return r.RAX, 0
		}
	}
	*r = regs
	t.Task.SetMask(le.Uint64(b[frSigmask:]))
	// The alternate stack comes back as sigaltstack would set it; like
	// Linux, a bad one is ignored rather than fatal.
	ss := posix.AltStack{SP: le.Uint64(b[frUcStack:]), Flags: int32(le.Uint32(b[frUcStack+8:])), Size: le.Uint64(b[frUcStack+16:])}
	if ss.Flags&posix.SS_ONSTACK != 0 {
		ss.Flags &^= posix.SS_ONSTACK
	}
	if ss.Flags&posix.SS_DISABLE != 0 {
		ss = posix.AltStack{Flags: posix.SS_DISABLE}
	}
	if !t.Task.AltStack.On(r.RSP) && (ss.Flags&posix.SS_DISABLE != 0 || ss.Size >= posix.MINSIGSTKSZ) {
		t.Task.AltStack = ss
	}
	return regs.RAX, 0
}

// badFrame is what Linux does with a frame rt_sigreturn cannot use: a
// SIGSEGV, forced through whatever mask or SIG_IGN the guest set.
func (t *Thread) badFrame(frame uint64, why string) {
	t.faultDesc = fmt.Sprintf("%s at %#x", why, frame)
	t.Task.Force(posix.SigInfo{Signo: int32(unix.SIGSEGV), Code: posix.SI_KERNEL})
}
