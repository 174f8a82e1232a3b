package syscalls

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/mm"
	"github.com/rumpgo/rumpgo/rumpglue"
	"golang.org/x/sys/unix"
)

// Inspection: what a profiler or debugger outside the guest (package
// debug/profile, debug/gdbstub) sees of its threads, with nothing asked of
// the guest. A thread is, at any moment, either in guest code, where only
// its own CPU can read its registers (OnCPU runs a function there at the
// next instruction boundary the monitor gets), or inside a syscall, whose
// number and entry registers it publishes (InCall) so that an observer can
// read them from any goroutine while the call runs or blocks.

// inspection is a thread's published state.
type inspection struct {
	mu     sync.Mutex
	inCall bool
	nr     uint64
	regs   rumpglue.Regs // at the call, RIP as after SYSRET
	fsBase uint64

	pending atomic.Bool // hooks is not empty
	hooks   []func(rumpglue.CPU)
}

// threadSet is the kernel's live threads, for Threads.
type threadSet struct {
	mu  sync.Mutex
	all map[*Thread]struct{}
}

func (k *Kernel) addThread(t *Thread) {
	k.threads.mu.Lock()
	if k.threads.all == nil {
		k.threads.all = map[*Thread]struct{}{}
	}
	k.threads.all[t] = struct{}{}
	k.threads.mu.Unlock()
}

func (k *Kernel) removeThread(t *Thread) {
	k.threads.mu.Lock()
	delete(k.threads.all, t)
	k.threads.mu.Unlock()
}

// Threads returns the threads running now, by TID.
func (k *Kernel) Threads() []*Thread {
	k.threads.mu.Lock()
	out := make([]*Thread, 0, len(k.threads.all))
	for t := range k.threads.all {
		out = append(out, t)
	}
	k.threads.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Task.TID < out[j].Task.TID })
	return out
}

// enterCall publishes the call a thread starts (dispatch).
func (t *Thread) enterCall(nr uint64, r *rumpglue.Regs) {
	in := &t.insp
	in.mu.Lock()
	in.inCall, in.nr, in.regs = true, nr, *r
	if t.cpu != nil {
		in.fsBase = t.cpu.FSBase()
	}
	in.mu.Unlock()
}

func (t *Thread) leaveCall() {
	in := &t.insp
	in.mu.Lock()
	in.inCall = false
	in.mu.Unlock()
}

// InCall reports whether the thread is inside a syscall now, and if so
// which, with its registers when it made it (RIP is the instruction after
// the SYSCALL) and its FS base. Any goroutine may call it.
func (t *Thread) InCall() (nr uint64, regs rumpglue.Regs, fsBase uint64, ok bool) {
	in := &t.insp
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.nr, in.regs, in.fsBase, in.inCall
}

// CPUTime is the processor time the thread has used, in the guest and in
// its syscalls; any goroutine may call it.
func (t *Thread) CPUTime() time.Duration {
	if t.cpu == nil {
		return 0
	}
	return t.cpu.CPUTime()
}

// OnCPU runs fn on the thread's CPU, with the guest stopped at an
// instruction boundary: at the kick it sends, or on the way back from the
// syscall the thread is in. fn may read and change the registers; it runs
// before pending signals are delivered. A thread that ends first never
// runs it.
func (t *Thread) OnCPU(fn func(cpu rumpglue.CPU)) {
	in := &t.insp
	in.mu.Lock()
	in.hooks = append(in.hooks, fn)
	in.pending.Store(true)
	in.mu.Unlock()
	if t.cpu != nil {
		t.cpu.Kick()
	}
}

// runHooks runs the OnCPU functions due, on the thread's CPU.
func (t *Thread) runHooks(cpu rumpglue.CPU) {
	in := &t.insp
	if !in.pending.Load() {
		return
	}
	in.mu.Lock()
	hooks := in.hooks
	in.hooks = nil
	in.pending.Store(false)
	in.mu.Unlock()
	for _, fn := range hooks {
		fn(cpu)
	}
}

// hooksPending says whether an OnCPU function waits: a call run away
// from the vCPU must then return through Finish.
func (t *Thread) hooksPending() bool { return t.insp.pending.Load() }

// symCache keeps the ELFs symbolizers parsed from host files (the
// program and interpreter the monitor loaded, which do not change while
// it runs): a profiler makes a symbolizer per process and again when a
// library appears, and reading a Go program's tables takes tens of
// milliseconds. Guest files may be rewritten, so they are read again.
type symCache struct {
	mu    sync.Mutex
	parse map[string]*elfSyms
}

