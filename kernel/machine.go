package kernel

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	_ "unsafe" // go:linkname

	"github.com/rumpgo/rumpgo/boot"
	"github.com/rumpgo/rumpgo/rumpglue"
	"golang.org/x/sys/unix"
)

// Machine is rumpglue.Machine inside the VM: the app's threads run on the
// vCPUs of the guest kernel's own threads. Each app thread is a goroutine
// locked to its M, whose vCPU switches to user mode to run it (switch.go)
// and comes back on its system calls and exceptions, which the thread's
// handlers (syscalls) serve right here.
//
// Every process has a KPTI root pair of its own (Pager); the first is the
// monitor's root, whose lower half the monitor filled (boot.FillLower) so
// that the copies NewSpace makes share every mapping of the kernel's.
type Machine struct {
	user  *Pager // the first process's
	root  uint64 // the kernel's own page table (the monitor's)
	spare []*Pager

	pid        int // the kernel's process as the monitor numbers it, for kicks
	xsaveSize  int
	maxThreads int

	stopped atomic.Bool
	mu      sync.Mutex
	cpus    map[*cpu]struct{}
	wg      sync.WaitGroup
}

// NewMachine is the machine Params describe, with the app's user root at
// Root + 4 KiB and frames from the pool. It must run inside the VM, where
// the physmap is.
func NewMachine(p Params) (*Machine, error) {
	ram := physRAM(p.RAM)
	mem := boot.MemoryView(ram, p.PoolStart, p.PoolEnd)
	m := &Machine{root: p.Root, pid: unix.Getpid(), cpus: map[*cpu]struct{}{},
		// Every app thread is a thread of the kernel, and each of those a
		// vCPU; keep some for the kernel's own runtime (GC, timers, netstack).
		maxThreads: boot.MaxVCPUs - 16,
	}
	var err error
	if m.user, err = newPager(m, mem, p.Root+boot.PageSize); err != nil {
		return nil, err
	}
	// CPUID 0xd: EBX is the XSAVE image of the features XCR0 enables.
	_, size, _, _ := cpuid(0xd, 0)
	if size < 576 || size > boot.XsaveSize {
		size = 576 // legacy area and XSAVE header: x87 and SSE only
	}
	m.xsaveSize = int(size)
	installVectors()
	return m, nil
}

// Space is the first process's address space.
func (m *Machine) Space() rumpglue.Space { return m.user }

// Memory is the pool the app's frames come from, for tmpfs and the like.
func (m *Machine) Memory() *boot.Memory { return m.user.mem }

// NewSpace implements rumpglue.Machine: a root pair whose kernel root is
// the kernel's own, copied, and whose user root maps nothing of the app
// yet. Retired pairs are reused as they are (see kvm.Machine.NewSpace: the
// same reason keeps their intermediate tables).
func (m *Machine) NewSpace() (rumpglue.Space, error) {
	m.mu.Lock()
	if n := len(m.spare); n > 0 {
		p := m.spare[n-1]
		m.spare = m.spare[:n-1]
		m.mu.Unlock()
		return p, nil
	}
	m.mu.Unlock()
	mem := m.user.mem
	pair, err := mem.AllocPair()
	if err != nil {
		return nil, err
	}
	if err := boot.PageTableAt(mem, pair).CopyRoot(boot.PageTableAt(mem, m.root)); err != nil {
		mem.Free([]uint64{pair, pair + boot.PageSize})
		return nil, err
	}
	p, err := newPager(m, mem, pair+boot.PageSize)
	if err != nil {
		mem.Free([]uint64{pair, pair + boot.PageSize})
		return nil, err
	}
	return p, nil
}

// pagerOf is the machine's own Pager behind a Space.
func (m *Machine) pagerOf(s rumpglue.Space) (*Pager, error) {
	p, ok := s.(*Pager)
	if !ok || p.m != m {
		return nil, errors.New("address space of another machine")
	}
	return p, nil
}

