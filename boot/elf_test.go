package boot

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// elfTestImage is a hand-made ELF64 file: file holds the whole contents, and
// the header and program headers are written over its start.
type elfTestImage struct {
	hdr   elf.Header64
	progs []elf.Prog64
	file  []byte
}

const elfTestCode = "\x0f\x05\xeb\xfe" // syscall; jmp .

// elfTestValid is a static executable with code, data and bss.
func elfTestValid() *elfTestImage {
	file := make([]byte, 0x2010)
	copy(file[0x1000:], elfTestCode)
	copy(file[0x2000:], "hello, rumpgo!")
	return &elfTestImage{
		hdr: elf.Header64{
			Ident:     [elf.EI_NIDENT]byte{0x7f, 'E', 'L', 'F', byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)},
			Type:      uint16(elf.ET_EXEC),
			Machine:   uint16(elf.EM_X86_64),
			Version:   uint32(elf.EV_CURRENT),
			Entry:     0x401000,
			Phoff:     64,
			Ehsize:    64,
			Phentsize: 56,
		},
		progs: []elf.Prog64{
			{Type: uint32(elf.PT_LOAD), Flags: uint32(elf.PF_R | elf.PF_X), Off: 0, Vaddr: 0x400000, Filesz: 0x1004, Memsz: 0x1004, Align: 0x1000},
			{Type: uint32(elf.PT_LOAD), Flags: uint32(elf.PF_R | elf.PF_W), Off: 0x2000, Vaddr: 0x402000, Filesz: 0x10, Memsz: 0x3000, Align: 0x1000},
			{Type: uint32(elf.PT_GNU_STACK), Flags: uint32(elf.PF_R | elf.PF_W)},
		},
		file: file,
	}
}

func (im *elfTestImage) bytes() []byte {
	h := im.hdr
	if h.Phnum == 0 {
		h.Phnum = uint16(len(im.progs))
	}
	var b bytes.Buffer
	_ = binary.Write(&b, binary.LittleEndian, h)
	_ = binary.Write(&b, binary.LittleEndian, im.progs)
	out := slices.Clone(im.file)
	if len(out) < b.Len() {
		out = append(out, make([]byte, b.Len()-len(out))...)
	}
	copy(out, b.Bytes())
	return out
}

type elfTestCase struct {
	name   string
	data   []byte
	reason string // "" when the file must be accepted
}

