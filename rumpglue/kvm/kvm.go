// Package kvm runs rumpglue threads on /dev/kvm: one vCPU and one locked OS
// thread per guest thread. Its loop turns port-I/O exits from the stub into
// syscalls, exceptions into faults, and keeps every vCPU's TLB in step with
// the page tables the host writes.
package kvm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/rumpgo/rumpgo/boot"
	"github.com/rumpgo/rumpgo/rumpglue"
	"golang.org/x/sys/unix"
)

// Regs must be struct kvm_regs so the synced area can be handed out as is.
var _ [unsafe.Sizeof(boot.Regs{}) - unsafe.Sizeof(rumpglue.Regs{})]struct{}

// Machine is a boot.Machine running threads, each in one of its address
// spaces (page tables).
type Machine struct {
	M *boot.Machine

	stopped  atomic.Bool
	stopOnce sync.Once
	stopCh   chan struct{} // closed by Stop

	pager   *Pager            // the first address space's table
	tables  []*boot.PageTable // retired tables, for NewSpace (guarded by mu)
	pollers sync.WaitGroup    // away.go's poller goroutines
	kickMu  sync.RWMutex      // kicks hold it for reading; Close for writing
	closed  bool

	// Poll runs threads' syscalls from their mailboxes on poller threads,
	// with no VM exit (away.go); set it before the first Start.
	Poll bool

	mu    sync.Mutex
	cpus  []*cpu
	idle  []*cpu
	limit int
	wg    sync.WaitGroup
}

// New creates a machine with memBytes of RAM, a first page table with the
// kernel window mapped (Pager), and room for at most maxThreads vCPUs.
// With supervisor set, threads run at CPL 0 (boot.Machine.EnableSupervisor).
func New(memBytes uint64, maxThreads int, supervisor bool) (*Machine, error) {
	bm, err := boot.NewMachine(memBytes)
	if err != nil {
		return nil, err
	}
	if supervisor {
		if err := bm.EnableSupervisor(); err != nil {
			bm.Close()
			return nil, err
		}
	}
	pt, err := boot.NewPageTable(bm.Mem)
	if err == nil {
		err = bm.MapKernel(pt)
	}
	if err != nil {
		bm.Close()
		return nil, err
	}
	limit := bm.MaxVCPUs()
	if maxThreads > 0 && maxThreads < limit {
		limit = maxThreads
	}
	m := &Machine{M: bm, limit: limit, stopCh: make(chan struct{}), Poll: PollByDefault}
	m.pager = &Pager{m: m, pt: pt}
	return m, nil
}

// Root is the first address space's page-table root (the guest kernel's).
func (m *Machine) Root() uint64 { return m.pager.pt.Root }

// Close releases the VM. Call after Stop. Guest memory stays mapped if a
// thread is still inside a host call after a grace period (a read of a
// terminal cannot be interrupted): unmapping it under that thread would
// crash the monitor, and the process is ending anyway.
func (m *Machine) Close() {
	done := make(chan struct{})
	go func() {
		m.wg.Wait()
		m.pollers.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		return
	}
	// Kicks write the vCPUs' kvm_run pages: none may run once they go.
	m.kickMu.Lock()
	m.closed = true
	m.kickMu.Unlock()
	m.M.Close()
}

type cpu struct {
	m  *Machine
	v  *boot.VCPU
	id int

	tid     atomic.Int32 // host thread running it, for kicks
	inGuest atomic.Bool

	fsBase, curFS uint64
	space         *Pager // the address space the thread runs in

	// The exit-less syscall path (away.go).
	box        mailbox
	taken      atomic.Uint64   // the last call number claimed
	answered   atomic.Uint64   // the last call number the poller answered
	wakePoller chan struct{}   // the vCPU thread made a slow call: poll again
	awayDone   chan awayResult // calls the poller claimed, for the slow path
	stopped    chan struct{}   // closed when the thread's loop ends
	pollerDone chan struct{}   // closed when its poller has returned
}

func (c *cpu) Regs() *rumpglue.Regs  { return (*rumpglue.Regs)(unsafe.Pointer(c.v.Regs())) }
func (c *cpu) SetFSBase(base uint64) { c.fsBase = base }
func (c *cpu) FSBase() uint64        { return c.fsBase }
func (c *cpu) Kick()                 { c.kick() }