// Start implements rumpglue.Machine.
func (m *Machine) Start(th rumpglue.Thread, space rumpglue.Space, regs rumpglue.Regs, fsBase uint64) error {
	if m.stopped.Load() {
		return errors.New("machine stopped")
	}
	p, err := m.pagerOf(space)
	if err != nil {
		return err
	}
	c := &cpu{m: m, st: newUserState(regs), space: p}
	c.st.FSBase = fsBase
	m.mu.Lock()
	if len(m.cpus) >= m.maxThreads {
		m.mu.Unlock()
		return rumpglue.ErrThreadLimit
	}
	m.cpus[c] = struct{}{}
	m.mu.Unlock()
	p.use()
	m.wg.Add(1)
	go c.loop(th)
	return nil
}

// Stop implements rumpglue.Machine.
func (m *Machine) Stop() {
	m.stopped.Store(true)
	m.mu.Lock()
	defer m.mu.Unlock()
	for c := range m.cpus {
		c.Kick()
	}
}

// Wait waits until every thread has ended.
func (m *Machine) Wait() { m.wg.Wait() }

// CPUID runs CPUID here, where the kernel sees what the monitor gave the VM.
func (m *Machine) CPUID(fn, index uint32) (eax, ebx, ecx, edx uint32, ok bool) {
	eax, ebx, ecx, edx = cpuid(fn, index)
	return eax, ebx, ecx, edx, true
}

// cpu is rumpglue.CPU for one app thread: its registers live in st while
// the kernel runs, and its vCPU is that of the M the thread is locked to.
type cpu struct {
	m     *Machine
	st    *userState
	space *Pager // the thread's process; set on its own goroutine only
	cr3   uint64 // the kernel root in this M's CR3

	tid    atomic.Int32 // the M's thread, as the monitor numbers it
	inUser atomic.Bool  // the thread runs (or is about to run) app code
	kicked atomic.Bool
}

func (c *cpu) Regs() *rumpglue.Regs  { return &c.st.Regs }
func (c *cpu) SetFSBase(base uint64) { c.st.FSBase = base }
func (c *cpu) FSBase() uint64        { return c.st.FSBase }

// SetSpace implements rumpglue.CPU (execve): the new root pair is loaded
// on the way back to user mode.
func (c *cpu) SetSpace(space rumpglue.Space) error {
	p, err := c.m.pagerOf(space)
	if err != nil {
		return err
	}
	p.use()
	c.space.unuse()
	c.space = p
	return nil
}

// Kick implements rumpglue.CPU. A thread in a handler sees the flag before
// it returns to the app; one running app code gets a signal of the kernel's
// own, on which the monitor interrupts its vCPU (boot.KickVector). The flag
// is set before inUser is read, and the loop sets inUser before it reads
// the flag, so one of the two always notices.
func (c *cpu) Kick() {
	c.kicked.Store(true)
	if tid := c.tid.Load(); tid != 0 && c.inUser.Load() {
		_ = unix.Tgkill(c.m.pid, int(tid), unix.SIGURG)
	}
}

// CPUTime is the CPU clock of the M's thread, which the monitor keeps:
// app code and the kernel's handling of its calls both run on it.
func (c *cpu) CPUTime() time.Duration {
	return rumpglue.ThreadCPUTime(c.tid.Load())
}

func (c *cpu) ExtendedState(buf []byte) (int, error) {
	n := c.m.xsaveSize
	if len(buf) < n {
		return 0, errors.New("buffer smaller than the XSAVE image")
	}
	copy(buf, c.st.xsaveArea()[:n])
	return n, nil
}

// SetExtendedState loads an XSAVE image the app may have written (a
// signal frame's): XRSTOR faults in the kernel on a bad one, so it is
// checked as the CPU would check it first.
func (c *cpu) SetExtendedState(buf []byte) error {
	n := c.m.xsaveSize
	if len(buf) < n {
		return errors.New("XSAVE image too short")
	}
	le := binary.LittleEndian
	mxcsr, mask := le.Uint32(buf[24:]), le.Uint32(buf[28:])
	if mask == 0 {
		mask = 0xffbf // the default MXCSR_MASK when the image gives none
	}
	if mxcsr&^mask != 0 {
		return fmt.Errorf("reserved MXCSR bits set (%#x)", mxcsr)
	}
	xstateBV, xcompBV := le.Uint64(buf[512:]), le.Uint64(buf[520:])
	if xstateBV&^xgetbv() != 0 || xcompBV != 0 {
		return fmt.Errorf("XSAVE header names features not enabled (xstate_bv %#x, xcomp_bv %#x)", xstateBV, xcompBV)
	}
	for _, b := range buf[528:576] {
		if b != 0 {
			return errors.New("reserved XSAVE header bytes set")
		}
	}
	copy(c.st.xsaveArea()[:n], buf[:n])
	return nil
}

