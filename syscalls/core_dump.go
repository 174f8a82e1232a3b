package syscalls

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/mm"
	"github.com/rumpgo/rumpgo/rumpglue"
	"golang.org/x/sys/unix"
)

// Core files (--core FILE): when the guest dies of a signal whose default
// action dumps core, an ELF core file is written to Kernel.Core as Linux
// would: ET_CORE, one PT_NOTE (NT_PRSTATUS with the registers,
// NT_PRPSINFO, NT_AUXV, NT_FILE) and one PT_LOAD per mapping. Memory is
// read from the address space without faulting (mm.ReadResident): pages
// never touched are left as holes (zeros), read-only file mappings are
// left to the debugger, which reads them from the files (their PT_LOAD has
// no file bytes), as Linux's default coredump_filter does, and PROT_NONE
// reservations carry no bytes either. gdb opens the result with
// `gdb PROGRAM FILE`.
//
// Every thread is in it, as Linux's zap_threads arranges: the thread that
// dumps claims the process's dump (ThreadGroup.CoreDump), marks the other
// tasks doomed and kicks them, as execve does; each leaves guest code at
// its next exit, or its blocking call at the interruption, and on its way
// out (leave) records its registers, FS base and XSAVE image in the dump.
// The dumping thread waits for them a bounded time (coreWait) and writes
// an NT_PRSTATUS, NT_PRFPREG and NT_X86_XSTATE per thread, itself first.
// A thread that never comes out in time (a host read that cannot be
// interrupted) is left out of the file.

// CoreFile is where a core dump goes.
type CoreFile interface {
	io.WriterAt
	Truncate(size int64) error
}

// maxCoreBytes bounds the memory a core file holds.
const maxCoreBytes = 4 << 30

// SaveAuxv keeps the auxiliary vector of the initial stack at sp (argc,
// argv, NULL, envp, NULL, auxv) for the core file's NT_AUXV; the guest may
// overwrite its stack later, Linux keeps a copy too.
func (k *Kernel) SaveAuxv(as *mm.AddressSpace, sp uint64) {
	word := func(addr uint64) (uint64, bool) {
		var b [8]byte
		if as.CopyIn(addr, b[:]) != 0 {
			return 0, false
		}
		return binary.LittleEndian.Uint64(b[:]), true
	}
	argc, ok := word(sp)
	if !ok {
		return
	}
	p := sp + 8*(argc+2) // past argv and its NULL
	for i := 0; i < 1<<16; i++ {
		v, ok := word(p)
		if !ok {
			return
		}
		p += 8
		if v == 0 {
			break
		}
	}
	var auxv []byte
	for i := 0; i < 128; i++ {
		t, ok1 := word(p)
		v, ok2 := word(p + 8)
		if !ok1 || !ok2 {
			return
		}
		auxv = binary.LittleEndian.AppendUint64(auxv, t)
		auxv = binary.LittleEndian.AppendUint64(auxv, v)
		p += 16
		if t == 0 {
			k.auxv = auxv
			return
		}
	}
}

// coreWait bounds the wait for the other threads' registers.
const coreWait = 200 * time.Millisecond

// threadState is a thread's registers as it stopped, for the core file.
type threadState struct {
	tid   int
	regs  rumpglue.Regs
	fs    uint64
	xsave []byte // the XSAVE image (standard format), or nil
}

// coreDump collects the threads' states while a core is being dumped.
type coreDump struct {
	mu      sync.Mutex
	threads []threadState
	closed  bool // written: late threads are not wanted
}

func (d *coreDump) isClosed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closed
}

func (d *coreDump) add(s threadState) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.closed {
		d.threads = append(d.threads, s)
	}
}

// close ends the collection and returns what came.
func (d *coreDump) close() []threadState {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	return d.threads
}

// state reads the thread's registers from its CPU; r, when set, are the
// general registers to use instead.
func (t *Thread) state(r *rumpglue.Regs) threadState {
	if r == nil {
		r = t.cpu.Regs()
	}
	s := threadState{tid: t.Task.TID, regs: *r, fs: t.cpu.FSBase()}
	buf := make([]byte, xsaveMax)
	if n, err := t.cpu.ExtendedState(buf); err == nil && n >= 576 && n <= len(buf) {
		s.xsave = buf[:n]
	}
	return s
}

