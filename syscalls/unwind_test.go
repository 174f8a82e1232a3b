package syscalls

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The CFI interpreter against binutils: for every FDE of real compiler
// output, the rules at every location readelf's frames-interp table lists
// must be the ones readelf computes.

// cfiSource has what makes gcc emit the interesting CFI: pushes of
// callee-saved registers, a stack that moves, a frame pointer set up for a
// variable-length array (def_cfa_register), and early returns out of the
// middle of a function (remember_state/restore_state).
const cfiSource = `
#include <stdlib.h>
#include <string.h>
extern int ext(int, int*);
__attribute__((noinline)) int busy(int a, int b, int c, int d, int e, int f) {
	int x[8];
	for (int i = 0; i < 8; i++) x[i] = ext(a + i, &b);
	if (x[3] == 7) return ext(b, &c);
	return x[0] + x[1] * c + d * ext(e, x) + f;
}
__attribute__((noinline)) int vla(int n) {
	int v[n];
	memset(v, 0, sizeof v);
	return ext(n, v) + v[n / 2];
}
__attribute__((noinline)) long early(long *p, long n) {
	if (!p) return -1;
	long s = 0;
	for (long i = 0; i < n; i++) { s += ext(p[i], (int*)p); if (s > 1000) return s; }
	return s + ext(3, (int*)p);
}
int ext(int a, int *b) { return a + *b; }
int main(int argc, char **argv) { long a[3] = {1, 2, 3}; return busy(argc, 2, 3, 4, 5, 6) + vla(argc) + early(a, 3); }
`

// readelfFDE is one FDE of readelf --debug-dump=frames-interp.
type readelfFDE struct {
	start, end uint64
	rows       []readelfRow
}

type readelfRow struct {
	loc  uint64
	cols map[string]string // "CFA", "rbx", "ra", ...
}

func parseReadelfFrames(t *testing.T, out []byte) []readelfFDE {
	var fdes []readelfFDE
	var cur *readelfFDE
	var header []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		switch {
		case len(fields) >= 4 && fields[3] == "FDE":
			pc := ""
			for _, f := range fields {
				if strings.HasPrefix(f, "pc=") {
					pc = f[3:]
				}
			}
			lo, hi, ok := strings.Cut(pc, "..")
			require.True(t, ok, line)
			start, err := strconv.ParseUint(lo, 16, 64)
			require.NoError(t, err)
			end, err := strconv.ParseUint(hi, 16, 64)
			require.NoError(t, err)
			fdes = append(fdes, readelfFDE{start: start, end: end})
			cur = &fdes[len(fdes)-1]
			header = nil
		case strings.HasPrefix(line, "Contents of the ") && !strings.Contains(line, ".eh_frame section"):
			return fdes // .debug_frame: not what the unwinder reads
		case len(fields) >= 4 && fields[3] == "CIE" || len(fields) >= 2 && fields[1] == "ZERO":
			cur = nil
		case len(fields) > 0 && fields[0] == "LOC":
			header = fields
		case cur != nil && header != nil && len(fields) == len(header):
			loc, err := strconv.ParseUint(fields[0], 16, 64)
			require.NoError(t, err, line)
			row := readelfRow{loc: loc, cols: map[string]string{}}
			for i := 1; i < len(fields); i++ {
				row.cols[header[i]] = fields[i]
			}
			cur.rows = append(cur.rows, row)
		}
	}
	return fdes
}

// checkAgainstReadelf holds every row of path's .eh_frame against readelf.
func checkAgainstReadelf(t *testing.T, path string) int {
	// readelf exits 1 for warnings about other sections (a missing
	// separate debug file): its table is what counts.
	out, _ := exec.Command("readelf", "--debug-dump=frames-interp", path).Output()
	want := parseReadelfFrames(t, out)
	require.NotEmpty(t, want, "readelf found no FDEs in %s", path)

	f, err := elf.Open(path)
	require.NoError(t, err)
	defer f.Close()
	eh := readEHFrame(f)
	require.NotNil(t, eh, "no .eh_frame in %s", path)

	names := map[string]int{"ra": dwRA, "rip": dwRA}
	for i, n := range dwRegNames {
		names[n] = i
	}
	rows := 0
	for _, w := range want {
		if w.end == w.start {
			continue
		}
		got, err := eh.find(w.start)
		require.NoError(t, err, "FDE at %#x", w.start)
		require.Equal(t, w.start, got.start)
		require.Equal(t, w.end, got.end)
		if w.end-w.start > 1 {
			last, err := eh.find(w.end - 1)
			require.NoError(t, err)
			require.Equal(t, w.start, last.start)
		}
		for _, wr := range w.rows {
			row, err := got.rowAt(wr.loc)
			require.NoError(t, err)
			rows++
			for col, v := range wr.cols {
				if col == "CFA" {
					cfa := "exp"
					if row.cfa.expr == nil {
						cfa = dwRegNames[row.cfa.reg] + strconv.FormatInt(row.cfa.off, 10)
						if row.cfa.off >= 0 {
							cfa = dwRegNames[row.cfa.reg] + "+" + strconv.FormatInt(row.cfa.off, 10)
						}
					}
					require.Equal(t, v, cfa, "%s: CFA at %#x (FDE %#x): %v", path, wr.loc, w.start, row)
					continue
				}
				reg, ok := names[col]
				if !ok {
					continue // a vector or other register: not tracked
				}
				require.Equal(t, v, row.regs[reg].readelf(), "%s: %s at %#x (FDE %#x): %v", path, col, wr.loc, w.start, row)
			}
		}
	}
	return rows
}

