package gdbstub

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/rumpgo/rumpgo/rumpglue"
)

// The registers gdb sees, in the order of the target description
// (targetXML): gdb's amd64 GNU/Linux layout, the core, SSE, Linux
// (orig_rax), segment (fs_base, gs_base) and AVX features, as gdbserver
// describes an x86-64 Linux process.

// regState is one thread's registers as the stub reads and writes them.
type regState struct {
	r       rumpglue.Regs
	fsBase  uint64
	origRAX uint64
	xsave   []byte // XSAVE image; nil when unavailable (a thread in a syscall)
	avx     bool   // the image holds the AVX upper halves
}

// XSAVE image offsets (Intel SDM vol. 1, 13.4: the legacy region).
const (
	xsFCW    = 0
	xsFSW    = 2
	xsFTW    = 4 // abridged: one bit per register, set when not empty
	xsFOP    = 6
	xsFIP    = 8
	xsFDP    = 16
	xsMXCSR  = 24
	xsST     = 32  // 8 registers, 16 bytes apart, 10 used
	xsXMM    = 160 // 16 registers of 16 bytes
	xsHeader = 512 // XSTATE_BV first
	xsYMMH   = 576 // the AVX component: the upper halves of YMM0-15
	xsMin    = 576 + 256
)

// reg is one register of the description.
type reg struct {
	name string
	size int // bytes
	// get returns the register's bytes, nil when unavailable.
	get func(s *regState) []byte
	// set changes it; false when it cannot be written.
	set func(s *regState, b []byte) bool
}

func u64(v uint64) []byte { b := make([]byte, 8); binary.LittleEndian.PutUint64(b, v); return b }
func u32(v uint32) []byte { b := make([]byte, 4); binary.LittleEndian.PutUint32(b, v); return b }

// gpr is a general register in rumpglue.Regs.
func gpr(name string, f func(r *rumpglue.Regs) *uint64) reg {
	return reg{name: name, size: 8,
		get: func(s *regState) []byte { return u64(*f(&s.r)) },
		set: func(s *regState, b []byte) bool { *f(&s.r) = binary.LittleEndian.Uint64(b); return true }}
}

// constant is a register with a fixed value: the segment selectors of a
// Linux user process.
func constant(name string, v uint32) reg {
	return reg{name: name, size: 4, get: func(*regState) []byte { return u32(v) },
		set: func(_ *regState, b []byte) bool { return binary.LittleEndian.Uint32(b) == v }}
}

// xs is a field of the XSAVE image.
func xs(name string, off, size, width int) reg {
	return reg{name: name, size: size,
		get: func(s *regState) []byte {
			if s.xsave == nil {
				return nil
			}
			out := make([]byte, size)
			copy(out, s.xsave[off:off+width])
			return out
		},
		set: func(s *regState, b []byte) bool {
			if s.xsave == nil {
				return false
			}
			copy(s.xsave[off:off+width], b)
			return true
		}}
}

