// Package gdbstub is a GDB remote-serial-protocol stub for a rumpgo guest
// (rumpgo run --gdb [HOST:]PORT): gdb connects over TCP and debugs the
// unmodified program as it would through gdbserver, with nothing asked of
// the guest. The stub works all-stop: when one thread stops (a breakpoint,
// a single step, a fault, gdb's interrupt) every other is stopped too.
//
// A thread stops by parking its vCPU: a function queued with
// syscalls.Thread.OnCPU (or the kernel's Debugger hook for faults) blocks
// on the vCPU's own goroutine until gdb resumes it, and serves the
// register reads and writes gdb asks for there. A thread blocked inside a
// syscall counts as stopped where it made the call (its registers as it
// entered it, read-only): it parks on its way back to guest code if the
// guest is still stopped then. Software breakpoints are int3 bytes poked
// into the process's private copy of its text (mm.AddressSpace.Poke);
// single steps set RFLAGS.TF, and a SYSCALL instruction is stepped by
// stopping the thread on the call's way back instead, since the trap flag
// does not survive the monitor's return path as one instruction.
package gdbstub

import (
	"sync"
	"time"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/mm"
	"github.com/rumpgo/rumpgo/rumpglue"
	"github.com/rumpgo/rumpgo/syscalls"
)

// Linux signal numbers the stub raises.
const (
	sigINT  = 2
	sigTRAP = 5
)

const (
	vecDB  = 1     // debug exception: a single step
	vecBP  = 3     // int3
	flagTF = 0x100 // RFLAGS.TF
)

// Stub is one guest's debugger side.
type Stub struct {
	k *syscalls.Kernel

	mu       sync.Mutex
	cond     *sync.Cond // a thread parked or left
	stopped  bool       // the guest is stopped for gdb
	gen      uint64     // which stop the queued park functions belong to
	parked   map[*syscalls.Thread]*parked
	stepping map[*syscalls.Thread]bool // TF set by the stub
	bps      map[bpKey]byte            // inserted breakpoints: the byte under each
	stepBPs  map[bpKey]byte            // the stub's own, stepping over a SYSCALL
	active   bool                      // faults go to gdb (a session, or the stop at entry)
	pass     map[int]bool              // Linux signals gdb wants delivered without a stop
	exit     *posix.ExitStatus         // the guest's end, once it came
	exited   chan struct{}

	events chan stopEvent
}

type bpKey struct {
	as   *mm.AddressSpace
	addr uint64
}

// parked is a thread stopped on its vCPU.
type parked struct {
	t      *syscalls.Thread
	reqs   chan func(rumpglue.CPU)
	resume chan resumeAction
	sig    int // Linux signal it stopped with (0: stopped for another's event)
}

type resumeAction struct {
	step bool
	sig  int // Linux signal to deliver, 0 for none
}

// stopEvent is a thread's reason to stop the guest.
type stopEvent struct {
	t   *syscalls.Thread
	sig int
	bp  bool // a software breakpoint of the stub's
}

// New makes a stub for k and installs it as k's debugger. With
// stopAtEntry the guest's first thread stops before its first
// instruction, and faults go to gdb from the start; first is that thread.
func New(k *syscalls.Kernel, first *syscalls.Thread, stopAtEntry bool) *Stub {
	s := &Stub{k: k, parked: map[*syscalls.Thread]*parked{}, stepping: map[*syscalls.Thread]bool{},
		bps: map[bpKey]byte{}, stepBPs: map[bpKey]byte{}, events: make(chan stopEvent, 256), exited: make(chan struct{})}
	s.cond = sync.NewCond(&s.mu)
	k.SetDebugger(s)
	if stopAtEntry {
		s.active = true
		s.stopped = true
		s.gen = 1
		first.OnCPU(func(cpu rumpglue.CPU) { s.hook(first, cpu, 1) })
	}
	return s
}

// Exited tells the stub the guest has ended: a waiting gdb gets the exit
// status.
func (s *Stub) Exited(st posix.ExitStatus) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.exit == nil {
		s.exit = &st
		close(s.exited)
	}
}

// hook parks t for stop gen, unless that stop is over.
func (s *Stub) hook(t *syscalls.Thread, cpu rumpglue.CPU, gen uint64) {
	s.mu.Lock()
	current := s.stopped && s.gen == gen && s.parked[t] == nil
	s.mu.Unlock()
	if current {
		s.park(t, cpu, 0)
	}
}

// park stops t on its CPU until gdb resumes it, serving register access
// meanwhile, and returns the signal gdb resumes it with.
func (s *Stub) park(t *syscalls.Thread, cpu rumpglue.CPU, sig int) int {
	p := &parked{t: t, reqs: make(chan func(rumpglue.CPU)), resume: make(chan resumeAction, 1), sig: sig}
	s.mu.Lock()
	s.parked[t] = p
	s.cond.Broadcast()
	s.mu.Unlock()
	for {
		select {
		case fn := <-p.reqs:
			fn(cpu)
		case a := <-p.resume:
			if a.step {
				s.startStep(t, cpu)
			}
			return a.sig
		}
	}
}