// elfTestCrafted are the hand-made inputs, shared with the fuzz corpus.
func elfTestCrafted() []elfTestCase {
	edit := func(f func(im *elfTestImage)) []byte {
		im := elfTestValid()
		f(im)
		return im.bytes()
	}
	valid := elfTestValid().bytes()
	elf32 := slices.Clone(valid[:52])
	elf32[elf.EI_CLASS] = byte(elf.ELFCLASS32)
	random := make([]byte, 4096)
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range random {
		random[i] = byte(rnd.Uint32())
	}
	random[0] = 0 // never the ELF magic
	const malformed = "truncated or malformed ELF: "
	return []elfTestCase{
		{"valid", valid, ""},
		{"static-PIE", edit(func(im *elfTestImage) {
			im.hdr.Type = uint16(elf.ET_DYN)
			for i := range im.progs[:2] {
				im.progs[i].Vaddr -= 0x400000
			}
		}), ""},
		{"no PT_GNU_STACK", edit(func(im *elfTestImage) { im.progs = im.progs[:2] }), ""},
		{"empty", nil, "empty file, not an ELF executable"},
		{"random bytes", random, "not an ELF executable"},
		{"text", []byte("#!/bin/sh\necho hi\n"), "not an ELF executable"},
		{"magic only", []byte("\x7fELF"), malformed + "file ends inside the ELF header"},
		{"ELF32", elf32, "32-bit ELF; rumpgo runs x86-64 (64-bit) executables"},
		{"big-endian", edit(func(im *elfTestImage) { im.hdr.Ident[elf.EI_DATA] = byte(elf.ELFDATA2MSB) }), "big-endian ELF"},
		{"AArch64", edit(func(im *elfTestImage) { im.hdr.Machine = uint16(elf.EM_AARCH64) }), "ELF for AARCH64, not x86-64"},
		{"ARM", edit(func(im *elfTestImage) { im.hdr.Machine = uint16(elf.EM_ARM) }), "ELF for ARM, not x86-64"},
		{"unknown machine", edit(func(im *elfTestImage) { im.hdr.Machine = 0xfff0 }), "ELF for machine 65520, not x86-64"},
		{"relocatable", edit(func(im *elfTestImage) { im.hdr.Type = uint16(elf.ET_REL) }), "relocatable object"},
		{"core", edit(func(im *elfTestImage) { im.hdr.Type = uint16(elf.ET_CORE) }), "core file"},
		{"header only", valid[:64], malformed + "program headers"},
		{"header cut short", valid[:40], malformed + "ELF header"},
		{"phnum huge", edit(func(im *elfTestImage) { im.hdr.Phnum = 0xffff }), malformed + "too many program headers (65535)"},
		{"phentsize wrong", edit(func(im *elfTestImage) { im.hdr.Phentsize = 32 }), malformed + "program header size 32"},
		{"phoff past the end", edit(func(im *elfTestImage) { im.hdr.Phoff = 1 << 62 }), malformed + "program headers"},
		{"no PT_LOAD", edit(func(im *elfTestImage) { im.progs = im.progs[2:] }), malformed + "no loadable segments"},
		{"filesz > memsz", edit(func(im *elfTestImage) { im.progs[1].Memsz = 0x8 }), "file size 0x10 exceeds memory size 0x8"},
		{"segment past the file", edit(func(im *elfTestImage) { im.progs[1].Filesz = 0x20 }), malformed + "PT_LOAD #1: file range"},
		{"offset overflow", edit(func(im *elfTestImage) { im.progs[1].Off = ^uint64(0) - 4 }), malformed + "PT_LOAD #1: file range"},
		{"vaddr overflow", edit(func(im *elfTestImage) { im.progs[1].Vaddr = ^uint64(0) - 0xfff }), "outside the user address space"},
		{"beyond user space", edit(func(im *elfTestImage) { im.progs[1].Vaddr = 0x7fff_ffff_e000 }), "outside the user address space"},
		{"kernel address", edit(func(im *elfTestImage) { im.progs[1].Vaddr = 0xffff_8000_0000_0000 }), "outside the user address space"},
		{"offset not congruent", edit(func(im *elfTestImage) { im.progs[1].Vaddr += 8 }), "differ within a page"},
		{"overlapping", edit(func(im *elfTestImage) { im.progs[1].Vaddr, im.progs[1].Off = 0x401000, 0x2000 }), "overlap"},
		{"overlap out of order", edit(func(im *elfTestImage) {
			im.progs[0], im.progs[1] = im.progs[1], im.progs[0]
			im.progs[1].Memsz = 0x2001
		}), "overlap"},
		{"PIE too big", edit(func(im *elfTestImage) {
			im.hdr.Type = uint16(elf.ET_DYN)
			im.progs[1].Memsz = 0x7000_0000_0000
		}), "does not fit above"},
		{"PT_INTERP", edit(func(im *elfTestImage) {
			copy(im.file[0x800:], "/lib/ld.so\x00")
			im.progs = append(im.progs, elf.Prog64{Type: uint32(elf.PT_INTERP), Off: 0x800, Filesz: 11})
		}), ""},
		{"PT_INTERP unterminated", edit(func(im *elfTestImage) {
			copy(im.file[0x800:], "/lib/ld.so!")
			im.progs = append(im.progs, elf.Prog64{Type: uint32(elf.PT_INTERP), Off: 0x800, Filesz: 11})
		}), "not NUL-terminated"},
		{"PT_INTERP past the end", edit(func(im *elfTestImage) {
			im.progs = append(im.progs, elf.Prog64{Type: uint32(elf.PT_INTERP), Off: 0x2000, Filesz: 0x100})
		}), malformed + "PT_INTERP #3"},
	}
}