// SetSpace implements rumpglue.CPU: execve moves the thread to a new
// address space. KVM_SET_SREGS is slow on PVM, but it happens once per exec.
func (c *cpu) SetSpace(space rumpglue.Space) error {
	p, err := c.m.pagerOf(space)
	if err != nil {
		return err
	}
	var s boot.Sregs
	if err := c.v.GetSregs(&s); err != nil {
		return err
	}
	s.CR3 = p.pt.Root
	s.FS.Base = c.fsBase
	if err := c.v.SetSregs(&s); err != nil {
		return err
	}
	c.curFS = c.fsBase
	p.use()
	c.space.unuse()
	c.space = p
	return nil
}

// CPUTime reads the CPU clock of the host thread that runs this vCPU:
// guest execution and syscall handling are both charged to it.
func (c *cpu) CPUTime() time.Duration {
	return rumpglue.ThreadCPUTime(c.tid.Load())
}

func (c *cpu) ExtendedState(buf []byte) (int, error) {
	_, size, _, _, ok := c.m.M.CPUID(0xd, 0)
	if !ok || size < 576 || size > boot.XsaveSize {
		size = 576 // legacy area and XSAVE header: x87 and SSE only
	}
	return int(size), c.v.GetXsave((*[boot.XsaveSize]byte)(buf))
}

func (c *cpu) SetExtendedState(buf []byte) error {
	return c.v.SetXsave((*[boot.XsaveSize]byte)(buf))
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
	c, err := m.getCPU()
	if err != nil {
		return err
	}
	var s boot.Sregs
	if err := c.v.GetSregs(&s); err != nil {
		m.putCPU(c)
		return err
	}
	s.FS.Base = fsBase
	s.CR3 = p.pt.Root
	if m.M.Supervisor() {
		boot.KernelSegments(&s)
	} else {
		boot.UserSegments(&s)
	}
	if err := c.v.SetSregs(&s); err != nil {
		m.putCPU(c)
		return err
	}
	c.fsBase, c.curFS = fsBase, fsBase
	p.use()
	c.space = p
	*c.Regs() = regs
	c.v.MarkRegsDirty()
	c.stopped, c.pollerDone = make(chan struct{}), nil
	if at, ok := th.(rumpglue.AwayThread); ok && m.Poll {
		c.pollerDone = make(chan struct{})
		c.wakePoller <- struct{}{} // a new thread polls from the start
		m.pollers.Add(1)
		go func(stopped chan struct{}, done chan struct{}) {
			defer m.pollers.Done()
			defer close(done)
			c.poll(at, stopped)
		}(c.stopped, c.pollerDone)
	}
	m.wg.Add(1)
	go c.loop(th)
	return nil
}

func (m *Machine) getCPU() (*cpu, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n := len(m.idle); n > 0 {
		c := m.idle[n-1]
		m.idle = m.idle[:n-1]
		return c, nil
	}
	if len(m.cpus) >= m.limit {
		return nil, rumpglue.ErrThreadLimit
	}
	v, err := m.M.NewVCPU(m.pager.pt.Root)
	if err != nil {
		return nil, err
	}
	c := &cpu{m: m, v: v, id: v.ID, box: mailbox{v.Mailbox()},
		wakePoller: make(chan struct{}, 1), awayDone: make(chan awayResult, 1)}
	c.box.store(boot.MailboxSpin, guestSpin)
	m.cpus = append(m.cpus, c)
	return c, nil
}

func (m *Machine) putCPU(c *cpu) {
	m.mu.Lock()
	m.idle = append(m.idle, c)
	m.mu.Unlock()
}

// kick makes c leave the guest soon: immediate_exit covers a vCPU about to
// enter, the signal one already inside (KVM_RUN returns EINTR). The Go
// runtime handles SIGURG on every thread, so the signal is harmless.
func (c *cpu) kick() {
	c.m.kickMu.RLock()
	defer c.m.kickMu.RUnlock()
	if c.m.closed {
		return // a late timer or signal sender: the machine is gone
	}
	c.v.Run.ImmediateExit = 1
	if tid := c.tid.Load(); tid != 0 {
		_ = unix.Tgkill(unix.Getpid(), int(tid), unix.SIGURG)
	}
}

// Stop implements rumpglue.Machine.
func (m *Machine) Stop() {
	m.stopped.Store(true)
	m.stopOnce.Do(func() { close(m.stopCh) })
	m.kickAll()
}

func (m *Machine) kickAll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.cpus {
		if c.inGuest.Load() {
			c.kick()
		}
	}
}

