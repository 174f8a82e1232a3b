package kvm

import (
	"errors"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/rumpgo/rumpgo/boot"
	"github.com/rumpgo/rumpgo/rumpglue"
)

// This file is the exit-less syscall path. The stub's syscall entry saves
// the registers in the vCPU's mailbox, numbers the call (Seq) and, while a
// poller is marked in Ctl, spins waiting for an answer. A poller goroutine
// per vCPU runs the call meanwhile and answers Ack (RAX in Ret) — the guest
// never leaves the CPU — or Slow, and the guest exits through MMIO so the
// vCPU's own thread finishes the call. A call nobody answers in time also
// exits; whoever claims a call number first (the poller or the vCPU
// thread, by compare-and-swap on taken) runs it.

// Tuning. A poller spins only while its thread keeps making calls, and no
// more pollers spin at once than leave a host CPU for the vCPUs.
const (
	pollIdle  = 200 * time.Microsecond // a poller parks after this long without a call
	pollYield = 20 * time.Microsecond  // or after this long, if another poller waits to spin
	guestSpin = 20000                  // rounds the guest waits for an answer (~20-60 µs of PAUSE)
)

// spinners bounds the pollers spinning at once across all machines: two
// host CPUs stay for the vCPU threads.
var spinners = make(chan struct{}, max(1, runtime.NumCPU()-2))

// PollByDefault says whether machines poll syscall mailboxes unless told
// otherwise: a spinning poller pays off only with CPUs to spare. On a
// 2-CPU host it makes a lone thread's calls 7× cheaper but handoffs between
// threads slower, as the poller competes with the vCPUs for the CPUs.
var PollByDefault = runtime.NumCPU() >= 4

// awayResult is how the poller handed a call it claimed back to the vCPU
// thread, when the guest is (or will be) waiting in the slow path.
type awayResult struct {
	seq     uint64
	handled bool          // false: the poller declined; the vCPU runs the call
	finish  bool          // handled, but Finish must run on the vCPU
	regs    rumpglue.Regs // the registers the call left (RIP, RFLAGS included)
}

// mailbox is a vCPU's view of its syscall mailbox.
type mailbox struct{ b []byte }

func (m mailbox) word(off int) *uint64 { return (*uint64)(unsafe.Pointer(&m.b[off])) }

func (m mailbox) load(off int) uint64     { return atomic.LoadUint64(m.word(off)) }
func (m mailbox) store(off int, v uint64) { atomic.StoreUint64(m.word(off), v) }

// regs reads the registers the stub saved, completed as SYSRET would leave
// them: RIP from RCX, RFLAGS from R11.
func (m mailbox) regs() rumpglue.Regs {
	var r rumpglue.Regs
	gprs := (*[16]uint64)(unsafe.Pointer(&r))
	for i := range gprs {
		gprs[i] = m.load(boot.MailboxRegs + 8*i)
	}
	r.RIP, r.RFLAGS = r.RCX, r.R11
	return r
}

// awayCPU is the CPU a call running on the poller sees: a copy of the
// registers, and the vCPU for everything else.
type awayCPU struct {
	c    *cpu
	regs rumpglue.Regs
}

func (a *awayCPU) Regs() *rumpglue.Regs   { return &a.regs }
func (a *awayCPU) SetFSBase(base uint64)  { a.c.fsBase = base }
func (a *awayCPU) FSBase() uint64         { return a.c.fsBase }
func (a *awayCPU) Kick()                  { a.c.kick() }
func (a *awayCPU) CPUTime() time.Duration { return a.c.CPUTime() }
func (a *awayCPU) ExtendedState(buf []byte) (int, error) {
	return a.c.ExtendedState(buf)
}
func (a *awayCPU) SetExtendedState(buf []byte) error { return a.c.SetExtendedState(buf) }

// SetSpace is refused away from the vCPU: execve needs its CPU
// (syscalls' needsCPU), so this is never reached.
func (a *awayCPU) SetSpace(rumpglue.Space) error { return errors.New("SetSpace away from the vCPU") }