func elfTestWrite(t *testing.T, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "prog")
	require.NoError(t, os.WriteFile(path, data, 0o755))
	return path
}

// elfTestBuild builds a small Go program, statically, with extra go build
// flags, and returns the executable's path.
func elfTestBuild(t *testing.T, flags ...string) string {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build test programs with")
	}
	dir := t.TempDir()
	src := `package main

import "os"

var msg = []byte("hello from the ELF loader test\n")
var bss [1 << 16]byte

func main() { bss[len(msg)] = 1; os.Stdout.Write(msg) }
`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module elftest\n\ngo 1.22\n"), 0o644))
	out := filepath.Join(dir, "prog")
	cmd := exec.Command(goCmd, append(append([]string{"build", "-o", out}, flags...), ".")...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOWORK=off", "GOTOOLCHAIN=local")
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build: %s", b)
	return out
}

// elfTestStaticPIE returns a static-PIE executable, made by Go's internal
// linker if it can, else by gcc -static-pie, or skips.
func elfTestStaticPIE(t *testing.T) string {
	t.Helper()
	if path := elfTestBuild(t, "-buildmode=pie", "-ldflags=-linkmode=internal"); !elfTestHasInterp(t, path) {
		return path
	}
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("Go's internal linker adds PT_INTERP to PIEs and there is no gcc")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "main.c")
	require.NoError(t, os.WriteFile(src, []byte("static char bss[65536];\nint main(void) { return bss[1]; }\n"), 0o644))
	out := filepath.Join(dir, "prog")
	if b, err := exec.Command(gcc, "-static-pie", "-O2", "-o", out, src).CombinedOutput(); err != nil {
		t.Skipf("gcc cannot make a static-PIE executable: %v: %s", err, b)
	}
	require.False(t, elfTestHasInterp(t, out))
	return out
}

func elfTestHasInterp(t *testing.T, path string) bool {
	f, err := elf.Open(path)
	require.NoError(t, err)
	defer f.Close()
	return slices.ContainsFunc(f.Progs, func(p *elf.Prog) bool { return p.Type == elf.PT_INTERP })
}

