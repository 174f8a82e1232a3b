package syscalls

import (
	"bytes"
	"debug/dwarf"
	"debug/elf"
	"debug/gosym"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ianlancetaylor/demangle"
	"github.com/rumpgo/rumpgo/posix/mm"
	"github.com/rumpgo/rumpgo/posix/vfs"
	"github.com/rumpgo/rumpgo/rumpglue"
	"golang.org/x/sys/unix"
)

// Image is an ELF the monitor loaded into the guest itself: the program
// and its interpreter. Libraries ld.so mapped are found from the address
// space's file mappings instead.
type Image struct {
	Path     string // the guest path, also read through the VFS
	HostPath string // a host file with the same bytes, or ""
	Bias     uint64 // load bias: run-time address minus link-time address
	Lo, Hi   uint64 // the run-time range its segments occupy
}

// Crash reports: when the guest dies of a signal whose default action
// dumps core, the report's first line (die) is followed by the thread's
// registers and a backtrace, each frame symbolized from the ELF it lies in:
// Go functions and file:line from .gopclntab, C functions from .symtab or
// .dynsym (C++ and Rust names demangled) and file:line from DWARF when the
// ELF has it. Frames are found with the call frame information of the
// ELF a frame's code lies in (.eh_frame, unwind.go), or, where there is
// none (Go code, assembly without CFI), by following the frame-pointer
// chain (RBP); every read of guest memory goes through the checked copies,
// so a garbage pointer ends the walk, never the monitor.

// maxFrames bounds the backtrace.
const maxFrames = 32

// coreSignals are the signals whose default action dumps core on Linux:
// the ones a crash report is for.
var coreSignals = map[unix.Signal]bool{
	unix.SIGQUIT: true, unix.SIGILL: true, unix.SIGTRAP: true, unix.SIGABRT: true,
	unix.SIGBUS: true, unix.SIGFPE: true, unix.SIGSEGV: true, unix.SIGXCPU: true,
	unix.SIGXFSZ: true, unix.SIGSYS: true,
}

// crashDetails writes the registers and backtrace of t, stopped with r, to
// the crash report. Nothing it meets in the guest may crash the monitor.
func (t *Thread) crashDetails(sig int, r *rumpglue.Regs) {
	out := t.crashes()
	if out == nil || !coreSignals[unix.Signal(sig)] {
		return
	}
	defer func() {
		if p := recover(); p != nil {
			t.crashReport("rumpgo: (backtrace abandoned: %v)", p)
		}
	}()
	var b strings.Builder
	fmt.Fprintf(&b, "rumpgo: registers of thread %d:\n", t.Task.TID)
	fmt.Fprintf(&b, "  rip %016x  rsp %016x  rbp %016x  rflags %08x\n", r.RIP, r.RSP, r.RBP, r.RFLAGS)
	fmt.Fprintf(&b, "  rax %016x  rbx %016x  rcx %016x  rdx %016x\n", r.RAX, r.RBX, r.RCX, r.RDX)
	fmt.Fprintf(&b, "  rsi %016x  rdi %016x  r8  %016x  r9  %016x\n", r.RSI, r.RDI, r.R8, r.R9)
	fmt.Fprintf(&b, "  r10 %016x  r11 %016x  r12 %016x  r13 %016x\n", r.R10, r.R11, r.R12, r.R13)
	fmt.Fprintf(&b, "  r14 %016x  r15 %016x  fs  %016x\n", r.R14, r.R15, t.cpu.FSBase())
	b.WriteString("rumpgo: backtrace:\n")
	s := newSymbolizer(t.K, t.K.imagesOf(t.Task.Group), t.mm())
	for i, f := range s.walk(t.mm(), r) {
		mark := ""
		if f.sigreturn {
			mark = " <signal handler called>"
		}
		fmt.Fprintf(&b, "  #%-2d 0x%016x %s%s\n", i, f.pc, s.describe(f.lookup()), mark)
	}
	io.WriteString(out, b.String())
}

// executable reports whether addr lies in an executable mapping.
func executable(as *mm.AddressSpace, addr uint64) bool {
	for _, v := range as.VMAs() {
		if v.Start <= addr && addr < v.End {
			return v.Prot&unix.PROT_EXEC != 0
		}
	}
	return false
}

// symbolizer maps guest addresses to functions, per run-time module.
type symbolizer struct {
	k       *Kernel
	modules []*module
}