func TestCFIAgainstReadelf(t *testing.T) {
	for _, tool := range []string{"gcc", "readelf"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s: %v", tool, err)
		}
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "cfi.c")
	require.NoError(t, os.WriteFile(src, []byte(cfiSource), 0o644))
	for _, tc := range []struct {
		name  string
		flags []string
	}{
		{"O2 no frame pointer", []string{"-O2", "-fomit-frame-pointer"}},
		{"O0 frame pointer", []string{"-O0", "-fno-omit-frame-pointer"}},
		{"Os", []string{"-Os"}},
		{"O2 static", []string{"-O2", "-static"}},
		{"O2 shared", []string{"-O2", "-shared", "-fPIC"}},
		{"O2 no eh_frame_hdr", []string{"-O2", "-Wl,--no-eh-frame-hdr"}},
		{"O3 asynchronous tables", []string{"-O3", "-fasynchronous-unwind-tables", "-mno-red-zone"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
			args := append(append([]string{}, tc.flags...), "-o", bin, src)
			out, err := exec.Command("gcc", args...).CombinedOutput()
			require.NoError(t, err, "%s", out)
			rows := checkAgainstReadelf(t, bin)
			require.Greater(t, rows, 5)
		})
	}
	// Debian's libraries: -O2 without frame pointers, hand-written
	// assembly with its CFI, the signal trampoline's expressions.
	for _, lib := range []string{"/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"} {
		t.Run(filepath.Base(lib), func(t *testing.T) {
			if _, err := os.Stat(lib); err != nil {
				t.Skip(err)
			}
			require.Greater(t, checkAgainstReadelf(t, lib), 1000)
		})
	}
}