func TestReadELF(t *testing.T) {
	goBin := elfTestBuild(t)
	goBytes, err := os.ReadFile(goBin)
	require.NoError(t, err)

	type fileCase struct {
		name   string
		path   func(t *testing.T) string
		reason string
	}
	var cases []fileCase
	for _, c := range elfTestCrafted() {
		cases = append(cases, fileCase{c.name, func(t *testing.T) string { return elfTestWrite(t, c.data) }, c.reason})
	}
	cases = append(cases,
		fileCase{"directory", func(t *testing.T) string { return t.TempDir() }, "is a directory"},
		fileCase{"fifo", func(t *testing.T) string {
			path := filepath.Join(t.TempDir(), "fifo")
			require.NoError(t, unix.Mkfifo(path, 0o644))
			return path
		}, "not a regular file"},
		fileCase{"Go static", func(*testing.T) string { return goBin }, ""},
		fileCase{"Go first 1000 bytes", func(t *testing.T) string { return elfTestWrite(t, goBytes[:1000]) }, "truncated or malformed ELF: PT_LOAD"},
		fileCase{"Go first 64 bytes", func(t *testing.T) string { return elfTestWrite(t, goBytes[:64]) }, "truncated or malformed ELF: program headers"},
		fileCase{"Go without section headers", func(t *testing.T) string {
			b := slices.Clone(goBytes)
			binary.LittleEndian.PutUint64(b[0x28:], 1<<60) // e_shoff: Linux never looks
			return elfTestWrite(t, b)
		}, ""},
		fileCase{"/bin/true", func(t *testing.T) string {
			if f, err := elf.Open("/bin/true"); err != nil || f.Close() != nil || !elfTestHasInterp(t, "/bin/true") {
				t.Skip("no dynamically linked ELF /bin/true")
			}
			return "/bin/true"
		}, ""},
	)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := c.path(t)
			e, err := ReadELF(path)
			if c.reason == "" {
				require.NoError(t, err)
				require.Equal(t, path, e.Path)
				require.NotEmpty(t, e.Loads)
				return
			}
			require.Nil(t, e)
			var xe *ExecError
			require.ErrorAs(t, err, &xe)
			require.Equal(t, path, xe.Path)
			require.Contains(t, xe.Reason, c.reason)
			require.Equal(t, path+": "+xe.Reason, err.Error())
			require.NotContains(t, xe.Reason, "\n")
		})
	}

	t.Run("missing", func(t *testing.T) {
		_, err := ReadELF(filepath.Join(t.TempDir(), "missing"))
		require.ErrorIs(t, err, fs.ErrNotExist)
		var xe *ExecError
		require.False(t, errors.As(err, &xe))
	})

	t.Run("Go static fields", func(t *testing.T) {
		e, err := ReadELF(goBin)
		require.NoError(t, err)
		elfTestSameAsDebugELF(t, goBin, e)
		require.False(t, e.PIE)
		require.Empty(t, e.Interp)
		require.False(t, e.ExecStack)
	})

	t.Run("static-PIE fields", func(t *testing.T) {
		path := elfTestStaticPIE(t)
		e, err := ReadELF(path)
		require.NoError(t, err)
		elfTestSameAsDebugELF(t, path, e)
		require.True(t, e.PIE)
		require.Empty(t, e.Interp)
	})

	t.Run("crafted fields", func(t *testing.T) {
		e, err := ReadELF(elfTestWrite(t, elfTestValid().bytes()))
		require.NoError(t, err)
		require.Equal(t, uint64(0x401000), e.Entry)
		require.Equal(t, uint64(0x400040), e.PhdrVaddr) // found through the PT_LOAD covering e_phoff
		require.Equal(t, uint64(56), e.Phent)
		require.Equal(t, uint64(3), e.Phnum)
		require.False(t, e.ExecStack)
		require.Equal(t, []LoadSegment{
			{Vaddr: 0x400000, Memsz: 0x1004, Filesz: 0x1004, Offset: 0, Align: 0x1000, Prot: unix.PROT_READ | unix.PROT_EXEC, Data: e.Loads[0].Data},
			{Vaddr: 0x402000, Memsz: 0x3000, Filesz: 0x10, Offset: 0x2000, Align: 0x1000, Prot: unix.PROT_READ | unix.PROT_WRITE, Data: []byte("hello, rumpgo!\x00\x00")},
		}, e.Loads)
		require.Equal(t, elfTestCode, string(e.Loads[0].Data[0x1000:]))

		im := elfTestValid()
		im.progs = im.progs[:2]
		e, err = ReadELF(elfTestWrite(t, im.bytes()))
		require.NoError(t, err)
		require.True(t, e.ExecStack)
	})
}

// elfTestSameAsDebugELF checks e against debug/elf's reading of path.
func elfTestSameAsDebugELF(t *testing.T, path string, e *ELF) {
	t.Helper()
	f, err := elf.Open(path)
	require.NoError(t, err)
	defer f.Close()
	require.Equal(t, f.Entry, e.Entry)
	require.Equal(t, uint64(len(f.Progs)), e.Phnum)
	var loads []LoadSegment
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_LOAD:
			data := make([]byte, p.Filesz)
			_, err := p.ReadAt(data, 0)
			require.NoError(t, err)
			loads = append(loads, LoadSegment{p.Vaddr, p.Memsz, p.Filesz, p.Off, p.Align, elfProt(p.Flags), data})
		case elf.PT_PHDR:
			require.Equal(t, p.Vaddr, e.PhdrVaddr)
		}
	}
	require.Equal(t, loads, e.Loads)
}

// elfTestAS is an in-memory AddressSpace that refuses anything Load should
// never do: unaligned ranges, mapping a page twice (which would zero it), and
// touching unmapped memory.
type elfTestAS struct {
	maps  []elfTestRange
	prots []elfTestRange // in call order; the last covering a page wins
	pages map[uint64]*[elfPage]byte
}

type elfTestRange struct {
	lo, hi uint64
	prot   int
}

