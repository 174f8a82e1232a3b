// Package profile is a CPU profiler that needs nothing from the guest
// (rumpgo run --profile FILE): at a fixed rate it looks at every guest
// thread from the monitor, and for each one that used processor time since
// the last look it takes one sample, weighted by that time. A thread in
// guest code is kicked and its stack unwound on its own CPU at the
// instruction it was stopped at (syscalls.Thread.OnCPU); a thread inside
// a syscall is unwound from the registers it made the call with, under a
// frame named after the call ("syscall:read"), so one profile shows where
// the guest and its system calls spend time. Frames are symbolized from
// the ELFs the process runs (Go functions from .gopclntab, C from the
// symbol tables and DWARF) and the profile is written in pprof's format.
package profile

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/google/pprof/profile"
	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/rumpglue"
	"github.com/rumpgo/rumpgo/syscalls"
)

// DefaultHz is the default sampling rate, runtime/pprof's.
const DefaultHz = 100

// Profiler samples one kernel's threads until Stop.
type Profiler struct {
	k      *syscalls.Kernel
	period time.Duration
	start  time.Time
	stopCh chan struct{}
	done   chan struct{}
	once   sync.Once

	mu       sync.Mutex
	end      time.Time
	samples  map[string]*sample // by stack
	funcs    map[string]*profile.Function
	locs     map[locKey]*profile.Location
	syscall  map[uint64]*profile.Location // syscall frames by number
	maps     map[mapKey]*profile.Mapping  // the ELFs, per process
	mapList  []*profile.Mapping
	procs    map[*posix.ThreadGroup]*proc
	threads  map[*syscalls.Thread]*thread
	nextID   uint64
	taken    int // samples taken
	inGuest  int // of which in guest code
	inCall   int // of which inside a syscall
	kicksOut int // OnCPU requests still outstanding at Stop
}

type sample struct {
	locs  []*profile.Location
	count int64
	nanos int64
	pid   int64
}

type locKey struct {
	g  *posix.ThreadGroup
	pc uint64
}

type mapKey struct {
	g    *posix.ThreadGroup
	path string
}

// proc is a process's symbolizer, remade when a frame lies in code it does
// not know (a library loaded since), at most once a second.
type proc struct {
	syms *syscalls.Symbolizer
	made time.Time
}

type thread struct {
	cpu     time.Duration // CPU time at the last look
	pending bool          // an OnCPU sample is on its way
}

// Start begins sampling k's threads hz times a second (DefaultHz when hz
// is 0 or less).
func Start(k *syscalls.Kernel, hz int) *Profiler {
	if hz <= 0 {
		hz = DefaultHz
	}
	p := &Profiler{
		k: k, period: time.Second / time.Duration(hz), start: time.Now(),
		stopCh: make(chan struct{}), done: make(chan struct{}),
		samples: map[string]*sample{}, funcs: map[string]*profile.Function{},
		locs: map[locKey]*profile.Location{}, syscall: map[uint64]*profile.Location{},
		maps:  map[mapKey]*profile.Mapping{},
		procs: map[*posix.ThreadGroup]*proc{}, threads: map[*syscalls.Thread]*thread{},
	}
	go p.loop()
	return p
}

func (p *Profiler) loop() {
	defer close(p.done)
	tick := time.NewTicker(p.period)
	defer tick.Stop()
	for {
		select {
		case <-p.stopCh:
			return
		case <-tick.C:
			p.look()
		}
	}
}

// look takes a sample of every thread that ran since the last look.
func (p *Profiler) look() {
	live := p.k.Threads()
	seen := make(map[*syscalls.Thread]bool, len(live))
	for _, t := range live {
		seen[t] = true
		now := t.CPUTime()
		p.mu.Lock()
		st := p.threads[t]
		if st == nil {
			st = &thread{}
			p.threads[t] = st
		}
		used := now - st.cpu
		st.cpu = now
		busy := st.pending
		p.mu.Unlock()
		if used <= 0 || busy {
			continue
		}
		if nr, regs, _, ok := t.InCall(); ok {
			p.record(t, &regs, nr, true, used)
			continue
		}
		p.mu.Lock()
		st.pending = true
		p.mu.Unlock()
		t.OnCPU(func(cpu rumpglue.CPU) {
			regs := *cpu.Regs()
			p.record(t, &regs, 0, false, used)
			p.mu.Lock()
			st.pending = false
			p.mu.Unlock()
		})
	}
	p.mu.Lock()
	for t := range p.threads {
		if !seen[t] {
			delete(p.threads, t)
		}
	}
	p.mu.Unlock()
}

// record unwinds one sample from r and adds it. inCall says r is a
// syscall's entry, nr its number.
func (p *Profiler) record(t *syscalls.Thread, r *rumpglue.Regs, nr uint64, inCall bool, used time.Duration) {
	defer func() {
		// Nothing in the guest's memory may crash the monitor; the
		// unwinder checks every read, this is the last line.
		recover()
	}()
	g := t.Group()
	syms := p.symbolizer(t, r.RIP)
	// A process's threads share its symbolizer, which reads ELFs lazily:
	// one walk at a time.
	p.mu.Lock()
	defer p.mu.Unlock()
	pcs := syms.Backtrace(r)
	var locs []*profile.Location
	if inCall {
		locs = append(locs, p.syscallLoc(nr))
		p.inCall++
	} else {
		p.inGuest++
	}
	p.taken++
	for _, pc := range pcs {
		locs = append(locs, p.location(g, syms, pc))
	}
	key := fmt.Sprint(g.PID, locs)
	s := p.samples[key]
	if s == nil {
		s = &sample{locs: locs, pid: int64(g.PID)}
		p.samples[key] = s
	}
	s.count++
	s.nanos += used.Nanoseconds()
}