// startCore claims the process's core dump for t and stops the other
// threads, which record their registers as they leave (recordForCore).
// It returns nil when no core is wanted, or when another thread of the
// process already dumps: that one has stopped t too.
func (t *Thread) startCore(sig int) (d *coreDump, other bool) {
	if t.K.Core == nil || !coreSignals[unix.Signal(sig)] {
		return nil, false
	}
	g := t.Task.Group
	d = &coreDump{}
	if !g.CoreDump.CompareAndSwap(nil, d) {
		return nil, true
	}
	g.KillOthers(t.Task)
	return d, false
}

// recordForCore runs as t leaves: while a core of its process is being
// dumped, it leaves its registers for the file.
func (t *Thread) recordForCore() {
	d, _ := t.Task.Group.CoreDump.Load().(*coreDump)
	if d == nil || t.cpu == nil || d.isClosed() {
		return
	}
	d.add(t.state(nil))
}

// writeCore dumps the process to k.Core, t's registers being r and the
// other threads' those they left in d (startCore); errors go to the crash
// report.
func (t *Thread) writeCore(info posix.SigInfo, r *rumpglue.Regs, d *coreDump) {
	if t.K.Core == nil || !coreSignals[unix.Signal(info.Signo)] {
		return
	}
	defer func() {
		if p := recover(); p != nil {
			t.crashReport("rumpgo: (core dump abandoned: %v)", p)
		}
	}()
	threads := []threadState{t.state(r)}
	if d != nil {
		g := t.Task.Group
		for deadline := time.Now().Add(coreWait); g.NumTasks() > 1 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		for _, s := range d.close() {
			if s.tid != t.Task.TID {
				threads = append(threads, s)
			}
		}
		if n := g.NumTasks() - 1; n > 0 {
			t.crashReport("rumpgo: %d thread(s) did not stop in time: not in the core file", n)
		}
	}
	if err := t.K.writeCoreTo(t.K.Core, t, info, threads); err != nil {
		t.crashReport("rumpgo: writing the core file: %v", err)
		return
	}
	t.crashReport("rumpgo: core dumped")
}

type coreNote struct {
	name string // "CORE" when empty
	typ  elf.NType
	desc []byte
}

// Note types Linux writes in a core file.
const (
	ntPrstatus = 1
	ntPrfpreg  = 2
	ntPrpsinfo = 3
	ntAuxv     = 6
	ntSiginfo  = 0x53494749
	ntFile     = 0x46494c45
	ntX86State = 0x202
)

// prstatus is a thread's NT_PRSTATUS: struct elf_prstatus, 336 bytes.
func prstatus(info posix.SigInfo, pid int, s threadState) []byte {
	le := binary.LittleEndian
	pr := make([]byte, 336)
	le.PutUint32(pr[0:], uint32(info.Signo))
	le.PutUint32(pr[4:], uint32(info.Code))
	le.PutUint16(pr[12:], uint16(info.Signo))
	le.PutUint32(pr[32:], uint32(s.tid))
	le.PutUint32(pr[36:], 0) // ppid: the guest's parent is outside
	le.PutUint32(pr[40:], uint32(pid))
	le.PutUint32(pr[44:], uint32(pid))
	// pr_reg, struct user_regs_struct order.
	r := &s.regs
	regs := []uint64{r.R15, r.R14, r.R13, r.R12, r.RBP, r.RBX, r.R11, r.R10, r.R9, r.R8,
		r.RAX, r.RCX, r.RDX, r.RSI, r.RDI, ^uint64(0) /* orig_rax */, r.RIP, userCS, r.RFLAGS,
		r.RSP, userSS, s.fs, 0 /* gs_base */, 0, 0, 0, 0}
	for i, v := range regs {
		le.PutUint64(pr[112+8*i:], v)
	}
	return pr
}