func newElfTestAS() *elfTestAS { return &elfTestAS{pages: map[uint64]*[elfPage]byte{}} }

func (m *elfTestAS) MapFixed(addr, length uint64, prot int) error {
	if addr%elfPage != 0 || length%elfPage != 0 || length == 0 || addr+length < addr {
		return fmt.Errorf("MapFixed(%#x, %#x): bad range", addr, length)
	}
	for _, r := range m.maps {
		if addr < r.hi && r.lo < addr+length {
			return fmt.Errorf("MapFixed(%#x, %#x): overlaps [%#x, %#x)", addr, length, r.lo, r.hi)
		}
	}
	m.maps = append(m.maps, elfTestRange{addr, addr + length, prot})
	m.prots = append(m.prots, elfTestRange{addr, addr + length, prot})
	return nil
}

func (m *elfTestAS) Protect(addr, length uint64, prot int) error {
	if addr%elfPage != 0 || length%elfPage != 0 || !m.mapped(addr, addr+length) {
		return fmt.Errorf("Protect(%#x, %#x): bad range", addr, length)
	}
	m.prots = append(m.prots, elfTestRange{addr, addr + length, prot})
	return nil
}

func (m *elfTestAS) Poke(addr uint64, data []byte) error {
	if !m.mapped(addr, addr+uint64(len(data))) {
		return fmt.Errorf("Poke(%#x, %d bytes): not mapped", addr, len(data))
	}
	for i, b := range data {
		a := addr + uint64(i)
		pg := m.pages[elfPageDown(a)]
		if pg == nil {
			pg = new([elfPage]byte)
			m.pages[elfPageDown(a)] = pg
		}
		pg[a%elfPage] = b
	}
	return nil
}

func (m *elfTestAS) mapped(lo, hi uint64) bool {
	for lo < hi {
		i := slices.IndexFunc(m.maps, func(r elfTestRange) bool { return r.lo <= lo && lo < r.hi })
		if i < 0 {
			return false
		}
		lo = m.maps[i].hi
	}
	return true
}

func (m *elfTestAS) read(addr, n uint64) []byte {
	if n == 0 {
		return nil // as ReadELF leaves Data
	}
	out := make([]byte, n)
	for i := range out {
		a := addr + uint64(i)
		if pg := m.pages[elfPageDown(a)]; pg != nil {
			out[i] = pg[a%elfPage]
		}
	}
	return out
}

// prot is a page's final protection, -1 when unmapped.
func (m *elfTestAS) prot(addr uint64) int {
	for _, r := range slices.Backward(m.prots) {
		if r.lo <= addr && addr < r.hi {
			return r.prot
		}
	}
	return -1
}

// elfTestCheckLoad loads e and checks the memory against the file, page by
// page, with protections computed the slow way.
func elfTestCheckLoad(t *testing.T, e *ELF) (*Loaded, *elfTestAS) {
	t.Helper()
	as := newElfTestAS()
	l, err := e.Load(as)
	require.NoError(t, err)
	for _, s := range e.Loads {
		a := s.Vaddr + l.Base
		require.Equal(t, s.Data, as.read(a, s.Filesz), "segment at %#x", a)
		bss := as.read(a+s.Filesz, s.Memsz-s.Filesz)
		require.Empty(t, bytes.TrimLeft(bss, "\x00"), "bss at %#x is not zero", a+s.Filesz)
		for pg := elfPageDown(a); pg < a+s.Memsz; pg += elfPage {
			want := 0
			for _, o := range e.Loads {
				if oa := o.Vaddr + l.Base; elfPageDown(oa) <= pg && pg < oa+o.Memsz {
					want |= o.Prot
				}
			}
			require.Equal(t, want, as.prot(pg), "protection of page %#x", pg)
		}
	}
	var end uint64
	for _, s := range e.Loads {
		end = max(end, s.Vaddr+l.Base+s.Memsz)
	}
	require.Equal(t, elfPageUp(end), l.Brk)
	require.Equal(t, e.Entry+l.Base, l.Entry)
	if e.PhdrVaddr != 0 {
		require.Equal(t, e.PhdrVaddr+l.Base, l.Phdr)
	}
	require.Equal(t, e.Phent, l.Phent)
	require.Equal(t, e.Phnum, l.Phnum)
	return l, as
}