// Wait returns once Stop was called and every vCPU has left the guest.
func (m *Machine) Wait() {
	done := make(chan struct{})
	go func() { m.wg.Wait(); close(done) }()
	for {
		if m.stopped.Load() {
			m.kickAll()
		}
		select {
		case <-done:
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Stopped reports whether Stop was called.
func (m *Machine) Stopped() bool { return m.stopped.Load() }

func (c *cpu) loop(th rumpglue.Thread) {
	m := c.m
	defer m.wg.Done()
	defer func() {
		c.endPoller()
		c.space.unuse()
		c.space = nil
		m.putCPU(c)
	}()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c.tid.Store(int32(unix.Gettid()))
	defer c.tid.Store(0)
	v := c.v
	th.Attach(c)
	for {
		c.inGuest.Store(true)
		if m.stopped.Load() {
			c.inGuest.Store(false)
			return
		}
		err := v.Enter()
		c.inGuest.Store(false)
		v.Run.ImmediateExit = 0
		if err == unix.EINTR || err == unix.EAGAIN {
			// A kick: asynchronous signals are taken here, but only at a user
			// instruction.
			if c.inUser() {
				// The guest kernel runs its app, whose registers these are:
				// an interrupt brings the vCPU into the kernel, which then
				// makes a call of its own, where signals are delivered.
				c.interruptUser()
				continue
			}
			if c.Regs().RIP < boot.KernelBase {
				if th.Interrupted(c) == rumpglue.Stop {
					return
				}
				v.MarkRegsDirty()
			} else if !m.stopped.Load() {
				// In the stub, maybe spinning on an exit-less call that
				// returns without an exit: kick again once it is out.
				time.AfterFunc(100*time.Microsecond, c.kick)
			}
			continue
		}
		if err != nil {
			th.Crash(c, fmt.Errorf("KVM_RUN: %w", err))
			return
		}
		if c.exit(th) == rumpglue.Stop {
			return
		}
	}
}

// inUser reports whether the guest kernel runs its app on this vCPU
// (boot.MailboxInUser): the registers KVM shows are then the app's.
func (c *cpu) inUser() bool {
	return c.m.M.Supervisor() && c.box.load(boot.MailboxInUser)&0xff != 0
}

// interruptUser injects boot.KickVector, or asks KVM to exit as soon as
// the vCPU can take it.
func (c *cpu) interruptUser() {
	v := c.v
	v.Run.RequestInterruptWindow = 0
	if v.Run.ReadyForInjection == 0 || v.Interrupt(boot.KickVector) != nil {
		v.Run.RequestInterruptWindow = 1
	}
}

// exit handles one VM exit.
func (c *cpu) exit(th rumpglue.Thread) rumpglue.Resume {
	v := c.v
	r := c.Regs()
	switch v.Run.ExitReason {
	case boot.KVM_EXIT_MMIO:
		mmio := v.Run.MMIO()
		if mmio.PhysAddr != boot.MMIOSyscall || mmio.IsWrite == 0 || !boot.StubStore(r.RIP) {
			return c.mmioFault(th)
		}
		// KVM has finished the stub's store (an MMIO write completes before
		// the exit), so the thread resumes straight at the state after
		// SYSRET: RIP=RCX, RFLAGS=R11, or wherever a handler redirects it.
		if c.hypercall() {
			return rumpglue.Continue
		}
		res := c.slowSyscall(th)
		v.MarkRegsDirty()
		if res == rumpglue.Continue {
			c.applyFS()
		}
		return res
	case boot.KVM_EXIT_IO:
		io := v.Run.IO()
		if port := int(io.Port); port >= boot.PortException && port < boot.PortException+32 {
			vec := port - boot.PortException
			f := v.ExceptionFrame(vec)
			if f.CS&3 == 3 && c.m.M.Supervisor() {
				// The guest kernel's app faulted before the kernel had
				// installed its own vectors (kernel.installVectors).
				th.Crash(c, fmt.Errorf("the guest kernel's app took exception %d at rip %#x (address %#x) before the kernel could take it", vec, f.RIP, f.CR2))
				return rumpglue.Stop
			}
			r.RIP, r.RSP, r.RFLAGS, r.RAX = f.RIP, f.RSP, f.RFLAGS, f.RAX
			v.MarkRegsDirty()
			res := th.Fault(c, rumpglue.Fault{Vector: vec, ErrorCode: f.ErrorCode, Addr: f.CR2})
			if res == rumpglue.Continue {
				// The stub took the exception at CPL 0; KVM's emulator has
				// no IRETQ, so the monitor puts the thread back in user mode
				// (in supervisor mode it stays at CPL 0).
				if !c.m.M.Supervisor() {
					if err := v.ReturnToUser(); err != nil {
						th.Crash(c, err)
						return rumpglue.Stop
					}
				}
				c.applyFS()
			}
			return res
		}
		th.Crash(c, fmt.Errorf("unexpected port I/O exit on port %#x at rip %#x", io.Port, r.RIP))
		return rumpglue.Stop
	case boot.KVM_EXIT_HLT:
		// HLT is privileged on Linux: the app gets what a user-mode HLT gets.
		return th.Fault(c, rumpglue.Fault{Vector: 13})
	case boot.KVM_EXIT_SHUTDOWN:
		th.Crash(c, fmt.Errorf("triple fault at rip %#x rsp %#x", r.RIP, r.RSP))
	case boot.KVM_EXIT_INTR:
		return rumpglue.Continue
	case boot.KVM_EXIT_IRQ_WINDOW_OPEN:
		c.interruptUser()
		return rumpglue.Continue
	case boot.KVM_EXIT_INTERNAL_ERROR:
		th.Crash(c, internalError(v, r.RIP))
	default:
		th.Crash(c, fmt.Errorf("unexpected KVM exit %d at rip %#x", v.Run.ExitReason, r.RIP))
	}
	return rumpglue.Stop
}

// mmioFault turns an access to the MMIO page that is not the stub's
// syscall store (a program poking the machine's window) into the page
// fault Linux would give for an address where nothing is mapped. KVM
// completes the access first (a load reads zero), with no guest code run,
// so RIP is already past the instruction.
func (c *cpu) mmioFault(th rumpglue.Thread) rumpglue.Resume {
	v := c.v
	mmio := v.Run.MMIO()
	va, ok := boot.MMIOAccess(mmio.PhysAddr)
	if !ok {
		th.Crash(c, fmt.Errorf("guest touched unbacked memory at guest-physical %#x (rip %#x)", mmio.PhysAddr, c.Regs().RIP))
		return rumpglue.Stop
	}
	const pfUser, pfWrite = 1 << 2, 1 << 1
	code := uint64(pfUser)
	if mmio.IsWrite != 0 {
		code |= pfWrite
	} else {
		mmio.Data = [8]byte{}
	}
	v.Run.ImmediateExit = 1
	err := v.Enter()
	v.Run.ImmediateExit = 0
	if err != nil && err != unix.EINTR && err != unix.EAGAIN {
		th.Crash(c, fmt.Errorf("KVM_RUN completing an MMIO access: %w", err))
		return rumpglue.Stop
	}
	res := th.Fault(c, rumpglue.Fault{Vector: 14, ErrorCode: code, Addr: va})
	v.MarkRegsDirty()
	if res == rumpglue.Continue {
		c.applyFS()
	}
	return res
}

// endPoller stops the thread's poller. When the thread itself ended, the
// vCPU will serve another, so the poller must be gone first; when the whole
// machine stops, a poller blocked in a host call is not waited for.
func (c *cpu) endPoller() {
	close(c.stopped)
	if c.pollerDone != nil && !c.m.stopped.Load() {
		<-c.pollerDone
	}
	select {
	case <-c.wakePoller:
	default:
	}
	select {
	case <-c.awayDone:
	default:
	}
}

// applyFS loads a changed FS base. KVM_SET_SREGS is slow on PVM, but a
// thread sets its FS base once.
func (c *cpu) applyFS() {
	if c.fsBase == c.curFS {
		return
	}
	var s boot.Sregs
	if err := c.v.GetSregs(&s); err == nil {
		s.FS.Base = c.fsBase
		if c.v.SetSregs(&s) == nil {
			c.curFS = c.fsBase
		}
	}
}

// internalError explains KVM_EXIT_INTERNAL_ERROR. Suberror 1 is an
// instruction KVM's emulator could not execute: on a PVM host that means the
// vCPU never left PVM's emulated non-PVM mode (see the note in README).
func internalError(v *boot.VCPU, rip uint64) error {
	d := v.Run.ExitData()
	sub := binary.LittleEndian.Uint32(d[0:])
	if sub == 1 {
		n := int(binary.LittleEndian.Uint32(d[4:]))
		var insn []byte
		if n >= 3 {
			// data[1] holds the instruction length, data[2..] its bytes.
			l := min(int(d[16]), 15)
			insn = d[24 : 24+l]
		}
		return fmt.Errorf("KVM could not emulate the instruction at rip %#x (% x): the host runs this vCPU in its instruction emulator", rip, insn)
	}
	return fmt.Errorf("KVM internal error %d at rip %#x", sub, rip)
}