func (p *Profiler) symbolizer(t *syscalls.Thread, pc uint64) *syscalls.Symbolizer {
	g := t.Group()
	p.mu.Lock()
	pr := p.procs[g]
	p.mu.Unlock()
	if pr == nil || (!pr.syms.Covers(pc) && time.Since(pr.made) > time.Second && pr.syms.Stale()) {
		pr = &proc{syms: t.NewSymbolizer(), made: time.Now()}
		p.mu.Lock()
		p.procs[g] = pr
		p.mu.Unlock()
	}
	return pr.syms
}

func (p *Profiler) id() uint64 { p.nextID++; return p.nextID }

func (p *Profiler) function(name, file string) *profile.Function {
	key := name + "\x00" + file
	f := p.funcs[key]
	if f == nil {
		f = &profile.Function{ID: uint64(len(p.funcs) + 1), Name: name, SystemName: name, Filename: file}
		p.funcs[key] = f
	}
	return f
}

// location is the profile's location of pc in g, symbolized once.
func (p *Profiler) location(g *posix.ThreadGroup, syms *syscalls.Symbolizer, pc uint64) *profile.Location {
	k := locKey{g, pc}
	if l := p.locs[k]; l != nil {
		return l
	}
	loc := syms.Lookup(pc)
	name := loc.Function
	if name == "" {
		name = fmt.Sprintf("%#x", pc)
		if loc.Module != "" {
			name += " in " + loc.Module
		}
	}
	l := &profile.Location{ID: p.id(), Address: pc, Mapping: p.mapping(g, syms, loc.Module),
		Line: []profile.Line{{Function: p.function(name, loc.File), Line: int64(loc.Line)}}}
	p.locs[k] = l
	return l
}

// mapping is the profile's mapping of the ELF path in g (nil for code in
// none, such as the vDSO or JIT code): pprof names the first one the
// profile's main binary, which is the program, as the symbolizer lists it
// first.
func (p *Profiler) mapping(g *posix.ThreadGroup, syms *syscalls.Symbolizer, path string) *profile.Mapping {
	if path == "" {
		return nil
	}
	if m := p.maps[mapKey{g, path}]; m != nil {
		return m
	}
	for _, im := range syms.Modules() {
		k := mapKey{g, im.Path}
		if p.maps[k] != nil {
			continue
		}
		m := &profile.Mapping{ID: uint64(len(p.mapList) + 1), Start: im.Lo, Limit: im.Hi,
			File:         im.Path, // Offset 0: Lo is the first PT_LOAD, at file offset 0 in the usual ELF
			HasFunctions: true, HasFilenames: true, HasLineNumbers: true}
		p.maps[k] = m
		p.mapList = append(p.mapList, m)
	}
	return p.maps[mapKey{g, path}]
}

// syscallLoc is the frame of time spent in rumpgo's handling of call nr.
func (p *Profiler) syscallLoc(nr uint64) *profile.Location {
	if l := p.syscall[nr]; l != nil {
		return l
	}
	l := &profile.Location{ID: p.id(), Line: []profile.Line{{Function: p.function("syscall:"+syscalls.Name(nr), "rumpgo")}}}
	p.syscall[nr] = l
	return l
}

// Stop ends sampling. Samples already on their way to a thread's CPU that
// have not arrived are left out.
func (p *Profiler) Stop() {
	p.once.Do(func() {
		close(p.stopCh)
		<-p.done
		p.mu.Lock()
		p.end = time.Now()
		for _, st := range p.threads {
			if st.pending {
				p.kicksOut++
			}
		}
		p.mu.Unlock()
	})
}

// Stats says how many samples were taken, and of those how many in guest
// code and inside syscalls.
func (p *Profiler) Stats() (taken, inGuest, inCall int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.taken, p.inGuest, p.inCall
}

// Profile builds the pprof profile of what was sampled (Stop first).
func (p *Profiler) Profile() *profile.Profile {
	p.mu.Lock()
	defer p.mu.Unlock()
	end := p.end
	if end.IsZero() {
		end = time.Now()
	}
	out := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		PeriodType: &profile.ValueType{Type: "cpu", Unit: "nanoseconds"},
		Period:     p.period.Nanoseconds(),
		TimeNanos:  p.start.UnixNano(),
		// DurationNanos lets pprof say what share of the wall time the
		// samples are.
		DurationNanos: end.Sub(p.start).Nanoseconds(),
		Comments:      []string{"rumpgo --profile: sampled from the monitor"},
	}
	locSeen := map[uint64]bool{}
	for _, s := range p.samples {
		out.Sample = append(out.Sample, &profile.Sample{Location: s.locs, Value: []int64{s.count, s.nanos},
			NumLabel: map[string][]int64{"pid": {s.pid}}})
		for _, l := range s.locs {
			if !locSeen[l.ID] {
				locSeen[l.ID] = true
				out.Location = append(out.Location, l)
			}
		}
	}
	funcs := make([]*profile.Function, len(p.funcs))
	for _, f := range p.funcs {
		funcs[f.ID-1] = f
	}
	out.Function = funcs
	out.Mapping = p.mapList
	return out
}

// Write writes the profile, gzipped as pprof reads it.
func (p *Profiler) Write(w io.Writer) error {
	prof := p.Profile()
	if err := prof.CheckValid(); err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	return prof.Write(w)
}