// elfTestSub subtracts modulo 2^64, as a load bias below the link address does.
func elfTestSub(a, b uint64) uint64 { return a - b }

func TestLoadELF(t *testing.T) {
	crafted := func(f func(im *elfTestImage)) func(t *testing.T) string {
		return func(t *testing.T) string {
			im := elfTestValid()
			if f != nil {
				f(im)
			}
			return elfTestWrite(t, im.bytes())
		}
	}
	rx, rw, r := unix.PROT_READ|unix.PROT_EXEC, unix.PROT_READ|unix.PROT_WRITE, unix.PROT_READ
	cases := []struct {
		name  string
		path  func(t *testing.T) string
		base  uint64
		prots map[uint64]int // spot checks of final page protections
	}{
		{"crafted", crafted(nil), 0, map[uint64]int{0x400000: rx, 0x401000: rx, 0x402000: rw, 0x404000: rw, 0x405000: -1}},
		{"crafted PIE", crafted(func(im *elfTestImage) {
			im.hdr.Type = uint16(elf.ET_DYN)
			im.hdr.Entry -= 0x400000
			for i := range im.progs[:2] {
				im.progs[i].Vaddr -= 0x400000
			}
		}), PIEBase, map[uint64]int{PIEBase: rx, PIEBase + 0x2000: rw}},
		{"crafted PIE linked high", crafted(func(im *elfTestImage) {
			im.hdr.Type = uint16(elf.ET_DYN)
			im.hdr.Entry += 0x6000_0000_0000
			for i := range im.progs[:2] {
				im.progs[i].Vaddr += 0x6000_0000_0000
			}
		}), elfTestSub(PIEBase, 0x6000_0040_0000), map[uint64]int{PIEBase: rx}},
		{"shared pages", crafted(func(im *elfTestImage) {
			// Text ends mid-page and data starts right after it on the same page.
			im.progs[0].Filesz, im.progs[0].Memsz = 0x1800, 0x1800
			im.progs[1].Vaddr, im.progs[1].Off, im.progs[1].Filesz = 0x401800, 0x1800, 0x100
			copy(im.file[0x1800:], "data on a shared page")
		}), 0, map[uint64]int{0x400000: rx, 0x401000: rx | rw, 0x402000: rw, 0x403000: rw, 0x404000: rw, 0x405000: -1}},
		{"gap between segments", crafted(func(im *elfTestImage) { im.progs[1].Vaddr = 0x404000 }),
			0, map[uint64]int{0x401000: rx, 0x402000: -1, 0x403000: -1, 0x404000: rw, 0x406000: rw, 0x407000: -1}},
		{"three segments on one page", crafted(func(im *elfTestImage) {
			im.hdr.Entry = 0x400100
			im.progs = []elf.Prog64{
				{Type: uint32(elf.PT_LOAD), Flags: uint32(elf.PF_R), Off: 0, Vaddr: 0x400000, Filesz: 0x100, Memsz: 0x100},
				{Type: uint32(elf.PT_LOAD), Flags: uint32(elf.PF_X), Off: 0x100, Vaddr: 0x400100, Filesz: 0x100, Memsz: 0x100},
				{Type: uint32(elf.PT_LOAD), Flags: uint32(elf.PF_W), Off: 0x200, Vaddr: 0x400200, Filesz: 0x100, Memsz: 0x1000},
			}
		}), 0, map[uint64]int{0x400000: r | unix.PROT_EXEC | unix.PROT_WRITE, 0x401000: unix.PROT_WRITE}},
		{"Go static", func(t *testing.T) string { return elfTestBuild(t) }, 0, nil},
		{"static-PIE", elfTestStaticPIE, PIEBase, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := c.path(t)
			e, err := ReadELF(path)
			require.NoError(t, err)
			l, as := elfTestCheckLoad(t, e)
			require.Equal(t, c.base, l.Base)
			if e.PIE {
				require.Equal(t, uint64(PIEBase), elfPageDown(e.Loads[0].Vaddr+l.Base))
			}
			for pg, want := range c.prots {
				require.Equal(t, want, as.prot(pg), "protection of page %#x", pg)
			}

			// The bytes at the entry point are the file's.
			f, err := elf.Open(path)
			require.NoError(t, err)
			defer f.Close()
			i := slices.IndexFunc(f.Progs, func(p *elf.Prog) bool {
				return p.Type == elf.PT_LOAD && p.Vaddr <= f.Entry && f.Entry < p.Vaddr+p.Filesz
			})
			require.GreaterOrEqual(t, i, 0, "no segment holds the entry point")
			p := f.Progs[i]
			want := make([]byte, min(16, p.Vaddr+p.Filesz-f.Entry))
			_, err = p.ReadAt(want, int64(f.Entry-p.Vaddr))
			require.NoError(t, err)
			require.Equal(t, want, as.read(l.Entry, uint64(len(want))))
			require.NotZero(t, as.prot(elfPageDown(l.Entry))&unix.PROT_EXEC)
		})
	}
}

