package syscalls

import (
	"encoding/binary"

	"github.com/rumpgo/rumpgo/posix/mm"
	"github.com/rumpgo/rumpgo/rumpglue"
)

// The backtrace of a crash report: each step finds the caller's registers
// from the call frame information of the ELF the code lies in (unwind.go);
// where there is none for the address (Go code, which keeps frame
// pointers, or assembly without CFI) or it cannot be followed, the step
// follows the frame pointer instead: [rbp] is the caller's RBP and
// [rbp+8] the return address. Every step must climb the stack and land in
// executable memory, or the walk ends.

// frame is one frame of a backtrace.
type frame struct {
	pc uint64
	// exact: pc is the instruction that was running (the faulting one, or
	// one interrupted by a signal), not a return address.
	exact bool
	// sigreturn: the frame is a signal trampoline's (its CIE says "S"),
	// where a handler returns: the caller is the interrupted code.
	sigreturn bool
}

// lookup is the address to symbolize: a return address is the
// instruction after the call, so the call itself is looked up.
func (f frame) lookup() uint64 {
	if f.exact || f.sigreturn || f.pc == 0 {
		return f.pc
	}
	return f.pc - 1
}

// lookupCFI is the address whose unwind rules apply: the call for a
// return address (the return may be the next function's first byte);
// glibc starts a trampoline's FDE one byte early for that reason.
func (f frame) lookupCFI() uint64 {
	if f.exact || f.pc == 0 {
		return f.pc
	}
	return f.pc - 1
}

// unwindRegs are a frame's registers, DWARF-numbered; known says which
// ones the unwinder could recover.
type unwindRegs struct {
	v     [dwRegs]uint64
	known [dwRegs]bool
}

func regsFrom(r *rumpglue.Regs) unwindRegs {
	var u unwindRegs
	for i, v := range [dwRegs]uint64{r.RAX, r.RDX, r.RCX, r.RBX, r.RSI, r.RDI, r.RBP, r.RSP,
		r.R8, r.R9, r.R10, r.R11, r.R12, r.R13, r.R14, r.R15, r.RIP} {
		u.v[i], u.known[i] = v, true
	}
	return u
}

// stepResult says how an unwinding step went.
type stepResult int

const (
	stepOK   stepResult = iota
	stepEnd             // the CFI says this is the outermost frame
	stepFail            // no rule for this frame
)

// maxStackFrame bounds one frame's size, as a sanity check of a step.
const maxStackFrame = 64 << 20

// walk unwinds from r, returning at most maxFrames frames.
func (s *symbolizer) walk(as *mm.AddressSpace, r *rumpglue.Regs) []frame {
	read := func(addr uint64) (uint64, bool) {
		var b [8]byte
		if as.CopyIn(addr, b[:]) != 0 {
			return 0, false
		}
		return binary.LittleEndian.Uint64(b[:]), true
	}
	cur := regsFrom(r)
	frames := []frame{{pc: r.RIP, exact: true}}
	for len(frames) < maxFrames {
		f := frames[len(frames)-1]
		next, signal, res := s.stepCFI(cur, f.lookupCFI(), read)
		if res == stepEnd {
			break
		}
		frames[len(frames)-1].sigreturn = res == stepOK && signal
		if res == stepOK && !plausible(as, cur, next, signal) {
			res = stepFail
		}
		if res == stepFail {
			signal = false
			if next, res = stepFP(cur, read); res != stepOK || !plausible(as, cur, next, false) {
				break
			}
		}
		frames = append(frames, frame{pc: next.v[dwRA], exact: signal})
		cur = next
	}
	return frames
}

// plausible checks a step: the caller runs executable code, and its stack
// is above the callee's (a signal frame may return anywhere).
func plausible(as *mm.AddressSpace, cur, next unwindRegs, signal bool) bool {
	pc, sp := next.v[dwRA], next.v[dwRSP]
	if !next.known[dwRA] || pc == 0 || !executable(as, pc) || !next.known[dwRSP] {
		return false
	}
	if signal {
		return sp != 0
	}
	return sp > cur.v[dwRSP] && sp-cur.v[dwRSP] <= maxStackFrame
}

