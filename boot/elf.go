package boot

import (
	"cmp"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// ExecError says why a file cannot be run as an x86-64 Linux executable. The
// CLI maps it to exit status 126.
type ExecError struct{ Path, Reason string }

func (e *ExecError) Error() string { return e.Path + ": " + e.Reason }

// LoadSegment is one PT_LOAD.
type LoadSegment struct {
	Vaddr, Memsz, Filesz, Offset, Align uint64
	Prot                                int    // unix.PROT_* from p_flags
	Data                                []byte // the Filesz bytes from the file; may share memory with other segments' Data
}

// ELF is a validated x86-64 executable.
type ELF struct {
	Path      string
	PIE       bool   // ET_DYN
	Entry     uint64 // e_entry, unrelocated
	Loads     []LoadSegment
	PhdrVaddr uint64 // unrelocated; 0 when no PT_LOAD maps the program header table
	Phent     uint64
	Phnum     uint64
	Interp    string // PT_INTERP path, "" for static
	ExecStack bool   // PT_GNU_STACK has PF_X; true without PT_GNU_STACK, as on Linux
}

const (
	elfPage    = 4096
	elfMaxSize = 1 << 30
	// elfUserEnd is where x86-64 Linux's user address space ends (TASK_SIZE_MAX
	// with 4-level paging): nothing the guest program owns may reach past it.
	elfUserEnd = 0x7fff_ffff_f000
	// PIEBase is where static-PIE executables are loaded, as Linux's
	// ELF_ET_DYN_BASE without randomization.
	PIEBase = 0x555555554000
)

func elfPageDown(x uint64) uint64 { return x &^ (elfPage - 1) }
func elfPageUp(x uint64) uint64   { return (x + elfPage - 1) &^ (elfPage - 1) }

// ReadELF reads and validates path. Errors from the file system (a missing
// file, no permission) are returned unchanged; everything that makes the
// file's contents not runnable is an *ExecError.
//
// Only the ELF header, the program headers and the segments' bytes are read,
// as Linux's load_elf_binary does: section headers are never consulted, so a
// stripped or section-less binary that Linux runs is accepted here too. That is
// why this parses with debug/elf's types rather than elf.NewFile, which insists
// on valid section headers.
func ReadELF(path string) (e *ELF, err error) {
	fail := func(format string, args ...any) error {
		return &ExecError{Path: path, Reason: fmt.Sprintf(format, args...)}
	}
	defer func() {
		if r := recover(); r != nil {
			e, err = nil, fail("malformed ELF (internal error: %v)", r)
		}
	}()

	// Stat before opening: opening a FIFO would block.
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	switch {
	case fi.IsDir():
		return nil, fail("is a directory")
	case !fi.Mode().IsRegular():
		return nil, fail("not a regular file")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		return nil, err
	}
	return ReadELFAt(path, f, fi.Size())
}

// ReadELFAt is ReadELF for an ELF that is not a host file: the
// interpreter in the guest's file system. path is what errors and the ELF
// carry; f holds size bytes.
func ReadELFAt(path string, f io.ReaderAt, size int64) (e *ELF, err error) {
	fail := func(format string, args ...any) error {
		return &ExecError{Path: path, Reason: fmt.Sprintf(format, args...)}
	}
	defer func() {
		if r := recover(); r != nil {
			e, err = nil, fail("malformed ELF (internal error: %v)", r)
		}
	}()
	switch {
	case size == 0:
		return nil, fail("empty file, not an ELF executable")
	case size > elfMaxSize:
		return nil, fail("file too large (%d bytes; the limit is %d)", size, elfMaxSize)
	}
	r := &elfReader{f: f, size: uint64(size)}

	var ident [elf.EI_NIDENT]byte
	n, err := f.ReadAt(ident[:], 0)
	if err != nil && err != io.EOF {
		return nil, err
	}
	if n < 4 || string(ident[:4]) != elf.ELFMAG {
		return nil, fail("not an ELF executable")
	}
	switch {
	case n < len(ident):
		return nil, fail("truncated or malformed ELF: file ends inside the ELF header")
	case elf.Class(ident[elf.EI_CLASS]) == elf.ELFCLASS32:
		return nil, fail("32-bit ELF; rumpgo runs x86-64 (64-bit) executables")
	case elf.Class(ident[elf.EI_CLASS]) != elf.ELFCLASS64:
		return nil, fail("truncated or malformed ELF: invalid class %d", ident[elf.EI_CLASS])
	case elf.Data(ident[elf.EI_DATA]) == elf.ELFDATA2MSB:
		return nil, fail("big-endian ELF; rumpgo runs x86-64 (little-endian) executables")
	case elf.Data(ident[elf.EI_DATA]) != elf.ELFDATA2LSB:
		return nil, fail("truncated or malformed ELF: invalid data encoding %d", ident[elf.EI_DATA])
	}

	var h elf.Header64
	if err := r.read(0, &h); err != nil {
		return nil, fail("truncated or malformed ELF: ELF header: %v", err)
	}
	if m := elf.Machine(h.Machine); m != elf.EM_X86_64 {
		return nil, fail("ELF for %s, not x86-64", elfMachineName(m))
	}
	switch t := elf.Type(h.Type); t {
	case elf.ET_EXEC, elf.ET_DYN:
	case elf.ET_REL:
		return nil, fail("relocatable object, not an executable (it needs linking)")
	case elf.ET_CORE:
		return nil, fail("core file, not an executable")
	default:
		return nil, fail("ELF type %d is not an executable", uint16(t))
	}

	// Linux reads the whole table in one page at most (elf_read_phdrs).
	const phentSize = 56
	switch {
	case h.Phentsize != phentSize:
		return nil, fail("truncated or malformed ELF: program header size %d, want %d", h.Phentsize, phentSize)
	case h.Phnum == 0:
		return nil, fail("truncated or malformed ELF: no program headers")
	case uint64(h.Phnum)*phentSize > elfPage:
		return nil, fail("truncated or malformed ELF: too many program headers (%d)", h.Phnum)
	}
	phdrs := make([]elf.Prog64, h.Phnum)
	if err := r.read(h.Phoff, phdrs); err != nil {
		return nil, fail("truncated or malformed ELF: program headers: %v", err)
	}

	e = &ELF{
		Path:      path,
		PIE:       elf.Type(h.Type) == elf.ET_DYN,
		Entry:     h.Entry,
		Phent:     phentSize,
		Phnum:     uint64(h.Phnum),
		ExecStack: true,
	}
	hasPhdr := false
	for i, p := range phdrs {
		bad := func(format string, args ...any) error {
			return fail("truncated or malformed ELF: %s #%d: %s", elf.ProgType(p.Type), i, fmt.Sprintf(format, args...))
		}
		switch elf.ProgType(p.Type) {
		case elf.PT_LOAD:
			switch {
			case p.Off+p.Filesz < p.Off || p.Off+p.Filesz > r.size:
				return nil, bad("file range [%#x, +%#x) is outside the %d-byte file", p.Off, p.Filesz, r.size)
			case p.Filesz > p.Memsz:
				return nil, bad("file size %#x exceeds memory size %#x", p.Filesz, p.Memsz)
			case p.Vaddr+p.Memsz < p.Vaddr || p.Vaddr+p.Memsz > elfUserEnd:
				return nil, bad("[%#x, +%#x) is outside the user address space", p.Vaddr, p.Memsz)
			case p.Filesz > 0 && (p.Vaddr-p.Off)%elfPage != 0:
				return nil, bad("offset %#x and address %#x differ within a page", p.Off, p.Vaddr)
			case p.Memsz == 0:
				continue // Nothing to map.
			}
			e.Loads = append(e.Loads, LoadSegment{
				Vaddr: p.Vaddr, Memsz: p.Memsz, Filesz: p.Filesz, Offset: p.Off, Align: p.Align,
				Prot: elfProt(elf.ProgFlag(p.Flags)),
			})
		case elf.PT_INTERP:
			// Linux insists on a NUL-terminated path no longer than PATH_MAX.
			if p.Filesz < 2 || p.Filesz > unix.PathMax {
				return nil, bad("interpreter path of %d bytes", p.Filesz)
			}
			b := make([]byte, p.Filesz)
			if err := r.readAt(p.Off, b); err != nil {
				return nil, bad("%v", err)
			}
			if b[len(b)-1] != 0 {
				return nil, bad("interpreter path is not NUL-terminated")
			}
			e.Interp, _, _ = strings.Cut(string(b), "\x00")
		case elf.PT_PHDR:
			e.PhdrVaddr, hasPhdr = p.Vaddr, true
		case elf.PT_GNU_STACK:
			e.ExecStack = elf.ProgFlag(p.Flags)&elf.PF_X != 0
		}
	}
	if len(e.Loads) == 0 {
		return nil, fail("truncated or malformed ELF: no loadable segments")
	}

	byAddr := slices.Clone(e.Loads)
	slices.SortFunc(byAddr, func(a, b LoadSegment) int { return cmp.Compare(a.Vaddr, b.Vaddr) })
	for i := 1; i < len(byAddr); i++ {
		if a, b := byAddr[i-1], byAddr[i]; a.Vaddr+a.Memsz > b.Vaddr {
			return nil, fail("truncated or malformed ELF: PT_LOAD segments [%#x, +%#x) and [%#x, +%#x) overlap",
				a.Vaddr, a.Memsz, b.Vaddr, b.Memsz)
		}
	}
	if e.PIE {
		if lo, hi := e.extent(); hi-lo > elfUserEnd-PIEBase {
			return nil, fail("truncated or malformed ELF: position-independent image of %#x bytes does not fit above %#x", hi-lo, uint64(PIEBase))
		}
	}

	if !hasPhdr {
		tab := h.Phoff + uint64(h.Phnum)*phentSize
		for _, s := range e.Loads {
			if s.Offset <= h.Phoff && tab <= s.Offset+s.Filesz {
				e.PhdrVaddr = s.Vaddr + (h.Phoff - s.Offset)
				break
			}
		}
	}

	// One read covering every segment: segments may share file bytes, so
	// reading each separately could cost far more than the file's size.
	lo, hi := uint64(r.size), uint64(0)
	for _, s := range e.Loads {
		if s.Filesz > 0 {
			lo, hi = min(lo, s.Offset), max(hi, s.Offset+s.Filesz)
		}
	}
	var buf []byte
	if lo < hi {
		buf = make([]byte, hi-lo)
		if err := r.readAt(lo, buf); err != nil {
			return nil, fail("truncated or malformed ELF: segment data: %v", err)
		}
	}
	for i := range e.Loads {
		s := &e.Loads[i]
		if s.Filesz > 0 {
			s.Data = buf[s.Offset-lo : s.Offset-lo+s.Filesz : s.Offset-lo+s.Filesz]
		}
	}
	return e, nil
}

type elfReader struct {
	f    io.ReaderAt
	size uint64
}

// readAt fills b from off, refusing to read past the end of the file.
func (r *elfReader) readAt(off uint64, b []byte) error {
	if n := uint64(len(b)); off > r.size || n > r.size-off {
		return fmt.Errorf("%d bytes at offset %#x are past the end of the %d-byte file", n, off, r.size)
	}
	n, err := r.f.ReadAt(b, int64(off))
	if n == len(b) {
		return nil // an io.ReaderAt may say io.EOF along with the last bytes
	}
	if err == nil {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// read decodes a little-endian value at off.
func (r *elfReader) read(off uint64, v any) error {
	b := make([]byte, binary.Size(v))
	if err := r.readAt(off, b); err != nil {
		return err
	}
	_, err := binary.Decode(b, binary.LittleEndian, v)
	return err
}

func elfMachineName(m elf.Machine) string {
	s := m.String()
	if !strings.HasPrefix(s, "EM_") || strings.Contains(s, "+") {
		return fmt.Sprintf("machine %d", uint16(m))
	}
	return strings.TrimPrefix(s, "EM_")
}

func elfProt(f elf.ProgFlag) int {
	prot := 0
	if f&elf.PF_R != 0 {
		prot |= unix.PROT_READ
	}
	if f&elf.PF_W != 0 {
		prot |= unix.PROT_WRITE
	}
	if f&elf.PF_X != 0 {
		prot |= unix.PROT_EXEC
	}
	return prot
}

// Extent is the page-aligned, unrelocated range the segments occupy: an
// interpreter's loader reserves hi-lo bytes and loads at their start.
func (e *ELF) Extent() (lo, hi uint64) { return e.extent() }

func (e *ELF) extent() (lo, hi uint64) {
	lo = ^uint64(0)
	for _, s := range e.Loads {
		lo, hi = min(lo, elfPageDown(s.Vaddr)), max(hi, elfPageUp(s.Vaddr+s.Memsz))
	}
	return lo, hi
}

// AddressSpace is what Load needs from the guest's memory.
type AddressSpace interface {
	MapFixed(addr, length uint64, prot int) error // page-aligned, zero-filled private anonymous mapping
	Protect(addr, length uint64, prot int) error
	Poke(addr uint64, data []byte) error // writes guest memory regardless of protection
}

// Loaded describes the loaded image for the auxv.
type Loaded struct {
	Base  uint64 // load bias (0 for ET_EXEC); the interpreter's is the program's AT_BASE
	Entry uint64 // relocated entry
	Phdr  uint64 // relocated PhdrVaddr; 0 when the table is not in memory
	Phent uint64
	Phnum uint64
	Brk   uint64 // page-aligned end of the highest segment: the initial program break
}

// Load maps every PT_LOAD writable, copies in its file bytes (the rest is
// already zero) and then gives each page its final protection: the union of
// the protections of the segments on it, since segments that are not
// page-separated share their boundary pages. It trusts e to be as ReadELF
// returned it.
func (e *ELF) Load(as AddressSpace) (*Loaded, error) {
	lo, _ := e.extent()
	var bias uint64 // Modular: a PIE linked above PIEBase moves down.
	if e.PIE {
		bias = PIEBase - lo
	}
	return e.LoadAt(as, bias)
}

// LoadAt is Load with the load bias chosen by the caller, as Linux's
// load_elf_interp places the interpreter wherever mmap put its whole
// extent: bias is added to every address (0 for ET_EXEC, whose addresses
// are absolute).
func (e *ELF) LoadAt(as AddressSpace, bias uint64) (*Loaded, error) {
	lo, hi := e.extent()
	if len(e.Loads) == 0 || lo >= hi {
		return nil, fmt.Errorf("%s: nothing to load", e.Path)
	}
	if !e.PIE && bias != 0 {
		return nil, fmt.Errorf("%s: a fixed-address (ET_EXEC) image cannot move", e.Path)
	}
	if start := lo + bias; start > elfUserEnd || hi-lo > elfUserEnd-start {
		return nil, fmt.Errorf("%s: image of %#x bytes at %#x does not fit in the user address space", e.Path, hi-lo, start)
	}

	// Page ranges per segment, in address order.
	type run struct {
		lo, hi uint64
		prot   int
	}
	runs := make([]run, 0, len(e.Loads))
	for _, s := range e.Loads {
		runs = append(runs, run{elfPageDown(s.Vaddr + bias), elfPageUp(s.Vaddr + bias + s.Memsz), s.Prot})
	}
	slices.SortFunc(runs, func(a, b run) int { return cmp.Compare(a.lo, b.lo) })

	// Map each group of runs sharing pages once: mapping a shared page again
	// would zero what the previous segment put there.
	for i := 0; i < len(runs); {
		start, end := runs[i].lo, runs[i].hi
		for i++; i < len(runs) && runs[i].lo < end; i++ {
			end = max(end, runs[i].hi)
		}
		if err := as.MapFixed(start, end-start, unix.PROT_READ|unix.PROT_WRITE); err != nil {
			return nil, fmt.Errorf("%s: mapping [%#x, %#x): %w", e.Path, start, end, err)
		}
	}
	for _, s := range e.Loads {
		if len(s.Data) == 0 {
			continue
		}
		if err := as.Poke(s.Vaddr+bias, s.Data); err != nil {
			return nil, fmt.Errorf("%s: writing segment at %#x: %w", e.Path, s.Vaddr+bias, err)
		}
	}

	// Give each stretch between run boundaries the union of the runs over it,
	// merging neighbours that end up alike.
	var cuts []uint64
	for _, r := range runs {
		cuts = append(cuts, r.lo, r.hi)
	}
	slices.Sort(cuts)
	cuts = slices.Compact(cuts)
	var pending []run
	for i := 1; i < len(cuts); i++ {
		cur, covered := run{lo: cuts[i-1], hi: cuts[i]}, false
		for _, r := range runs {
			if r.lo <= cur.lo && cur.hi <= r.hi {
				cur.prot |= r.prot
				covered = true
			}
		}
		switch n := len(pending); {
		case !covered: // A hole between segments.
		case n > 0 && pending[n-1].hi == cur.lo && pending[n-1].prot == cur.prot:
			pending[n-1].hi = cur.hi
		default:
			pending = append(pending, cur)
		}
	}
	for _, r := range pending {
		if err := as.Protect(r.lo, r.hi-r.lo, r.prot); err != nil {
			return nil, fmt.Errorf("%s: protecting [%#x, %#x): %w", e.Path, r.lo, r.hi, err)
		}
	}

	l := &Loaded{Base: bias, Entry: e.Entry + bias, Phent: e.Phent, Phnum: e.Phnum, Brk: hi + bias}
	if e.PhdrVaddr != 0 {
		l.Phdr = e.PhdrVaddr + bias
	}
	return l, nil
}