func (c *symCache) get(host string, parse func() *elfSyms) *elfSyms {
	if host == "" {
		return parse()
	}
	key := host
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.parse[key]; ok {
		return s
	}
	s := parse()
	if s != nil {
		if c.parse == nil {
			c.parse = map[string]*elfSyms{}
		}
		c.parse[key] = s
	}
	return s
}

// Group is the thread's process.
func (t *Thread) Group() *posix.ThreadGroup { return t.Task.Group }

// Memory is the address space the thread runs in.
func (t *Thread) Memory() *mm.AddressSpace { return t.mm() }

// Symbolizer names the code of one process: its program, interpreter and
// the libraries ld.so mapped when it was made.
type Symbolizer struct {
	s  *symbolizer
	as *mm.AddressSpace
}

// NewSymbolizer makes a symbolizer for the process t belongs to.
func (t *Thread) NewSymbolizer() *Symbolizer {
	return &Symbolizer{s: newSymbolizer(t.K, t.K.imagesOf(t.Task.Group), t.mm()), as: t.mm()}
}

// Backtrace unwinds the stack from r (frame pointers and .eh_frame, as a
// crash report does) and returns the address to symbolize of each frame,
// innermost first: the instruction running, then each call.
func (s *Symbolizer) Backtrace(r *rumpglue.Regs) []uint64 {
	frames := s.s.walk(s.as, r)
	out := make([]uint64, len(frames))
	for i, f := range frames {
		out[i] = f.lookup()
	}
	return out
}

// Location is what the symbolizer knows of one address.
type Location struct {
	Function string // "" when no symbol covers it
	File     string
	Line     int
	Module   string // the ELF's guest path, "" when in none
	Start    uint64 // the function's run-time address, when known
}

// Lookup names the code at a run-time address.
func (s *Symbolizer) Lookup(pc uint64) Location {
	m := s.s.moduleOf(pc)
	if m == nil {
		return Location{}
	}
	loc := Location{Module: m.path}
	syms := s.s.load(m)
	if syms == nil {
		return loc
	}
	fn, file, line, start := syms.function(pc - m.bias)
	loc.Function, loc.File, loc.Line = fn, file, line
	if fn != "" {
		loc.Start = start + m.bias
	}
	return loc
}

// Covers reports whether addr lies in a module the symbolizer knows.
func (s *Symbolizer) Covers(addr uint64) bool { return s.s.moduleOf(addr) != nil }

// Stale reports whether the process has mapped executable code from a
// file since the symbolizer was made (a library dlopen loaded): then a
// new one knows more.
func (s *Symbolizer) Stale() bool {
	for _, v := range s.as.VMAs() {
		if v.File != nil && v.Prot&unix.PROT_EXEC != 0 && !s.s.covered(v.Start) {
			if _, _, name := v.File.MapInfo(); name != "" {
				return true
			}
		}
	}
	return false
}

// Modules lists the ELFs of the process: guest path, run-time range and
// load bias.
func (s *Symbolizer) Modules() []Image {
	var out []Image
	for _, m := range s.s.modules {
		s.s.load(m) // fixes a mapped library's bias
		out = append(out, Image{Path: m.path, HostPath: m.host, Bias: m.bias, Lo: m.lo, Hi: m.hi})
	}
	return out
}

// Symbol finds a function by name in the process's ELFs and returns its
// run-time address.
func (s *Symbolizer) Symbol(name string) (uint64, bool) {
	for _, m := range s.s.modules {
		syms := s.s.load(m)
		if syms == nil {
			continue
		}
		for _, f := range syms.funcs {
			if f.Name == name {
				return f.Value + m.bias, true
			}
		}
	}
	return 0, false
}

// function names the function at a link-time address: its name, source
// position and entry.
func (s *elfSyms) function(pc uint64) (name, file string, line int, start uint64) {
	if s.gotab != nil {
		if file, line, fn := s.gotab.PCToLine(pc); fn != nil {
			return fn.Name, file, line, fn.Entry
		}
	}
	i := sort.Search(len(s.funcs), func(i int) bool { return s.funcs[i].Value > pc }) - 1
	if i >= 0 {
		f := s.funcs[i]
		if pc < f.Value+max(f.Size, 1) || f.Size == 0 {
			name, start = demangled(f.Name), f.Value
		}
	}
	if name == "" {
		return "", "", 0, 0
	}
	file, line = s.dwarfLine(pc)
	return name, file, line, start
}