func FuzzReadELF(f *testing.F) {
	for _, c := range elfTestCrafted() {
		f.Add(c.data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := ReadELF(elfTestWrite(t, data))
		if err != nil {
			var xe *ExecError
			require.ErrorAs(t, err, &xe)
			require.NotContains(t, xe.Reason, "internal error", "ReadELF panicked")
			return
		}
		var size uint64
		for _, s := range e.Loads {
			require.Equal(t, s.Filesz, uint64(len(s.Data)))
			size += elfPageUp(s.Memsz) + elfPage
		}
		if size <= 1<<24 {
			elfTestCheckLoad(t, e)
		}
	})
}

// TestLoadInterpreter: a dynamic program's PT_INTERP is read, and an
// interpreter read from memory (ReadELFAt, as launch reads it from the
// guest's file system) loads at the bias its caller chose; a fixed-address
// image refuses any bias.
func TestLoadInterpreter(t *testing.T) {
	im := elfTestValid()
	copy(im.file[0x800:], "/lib/ld.so\x00")
	im.progs = append(im.progs, elf.Prog64{Type: uint32(elf.PT_INTERP), Off: 0x800, Filesz: 11})
	e, err := ReadELF(elfTestWrite(t, im.bytes()))
	require.NoError(t, err)
	require.Equal(t, "/lib/ld.so", e.Interp)
	_, err = e.LoadAt(newElfTestAS(), 0x1000)
	require.ErrorContains(t, err, "cannot move")

	pie := elfTestValid()
	pie.hdr.Type = uint16(elf.ET_DYN)
	pie.hdr.Entry -= 0x400000
	for i := range pie.progs[:2] {
		pie.progs[i].Vaddr -= 0x400000
	}
	data := pie.bytes()
	for _, tc := range []struct {
		name   string
		data   []byte
		reason string
	}{
		{"interpreter", data, ""},
		{"truncated", data[:100], "truncated or malformed ELF"},
		{"not an ELF", []byte("#!/bin/sh\n"), "not an ELF executable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ie, err := ReadELFAt("/lib/ld.so", bytes.NewReader(tc.data), int64(len(tc.data)))
			if tc.reason != "" {
				var xe *ExecError
				require.ErrorAs(t, err, &xe)
				require.Equal(t, "/lib/ld.so", xe.Path)
				require.Contains(t, xe.Reason, tc.reason)
				return
			}
			require.NoError(t, err)
			lo, hi := ie.Extent()
			require.Equal(t, uint64(0), lo)
			require.Equal(t, uint64(0x5000), hi)
			const at = 0x7fff_b000_0000
			as := newElfTestAS()
			l, err := ie.LoadAt(as, at)
			require.NoError(t, err)
			require.Equal(t, uint64(at), l.Base)
			require.Equal(t, uint64(at+0x1000), l.Entry)
			require.Equal(t, elfTestCode, string(as.read(at+0x1000, uint64(len(elfTestCode)))))
		})
	}
}