// stepFP unwinds one frame by the frame-pointer chain.
func stepFP(cur unwindRegs, read func(uint64) (uint64, bool)) (unwindRegs, stepResult) {
	rbp, rsp := cur.v[dwRBP], cur.v[dwRSP]
	if !cur.known[dwRBP] || rbp == 0 || rbp%8 != 0 || rbp < rsp || rbp-rsp > maxStackFrame {
		return cur, stepFail
	}
	next, ok1 := read(rbp)
	ret, ok2 := read(rbp + 8)
	if !ok1 || !ok2 {
		return cur, stepFail
	}
	var u unwindRegs
	u.v[dwRBP], u.known[dwRBP] = next, true
	u.v[dwRSP], u.known[dwRSP] = rbp+16, true
	u.v[dwRA], u.known[dwRA] = ret, true
	return u, stepOK
}

// calleeSaved are the registers a call preserves (System V x86-64): with
// no rule, they hold the caller's values.
var calleeSaved = [dwRegs]bool{dwRBX: true, dwRBP: true, 12: true, 13: true, 14: true, 15: true}

// stepCFI unwinds one frame by the CFI of the module holding lookup.
// signal reports that the frame was a signal trampoline's, whose caller
// was interrupted rather than calling.
func (s *symbolizer) stepCFI(cur unwindRegs, lookup uint64, read func(uint64) (uint64, bool)) (next unwindRegs, signal bool, res stepResult) {
	m := s.moduleOf(lookup)
	if m == nil {
		return cur, false, stepFail
	}
	syms := s.load(m)
	if syms == nil {
		return cur, false, stepFail
	}
	var f *fde
	err := errNoFDE
	if syms.eh != nil {
		f, err = syms.eh.find(lookup - m.bias)
	}
	goFrame := false
	if err != nil && syms.goCFI != nil {
		f, err = syms.goCFI.find(lookup - m.bias)
		goFrame = true
	}
	if err != nil {
		return cur, false, stepFail
	}
	row, err := f.rowAt(lookup - m.bias)
	if err != nil {
		return cur, false, stepFail
	}
	next, signal, res = unwindRow(cur, row, int(f.cie.raReg), read, f.cie.signal)
	if res == stepOK && goFrame && row.regs[dwRBP].kind == ruleUnspecified && cur.known[dwRBP] {
		// Go's CFI says nothing of RBP. A Go function with a frame
		// pushes the caller's RBP just below the return address and
		// points RBP there; one without (a leaf) leaves the caller's.
		if slot := next.v[dwRSP] - 16; cur.v[dwRBP] == slot {
			next.v[dwRBP], next.known[dwRBP] = read(slot)
		}
	}
	return next, signal, res
}

// unwindRow applies a row of rules to the callee's registers.
func unwindRow(cur unwindRegs, row cfiRow, raReg int, read func(uint64) (uint64, bool), signal bool) (unwindRegs, bool, stepResult) {
	reg := func(i int) (uint64, bool) {
		if i < 0 || i >= dwRegs {
			return 0, false
		}
		return cur.v[i], cur.known[i]
	}
	var cfa uint64
	if row.cfa.expr != nil {
		v, err := dwarfExpr(row.cfa.expr, nil, reg, read)
		if err != nil {
			return cur, false, stepFail
		}
		cfa = v
	} else {
		v, ok := reg(int(row.cfa.reg))
		if !ok {
			return cur, false, stepFail
		}
		cfa = v + uint64(row.cfa.off)
	}
	if raReg != dwRA {
		return cur, false, stepFail
	}
	var next unwindRegs
	for i := 0; i < dwRegs; i++ {
		rule := row.regs[i]
		switch rule.kind {
		case ruleUnspecified:
			if calleeSaved[i] {
				next.v[i], next.known[i] = cur.v[i], cur.known[i]
			}
		case ruleSame:
			next.v[i], next.known[i] = cur.v[i], cur.known[i]
		case ruleUndefined:
			if i == dwRA {
				return cur, false, stepEnd
			}
		case ruleOffset:
			next.v[i], next.known[i] = read(cfa + uint64(rule.off))
		case ruleValOffset:
			next.v[i], next.known[i] = cfa+uint64(rule.off), true
		case ruleRegister:
			next.v[i], next.known[i] = reg(int(rule.reg))
		case ruleExpr, ruleValExpr:
			v, err := dwarfExpr(rule.expr, []uint64{cfa}, reg, read)
			if err != nil {
				break
			}
			if rule.kind == ruleExpr {
				next.v[i], next.known[i] = read(v)
			} else {
				next.v[i], next.known[i] = v, true
			}
		}
	}
	if row.regs[dwRSP].kind == ruleUnspecified {
		// The CFA is by definition the caller's stack pointer.
		next.v[dwRSP], next.known[dwRSP] = cfa, true
	}
	if !next.known[dwRA] {
		return cur, false, stepFail
	}
	return next, signal, stepOK
}