// xstateNote is a thread's NT_X86_XSTATE: its XSAVE image with the
// enabled feature mask XCR0 where Linux's regset puts it (the first word
// of the FXSAVE area's software bytes), which a debugger reads to lay the
// image out. Debuggers assume Intel's standard offsets for each feature
// (gdb before 14 knows no other); the image's size says which features
// the monitor enabled when it matches that layout. Where it does not (AMD
// packs AVX-512 where Intel has MPX), the note keeps x87, SSE and AVX
// only, which every layout places alike.
func xstateNote(xs []byte) []byte {
	le := binary.LittleEndian
	var xcr0 uint64
	switch n := len(xs); {
	case n == 2696:
		xcr0 = 0x2e7 // x87 SSE AVX, opmask ZMM_Hi256 Hi16_ZMM, PKRU
	case n == 2688:
		xcr0 = 0xe7
	case n == 1088:
		xcr0 = 0x1f // x87 SSE AVX, MPX
	case n >= 832:
		xcr0 = 0x7
		xs = xs[:832]
	default:
		xcr0 = 0x3
		xs = xs[:576]
	}
	out := append([]byte(nil), xs...)
	clear(out[fpxSwBytes:512])
	le.PutUint64(out[fpxSwBytes:], xcr0)
	le.PutUint64(out[xstateBV:], le.Uint64(out[xstateBV:])&xcr0)
	return out
}

