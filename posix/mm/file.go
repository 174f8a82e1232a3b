package mm

import (
	"sort"

	"golang.org/x/sys/unix"
)

// Frames is guest-physical memory as a file sees it when its pages are
// mapped shared: the file keeps such pages in guest frames, so every
// mapping and every read and write of the file see the same bytes.
type Frames interface {
	// AllocFrame returns a zeroed guest-physical frame.
	AllocFrame() (uint64, error)
	// FreeFrames returns frames no mapping uses any more.
	FreeFrames(frames []uint64)
	// Bytes is the host view of guest-physical [pa, pa+n), within one frame.
	Bytes(pa, n uint64) []byte
}

// File is what a file mapping maps: a file system's open file, seen from
// the address space. The VFS's regular files implement it.
type File interface {
	// MapRef and MapUnref count the address spaces mapping the file; the
	// file keeps its pages (and frames) while any does.
	MapRef()
	MapUnref()
	// ReadPage copies page pgoff into dst (PageSize bytes) for a private
	// mapping; bytes past the end of file read as zero. It reports false
	// when the page lies wholly past the end (the access is SIGBUS).
	ReadPage(pgoff uint64, dst []byte) bool
	// SharedPage returns the guest frame holding page pgoff for a shared
	// mapping, moving the page into guest memory through fr first if it
	// is not there yet. ok is false when the page lies wholly past the
	// end of file; err when no frame is left.
	SharedPage(fr Frames, pgoff uint64) (pa uint64, ok bool, err error)
	// Sync writes the shared pages of [off, off+n) back to the file's
	// storage (msync); files whose pages are the frames themselves (tmpfs)
	// have nothing to do.
	Sync(off, n uint64) unix.Errno
	// Identity for /proc/self/maps: device, inode number and path.
	MapInfo() (dev, ino uint64, name string)
}

// MmapFile maps length bytes of file from offset off (page-aligned) as
// mmap(2) does. A private mapping's pages are copies of the file's, made
// when first touched; a shared mapping maps the file's own pages, so
// writes reach the file and every other mapping. noWrite marks a shared
// mapping of a file opened read-only: mprotect may not make it writable.
// Pages wholly past the end of file fault with SIGBUS.
func (as *AddressSpace) MmapFile(addr, length uint64, prot, flags int, file File, off uint64, noWrite bool) (uint64, unix.Errno) {
	if off%PageSize != 0 {
		return 0, unix.EINVAL
	}
	if off+pageUp(length) < off {
		return 0, unix.EOVERFLOW
	}
	return as.mmap(addr, length, prot, flags, file, off, noWrite && flags&unix.MAP_SHARED != 0)
}

// faultFile brings in the pages of a file mapping around addr (as.mu
// held for writing): the file's frames for a shared mapping, fresh copies
// for a private one.
func (as *AddressSpace) faultFile(v VMA, addr uint64) FaultResult {
	block := pageDown(addr) &^ (faultAround*PageSize - 1)
	start, end := max(block, v.Start), min(block+faultAround*PageSize, v.End)
	shared := v.Flags&unix.MAP_SHARED != 0
	for va := start; va < end; va += PageSize {
		if _, _, ok := as.pager.Translate(va); ok {
			continue
		}
		pgoff := (v.Off + va - v.Start) / PageSize
		var pa uint64
		if shared {
			p, ok, err := v.File.SharedPage(as.pager, pgoff)
			switch {
			case !ok && va <= addr && addr < va+PageSize:
				return FaultBeyondEOF
			case !ok:
				end = va // nothing past the end of file
				continue
			case err != nil:
				if va <= addr {
					return FaultOOM
				}
				end = va
				continue
			}
			pa = p
		} else {
			f, err := as.pager.AllocFrame()
			if err != nil {
				if va <= addr {
					return FaultOOM
				}
				break
			}
			if !v.File.ReadPage(pgoff, as.pager.Bytes(f, PageSize)) {
				as.pager.FreeFrames([]uint64{f})
				if va <= addr && addr < va+PageSize {
					return FaultBeyondEOF
				}
				break
			}
			pa = f
		}
		if err := as.pager.MapPage(va, pa, v.Prot); err != nil {
			if !shared {
				as.pager.FreeFrames([]uint64{pa})
			}
			return FaultOOM
		}
	}
	if _, _, ok := as.pager.Translate(addr); !ok {
		return FaultOOM
	}
	return FaultHandled
}

// syncFileRefs takes a MapRef on every file a VMA now maps and drops the
// ones no VMA maps any more (as.mu held for writing).
func (as *AddressSpace) syncFileRefs() {
	if len(as.files) == 0 {
		found := false
		for _, v := range as.vmas {
			if v.File != nil {
				found = true
				break
			}
		}
		if !found {
			return
		}
	}
	now := map[File]struct{}{}
	for _, v := range as.vmas {
		if v.File != nil {
			now[v.File] = struct{}{}
		}
	}
	for f := range now {
		if _, ok := as.files[f]; !ok {
			f.MapRef()
		}
	}
	for f := range as.files {
		if _, ok := now[f]; !ok {
			f.MapUnref()
		}
	}
	as.files = now
}

type span struct{ start, end uint64 }

// sharedFileRanges are the parts of [start, end) that shared file
// mappings cover: their frames belong to the file.
func (as *AddressSpace) sharedFileRanges(start, end uint64) []span {
	var out []span
	for _, v := range as.vmas {
		if v.sharedFile() && v.End > start && v.Start < end {
			out = append(out, span{max(v.Start, start), min(v.End, end)})
		}
	}
	return out
}

func (as *AddressSpace) sharedFileBytes(start, end uint64) uint64 {
	var n uint64
	for _, s := range as.sharedFileRanges(start, end) {
		n += s.end - s.start
	}
	return n
}

func inRanges(r []span, va uint64) bool {
	for _, s := range r {
		if va >= s.start && va < s.end {
			return true
		}
	}
	return false
}

// Msync is msync(2): the range must be mapped (ENOMEM); shared file
// mappings in it write back through their file.
func (as *AddressSpace) Msync(addr, length uint64, flags int) unix.Errno {
	const msAsync, msInvalidate, msSync = 1, 2, 4
	if flags&^(msAsync|msInvalidate|msSync) != 0 || flags&(msAsync|msSync) == msAsync|msSync {
		return unix.EINVAL
	}
	start, end, e := rangeArgs(addr, length)
	if e != 0 {
		return e
	}
	as.mu.RLock()
	var todo []VMA
	unmapped := false
	for a := start; a < end; {
		i := as.find(a)
		if i < 0 {
			unmapped = true
			// Linux syncs what is mapped and then reports ENOMEM.
			j := sort.Search(len(as.vmas), func(j int) bool { return as.vmas[j].Start > a })
			if j == len(as.vmas) {
				break
			}
			a = as.vmas[j].Start
			continue
		}
		v := as.vmas[i]
		if flags&msInvalidate != 0 && v.Locked {
			as.mu.RUnlock()
			return unix.EBUSY // msync(2): MS_INVALIDATE of locked pages
		}
		if v.sharedFile() {
			s, t := max(v.Start, start), min(v.End, end)
			v.Off += s - v.Start
			v.Start, v.End = s, t
			todo = append(todo, v)
		}
		a = v.End
	}
	as.mu.RUnlock()
	for _, v := range todo {
		if e := v.File.Sync(v.Off, v.End-v.Start); e != 0 {
			return e
		}
	}
	if unmapped {
		return unix.ENOMEM
	}
	return 0
}