type module struct {
	path   string // guest path
	host   string // host path, when known
	lo, hi uint64 // run-time range
	bias   uint64
	// mapped: a library ld.so mapped, whose bias comes from its lowest
	// mapping (file offset mapOff at mapAddr) once the ELF is read.
	mapped          bool
	mapOff, mapAddr uint64

	loaded bool
	syms   *elfSyms
}

func newSymbolizer(k *Kernel, images []Image, as *mm.AddressSpace) *symbolizer {
	s := &symbolizer{k: k}
	for _, im := range images {
		im := im
		s.modules = append(s.modules, &module{path: im.Path, host: im.HostPath, lo: im.Lo, hi: im.Hi, bias: im.Bias})
	}
	// Libraries ld.so mapped: file mappings, one module per file. The
	// first mapping (lowest offset) fixes the bias once the ELF is read.
	type span struct {
		lo, hi, loOff, loAddr uint64
	}
	files := map[string]*span{}
	var order []string
	for _, v := range as.VMAs() {
		if v.File == nil {
			continue
		}
		_, _, name := v.File.MapInfo()
		if name == "" || s.covered(v.Start) {
			continue
		}
		sp, ok := files[name]
		if !ok {
			sp = &span{lo: v.Start, hi: v.End, loOff: v.Off, loAddr: v.Start}
			files[name] = sp
			order = append(order, name)
		}
		sp.lo, sp.hi = min(sp.lo, v.Start), max(sp.hi, v.End)
		if v.Off < sp.loOff {
			sp.loOff, sp.loAddr = v.Off, v.Start
		}
	}
	for _, name := range order {
		sp := files[name]
		// Offset and address agree modulo the page in every PT_LOAD; for
		// the usual library the first segment is at offset 0, address 0.
		s.modules = append(s.modules, &module{path: name, lo: sp.lo, hi: sp.hi, bias: sp.loAddr - sp.loOff,
			mapped: true, mapOff: sp.loOff, mapAddr: sp.loAddr})
	}
	return s
}

func (s *symbolizer) covered(addr uint64) bool {
	for _, m := range s.modules {
		if m.lo <= addr && addr < m.hi {
			return true
		}
	}
	return false
}

// moduleOf returns the module addr lies in, or nil.
func (s *symbolizer) moduleOf(addr uint64) *module {
	for _, m := range s.modules {
		if m.lo <= addr && addr < m.hi {
			return m
		}
	}
	return nil
}

// describe names addr: "function+0xoff (file:line) in module".
func (s *symbolizer) describe(addr uint64) string {
	for _, m := range s.modules {
		if addr < m.lo || addr >= m.hi {
			continue
		}
		syms := s.load(m)
		where := "in " + m.path
		if syms == nil {
			return fmt.Sprintf("?? %s+%#x", where, addr-m.lo)
		}
		return syms.describe(addr-m.bias) + " " + where
	}
	return "?? (no module)"
}

func (s *symbolizer) load(m *module) *elfSyms {
	if m.loaded {
		return m.syms
	}
	m.loaded = true
	m.syms = s.k.symCache.get(m.host, func() *elfSyms {
		var data []byte
		if m.host != "" {
			data, _ = os.ReadFile(m.host)
		}
		if data == nil {
			data = s.readGuest(m.path)
		}
		if data == nil {
			return nil
		}
		return parseSyms(data)
	})
	if m.syms != nil && m.mapped {
		// ld.so maps each PT_LOAD from its page-aligned offset to its
		// page-aligned address plus the bias.
		for _, p := range m.syms.loads {
			if p.Off&^(mm.PageSize-1) <= m.mapOff && m.mapOff < p.Off+max(p.Filesz, 1) {
				m.bias = m.mapAddr - m.mapOff - (p.Vaddr - p.Off)
				break
			}
		}
	}
	return m.syms
}

// readGuest reads a whole file of the guest's namespace.
func (s *symbolizer) readGuest(path string) []byte {
	fs := s.k.FS()
	if fs == nil {
		return nil
	}
	ctx := vfs.RootContext()
	f, e := fs.VFS.Open(ctx, vfs.NewFSContext(fs.VFS.Root()), vfs.Path{}, path, vfs.OpenHow{Flags: unix.O_RDONLY})
	if e != 0 {
		return nil
	}
	defer f.Close()
	vf, ok := f.(*vfs.File)
	if !ok {
		return nil
	}
	var out bytes.Buffer
	buf := make([]byte, 1<<16)
	for off := int64(0); out.Len() < 1<<30; {
		n, e := vf.Pread(ctx, buf, off)
		if e != 0 || n == 0 {
			break
		}
		out.Write(buf[:n])
		off += int64(n)
	}
	return out.Bytes()
}