func (k *Kernel) writeCoreTo(w CoreFile, t *Thread, info posix.SigInfo, threads []threadState) error {
	as := t.mm()
	vmas := as.VMAs()
	le := binary.LittleEndian
	pid := t.Task.Group.PID

	// NT_PRPSINFO: struct elf_prpsinfo, 136 bytes.
	ps := make([]byte, 136)
	ps[0], ps[1] = 0, 'R'
	le.PutUint32(ps[16:], k.Info.UID)
	le.PutUint32(ps[20:], k.Info.GID)
	le.PutUint32(ps[24:], uint32(pid))
	le.PutUint32(ps[32:], uint32(pid))
	le.PutUint32(ps[36:], uint32(pid))
	copy(ps[40:55], k.Info.Comm)
	args := k.Info.Comm
	if images := k.imagesOf(t.Task.Group); len(images) > 0 {
		args = images[0].Path
	}
	copy(ps[56:135], strings.TrimSpace(args))

	// NT_FILE: the file mappings.
	var files, names []byte
	n := 0
	for _, v := range vmas {
		if v.File == nil {
			continue
		}
		_, _, name := v.File.MapInfo()
		if name == "" {
			continue
		}
		files = le.AppendUint64(files, v.Start)
		files = le.AppendUint64(files, v.End)
		files = le.AppendUint64(files, v.Off/mm.PageSize)
		names = append(append(names, name...), 0)
		n++
	}
	ntFileDesc := le.AppendUint64(nil, uint64(n))
	ntFileDesc = le.AppendUint64(ntFileDesc, mm.PageSize)
	ntFileDesc = append(append(ntFileDesc, files...), names...)

	// Linux's order: per thread, the dumping one first, NT_PRSTATUS and
	// its register sets; the process's notes follow the first
	// NT_PRSTATUS. A debugger gives each NT_PRSTATUS a thread and the
	// register sets after it to that thread.
	si := make([]byte, posix.SigInfoSize)
	info.Encode(si)
	var notes []coreNote
	for i, th := range threads {
		notes = append(notes, coreNote{typ: ntPrstatus, desc: prstatus(info, pid, th)})
		if i == 0 {
			notes = append(notes, coreNote{typ: ntPrpsinfo, desc: ps}, coreNote{typ: ntSiginfo, desc: si})
			if k.auxv != nil {
				notes = append(notes, coreNote{typ: ntAuxv, desc: k.auxv})
			}
			notes = append(notes, coreNote{typ: ntFile, desc: ntFileDesc})
		}
		if th.xsave != nil {
			notes = append(notes, coreNote{typ: ntPrfpreg, desc: th.xsave[:512]},
				coreNote{name: "LINUX", typ: ntX86State, desc: xstateNote(th.xsave)})
		}
	}
	var nb bytes.Buffer
	for _, nt := range notes {
		name := nt.name
		if name == "" {
			name = "CORE"
		}
		le4 := func(v uint32) { binary.Write(&nb, le, v) }
		le4(uint32(len(name) + 1))
		le4(uint32(len(nt.desc)))
		le4(uint32(nt.typ))
		nb.WriteString(name)
		nb.WriteByte(0)
		for nb.Len()%4 != 0 {
			nb.WriteByte(0)
		}
		nb.Write(nt.desc)
		for nb.Len()%4 != 0 {
			nb.WriteByte(0)
		}
	}

	// Which mappings carry bytes.
	type seg struct {
		v     mm.VMA
		dump  bool
		off   uint64
		flags elf.ProgFlag
	}
	segs := make([]seg, 0, len(vmas))
	total := uint64(0)
	for _, v := range vmas {
		s := seg{v: v}
		if v.Prot&unix.PROT_READ != 0 {
			s.flags |= elf.PF_R
		}
		if v.Prot&unix.PROT_WRITE != 0 {
			s.flags |= elf.PF_W
		}
		if v.Prot&unix.PROT_EXEC != 0 {
			s.flags |= elf.PF_X
		}
		readOnlyFile := v.File != nil && v.Prot&unix.PROT_WRITE == 0
		s.dump = v.Prot != unix.PROT_NONE && !readOnlyFile && total+(v.End-v.Start) <= maxCoreBytes
		if s.dump {
			total += v.End - v.Start
		}
		segs = append(segs, s)
	}

	const ehsize, phsize = 64, 56
	phnum := 1 + len(segs)
	noteOff := uint64(ehsize + phsize*phnum)
	dataOff := (noteOff + uint64(nb.Len()) + mm.PageSize - 1) &^ (mm.PageSize - 1)
	for i := range segs {
		segs[i].off = dataOff
		if segs[i].dump {
			dataOff += segs[i].v.End - segs[i].v.Start
		}
	}

	var hdr bytes.Buffer
	eh := elf.Header64{
		Type: uint16(elf.ET_CORE), Machine: uint16(elf.EM_X86_64), Version: uint32(elf.EV_CURRENT),
		Phoff: ehsize, Ehsize: ehsize, Phentsize: phsize, Phnum: uint16(phnum),
	}
	copy(eh.Ident[:], elf.ELFMAG)
	eh.Ident[elf.EI_CLASS], eh.Ident[elf.EI_DATA], eh.Ident[elf.EI_VERSION] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)
	eh.Ident[elf.EI_OSABI] = byte(elf.ELFOSABI_NONE)
	binary.Write(&hdr, le, eh)
	binary.Write(&hdr, le, elf.Prog64{Type: uint32(elf.PT_NOTE), Off: noteOff, Filesz: uint64(nb.Len()), Align: 4})
	for _, s := range segs {
		size := s.v.End - s.v.Start
		ph := elf.Prog64{Type: uint32(elf.PT_LOAD), Flags: uint32(s.flags), Off: s.off, Vaddr: s.v.Start,
			Memsz: size, Align: mm.PageSize}
		if s.dump {
			ph.Filesz = size
		}
		binary.Write(&hdr, le, ph)
	}
	hdr.Write(nb.Bytes())
	if err := w.Truncate(0); err != nil {
		return err
	}
	if _, err := w.WriteAt(hdr.Bytes(), 0); err != nil {
		return err
	}
	// The pages: resident ones only, the rest stay holes of the file.
	page := make([]byte, mm.PageSize)
	for _, s := range segs {
		if !s.dump {
			continue
		}
		for a := s.v.Start; a < s.v.End; a += mm.PageSize {
			if !as.ReadResident(a, page) {
				continue
			}
			if _, err := w.WriteAt(page, int64(s.off+(a-s.v.Start))); err != nil {
				return err
			}
		}
	}
	return w.Truncate(int64(dataOff))
}
