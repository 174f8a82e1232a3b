package mm

import (
	"sync"

	"golang.org/x/sys/unix"
)

// This file is an address space's life across processes: shared by a
// vfork child until it execs, copied by fork with copy-on-write, and
// released when the last process using it ends or execs.

// cowFrames counts the address spaces beyond the first that map each
// private frame a fork left shared: such a frame is mapped read-only
// everywhere, and the first write to it makes a copy (breakCOW). Every
// address space forked from one another shares one table.
type cowFrames struct {
	mu    sync.Mutex
	extra map[uint64]int // absent: one owner
}

func (c *cowFrames) shared(pa uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.extra[pa] > 0
}

// put drops one owner of each frame and returns the frames nobody maps
// any more.
func (c *cowFrames) put(frames []uint64) []uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	free := frames[:0:0]
	for _, f := range frames {
		if n := c.extra[f]; n > 0 {
			if n == 1 {
				delete(c.extra, f)
			} else {
				c.extra[f] = n - 1
			}
			continue
		}
		free = append(free, f)
	}
	return free
}

// freeFrames gives back private frames the address space no longer maps;
// frames another address space still maps after a fork stay.
func (as *AddressSpace) freeFrames(frames []uint64) {
	if free := as.cow.put(frames); len(free) > 0 {
		as.pager.FreeFrames(free)
	}
}

// Share counts one more process using the address space (clone with
// CLONE_VM and without CLONE_THREAD: vfork, posix_spawn). Each user calls
// Release.
func (as *AddressSpace) Share() {
	as.mu.Lock()
	as.sharers++
	as.mu.Unlock()
}

// Release drops one user; the last one unmaps everything, frees the
// frames, drops the mapped files and retires the page table.
func (as *AddressSpace) Release() {
	as.mu.Lock()
	defer as.mu.Unlock()
	if as.sharers > 0 {
		as.sharers--
		return
	}
	as.teardown()
}

// teardown unmaps everything, frees the frames, drops the mapped files
// and retires the page table (as.mu held, or as not yet shared).
func (as *AddressSpace) teardown() {
	as.dropPages(0, StackTop+PageSize)
	as.vmas = nil
	as.committed = 0
	as.syncFileRefs()
	as.pager.Retire()
}

// Fork returns a copy of the address space in the page table p, as fork(2)
// makes for the child. Private pages are shared copy-on-write: both sides
// map them read-only until one writes. Shared mappings, of files and
// anonymous (shmem.go), map the same frames, as do the machine's special
// mappings.
func (as *AddressSpace) Fork(p Pager) (*AddressSpace, unix.Errno) {
	as.mu.Lock()
	defer as.mu.Unlock()
	c := New(p, as.limit)
	c.cow = as.cow
	c.brkStart, c.brk, c.committed = as.brkStart, as.brk, as.committed
	for _, v := range as.vmas {
		if v.dontFork {
			c.committed -= as.commitOf(v.Start, v.End) // MADV_DONTFORK: not the child's
			continue
		}
		v.Locked = false // a child inherits no memory locks
		c.vmas = append(c.vmas, v)
	}
	if as.pinned != nil {
		c.pinned = make(map[uint64]struct{}, len(as.pinned))
		for f := range as.pinned {
			c.pinned[f] = struct{}{}
		}
	}
	c.syncFileRefs()
	type page struct {
		va, pa uint64
		prot   int
	}
	var pages []page
	for _, v := range as.vmas {
		if v.sharedFile() || v.dontFork || v.wipeOnFork {
			continue // the child faults in the file's own frames, or none, or zeros
		}
		as.pager.Present(v.Start, v.End, func(va, pa uint64, prot int) {
			pages = append(pages, page{va, pa, prot})
		})
	}
	as.cow.mu.Lock()
	for _, pg := range pages {
		if _, pinned := as.pinned[pg.pa]; !pinned {
			as.cow.extra[pg.pa]++
		}
	}
	as.cow.mu.Unlock()
	downgraded := false
	for i, pg := range pages {
		ro := pg.prot &^ unix.PROT_WRITE
		if pg.prot&unix.PROT_WRITE != 0 {
			as.pager.ProtectRange(pg.va, pg.va+PageSize, ro)
			downgraded = true
		}
		var err error
		if ro == unix.PROT_NONE {
			// A PROT_NONE page keeps its frame in a not-present entry.
			if err = p.MapPage(pg.va, pg.pa, unix.PROT_READ); err == nil {
				p.ProtectRange(pg.va, pg.va+PageSize, unix.PROT_NONE)
			}
		} else {
			err = p.MapPage(pg.va, pg.pa, ro)
		}
		if err != nil {
			// No frame for a page table: give back the references the
			// child would have held, then drop what it mapped.
			var rest []uint64
			for _, q := range pages[i:] {
				if _, pinned := as.pinned[q.pa]; !pinned {
					rest = append(rest, q.pa)
				}
			}
			as.cow.put(rest)
			if downgraded {
				as.pager.Shootdown()
			}
			c.teardown()
			return nil, unix.ENOMEM
		}
	}
	if downgraded {
		as.pager.Shootdown()
	}
	return c, 0
}

// breakCOW gives the address space its own copy of the shared private
// frame pa mapped read-only at va, in a VMA that allows writing, and maps
// it with the VMA's protection. A frame no one else maps any more is just
// made writable. as.mu is held for writing.
func (as *AddressSpace) breakCOW(v VMA, va, pa uint64) FaultResult {
	va = pageDown(va)
	if !as.cow.shared(pa) {
		if err := as.pager.MapPage(va, pa, v.Prot); err != nil {
			return FaultOOM
		}
		return FaultHandled
	}
	f, err := as.pager.AllocFrame()
	if err != nil {
		return FaultOOM
	}
	copy(as.pager.Bytes(f, PageSize), as.pager.Bytes(pa, PageSize))
	// The old frame stays mapped elsewhere: this table's translation of it
	// must go before the new one is used.
	as.pager.UnmapRange(va, va+PageSize, func(uint64, uint64) {})
	as.pager.Shootdown()
	if err := as.pager.MapPage(va, f, v.Prot); err != nil {
		as.pager.FreeFrames([]uint64{f})
		return FaultOOM
	}
	as.freeFrames([]uint64{pa})
	return FaultHandled
}

// keepCOWReadOnly takes write access back from pages of [start, end) whose
// frames a fork left shared, after a change of protection or a move gave
// it to them; the caller shoots down.
func (as *AddressSpace) keepCOWReadOnly(start, end uint64) {
	as.cow.mu.Lock()
	none := len(as.cow.extra) == 0
	as.cow.mu.Unlock()
	if none {
		return
	}
	as.pager.Present(start, end, func(va, pa uint64, prot int) {
		if prot&unix.PROT_WRITE != 0 && as.cow.shared(pa) {
			as.pager.ProtectRange(va, va+PageSize, prot&^unix.PROT_WRITE)
		}
	})
}
