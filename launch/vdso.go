package launch

import (
	"fmt"

	"github.com/rumpgo/rumpgo/libc/vdso"
	"github.com/rumpgo/rumpgo/posix/mm"
	"github.com/rumpgo/rumpgo/rumpglue"
	"golang.org/x/sys/unix"
)

// guestVDSO is the vDSO mapped into a guest and the clock that keeps its
// data page current; a vDSO shared with the guest kernel (sharedVDSO) has
// none: the monitor keeps that page.
type guestVDSO struct {
	ehdr   uint64 // AT_SYSINFO_EHDR: where the image starts
	clock  *vdso.Clock
	frames []uint64 // [vvar]'s, then [vdso]'s: shared by every process
}

// vdsoBase is where [vvar] starts; [vdso] follows it. Both sit just below
// the top-down mmap area, where Linux puts them when ASLR is off.
func vdsoBase() uint64 {
	return mm.MmapBase - vdso.VvarSize - uint64(vdso.ImagePages())*mm.PageSize
}

// mapVDSO copies the image into frames of its own, maps them and the data
// page as [vvar] and [vdso], and publishes the host's clocks once.
func mapVDSO(as *mm.AddressSpace, p mm.Pager) (*guestVDSO, error) {
	frames := make([]uint64, 1+vdso.ImagePages())
	for i := range frames {
		f, err := p.AllocFrame()
		if err != nil {
			return nil, fmt.Errorf("vDSO frames: %w", err)
		}
		frames[i] = f
	}
	img := vdso.Image()
	for i, f := range frames[1:] {
		copy(p.Bytes(f, mm.PageSize), img[min(i*mm.PageSize, len(img)):])
	}
	g := &guestVDSO{ehdr: vdsoBase() + vdso.VvarSize, clock: vdso.NewClock(p.Bytes(frames[0], mm.PageSize)), frames: frames}
	return g, g.mapInto(as)
}

// sharedVDSO maps frames that already hold a vDSO and its data page,
// the guest kernel's own (kernel.Machine.VDSOFrames).
func sharedVDSO(as *mm.AddressSpace, frames []uint64) (*guestVDSO, error) {
	g := &guestVDSO{ehdr: vdsoBase() + vdso.VvarSize, frames: frames}
	return g, g.mapInto(as)
}

// mapInto maps [vvar] and [vdso] into an address space (each process's).
func (g *guestVDSO) mapInto(as *mm.AddressSpace) error {
	base := vdsoBase()
	if e := as.MapSpecial(base, g.frames[:1], unix.PROT_READ, "[vvar]"); e != 0 {
		return fmt.Errorf("mapping [vvar]: %v", e)
	}
	if e := as.MapSpecial(base+vdso.VvarSize, g.frames[1:], unix.PROT_READ|unix.PROT_EXEC, "[vdso]"); e != 0 {
		return fmt.Errorf("mapping [vdso]: %v", e)
	}
	return nil
}

// machine wraps m so that every guest thread, the ones clone starts too,
// refreshes the clocks before it resumes from an exit.
func (g *guestVDSO) machine(m rumpglue.Machine) rumpglue.Machine {
	if g == nil || g.clock == nil {
		return m
	}
	return clockedMachine{m, g.clock}
}

type clockedMachine struct {
	rumpglue.Machine
	clock *vdso.Clock
}

func (m clockedMachine) Start(th rumpglue.Thread, space rumpglue.Space, regs rumpglue.Regs, fsBase uint64) error {
	if at, ok := th.(rumpglue.AwayThread); ok {
		return m.Machine.Start(clockedAwayThread{clockedThread{th, m.clock}, at}, space, regs, fsBase)
	}
	return m.Machine.Start(clockedThread{th, m.clock}, space, regs, fsBase)
}

// clockedThread refreshes the data page after each exit it handles: a
// thread that slept or asked the kernel for the time must not then read an
// older time from the page. The refresh costs a few hundred nanoseconds
// against the tens of microseconds of the exit.
type clockedThread struct {
	rumpglue.Thread
	clock *vdso.Clock
}

func (t clockedThread) refresh(r rumpglue.Resume) rumpglue.Resume {
	if r == rumpglue.Continue {
		t.clock.Refresh()
	}
	return r
}

func (t clockedThread) Syscall(cpu rumpglue.CPU) rumpglue.Resume {
	return t.refresh(t.Thread.Syscall(cpu))
}

func (t clockedThread) Interrupted(cpu rumpglue.CPU) rumpglue.Resume {
	return t.refresh(t.Thread.Interrupted(cpu))
}

func (t clockedThread) Fault(cpu rumpglue.CPU, f rumpglue.Fault) rumpglue.Resume {
	return t.refresh(t.Thread.Fault(cpu, f))
}

// clockedAwayThread is a clockedThread whose calls may also run on the
// machine's poller (rumpglue.AwayThread); a call answered there returns to
// the guest with no exit, so the page is refreshed before the answer.
type clockedAwayThread struct {
	clockedThread
	away rumpglue.AwayThread
}

func (t clockedAwayThread) SyscallAway(cpu rumpglue.CPU) (handled, finish bool) {
	handled, finish = t.away.SyscallAway(cpu)
	if handled {
		t.clock.Refresh()
	}
	return handled, finish
}

func (t clockedAwayThread) Finish(cpu rumpglue.CPU) rumpglue.Resume {
	return t.refresh(t.away.Finish(cpu))
}