// startStep makes t stop again after one instruction.
func (s *Stub) startStep(t *syscalls.Thread, cpu rumpglue.CPU) {
	r := cpu.Regs()
	var insn [2]byte
	as := t.Memory()
	if as.CopyIn(r.RIP, insn[:]) == 0 && insn == [2]byte{0x0f, 0x05} {
		// SYSCALL: a breakpoint of the stub's own where the call returns
		// to stops the thread there (a call that never returns, exit or
		// execve, leaves it unhit).
		k := bpKey{as, r.RIP + 2}
		s.mu.Lock()
		_, user := s.bps[k]
		_, again := s.stepBPs[k]
		s.mu.Unlock()
		var orig [1]byte
		if !user && !again && as.CopyIn(k.addr, orig[:]) == 0 && as.Poke(k.addr, []byte{0xcc}) == 0 {
			s.mu.Lock()
			s.stepBPs[k] = orig[0]
			s.mu.Unlock()
		}
		return
	}
	s.mu.Lock()
	s.stepping[t] = true
	s.mu.Unlock()
	r.RFLAGS |= flagTF
}

// event reports a stop of t to gdb and parks it; it returns the signal
// to deliver.
func (s *Stub) event(t *syscalls.Thread, cpu rumpglue.CPU, ev stopEvent) int {
	select {
	case s.events <- ev:
	default:
	}
	return s.park(t, cpu, ev.sig)
}

// Fault implements syscalls.Debugger.
func (s *Stub) Fault(t *syscalls.Thread, cpu rumpglue.CPU, f rumpglue.Fault, signo int) int {
	s.mu.Lock()
	active := s.active
	stepping := s.stepping[t]
	delete(s.stepping, t)
	s.mu.Unlock()
	if !active {
		return signo
	}
	r := cpu.Regs()
	ev := stopEvent{t: t, sig: signo}
	switch f.Vector {
	case vecDB:
		if stepping {
			r.RFLAGS &^= flagTF
		}
	case vecBP:
		k := bpKey{t.Memory(), r.RIP - 1}
		s.mu.Lock()
		_, ours := s.bps[k]
		orig, step := s.stepBPs[k]
		delete(s.stepBPs, k)
		s.mu.Unlock()
		if step {
			k.as.Poke(k.addr, []byte{orig})
			r.RIP-- // the step over the SYSCALL ends here
		} else if ours {
			// Back to the breakpoint's address, as gdb's swbreak wants:
			// the original instruction runs once gdb takes the int3 out.
			r.RIP--
			ev.bp = true
		}
	}
	return s.event(t, cpu, ev)
}

// Signal implements syscalls.Debugger: a signal stops the guest for gdb
// unless gdb asked to have it passed (QPassSignals).
func (s *Stub) Signal(t *syscalls.Thread, cpu rumpglue.CPU, signo int) int {
	s.mu.Lock()
	skip := !s.active || s.pass[signo]
	s.mu.Unlock()
	if skip {
		return signo
	}
	return s.event(t, cpu, stopEvent{t: t, sig: signo})
}

// ThreadStart implements syscalls.Debugger: a thread a stopped guest's
// clone made stays stopped with the others.
func (s *Stub) ThreadStart(t *syscalls.Thread, cpu rumpglue.CPU) {
	s.mu.Lock()
	stop := s.stopped && s.parked[t] == nil
	s.mu.Unlock()
	if stop {
		s.park(t, cpu, 0)
	}
}