// TestCFIRules: each instruction's effect, on hand-made programs.
func TestCFIRules(t *testing.T) {
	c := &cie{codeAlign: 1, dataAlign: -8, raReg: dwRA}
	// What gcc's CIE says: CFA = rsp+8, ra at CFA-8.
	c.initial = []byte{cfa_def_cfa, dwRSP, 8, cfa_offset | dwRA, 1}
	off := func(o int64) regRule { return regRule{kind: ruleOffset, off: o} }
	for _, tc := range []struct {
		name  string
		insns []byte
		pc    uint64
		cfa   cfaRule
		regs  map[int]regRule
	}{
		{name: "CIE only", pc: 0x1000, cfa: cfaRule{reg: dwRSP, off: 8}, regs: map[int]regRule{dwRA: off(-8)}},
		{name: "push rbp", pc: 0x1001,
			insns: []byte{cfa_advance_loc | 1, cfa_def_cfa_offset, 16, cfa_offset | dwRBP, 2},
			cfa:   cfaRule{reg: dwRSP, off: 16}, regs: map[int]regRule{dwRA: off(-8), dwRBP: off(-16)}},
		{name: "before the push", pc: 0x1000,
			insns: []byte{cfa_advance_loc | 1, cfa_def_cfa_offset, 16, cfa_offset | dwRBP, 2},
			cfa:   cfaRule{reg: dwRSP, off: 8}, regs: map[int]regRule{dwRA: off(-8)}},
		{name: "mov rbp, rsp", pc: 0x1004,
			insns: []byte{cfa_advance_loc | 1, cfa_def_cfa_offset, 16, cfa_offset | dwRBP, 2, cfa_advance_loc | 3, cfa_def_cfa_register, dwRBP},
			cfa:   cfaRule{reg: dwRBP, off: 16}, regs: map[int]regRule{dwRA: off(-8), dwRBP: off(-16)}},
		{name: "leave; ret restores rsp+8", pc: 0x1010,
			insns: []byte{cfa_advance_loc | 1, cfa_def_cfa_offset, 16, cfa_offset | dwRBP, 2, cfa_advance_loc | 3, cfa_def_cfa_register, dwRBP,
				cfa_advance_loc1, 0x0b, cfa_def_cfa, dwRSP, 8},
			cfa: cfaRule{reg: dwRSP, off: 8}, regs: map[int]regRule{dwRA: off(-8), dwRBP: off(-16)}},
		{name: "remember, epilogue, restore", pc: 0x1030,
			insns: []byte{cfa_advance_loc | 2, cfa_def_cfa_offset, 16, cfa_offset | dwRBX, 2,
				cfa_advance_loc | 4, cfa_remember_state, cfa_def_cfa_offset, 8, cfa_restore | dwRBX,
				cfa_advance_loc2, 0x20, 0x00, cfa_restore_state},
			cfa: cfaRule{reg: dwRSP, off: 16}, regs: map[int]regRule{dwRA: off(-8), dwRBX: off(-16)}},
		{name: "inside the early epilogue", pc: 0x1007,
			insns: []byte{cfa_advance_loc | 2, cfa_def_cfa_offset, 16, cfa_offset | dwRBX, 2,
				cfa_advance_loc | 4, cfa_remember_state, cfa_def_cfa_offset, 8, cfa_restore | dwRBX,
				cfa_advance_loc2, 0x20, 0x00, cfa_restore_state},
			cfa: cfaRule{reg: dwRSP, off: 8}, regs: map[int]regRule{dwRA: off(-8)}},
		{name: "extended and sf forms", pc: 0x1100,
			insns: []byte{cfa_advance_loc4, 0x00, 0x01, 0x00, 0x00, cfa_def_cfa_sf, dwRSP, 0x7e /* -2 */, cfa_offset_extended_sf, 12, 0x7d, /* -3 */
				cfa_offset_extended, 13, 4, cfa_val_offset, 14, 1, cfa_register, 15, dwRAX, cfa_same_value, dwRBX, cfa_undefined, dwRBP, cfa_GNU_args_size, 16, cfa_nop},
			cfa: cfaRule{reg: dwRSP, off: 16}, regs: map[int]regRule{dwRA: off(-8), 12: off(24), 13: off(-32),
				14: {kind: ruleValOffset, off: -8}, 15: {kind: ruleRegister, reg: dwRAX}, dwRBX: {kind: ruleSame}, dwRBP: {kind: ruleUndefined}}},
		{name: "restore_extended goes back to the CIE", pc: 0x1002,
			insns: []byte{cfa_offset_extended, dwRA, 3, cfa_advance_loc | 1, cfa_restore_extended, dwRA},
			cfa:   cfaRule{reg: dwRSP, off: 8}, regs: map[int]regRule{dwRA: off(-8)}},
		{name: "expressions", pc: 0x1000,
			insns: []byte{cfa_def_cfa_expression, 3, 0x77, 0xa0, 0x01 /* breg7 160 */, cfa_expression, dwRBX, 2, 0x77, 0x10},
			cfa:   cfaRule{expr: []byte{0x77, 0xa0, 0x01}}, regs: map[int]regRule{dwRA: off(-8), dwRBX: {kind: ruleExpr, expr: []byte{0x77, 0x10}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fde{cie: c, start: 0x1000, end: 0x2000, insns: tc.insns}
			row, err := f.rowAt(tc.pc)
			require.NoError(t, err)
			require.Equal(t, tc.cfa, row.cfa)
			for i := 0; i < dwRegs; i++ {
				require.Equal(t, tc.regs[i], row.regs[i], "register %s", dwRegNames[i])
			}
		})
	}
	t.Run("bad programs are errors", func(t *testing.T) {
		for _, insns := range [][]byte{
			{cfa_restore_state},
			{cfa_def_cfa, 0x80},          // truncated LEB
			{cfa_advance_loc2, 1},        // truncated operand
			{0x3f},                       // unknown instruction
			{cfa_def_cfa, 40, 8},         // CFA in a vector register
			{cfa_expression, 3, 9, 1, 2}, // block past the end
		} {
			_, err := (&fde{cie: c, start: 0x1000, end: 0x2000, insns: insns}).rowAt(0x1fff)
			require.Error(t, err, "% x", insns)
		}
	})
}

// TestUnwindRow: a row applied to registers and memory gives the caller's.
func TestUnwindRow(t *testing.T) {
	mem := map[uint64]uint64{0x7000: 0x401234 /* ra */, 0x6ff8: 0xbbbb /* saved rbx */, 0x7100: 0x6000}
	read := func(a uint64) (uint64, bool) { v, ok := mem[a]; return v, ok }
	var cur unwindRegs
	for i := range cur.v {
		cur.v[i], cur.known[i] = uint64(0x100+i), true
	}
	cur.v[dwRSP] = 0x6ff0
	row := cfiRow{cfa: cfaRule{reg: dwRSP, off: 0x18}}
	row.regs[dwRA] = regRule{kind: ruleOffset, off: -8}
	row.regs[dwRBX] = regRule{kind: ruleOffset, off: -16}
	next, signal, res := unwindRow(cur, row, dwRA, read, false)
	require.Equal(t, stepOK, res)
	require.False(t, signal)
	require.Equal(t, uint64(0x401234), next.v[dwRA])
	require.Equal(t, uint64(0x7008), next.v[dwRSP])
	require.Equal(t, uint64(0xbbbb), next.v[dwRBX])
	require.Equal(t, cur.v[12], next.v[12], "callee-saved r12 unchanged")
	require.True(t, next.known[dwRBP])
	require.False(t, next.known[dwRAX], "rax is the callee's to clobber")

	// The outermost frame: ra undefined.
	row.regs[dwRA] = regRule{kind: ruleUndefined}
	_, _, res = unwindRow(cur, row, dwRA, read, false)
	require.Equal(t, stepEnd, res)

	// A CFA expression reading memory, as glibc's __restore_rt has:
	// DW_OP_breg7 (rsp) 0x110; DW_OP_deref.
	row = cfiRow{cfa: cfaRule{expr: []byte{0x77, 0x90, 0x02, 0x06}}}
	row.regs[dwRA] = regRule{kind: ruleExpr, expr: []byte{0x77, 0x10}} // at rsp+0x10
	mem[0x6ff0+0x10] = 0x405000
	next, signal, res = unwindRow(cur, row, dwRA, read, true)
	require.Equal(t, stepOK, res)
	require.True(t, signal)
	require.Equal(t, uint64(0x6000), next.v[dwRSP])
	require.Equal(t, uint64(0x405000), next.v[dwRA])

	// An unreadable return address is a failed step, not a frame.
	row = cfiRow{cfa: cfaRule{reg: dwRSP, off: 0x1000}}
	row.regs[dwRA] = regRule{kind: ruleOffset, off: -8}
	_, _, res = unwindRow(cur, row, dwRA, read, false)
	require.Equal(t, stepFail, res)
}

// TestDwarfExpr: the PLT's CFA expression (rsp+8, +8 more past the
// push in the second half of each 16-byte entry).
func TestDwarfExpr(t *testing.T) {
	plt := []byte{0x77, 0x08, 0x80, 0x00, 0x3f, 0x1a, 0x3b, 0x2a, 0x33, 0x24, 0x22}
	for _, tc := range []struct{ rip, want uint64 }{{0x1020, 0x5008}, {0x102a, 0x5008}, {0x102b, 0x5010}, {0x102f, 0x5010}} {
		reg := func(i int) (uint64, bool) {
			switch i {
			case dwRSP:
				return 0x5000, true
			case dwRA:
				return tc.rip, true
			}
			return 0, false
		}
		v, err := dwarfExpr(plt, nil, reg, nil)
		require.NoError(t, err)
		require.Equal(t, tc.want, v, "rip %#x", tc.rip)
	}
	for _, bad := range [][]byte{{0x22}, {0x06}, {0x99}, {0x70}} {
		_, err := dwarfExpr(bad, nil, func(int) (uint64, bool) { return 0, false }, func(uint64) (uint64, bool) { return 0, false })
		require.Error(t, err, "% x", bad)
	}
}

// TestEHFrameGarbage: every truncation and byte flip of a real .eh_frame
// parses to answers or errors, never a panic.
func TestEHFrameGarbage(t *testing.T) {
	const lib = "/lib/x86_64-linux-gnu/libc.so.6"
	f, err := elf.Open(lib)
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	eh := readEHFrame(f)
	require.NotNil(t, eh)
	data := eh.data[:min(len(eh.data), 4096)]
	probe := func(e *ehFrame) {
		e.buildIndex()
		for _, s := range e.index {
			if fd, err := e.find(s.start); err == nil {
				fd.rowAt(s.start + (s.end-s.start)/2)
			}
		}
	}
	for n := 0; n < len(data); n += 7 {
		probe(&ehFrame{data: data[:n], addr: eh.addr, cies: map[uint64]*cie{}})
	}
	for i := 0; i < len(data); i += 3 {
		b := append([]byte(nil), data...)
		b[i] ^= 0xa5
		probe(&ehFrame{data: b, addr: eh.addr, cies: map[uint64]*cie{}})
	}
	// A length that points past the end, and an endless CIE chain.
	var bad bytes.Buffer
	binary.Write(&bad, binary.LittleEndian, uint32(0x7fffffff))
	probe(&ehFrame{data: bad.Bytes(), cies: map[uint64]*cie{}})
}
