package syscalls

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
)

// Call frame information (.eh_frame): how to find a caller's registers
// at any instruction of a function, which is what a backtrace needs where
// code keeps no frame pointer (gcc's and clang's -O2 on x86-64, so most of
// glibc, libstdc++ and Debian's libraries). The format is DWARF's call
// frame information with the GNU .eh_frame changes (LSB 5.0, "Exception
// Frames"): a list of CIEs (code and data alignment, the return address
// column, initial instructions, the pointer encoding of its FDEs) and FDEs
// (a code range and the instructions that change the rules as the
// function's prologue pushes registers and moves the stack pointer).
// .eh_frame_hdr, when the ELF has one, holds a sorted table for finding
// the FDE of an address; without it the FDEs are indexed once.
//
// Everything here reads untrusted bytes: a bad entry is an error, never a
// panic or an endless loop.

// DWARF register numbers of x86-64 (System V psABI, figure 3.36).
const (
	dwRAX = 0
	dwRDX = 1
	dwRCX = 2
	dwRBX = 3
	dwRSI = 4
	dwRDI = 5
	dwRBP = 6
	dwRSP = 7
	// 8..15 are r8..r15.
	dwRA   = 16 // the return address column: RIP
	dwRegs = 17
)

var dwRegNames = [dwRegs]string{"rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "ra"}

// Pointer encodings (DW_EH_PE_*).
const (
	pe_absptr   = 0x00
	pe_uleb128  = 0x01
	pe_udata2   = 0x02
	pe_udata4   = 0x03
	pe_udata8   = 0x04
	pe_sleb128  = 0x09
	pe_sdata2   = 0x0a
	pe_sdata4   = 0x0b
	pe_sdata8   = 0x0c
	pe_pcrel    = 0x10
	pe_textrel  = 0x20
	pe_datarel  = 0x30
	pe_funcrel  = 0x40
	pe_aligned  = 0x50
	pe_indirect = 0x80
	pe_omit     = 0xff
)

// CFA instructions (DWARF 5, 6.4.2), the GNU extensions included.
const (
	cfa_advance_loc                  = 0x40 // high two bits; delta in the low six
	cfa_offset                       = 0x80 // register in the low six; ULEB offset
	cfa_restore                      = 0xc0 // register in the low six
	cfa_nop                          = 0x00
	cfa_set_loc                      = 0x01
	cfa_advance_loc1                 = 0x02
	cfa_advance_loc2                 = 0x03
	cfa_advance_loc4                 = 0x04
	cfa_offset_extended              = 0x05
	cfa_restore_extended             = 0x06
	cfa_undefined                    = 0x07
	cfa_same_value                   = 0x08
	cfa_register                     = 0x09
	cfa_remember_state               = 0x0a
	cfa_restore_state                = 0x0b
	cfa_def_cfa                      = 0x0c
	cfa_def_cfa_register             = 0x0d
	cfa_def_cfa_offset               = 0x0e
	cfa_def_cfa_expression           = 0x0f
	cfa_expression                   = 0x10
	cfa_offset_extended_sf           = 0x11
	cfa_def_cfa_sf                   = 0x12
	cfa_def_cfa_offset_sf            = 0x13
	cfa_val_offset                   = 0x14
	cfa_val_offset_sf                = 0x15
	cfa_val_expression               = 0x16
	cfa_GNU_args_size                = 0x2e
	cfa_GNU_negative_offset_extended = 0x2f
)

// ruleKind is how a register of the caller is found.
type ruleKind uint8

const (
	ruleUnspecified ruleKind = iota // not mentioned: callee-saved ones keep their value
	ruleUndefined                   // not recoverable (RA undefined: the outermost frame)
	ruleSame                        // unchanged
	ruleOffset                      // saved at CFA+off
	ruleValOffset                   // is CFA+off
	ruleRegister                    // is in register reg
	ruleExpr                        // saved at the address expr computes (CFA pushed first)
	ruleValExpr                     // is what expr computes (CFA pushed first)
)

type regRule struct {
	kind ruleKind
	off  int64
	reg  uint8
	expr []byte
}

// cfaRule is how the CFA (the caller's stack pointer before the call) is
// found: reg+off, or an expression.
type cfaRule struct {
	reg  uint8
	off  int64
	expr []byte
}

// cfiRow is the unwind rules at one address.
type cfiRow struct {
	loc  uint64
	cfa  cfaRule
	regs [dwRegs]regRule
}

// cie is a Common Information Entry.
type cie struct {
	codeAlign uint64
	dataAlign int64
	raReg     uint64
	fdeEnc    byte
	signal    bool // "S": the frame of a signal handler's return trampoline
	aug       bool // "z": FDEs carry an augmentation length
	initial   []byte
}

// fde is a Frame Description Entry: [start, end) and its instructions.
type fde struct {
	cie        *cie
	start, end uint64
	insns      []byte
}

// ehFrame is one ELF's .eh_frame, with link-time addresses.
type ehFrame struct {
	data    []byte
	addr    uint64 // link-time address of data[0]
	hdr     []byte // .eh_frame_hdr, or nil
	hdrAddr uint64
	// table is the hdr's search table (pairs of initial location and FDE
	// address, datarel sdata4), or nil.
	table    []byte
	tableLen int
	// index is every FDE, sorted, when there is no usable table.
	index []fdeSpan
	cies  map[uint64]*cie
	// debug: the entries are .debug_frame's, which differ from
	// .eh_frame's in two fields: a CIE's id is 0xffffffff, not 0, and an
	// FDE's CIE pointer is an offset from the section's start.
	debug bool
}

type fdeSpan struct{ start, end, off uint64 }

var errNoFDE = errors.New("no FDE covers the address")

// readEHFrame finds the call frame information of an ELF; nil when it
// has none.
func readEHFrame(f *elf.File) *ehFrame {
	sec := f.Section(".eh_frame")
	var e *ehFrame
	if sec != nil && sec.Type != elf.SHT_NOBITS {
		data, err := sec.Data()
		if err != nil || len(data) == 0 {
			return nil
		}
		e = &ehFrame{data: data, addr: sec.Addr, cies: map[uint64]*cie{}}
		if h := f.Section(".eh_frame_hdr"); h != nil && h.Type != elf.SHT_NOBITS {
			if b, err := h.Data(); err == nil {
				e.setHdr(b, h.Addr)
			}
		}
	} else {
		// No section headers (or .eh_frame stripped from them): the
		// loader's PT_GNU_EH_FRAME still finds the header, which points
		// at .eh_frame; that runs at most to its segment's end.
		e = ehFrameFromSegments(f)
	}
	if e == nil {
		return nil
	}
	if e.table == nil {
		e.buildIndex()
	}
	return e
}

// readDebugFrame reads .debug_frame, which the Go linker writes for every
// Go function from its SP deltas (Go binaries have no .eh_frame): what
// unwinds a Go function that keeps no frame of its own, a leaf, where the
// frame pointer already is the caller's. nil when the ELF has none
// (stripped with -w).
func readDebugFrame(f *elf.File) *ehFrame {
	sec := f.Section(".debug_frame")
	if sec == nil || sec.Type == elf.SHT_NOBITS {
		return nil
	}
	data, err := sec.Data() // decompressed when SHF_COMPRESSED
	if err != nil || len(data) == 0 {
		return nil
	}
	e := &ehFrame{data: data, cies: map[uint64]*cie{}, debug: true}
	e.buildIndex()
	return e
}

// ehFrameFromSegments finds .eh_frame through PT_GNU_EH_FRAME.
func ehFrameFromSegments(f *elf.File) *ehFrame {
	var hdrProg *elf.Prog
	for _, p := range f.Progs {
		if p.Type == elf.PT_GNU_EH_FRAME {
			hdrProg = p
		}
	}
	if hdrProg == nil || hdrProg.Filesz < 8 || hdrProg.Filesz > 1<<28 {
		return nil
	}
	hdr := make([]byte, hdrProg.Filesz)
	if _, err := hdrProg.ReadAt(hdr, 0); err != nil {
		return nil
	}
	if hdr[0] != 1 {
		return nil
	}
	r := cfiReader{b: hdr, pos: 4}
	ptr, err := r.encoded(hdr[1], hdrProg.Vaddr, hdrProg.Vaddr)
	if err != nil {
		return nil
	}
	for _, p := range f.Progs {
		if p.Type != elf.PT_LOAD || ptr < p.Vaddr || ptr >= p.Vaddr+p.Filesz {
			continue
		}
		size := p.Vaddr + p.Filesz - ptr
		if size > 1<<28 {
			return nil
		}
		data := make([]byte, size)
		if _, err := p.ReadAt(data, int64(ptr-p.Vaddr)); err != nil {
			return nil
		}
		e := &ehFrame{data: data, addr: ptr, cies: map[uint64]*cie{}}
		e.setHdr(hdr, hdrProg.Vaddr)
		return e
	}
	return nil
}

// setHdr takes .eh_frame_hdr's search table when it has the usual
// encoding (datarel sdata4 pairs).
func (e *ehFrame) setHdr(b []byte, addr uint64) {
	if len(b) < 4 || b[0] != 1 || b[3] != pe_datarel|pe_sdata4 {
		return
	}
	r := cfiReader{b: b, pos: 4}
	if _, err := r.encoded(b[1], addr, addr); err != nil {
		return
	}
	n, err := r.encoded(b[2], addr+uint64(r.pos), addr)
	if err != nil || n > uint64(len(b)-r.pos)/8 {
		return
	}
	e.hdr, e.hdrAddr = b, addr
	e.table, e.tableLen = b[r.pos:r.pos+int(n)*8], int(n)
}

// buildIndex lists every FDE of .eh_frame, sorted by address.
func (e *ehFrame) buildIndex() {
	for off := uint64(0); off+4 <= uint64(len(e.data)); {
		next, isCIE, err := e.entryBounds(off)
		if err != nil || next == 0 {
			break
		}
		if !isCIE {
			if f, err := e.fdeAt(off); err == nil && f.end > f.start {
				e.index = append(e.index, fdeSpan{f.start, f.end, off})
			}
		}
		off = next
	}
	sort.Slice(e.index, func(i, j int) bool { return e.index[i].start < e.index[j].start })
}

// entryBounds reads the length of the entry at off: the offset of the
// next one (0 at the terminator) and whether it is a CIE.
func (e *ehFrame) entryBounds(off uint64) (next uint64, isCIE bool, err error) {
	r := cfiReader{b: e.data, pos: int(off)}
	length, err := r.u32()
	if err != nil {
		return 0, false, err
	}
	if length == 0 {
		return 0, false, nil
	}
	if length == 0xffffffff {
		return 0, false, errors.New("64-bit DWARF in .eh_frame")
	}
	end := off + 4 + uint64(length)
	if end > uint64(len(e.data)) {
		return 0, false, errors.New("entry runs past .eh_frame")
	}
	id, err := r.u32()
	if err != nil {
		return 0, false, err
	}
	if e.debug {
		return end, id == 0xffffffff, nil
	}
	return end, id == 0, nil
}

// cieAt parses the CIE at off, once.
func (e *ehFrame) cieAt(off uint64) (*cie, error) {
	if c := e.cies[off]; c != nil {
		return c, nil
	}
	end, isCIE, err := e.entryBounds(off)
	if err != nil {
		return nil, err
	}
	if !isCIE || end == 0 {
		return nil, fmt.Errorf("no CIE at .eh_frame+%#x", off)
	}
	r := cfiReader{b: e.data[:end], pos: int(off) + 8}
	version, err := r.u8()
	if err != nil {
		return nil, err
	}
	if version != 1 && version != 3 && version != 4 {
		return nil, fmt.Errorf("CIE version %d", version)
	}
	augStart := r.pos
	for {
		c, err := r.u8()
		if err != nil {
			return nil, err
		}
		if c == 0 {
			break
		}
	}
	aug := string(e.data[augStart : r.pos-1])
	if version == 4 {
		if _, err := r.bytes(2); err != nil { // address size, segment size
			return nil, err
		}
	}
	c := &cie{fdeEnc: pe_absptr}
	if c.codeAlign, err = r.uleb(); err != nil {
		return nil, err
	}
	if c.dataAlign, err = r.sleb(); err != nil {
		return nil, err
	}
	if version == 1 {
		ra, err := r.u8()
		if err != nil {
			return nil, err
		}
		c.raReg = uint64(ra)
	} else if c.raReg, err = r.uleb(); err != nil {
		return nil, err
	}
	if len(aug) > 0 && aug[0] == 'z' {
		c.aug = true
		n, err := r.uleb()
		if err != nil {
			return nil, err
		}
		if n > uint64(len(r.b)-r.pos) {
			return nil, errors.New("CIE augmentation runs past its entry")
		}
		data := cfiReader{b: r.b[:r.pos+int(n)], pos: r.pos}
		for _, a := range aug[1:] {
			switch a {
			case 'R':
				if c.fdeEnc, err = data.u8(); err != nil {
					return nil, err
				}
			case 'P':
				enc, err := data.u8()
				if err != nil {
					return nil, err
				}
				if _, err := data.encoded(enc, 0, 0); err != nil {
					return nil, err
				}
			case 'L':
				if _, err := data.u8(); err != nil {
					return nil, err
				}
			case 'S':
				c.signal = true
			case 'B', 'G':
				// AArch64 BTI and MTE: no data.
			default:
				return nil, fmt.Errorf("CIE augmentation %q", aug)
			}
		}
		r.pos += int(n)
	} else if aug != "" {
		return nil, fmt.Errorf("CIE augmentation %q", aug)
	}
	c.initial = e.data[r.pos:end]
	e.cies[off] = c
	return c, nil
}

// fdeAt parses the FDE at off.
func (e *ehFrame) fdeAt(off uint64) (*fde, error) {
	end, isCIE, err := e.entryBounds(off)
	if err != nil {
		return nil, err
	}
	if isCIE || end == 0 {
		return nil, fmt.Errorf("no FDE at .eh_frame+%#x", off)
	}
	r := cfiReader{b: e.data[:end], pos: int(off) + 4}
	ptr, _ := r.u32() // distance back to the CIE, from this field
	cieOff := off + 4 - uint64(ptr)
	if e.debug {
		cieOff = uint64(ptr) // .debug_frame: the CIE's offset
	} else if uint64(ptr) > off+4 {
		return nil, errors.New("FDE's CIE pointer out of range")
	}
	c, err := e.cieAt(cieOff)
	if err != nil {
		return nil, err
	}
	if c.fdeEnc&pe_indirect != 0 {
		return nil, errors.New("indirect FDE address")
	}
	f := &fde{cie: c}
	if f.start, err = r.encoded(c.fdeEnc, e.addr+uint64(r.pos), e.addr); err != nil {
		return nil, err
	}
	n, err := r.encoded(c.fdeEnc&0x0f, 0, 0) // the range: no relative part
	if err != nil {
		return nil, err
	}
	f.end = f.start + n
	if c.aug {
		n, err := r.uleb()
		if err != nil {
			return nil, err
		}
		if n > uint64(len(r.b)-r.pos) {
			return nil, errors.New("FDE augmentation runs past its entry")
		}
		r.pos += int(n)
	}
	f.insns = e.data[r.pos:end]
	return f, nil
}

// find returns the FDE covering the link-time address pc.
func (e *ehFrame) find(pc uint64) (*fde, error) {
	var off uint64
	if e.table != nil {
		le := binary.LittleEndian
		at := func(i int) uint64 { return e.hdrAddr + uint64(int64(int32(le.Uint32(e.table[8*i:])))) }
		i := sort.Search(e.tableLen, func(i int) bool { return at(i) > pc }) - 1
		if i < 0 {
			return nil, errNoFDE
		}
		addr := e.hdrAddr + uint64(int64(int32(le.Uint32(e.table[8*i+4:]))))
		if addr < e.addr || addr >= e.addr+uint64(len(e.data)) {
			return nil, errors.New(".eh_frame_hdr points outside .eh_frame")
		}
		off = addr - e.addr
	} else {
		i := sort.Search(len(e.index), func(i int) bool { return e.index[i].start > pc }) - 1
		if i < 0 {
			return nil, errNoFDE
		}
		off = e.index[i].off
	}
	f, err := e.fdeAt(off)
	if err != nil {
		return nil, err
	}
	if pc < f.start || pc >= f.end {
		return nil, errNoFDE
	}
	return f, nil
}

// maxCFIState bounds remember_state nesting and instructions run, so a
// hostile table cannot eat the monitor.
const (
	maxCFIState = 64
	maxCFISteps = 1 << 16
)

// rowAt runs the CIE's and the FDE's instructions up to pc and returns
// the rules that hold there.
func (f *fde) rowAt(pc uint64) (cfiRow, error) {
	var init cfiRow
	row := cfiRow{loc: f.start}
	if err := f.run(f.cie.initial, &row, nil, ^uint64(0)); err != nil {
		return row, err
	}
	init = row
	err := f.run(f.insns, &row, &init, pc)
	return row, err
}

func (f *fde) run(insns []byte, row *cfiRow, init *cfiRow, pc uint64) error {
	return f.runHook(insns, row, init, pc, nil)
}

// runHook interprets insns on row until the location passes pc; init is
// the row after the CIE's instructions (for DW_CFA_restore), nil while
// running those. advanced, when set, sees every new location.
func (f *fde) runHook(insns []byte, row *cfiRow, init *cfiRow, pc uint64, advanced func(uint64)) error {
	c := f.cie
	r := cfiReader{b: insns}
	var stack []cfiRow
	setReg := func(reg uint64, rule regRule) {
		if reg < dwRegs {
			row.regs[reg] = rule
		}
		// Other registers (vector, segment, flags) do not matter for a
		// backtrace.
	}
	restore := func(reg uint64) {
		if reg >= dwRegs {
			return
		}
		if init == nil {
			row.regs[reg] = regRule{}
		} else {
			row.regs[reg] = init.regs[reg]
		}
	}
	advance := func(delta uint64) bool {
		row.loc += delta * c.codeAlign
		if advanced != nil {
			advanced(row.loc)
		}
		return row.loc > pc
	}
	for steps := 0; r.pos < len(r.b); steps++ {
		if steps > maxCFISteps {
			return errors.New("CFI program too long")
		}
		op, _ := r.u8()
		switch op & 0xc0 {
		case cfa_advance_loc:
			if advance(uint64(op & 0x3f)) {
				return nil
			}
			continue
		case cfa_offset:
			n, err := r.uleb()
			if err != nil {
				return err
			}
			setReg(uint64(op&0x3f), regRule{kind: ruleOffset, off: int64(n) * c.dataAlign})
			continue
		case cfa_restore:
			restore(uint64(op & 0x3f))
			continue
		}
		var err error
		switch op {
		case cfa_nop:
		case cfa_set_loc:
			var loc uint64
			if loc, err = r.encoded(c.fdeEnc, 0, 0); err == nil {
				// Relative encodings cannot be resolved here; absolute
				// ones are what set_loc carries in practice.
				if loc < row.loc {
					return errors.New("DW_CFA_set_loc goes backwards")
				}
				row.loc = loc
				if advanced != nil {
					advanced(loc)
				}
				if loc > pc {
					return nil
				}
			}
		case cfa_advance_loc1, cfa_advance_loc2, cfa_advance_loc4:
			var d uint64
			switch op {
			case cfa_advance_loc1:
				var b byte
				b, err = r.u8()
				d = uint64(b)
			case cfa_advance_loc2:
				var h uint16
				h, err = r.u16()
				d = uint64(h)
			default:
				var w uint32
				w, err = r.u32()
				d = uint64(w)
			}
			if err == nil && advance(d) {
				return nil
			}
		case cfa_offset_extended, cfa_val_offset:
			var reg, n uint64
			if reg, err = r.uleb(); err == nil {
				if n, err = r.uleb(); err == nil {
					kind := ruleOffset
					if op == cfa_val_offset {
						kind = ruleValOffset
					}
					setReg(reg, regRule{kind: kind, off: int64(n) * c.dataAlign})
				}
			}
		case cfa_offset_extended_sf, cfa_val_offset_sf:
			var reg uint64
			var n int64
			if reg, err = r.uleb(); err == nil {
				if n, err = r.sleb(); err == nil {
					kind := ruleOffset
					if op == cfa_val_offset_sf {
						kind = ruleValOffset
					}
					setReg(reg, regRule{kind: kind, off: n * c.dataAlign})
				}
			}
		case cfa_GNU_negative_offset_extended:
			var reg, n uint64
			if reg, err = r.uleb(); err == nil {
				if n, err = r.uleb(); err == nil {
					setReg(reg, regRule{kind: ruleOffset, off: -int64(n) * c.dataAlign})
				}
			}
		case cfa_restore_extended:
			var reg uint64
			if reg, err = r.uleb(); err == nil {
				restore(reg)
			}
		case cfa_undefined, cfa_same_value:
			var reg uint64
			if reg, err = r.uleb(); err == nil {
				kind := ruleUndefined
				if op == cfa_same_value {
					kind = ruleSame
				}
				setReg(reg, regRule{kind: kind})
			}
		case cfa_register:
			var reg, reg2 uint64
			if reg, err = r.uleb(); err == nil {
				if reg2, err = r.uleb(); err == nil {
					if reg2 >= dwRegs {
						return fmt.Errorf("DW_CFA_register to register %d", reg2)
					}
					setReg(reg, regRule{kind: ruleRegister, reg: uint8(reg2)})
				}
			}
		case cfa_remember_state:
			if len(stack) >= maxCFIState {
				return errors.New("DW_CFA_remember_state nested too deep")
			}
			stack = append(stack, *row)
		case cfa_restore_state:
			if len(stack) == 0 {
				return errors.New("DW_CFA_restore_state without remember_state")
			}
			loc := row.loc
			*row = stack[len(stack)-1]
			row.loc = loc // the location is not part of the state
			stack = stack[:len(stack)-1]
		case cfa_def_cfa, cfa_def_cfa_sf:
			var reg uint64
			if reg, err = r.uleb(); err == nil {
				var off int64
				if op == cfa_def_cfa {
					var n uint64
					n, err = r.uleb()
					off = int64(n)
				} else {
					off, err = r.sleb()
					off *= c.dataAlign
				}
				if err == nil {
					if reg >= dwRegs {
						return fmt.Errorf("CFA in register %d", reg)
					}
					row.cfa = cfaRule{reg: uint8(reg), off: off}
				}
			}
		case cfa_def_cfa_register:
			var reg uint64
			if reg, err = r.uleb(); err == nil {
				if reg >= dwRegs {
					return fmt.Errorf("CFA in register %d", reg)
				}
				row.cfa.reg, row.cfa.expr = uint8(reg), nil
			}
		case cfa_def_cfa_offset:
			var n uint64
			if n, err = r.uleb(); err == nil {
				row.cfa.off, row.cfa.expr = int64(n), nil
			}
		case cfa_def_cfa_offset_sf:
			var n int64
			if n, err = r.sleb(); err == nil {
				row.cfa.off, row.cfa.expr = n*c.dataAlign, nil
			}
		case cfa_def_cfa_expression:
			var b []byte
			if b, err = r.block(); err == nil {
				row.cfa = cfaRule{expr: b}
			}
		case cfa_expression, cfa_val_expression:
			var reg uint64
			if reg, err = r.uleb(); err == nil {
				var b []byte
				if b, err = r.block(); err == nil {
					kind := ruleExpr
					if op == cfa_val_expression {
						kind = ruleValExpr
					}
					setReg(reg, regRule{kind: kind, expr: b})
				}
			}
		case cfa_GNU_args_size:
			_, err = r.uleb()
		default:
			return fmt.Errorf("unknown CFA instruction %#x", op)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// cfiReader reads little-endian fields and LEB128s from b.
type cfiReader struct {
	b   []byte
	pos int
}

var errShort = errors.New("truncated call frame information")

func (r *cfiReader) bytes(n int) ([]byte, error) {
	if n < 0 || n > len(r.b)-r.pos {
		return nil, errShort
	}
	b := r.b[r.pos : r.pos+n]
	r.pos += n
	return b, nil
}

func (r *cfiReader) u8() (byte, error) {
	b, err := r.bytes(1)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

func (r *cfiReader) u16() (uint16, error) {
	b, err := r.bytes(2)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint16(b), nil
}

func (r *cfiReader) u32() (uint32, error) {
	b, err := r.bytes(4)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func (r *cfiReader) u64() (uint64, error) {
	b, err := r.bytes(8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

func (r *cfiReader) uleb() (uint64, error) {
	var v uint64
	for shift := uint(0); ; shift += 7 {
		c, err := r.u8()
		if err != nil {
			return 0, err
		}
		if shift < 64 {
			v |= uint64(c&0x7f) << shift
		}
		if c&0x80 == 0 {
			return v, nil
		}
	}
}

func (r *cfiReader) sleb() (int64, error) {
	var v int64
	shift := uint(0)
	for {
		c, err := r.u8()
		if err != nil {
			return 0, err
		}
		if shift < 64 {
			v |= int64(c&0x7f) << shift
		}
		shift += 7
		if c&0x80 == 0 {
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			return v, nil
		}
	}
}

// block reads a ULEB length and that many bytes (an expression).
func (r *cfiReader) block() ([]byte, error) {
	n, err := r.uleb()
	if err != nil {
		return nil, err
	}
	if n > uint64(len(r.b)-r.pos) {
		return nil, errShort
	}
	return r.bytes(int(n))
}

// encoded reads a pointer in encoding enc; pc is the field's own
// address (pcrel), data the base for datarel. An indirect pointer is
// returned as the address it is stored at.
func (r *cfiReader) encoded(enc byte, pc, data uint64) (uint64, error) {
	if enc == pe_omit {
		return 0, nil
	}
	if enc == pe_aligned {
		for r.pos%8 != 0 {
			r.pos++
			pc++
		}
		enc = pe_udata8
	}
	var v uint64
	var err error
	switch enc & 0x0f {
	case pe_absptr, pe_udata8, pe_sdata8:
		v, err = r.u64()
	case pe_uleb128:
		v, err = r.uleb()
	case pe_sleb128:
		var s int64
		s, err = r.sleb()
		v = uint64(s)
	case pe_udata2:
		var h uint16
		h, err = r.u16()
		v = uint64(h)
	case pe_sdata2:
		var h uint16
		h, err = r.u16()
		v = uint64(int64(int16(h)))
	case pe_udata4:
		var w uint32
		w, err = r.u32()
		v = uint64(w)
	case pe_sdata4:
		var w uint32
		w, err = r.u32()
		v = uint64(int64(int32(w)))
	default:
		return 0, fmt.Errorf("pointer encoding %#x", enc)
	}
	if err != nil {
		return 0, err
	}
	switch enc & 0x70 {
	case pe_absptr:
	case pe_pcrel:
		v += pc
	case pe_datarel:
		v += data
	default:
		return 0, fmt.Errorf("pointer encoding %#x", enc)
	}
	// pe_indirect (the personality routine through the GOT): v is the
	// pointer's address; the unwinder never needs the pointer itself.
	return v, nil
}

// dwarfExpr evaluates a DWARF expression of the kinds CFI uses on x86-64
// (glibc's signal trampoline, PLT entries): register-relative addresses,
// constants, arithmetic and memory reads. regs gives register values (ok
// false: unknown), read reads guest memory.
func dwarfExpr(expr []byte, push []uint64, reg func(int) (uint64, bool), read func(uint64) (uint64, bool)) (uint64, error) {
	stack := append([]uint64(nil), push...)
	r := cfiReader{b: expr}
	pop := func() (uint64, error) {
		if len(stack) == 0 {
			return 0, errors.New("DWARF expression stack underflow")
		}
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		return v, nil
	}
	for steps := 0; r.pos < len(r.b); steps++ {
		if steps > 1024 || len(stack) > 64 {
			return 0, errors.New("DWARF expression too long")
		}
		op, _ := r.u8()
		var err error
		switch {
		case op >= 0x30 && op <= 0x4f: // DW_OP_lit0..31
			stack = append(stack, uint64(op-0x30))
			continue
		case op >= 0x70 && op <= 0x8f: // DW_OP_breg0..31
			var off int64
			if off, err = r.sleb(); err != nil {
				return 0, err
			}
			v, ok := reg(int(op - 0x70))
			if !ok {
				return 0, fmt.Errorf("DWARF expression needs register %d", op-0x70)
			}
			stack = append(stack, v+uint64(off))
			continue
		}
		switch op {
		case 0x08, 0x09: // const1u, const1s
			var b byte
			if b, err = r.u8(); err == nil {
				v := uint64(b)
				if op == 0x09 {
					v = uint64(int64(int8(b)))
				}
				stack = append(stack, v)
			}
		case 0x0a, 0x0b: // const2u, const2s
			var h uint16
			if h, err = r.u16(); err == nil {
				v := uint64(h)
				if op == 0x0b {
					v = uint64(int64(int16(h)))
				}
				stack = append(stack, v)
			}
		case 0x0c, 0x0d: // const4u, const4s
			var w uint32
			if w, err = r.u32(); err == nil {
				v := uint64(w)
				if op == 0x0d {
					v = uint64(int64(int32(w)))
				}
				stack = append(stack, v)
			}
		case 0x0e, 0x0f: // const8u, const8s
			var v uint64
			if v, err = r.u64(); err == nil {
				stack = append(stack, v)
			}
		case 0x10: // constu
			var v uint64
			if v, err = r.uleb(); err == nil {
				stack = append(stack, v)
			}
		case 0x11: // consts
			var v int64
			if v, err = r.sleb(); err == nil {
				stack = append(stack, uint64(v))
			}
		case 0x12: // dup
			var v uint64
			if v, err = pop(); err == nil {
				stack = append(stack, v, v)
			}
		case 0x13: // drop
			_, err = pop()
		case 0x16: // swap
			if len(stack) < 2 {
				return 0, errors.New("DWARF expression stack underflow")
			}
			n := len(stack)
			stack[n-1], stack[n-2] = stack[n-2], stack[n-1]
		case 0x06: // deref
			var a uint64
			if a, err = pop(); err == nil {
				v, ok := read(a)
				if !ok {
					return 0, fmt.Errorf("DWARF expression reads %#x", a)
				}
				stack = append(stack, v)
			}
		case 0x23: // plus_uconst
			var n uint64
			var a uint64
			if n, err = r.uleb(); err == nil {
				if a, err = pop(); err == nil {
					stack = append(stack, a+n)
				}
			}
		case 0x1a, 0x1c, 0x1e, 0x21, 0x22, 0x24, 0x25, 0x26, 0x27, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e:
			var b, a uint64
			if b, err = pop(); err != nil {
				return 0, err
			}
			if a, err = pop(); err != nil {
				return 0, err
			}
			bool64 := func(c bool) uint64 {
				if c {
					return 1
				}
				return 0
			}
			var v uint64
			switch op {
			case 0x1a:
				v = a & b
			case 0x1c:
				v = a - b
			case 0x1e:
				v = a * b
			case 0x21:
				v = a | b
			case 0x22:
				v = a + b
			case 0x24:
				v = a << (b & 63)
			case 0x25:
				v = a >> (b & 63)
			case 0x26:
				v = uint64(int64(a) >> (b & 63))
			case 0x27:
				v = a ^ b
			case 0x29:
				v = bool64(a == b)
			case 0x2a:
				v = bool64(int64(a) >= int64(b))
			case 0x2b:
				v = bool64(int64(a) > int64(b))
			case 0x2c:
				v = bool64(int64(a) <= int64(b))
			case 0x2d:
				v = bool64(int64(a) < int64(b))
			case 0x2e:
				v = bool64(a != b)
			}
			stack = append(stack, v)
		default:
			return 0, fmt.Errorf("DWARF expression op %#x", op)
		}
		if err != nil {
			return 0, err
		}
	}
	return pop()
}

// String shows a row as readelf --debug-dump=frames-interp does, for
// test failures.
func (row cfiRow) String() string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%#x cfa=", row.loc)
	if row.cfa.expr != nil {
		b.WriteString("exp")
	} else {
		fmt.Fprintf(&b, "%s%+d", dwRegNames[row.cfa.reg], row.cfa.off)
	}
	for i, r := range row.regs {
		if r.kind != ruleUnspecified {
			fmt.Fprintf(&b, " %s=%s", dwRegNames[i], r.readelf())
		}
	}
	return b.String()
}

// readelf is the rule as readelf's frames-interp table writes it.
func (r regRule) readelf() string {
	switch r.kind {
	case ruleUndefined:
		return "u"
	case ruleSame:
		return "s"
	case ruleOffset:
		return fmt.Sprintf("c%+d", r.off)
	case ruleValOffset:
		return fmt.Sprintf("v%+d", r.off)
	case ruleRegister:
		return dwRegNames[r.reg]
	case ruleExpr:
		return "exp"
	case ruleValExpr:
		return "vexp"
	}
	return "u"
}