// stopAll stops every thread for gdb and waits until each has parked or
// sits in a syscall.
func (s *Stub) stopAll() {
	s.mu.Lock()
	s.stopped = true
	s.gen++
	gen := s.gen
	s.mu.Unlock()
	threads := s.k.Threads()
	for _, t := range threads {
		s.mu.Lock()
		done := s.parked[t] != nil
		s.mu.Unlock()
		if !done {
			t.OnCPU(func(cpu rumpglue.CPU) { s.hook(t, cpu, gen) })
		}
	}
	deadline := time.Now().Add(3 * time.Second)
	for _, t := range threads {
		for time.Now().Before(deadline) {
			s.mu.Lock()
			done := s.parked[t] != nil
			s.mu.Unlock()
			if done || !alive(s.k, t) {
				break
			}
			if _, _, _, in := t.InCall(); in {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
}

func alive(k *syscalls.Kernel, t *syscalls.Thread) bool {
	for _, x := range k.Threads() {
		if x == t {
			return true
		}
	}
	return false
}

// resume lets the parked threads go: act says what each does, and a
// thread it leaves out (nil action) stays stopped. Events threads raised
// meanwhile are dropped: a breakpoint another thread hit is hit again.
func (s *Stub) resume(act func(t *syscalls.Thread) *resumeAction) {
	s.mu.Lock()
	s.stopped = false
	for {
		select {
		case <-s.events:
			continue
		default:
		}
		break
	}
	var run []*parked
	var acts []resumeAction
	for t, p := range s.parked {
		if a := act(t); a != nil {
			run = append(run, p)
			acts = append(acts, *a)
			delete(s.parked, t)
		}
	}
	s.mu.Unlock()
	for i, p := range run {
		p.resume <- acts[i]
	}
}

// onCPU runs fn on t's CPU when t is parked and reports whether it ran.
func (s *Stub) onCPU(t *syscalls.Thread, fn func(cpu rumpglue.CPU)) bool {
	s.mu.Lock()
	p := s.parked[t]
	s.mu.Unlock()
	if p == nil {
		return false
	}
	done := make(chan struct{})
	p.reqs <- func(cpu rumpglue.CPU) { fn(cpu); close(done) }
	<-done
	return true
}

// readRegs reads t's registers: from its CPU when parked, else those it
// entered its syscall with (no FPU state then).
func (s *Stub) readRegs(t *syscalls.Thread) (*regState, bool) {
	st := &regState{origRAX: ^uint64(0)}
	if s.onCPU(t, func(cpu rumpglue.CPU) {
		st.r = *cpu.Regs()
		st.fsBase = cpu.FSBase()
		buf := make([]byte, 4096)
		if n, err := cpu.ExtendedState(buf); err == nil && n >= xsMin-256 {
			st.xsave = buf
			st.avx = n >= xsMin && buf[xsHeader]&4 != 0
		}
	}) {
		return st, true
	}
	nr, r, fs, in := t.InCall()
	if !in {
		return nil, false
	}
	st.r, st.fsBase, st.origRAX = r, fs, nr
	return st, true
}

// writeRegs sets a parked thread's registers to st.
func (s *Stub) writeRegs(t *syscalls.Thread, st *regState) bool {
	return s.onCPU(t, func(cpu rumpglue.CPU) {
		*cpu.Regs() = st.r
		if st.fsBase != cpu.FSBase() {
			cpu.SetFSBase(st.fsBase)
		}
		if st.xsave != nil {
			if st.avx {
				st.xsave[xsHeader] |= 4
			}
			cpu.SetExtendedState(st.xsave)
		}
	})
}

// insertBreak puts an int3 at addr in as.
func (s *Stub) insertBreak(as *mm.AddressSpace, addr uint64) bool {
	k := bpKey{as, addr}
	s.mu.Lock()
	_, done := s.bps[k]
	s.mu.Unlock()
	if done {
		return true
	}
	var orig [1]byte
	if as.CopyIn(addr, orig[:]) != 0 || as.Poke(addr, []byte{0xcc}) != 0 {
		return false
	}
	s.mu.Lock()
	if b, ok := s.stepBPs[k]; ok {
		orig[0] = b // under the stub's own int3
	}
	s.bps[k] = orig[0]
	s.mu.Unlock()
	return true
}

// removeBreak puts the original byte back.
func (s *Stub) removeBreak(as *mm.AddressSpace, addr uint64) bool {
	k := bpKey{as, addr}
	s.mu.Lock()
	orig, ok := s.bps[k]
	delete(s.bps, k)
	s.mu.Unlock()
	if !ok {
		return true
	}
	return as.Poke(addr, []byte{orig}) == 0
}

// removeAll takes every breakpoint out (gdb detaches or goes away).
func (s *Stub) removeAll() {
	s.mu.Lock()
	bps, steps := s.bps, s.stepBPs
	s.bps, s.stepBPs = map[bpKey]byte{}, map[bpKey]byte{}
	s.mu.Unlock()
	for _, m := range []map[bpKey]byte{steps, bps} {
		for k, orig := range m {
			k.as.Poke(k.addr, []byte{orig})
		}
	}
}

// shadow hides the stub's breakpoints from a read of b at addr in as:
// gdb expects memory to read as the program's own bytes (gdbserver's
// check_mem_read), or it takes its own breakpoints for the program's.
func (s *Stub) shadow(as *mm.AddressSpace, addr uint64, b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range []map[bpKey]byte{s.stepBPs, s.bps} {
		for k, orig := range m {
			if k.as == as && k.addr >= addr && k.addr-addr < uint64(len(b)) {
				b[k.addr-addr] = orig
			}
		}
	}
}

// poke writes b at addr in as for gdb, keeping the stub's breakpoints in
// and the bytes under them up to date (gdbserver's check_mem_write).
func (s *Stub) poke(as *mm.AddressSpace, addr uint64, b []byte) bool {
	b = append([]byte(nil), b...)
	s.mu.Lock()
	for _, m := range []map[bpKey]byte{s.stepBPs, s.bps} {
		for k := range m {
			if k.as == as && k.addr >= addr && k.addr-addr < uint64(len(b)) {
				m[k] = b[k.addr-addr]
				b[k.addr-addr] = 0xcc
			}
		}
	}
	s.mu.Unlock()
	return as.Poke(addr, b) == 0
}