// poll serves th's calls from the mailbox until stop closes. It spins
// only while it holds a slot of spinners, and gives the slot up while a
// call runs (the call may block) and when it has been idle a while with
// another poller waiting for a slot.
func (c *cpu) poll(th rumpglue.AwayThread, stop <-chan struct{}) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	box := c.box
	for {
		select {
		case <-c.wakePoller:
		case <-stop:
			return
		}
		if !acquireSpinner(stop) {
			return
		}
		box.store(boot.MailboxCtl, boot.MailboxPolling)
		holding, last := true, time.Now()
		for spins := 0; ; spins++ {
			if seq := box.load(boot.MailboxSeq); seq > c.taken.Load() && c.claim(seq) {
				<-spinners
				c.serve(th, seq)
				last = time.Now()
				if holding = tryAcquireSpinner(); !holding {
					break
				}
				continue
			}
			if spins%256 == 0 {
				select {
				case <-stop:
					box.store(boot.MailboxCtl, 0)
					<-spinners
					return
				default:
				}
				idle := time.Since(last)
				if idle > pollIdle || idle > pollYield && spinWaiters.Load() > 0 {
					break
				}
			}
		}
		box.store(boot.MailboxCtl, 0)
		if holding {
			<-spinners
		}
		// A call posted just before the flag dropped is still ours to run.
		if seq := box.load(boot.MailboxSeq); seq > c.taken.Load() && c.claim(seq) {
			c.serve(th, seq)
		}
	}
}

// spinWaiters counts pollers waiting for a spinning slot.
var spinWaiters atomic.Int32

func acquireSpinner(stop <-chan struct{}) bool {
	spinWaiters.Add(1)
	defer spinWaiters.Add(-1)
	select {
	case spinners <- struct{}{}:
		return true
	case <-stop:
		return false
	}
}

func tryAcquireSpinner() bool {
	select {
	case spinners <- struct{}{}:
		return true
	default:
		return false
	}
}

// claim takes call number seq for the calling thread. Numbers only move
// forward: a claimer holding a number read before another thread claimed
// later calls must not take it again.
func (c *cpu) claim(seq uint64) bool {
	old := c.taken.Load()
	return old < seq && c.taken.CompareAndSwap(old, seq)
}

// serve runs call seq on the poller and answers the guest.
func (c *cpu) serve(th rumpglue.AwayThread, seq uint64) {
	box := c.box
	a := &awayCPU{c: c, regs: box.regs()}
	handled, finish := th.SyscallAway(a)
	res := awayResult{seq: seq, handled: handled, finish: finish, regs: a.regs}
	// The result goes to the vCPU thread first: the guest may already be
	// in the slow path, waiting for it there.
	select {
	case <-c.awayDone:
	default:
	}
	c.awayDone <- res
	c.answered.Store(seq)
	if handled && !finish {
		box.store(boot.MailboxRet, a.regs.RAX)
		box.store(boot.MailboxAck, seq)
		return
	}
	box.store(boot.MailboxSlow, seq)
}

// slowSyscall handles the stub's MMIO exit: a call the guest posted and
// nobody answered fast. It returns what the loop should do next.
func (c *cpu) slowSyscall(th rumpglue.Thread) rumpglue.Resume {
	r := c.Regs()
	saved := *r
	r.RIP, r.RFLAGS = r.RCX, r.R11
	at, away := th.(rumpglue.AwayThread)
	if !away {
		return th.Syscall(c)
	}
	// Restart a parked poller: this thread makes calls again.
	select {
	case c.wakePoller <- struct{}{}:
	default:
	}
	seq := c.box.load(boot.MailboxSeq)
	if c.claim(seq) {
		return th.Syscall(c)
	}
	// The poller has this call: wait for its result, unless the call is
	// one the poller already answered and whose result was taken (or
	// there is no poller): then the guest jumped to the stub's store
	// without posting a call, and nothing will ever answer it.
	var res awayResult
	for res.seq != seq {
		select {
		case res = <-c.awayDone:
			continue
		case <-c.m.stopCh:
			return rumpglue.Stop
		default:
		}
		if c.pollerDone == nil || c.answered.Load() >= seq {
			select {
			case res = <-c.awayDone: // sent before answered was set
				continue
			default:
			}
			*r = saved
			return th.Fault(c, rumpglue.Fault{Vector: 13})
		}
		select {
		case res = <-c.awayDone:
		case <-c.m.stopCh:
			return rumpglue.Stop
		case <-time.After(10 * time.Millisecond):
		}
	}
	switch {
	case !res.handled:
		return th.Syscall(c)
	case !res.finish:
		r.RAX = res.regs.RAX
		return rumpglue.Continue
	}
	*r = res.regs
	return at.Finish(c)
}
