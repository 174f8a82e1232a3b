package syscalls

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"io"
	"strings"

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
// Only the thread that died has its registers: the others are running
// on their own vCPUs when it does, and they are not stopped to be read.

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

// writeCore dumps the process to k.Core; errors go to the crash report.
func (t *Thread) writeCore(info posix.SigInfo, r *rumpglue.Regs) {
	if t.K.Core == nil || !coreSignals[unix.Signal(info.Signo)] {
		return
	}
	defer func() {
		if p := recover(); p != nil {
			t.K.report("rumpgo: (core dump abandoned: %v)", p)
		}
	}()
	if err := t.K.writeCoreTo(t.K.Core, t, info, r); err != nil {
		t.K.report("rumpgo: writing the core file: %v", err)
		return
	}
	t.K.report("rumpgo: core dumped")
}

type coreNote struct {
	typ  elf.NType
	desc []byte
}

func (k *Kernel) writeCoreTo(w CoreFile, t *Thread, info posix.SigInfo, r *rumpglue.Regs) error {
	as := t.mm()
	vmas := as.VMAs()
	le := binary.LittleEndian
	pid := t.Task.Group.PID

	// NT_PRSTATUS: struct elf_prstatus, 336 bytes.
	pr := make([]byte, 336)
	le.PutUint32(pr[0:], uint32(info.Signo))
	le.PutUint32(pr[4:], uint32(info.Code))
	le.PutUint16(pr[12:], uint16(info.Signo))
	le.PutUint32(pr[32:], uint32(t.Task.TID))
	le.PutUint32(pr[36:], 0) // ppid: the guest's parent is outside
	le.PutUint32(pr[40:], uint32(pid))
	le.PutUint32(pr[44:], uint32(pid))
	// pr_reg, struct user_regs_struct order.
	regs := []uint64{r.R15, r.R14, r.R13, r.R12, r.RBP, r.RBX, r.R11, r.R10, r.R9, r.R8,
		r.RAX, r.RCX, r.RDX, r.RSI, r.RDI, ^uint64(0) /* orig_rax */, r.RIP, 0x33 /* cs */, r.RFLAGS,
		r.RSP, 0x2b /* ss */, t.cpu.FSBase(), 0 /* gs_base */, 0, 0, 0, 0}
	for i, v := range regs {
		le.PutUint64(pr[112+8*i:], v)
	}

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
	if len(k.Images) > 0 {
		args = k.Images[0].Path
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
	ntFile := le.AppendUint64(nil, uint64(n))
	ntFile = le.AppendUint64(ntFile, mm.PageSize)
	ntFile = append(append(ntFile, files...), names...)

	notes := []coreNote{{elf.NT_PRSTATUS, pr}, {elf.NT_PRPSINFO, ps}}
	if k.auxv != nil {
		notes = append(notes, coreNote{6 /* NT_AUXV */, k.auxv})
	}
	notes = append(notes, coreNote{0x46494c45 /* NT_FILE */, ntFile})
	var nb bytes.Buffer
	for _, nt := range notes {
		le4 := func(v uint32) { binary.Write(&nb, le, v) }
		le4(5) // "CORE\0"
		le4(uint32(len(nt.desc)))
		le4(uint32(nt.typ))
		nb.WriteString("CORE\x00\x00\x00\x00")
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