// loop runs th on this goroutine's M until it ends.
func (c *cpu) loop(th rumpglue.Thread) {
	m := c.m
	defer m.wg.Done()
	defer func() {
		m.mu.Lock()
		delete(m.cpus, c)
		m.mu.Unlock()
		c.space.unuse()
	}()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	// Every M outside this loop has the kernel's own root in CR3, as the
	// monitor starts it: a pair of a later process is loaded when one of
	// its threads runs here (an exit), and the M leaves with the first.
	c.cr3 = m.root
	defer func() {
		if c.cr3 != m.root {
			writeCR3(m.root)
		}
	}()
	c.tid.Store(int32(unix.Gettid()))
	defer c.tid.Store(0)
	// LSTAR is per vCPU: this M's may still be the stub's. It stays set
	// when the M goes back to the runtime, which is harmless, since the
	// entry tells the kernel's own calls from the app's.
	wrmsr(boot.MSR_LSTAR, uint64(syscallEntryAddr()))
	th.Attach(c)
	iret := false
	for {
		var res rumpglue.Resume
		c.inUser.Store(true)
		switch {
		case m.stopped.Load():
			c.inUser.Store(false)
			return
		case c.kicked.Swap(false):
			c.inUser.Store(false)
			res = th.Interrupted(c)
		default:
			if k := c.space.kernelRoot(); k != c.cr3 {
				writeCR3(k)
				c.cr3 = k
			}
			reason := runUser(c.st, iret)
			c.inUser.Store(false)
			if reason == reasonSyscall {
				res = th.Syscall(c)
				break
			}
			if c.st.Vector == boot.KickVector {
				// Let the monitor deliver the kick's signal to this thread
				// now, in a call of the kernel's own, not in the app's time.
				unix.Getpid()
				c.kicked.Store(false)
				res = th.Interrupted(c)
			} else {
				res = th.Fault(c, c.st.Fault)
			}
		}
		if res == rumpglue.Stop {
			return
		}
		// The fast return loads RIP and RFLAGS from RCX and R11, as SYSRET
		// does; anything else (a signal frame, sigreturn, a fault's
		// instruction again) needs every register back.
		r := &c.st.Regs
		iret = r.RIP != r.RCX || r.RFLAGS != r.R11
	}
}

// VDSOFrames are the frames of the kernel's own vDSO, [vvar] and then the
// image's pages (vvarPages + imagePages of them), which the monitor maps
// for it and keeps current: mapped into the app, they give it clocks
// without a call, from the same page the kernel reads. ok is false when
// the kernel has no vDSO (rumpgo run --no-vdso).
func (m *Machine) VDSOFrames(vvarPages, imagePages int) (frames []uint64, ok bool, err error) {
	ehdr, err := auxval(boot.AT_SYSINFO_EHDR)
	if err != nil || ehdr == 0 {
		return nil, false, err
	}
	kpt := boot.PageTableAt(m.user.mem, m.root)
	base := ehdr - uint64(vvarPages)*boot.PageSize
	for i := range vvarPages + imagePages {
		va := base + uint64(i)*boot.PageSize
		f, _, present := boot.PTEProt(kpt.Lookup(va))
		if !present || kpt.Lookup(va)&boot.PTE_P == 0 {
			return nil, false, fmt.Errorf("the kernel's vDSO page %#x is not mapped", va)
		}
		frames = append(frames, f)
	}
	return frames, true, nil
}

// getAuxv is the kernel's auxiliary vector, as the runtime kept it
// (golang.org/x/sys/cpu reads it the same way).
//
//go:linkname getAuxv runtime.getAuxv
func getAuxv() []uintptr

// auxval reads one entry of the kernel's auxiliary vector.
func auxval(typ uint64) (uint64, error) {
	v := getAuxv()
	for i := 0; i+1 < len(v); i += 2 {
		if uint64(v[i]) == typ {
			return uint64(v[i+1]), nil
		}
	}
	return 0, nil
}
