package mm

import "golang.org/x/sys/unix"

// This file is an address space's life across processes: shared by a
// vfork child until it execs, copied by fork, and released when the last
// process using it ends or execs.

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
	as.dropPages(0, StackTop+PageSize)
	as.vmas = nil
	as.committed = 0
	as.syncFileRefs()
	as.pager.Retire()
}

// Fork returns a copy of the address space in the page table p, as fork(2)
// makes for the child: private pages are copied now (eagerly: there is no
// copy-on-write yet), shared file mappings and the machine's special
// mappings map the same frames. Anonymous MAP_SHARED memory is copied too,
// so parent and child stop sharing it (a known gap).
func (as *AddressSpace) Fork(p Pager) (*AddressSpace, unix.Errno) {
	as.mu.Lock()
	defer as.mu.Unlock()
	c := New(p, as.limit)
	c.vmas = append([]VMA(nil), as.vmas...)
	c.brkStart, c.brk, c.committed = as.brkStart, as.brk, as.committed
	if as.pinned != nil {
		c.pinned = make(map[uint64]struct{}, len(as.pinned))
		for f := range as.pinned {
			c.pinned[f] = struct{}{}
		}
	}
	c.syncFileRefs()
	fail := func() (*AddressSpace, unix.Errno) {
		c.sharers = 0
		c.mu.Lock()
		defer c.mu.Unlock()
		c.dropPages(0, StackTop+PageSize)
		c.vmas = nil
		c.syncFileRefs()
		p.Retire()
		return nil, unix.ENOMEM
	}
	for _, v := range as.vmas {
		if v.sharedFile() {
			continue // the child faults in the file's own frames
		}
		var err error
		as.pager.Present(v.Start, v.End, func(va, pa uint64, prot int) {
			if err != nil {
				return
			}
			frame := pa
			if !v.Special() {
				if frame, err = p.AllocFrame(); err != nil {
					return
				}
				copy(p.Bytes(frame, PageSize), as.pager.Bytes(pa, PageSize))
			}
			mapProt := prot
			if prot == unix.PROT_NONE {
				mapProt = unix.PROT_READ
			}
			if err = p.MapPage(va, frame, mapProt); err != nil {
				if frame != pa {
					p.FreeFrames([]uint64{frame})
				}
				return
			}
			if prot == unix.PROT_NONE {
				p.ProtectRange(va, va+PageSize, unix.PROT_NONE)
			}
		})
		if err != nil {
			return fail()
		}
	}
	return c, 0
}