var regs = func() []reg {
	var rs []reg
	for _, g := range []struct {
		n string
		f func(r *rumpglue.Regs) *uint64
	}{
		{"rax", func(r *rumpglue.Regs) *uint64 { return &r.RAX }}, {"rbx", func(r *rumpglue.Regs) *uint64 { return &r.RBX }},
		{"rcx", func(r *rumpglue.Regs) *uint64 { return &r.RCX }}, {"rdx", func(r *rumpglue.Regs) *uint64 { return &r.RDX }},
		{"rsi", func(r *rumpglue.Regs) *uint64 { return &r.RSI }}, {"rdi", func(r *rumpglue.Regs) *uint64 { return &r.RDI }},
		{"rbp", func(r *rumpglue.Regs) *uint64 { return &r.RBP }}, {"rsp", func(r *rumpglue.Regs) *uint64 { return &r.RSP }},
		{"r8", func(r *rumpglue.Regs) *uint64 { return &r.R8 }}, {"r9", func(r *rumpglue.Regs) *uint64 { return &r.R9 }},
		{"r10", func(r *rumpglue.Regs) *uint64 { return &r.R10 }}, {"r11", func(r *rumpglue.Regs) *uint64 { return &r.R11 }},
		{"r12", func(r *rumpglue.Regs) *uint64 { return &r.R12 }}, {"r13", func(r *rumpglue.Regs) *uint64 { return &r.R13 }},
		{"r14", func(r *rumpglue.Regs) *uint64 { return &r.R14 }}, {"r15", func(r *rumpglue.Regs) *uint64 { return &r.R15 }},
		{"rip", func(r *rumpglue.Regs) *uint64 { return &r.RIP }},
	} {
		rs = append(rs, gpr(g.n, g.f))
	}
	rs = append(rs, reg{name: "eflags", size: 4,
		get: func(s *regState) []byte { return u32(uint32(s.r.RFLAGS)) },
		set: func(s *regState, b []byte) bool {
			s.r.RFLAGS = s.r.RFLAGS&^0xffffffff | uint64(binary.LittleEndian.Uint32(b))
			return true
		}})
	// Linux's user selectors: __USER_CS, __USER_DS, and null data segments.
	rs = append(rs, constant("cs", 0x33), constant("ss", 0x2b), constant("ds", 0), constant("es", 0),
		constant("fs", 0), constant("gs", 0))
	for i := range 8 {
		rs = append(rs, xs(fmt.Sprintf("st%d", i), xsST+16*i, 10, 10))
	}
	rs = append(rs, xs("fctrl", xsFCW, 4, 2), xs("fstat", xsFSW, 4, 2),
		reg{name: "ftag", size: 4, get: fullTag, set: setTag},
		constant("fiseg", 0), xs("fioff", xsFIP, 4, 4), constant("foseg", 0), xs("fooff", xsFDP, 4, 4),
		xs("fop", xsFOP, 4, 2))
	for i := range 16 {
		rs = append(rs, xs(fmt.Sprintf("xmm%d", i), xsXMM+16*i, 16, 16))
	}
	rs = append(rs, xs("mxcsr", xsMXCSR, 4, 4))
	rs = append(rs, reg{name: "orig_rax", size: 8,
		get: func(s *regState) []byte { return u64(s.origRAX) },
		set: func(s *regState, b []byte) bool { s.origRAX = binary.LittleEndian.Uint64(b); return true }})
	rs = append(rs, reg{name: "fs_base", size: 8,
		get: func(s *regState) []byte { return u64(s.fsBase) },
		set: func(s *regState, b []byte) bool { s.fsBase = binary.LittleEndian.Uint64(b); return true }})
	rs = append(rs, constant64("gs_base"))
	for i := range 16 {
		r := xs(fmt.Sprintf("ymm%dh", i), xsYMMH+16*i, 16, 16)
		get, set := r.get, r.set
		r.get = func(s *regState) []byte {
			if s.xsave != nil && !s.avx {
				return make([]byte, 16) // in its initial state: zero
			}
			return get(s)
		}
		r.set = func(s *regState, b []byte) bool {
			if s.xsave == nil || !s.avx {
				return false
			}
			return set(s, b)
		}
		rs = append(rs, r)
	}
	return rs
}()

// constant64 is a 64-bit register that is always 0 (GS base: Linux x86-64
// programs do not use GS).
func constant64(name string) reg {
	return reg{name: name, size: 8, get: func(*regState) []byte { return make([]byte, 8) },
		set: func(_ *regState, b []byte) bool { return binary.LittleEndian.Uint64(b) == 0 }}
}

// fullTag is the x87 tag word gdb wants (two bits a register) from the
// abridged one FXSAVE keeps: empty (3) or, for a register in use, what
// its value is — valid (0), zero (1) or special (2), as Linux's
// twd_fxsr_to_i387 computes it.
func fullTag(s *regState) []byte {
	if s.xsave == nil {
		return nil
	}
	ftw := s.xsave[xsFTW]
	top := int(binary.LittleEndian.Uint16(s.xsave[xsFSW:])>>11) & 7
	var tag uint32
	for phys := range 8 {
		t := uint32(3)
		if ftw&(1<<phys) != 0 {
			st := s.xsave[xsST+16*((phys-top+8)&7):]
			exp := binary.LittleEndian.Uint16(st[8:]) & 0x7fff
			mant := binary.LittleEndian.Uint64(st)
			switch {
			case exp == 0x7fff:
				t = 2
			case exp == 0 && mant == 0:
				t = 1
			case exp == 0 || mant>>63 == 0:
				t = 2
			default:
				t = 0
			}
		}
		tag |= t << (2 * phys)
	}
	return u32(tag)
}

func setTag(s *regState, b []byte) bool {
	if s.xsave == nil {
		return false
	}
	tag := binary.LittleEndian.Uint32(b)
	var ftw byte
	for phys := range 8 {
		if (tag>>(2*phys))&3 != 3 {
			ftw |= 1 << phys
		}
	}
	s.xsave[xsFTW] = ftw
	return true
}