// elfSyms is what one ELF says about its addresses.
type elfSyms struct {
	loads []elf.ProgHeader
	funcs []elf.Symbol // sorted by Value
	gotab *gosym.Table
	dw    *dwarf.Data
	eh    *ehFrame // call frame information, or nil
	goCFI *ehFrame // a Go program's .debug_frame, or nil
}

// parseSyms reads the symbol sources of an ELF; nil when it is no ELF.
func parseSyms(data []byte) *elfSyms {
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return nil
	}
	s := &elfSyms{}
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			s.loads = append(s.loads, p.ProgHeader)
		}
	}
	syms, _ := f.Symbols()
	if pcln := f.Section(".gopclntab"); pcln != nil {
		if b, err := pcln.Data(); err == nil {
			// The table counts from runtime.text, which is the start of
			// .text only when Go linked alone: with cgo's external link C
			// code comes first.
			var text uint64
			if t := f.Section(".text"); t != nil {
				text = t.Addr
			}
			for _, sym := range syms {
				if sym.Name == "runtime.text" {
					text = sym.Value
					break
				}
			}
			if tab, err := gosym.NewTable(nil, gosym.NewLineTable(b, text)); err == nil {
				s.gotab = tab
			}
		}
	}
	if len(syms) == 0 {
		syms, _ = f.DynamicSymbols()
	}
	for _, sym := range syms {
		if elf.ST_TYPE(sym.Info) == elf.STT_FUNC && sym.Value != 0 {
			s.funcs = append(s.funcs, sym)
		}
	}
	sort.Slice(s.funcs, func(i, j int) bool { return s.funcs[i].Value < s.funcs[j].Value })
	s.eh = readEHFrame(f)
	if s.gotab != nil {
		s.goCFI = readDebugFrame(f)
	}
	if s.gotab == nil {
		if d, err := f.DWARF(); err == nil {
			s.dw = d
		}
	}
	return s
}

// describe names a link-time address.
func (s *elfSyms) describe(pc uint64) string {
	if s.gotab != nil {
		if file, line, fn := s.gotab.PCToLine(pc); fn != nil {
			return fmt.Sprintf("%s+%#x (%s:%d)", fn.Name, pc-fn.Entry, file, line)
		}
	}
	name := ""
	i := sort.Search(len(s.funcs), func(i int) bool { return s.funcs[i].Value > pc }) - 1
	if i >= 0 {
		f := s.funcs[i]
		if pc < f.Value+max(f.Size, 1) || f.Size == 0 {
			name = fmt.Sprintf("%s+%#x", demangled(f.Name), pc-f.Value)
		}
	}
	if name == "" {
		name = fmt.Sprintf("?? (%#x)", pc)
	}
	if file, line := s.dwarfLine(pc); file != "" {
		name += fmt.Sprintf(" (%s:%d)", file, line)
	}
	return name
}

// demangled turns a C++ (Itanium ABI) or Rust (legacy or v0) symbol into
// its source name, "ns::Class::method(int)"; any other name, or one the
// demangler cannot read, is returned as it is.
func demangled(name string) string {
	if !strings.HasPrefix(name, "_Z") && !strings.HasPrefix(name, "_R") {
		return name
	}
	return demangle.Filter(name)
}

// dwarfLine finds the source line of pc in the DWARF line tables.
func (s *elfSyms) dwarfLine(pc uint64) (string, int) {
	if s.dw == nil {
		return "", 0
	}
	r := s.dw.Reader()
	cu, err := r.SeekPC(pc)
	if err != nil || cu == nil {
		return "", 0
	}
	lr, err := s.dw.LineReader(cu)
	if err != nil || lr == nil {
		return "", 0
	}
	// LineReader.SeekPC assumes the sequences come in address order;
	// C++ puts inline and template functions in sections of their own
	// whose sequences may come first, so scan every sequence for the row
	// whose range holds pc.
	var e, prev dwarf.LineEntry
	var found *dwarf.LineFile
	line, have := 0, false
	for lr.Next(&e) == nil {
		if have && !prev.EndSequence && prev.Address <= pc && pc < e.Address {
			found, line = prev.File, prev.Line
			break
		}
		prev, have = e, true
	}
	if found == nil {
		return "", 0
	}
	file := found.Name
	if !filepath.IsAbs(file) {
		file = filepath.Clean(file)
	}
	return file, line
}