// regNum finds a register by gdb's number (its place in regs).
func regNum(n int) (reg, bool) {
	if n < 0 || n >= len(regs) {
		return reg{}, false
	}
	return regs[n], true
}

// targetXML is the target description: the registers and their types.
var targetXML = func() string {
	var w strings.Builder
	w.WriteString(`<?xml version="1.0"?>
<!DOCTYPE target SYSTEM "gdb-target.dtd">
<target version="1.0">
<architecture>i386:x86-64</architecture>
<osabi>GNU/Linux</osabi>
<feature name="org.gnu.gdb.i386.core">
<flags id="i386_eflags" size="4">
<field name="CF" start="0" end="0"/><field name="" start="1" end="1"/><field name="PF" start="2" end="2"/>
<field name="AF" start="4" end="4"/><field name="ZF" start="6" end="6"/><field name="SF" start="7" end="7"/>
<field name="TF" start="8" end="8"/><field name="IF" start="9" end="9"/><field name="DF" start="10" end="10"/>
<field name="OF" start="11" end="11"/><field name="NT" start="14" end="14"/><field name="RF" start="16" end="16"/>
<field name="VM" start="17" end="17"/><field name="AC" start="18" end="18"/><field name="VIF" start="19" end="19"/>
<field name="VIP" start="20" end="20"/><field name="ID" start="21" end="21"/>
</flags>
`)
	typ := map[string]string{"rbp": "data_ptr", "rsp": "data_ptr", "rip": "code_ptr", "eflags": "i386_eflags"}
	feature := func(name string) { fmt.Fprintf(&w, "</feature>\n<feature name=%q>\n", name) }
	for i, r := range regs {
		switch r.name {
		case "xmm0":
			feature("org.gnu.gdb.i386.sse")
			w.WriteString(`<vector id="v8bf16" type="bfloat16" count="8"/><vector id="v8h" type="ieee_half" count="8"/>
<vector id="v4f" type="ieee_single" count="4"/><vector id="v2d" type="ieee_double" count="2"/>
<vector id="v16i8" type="int8" count="16"/><vector id="v8i16" type="int16" count="8"/>
<vector id="v4i32" type="int32" count="4"/><vector id="v2i64" type="int64" count="2"/>
<union id="vec128"><field name="v8_bfloat16" type="v8bf16"/><field name="v8_half" type="v8h"/>
<field name="v4_float" type="v4f"/><field name="v2_double" type="v2d"/><field name="v16_int8" type="v16i8"/>
<field name="v8_int16" type="v8i16"/><field name="v4_int32" type="v4i32"/><field name="v2_int64" type="v2i64"/>
<field name="uint128" type="uint128"/></union>
<flags id="i386_mxcsr" size="4">
<field name="IE" start="0" end="0"/><field name="DE" start="1" end="1"/><field name="ZE" start="2" end="2"/>
<field name="OE" start="3" end="3"/><field name="UE" start="4" end="4"/><field name="PE" start="5" end="5"/>
<field name="DAZ" start="6" end="6"/><field name="IM" start="7" end="7"/><field name="DM" start="8" end="8"/>
<field name="ZM" start="9" end="9"/><field name="OM" start="10" end="10"/><field name="UM" start="11" end="11"/>
<field name="PM" start="12" end="12"/><field name="FZ" start="15" end="15"/>
</flags>
`)
		case "orig_rax":
			feature("org.gnu.gdb.i386.linux")
		case "fs_base":
			feature("org.gnu.gdb.i386.segments")
		case "ymm0h":
			feature("org.gnu.gdb.i386.avx")
		}
		t := typ[r.name]
		group := ""
		switch {
		case t != "":
		case strings.HasPrefix(r.name, "st"):
			t = "i387_ext"
		case strings.HasPrefix(r.name, "xmm"):
			t = "vec128"
		case strings.HasPrefix(r.name, "ymm"):
			t = "uint128"
		case r.name == "mxcsr":
			t, group = "i386_mxcsr", ` group="vector"`
		case r.size == 8:
			t = "int64"
		case i >= 32 && i < 40: // fctrl..fop
			t, group = "int", ` group="float"`
		default:
			t = "int32"
		}
		fmt.Fprintf(&w, "<reg name=%q bitsize=\"%d\" type=%q regnum=\"%d\"%s/>\n", r.name, 8*r.size, t, i, group)
	}
	w.WriteString("</feature>\n</target>\n")
	return w.String()
}()
