package mm

import (
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Shmem is the memory behind an anonymous MAP_SHARED mapping. Linux backs
// such a mapping with a file of its internal tmpfs ("/dev/zero
// (deleted)" in /proc/PID/maps); here it is a File whose pages are guest
// frames, so a forked child maps the same frames as its parent and each
// sees the other's writes, as a pre-forking server's scoreboard or a
// database's shared buffers need. Its frames go back when the last
// address space stops mapping it.
type Shmem struct {
	fr    Frames
	pages uint64
	ino   uint64

	mu     sync.Mutex
	refs   int
	frames map[uint64]uint64 // page offset → frame
}

var shmemIno atomic.Uint64

// NewShmem makes a shared memory object of length bytes (a multiple of
// the page size) whose frames come from fr: what an anonymous MAP_SHARED
// mapping maps, and a SysV segment (syscalls). Its frames go when the last
// MapRef is dropped.
func NewShmem(fr Frames, length uint64) *Shmem {
	return &Shmem{fr: fr, pages: length / PageSize, ino: shmemIno.Add(1), frames: map[uint64]uint64{}}
}

// Mappers is how many MapRefs hold the object: address spaces mapping it,
// and whoever else keeps it (a SysV segment's registry).
func (s *Shmem) Mappers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refs
}

func (s *Shmem) MapRef() {
	s.mu.Lock()
	s.refs++
	s.mu.Unlock()
}

func (s *Shmem) MapUnref() {
	s.mu.Lock()
	s.refs--
	var free []uint64
	if s.refs == 0 {
		for _, f := range s.frames {
			free = append(free, f)
		}
		s.frames = nil
	}
	s.mu.Unlock()
	if len(free) > 0 {
		s.fr.FreeFrames(free)
	}
}

// ReadPage serves a private mapping of the object, which only mremap of a
// shared one could make: a copy of the page, zero where nothing was
// written.
func (s *Shmem) ReadPage(pgoff uint64, dst []byte) bool {
	if pgoff >= s.pages {
		return false
	}
	s.mu.Lock()
	f, ok := s.frames[pgoff]
	s.mu.Unlock()
	if ok {
		copy(dst, s.fr.Bytes(f, PageSize))
	} else {
		clear(dst)
	}
	return true
}

func (s *Shmem) SharedPage(fr Frames, pgoff uint64) (uint64, bool, error) {
	if pgoff >= s.pages {
		return 0, false, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.frames[pgoff]; ok {
		return f, true, nil
	}
	f, err := s.fr.AllocFrame()
	if err != nil {
		return 0, true, err
	}
	s.frames[pgoff] = f
	return f, true, nil
}

func (s *Shmem) Sync(off, n uint64) unix.Errno { return 0 }

func (s *Shmem) MapInfo() (dev, ino uint64, name string) { return 0, s.ino, "/dev/zero (deleted)" }

// MappedFile returns the file mapped at addr, where its mapping starts and
// that start's offset in the file.
func (as *AddressSpace) MappedFile(addr uint64) (f File, start, off uint64, ok bool) {
	as.mu.RLock()
	defer as.mu.RUnlock()
	i := as.find(addr)
	if i < 0 || as.vmas[i].File == nil {
		return nil, 0, 0, false
	}
	v := as.vmas[i]
	return v.File, v.Start, v.Off, true
}

// SharedFutexKey is the key of a futex operation without
// FUTEX_PRIVATE_FLAG at addr: in a shared mapping, the frame holding the
// word, so processes mapping the same memory wait on the same queue; in a
// private one, FutexKey's (Linux keys those by mm and address too). The
// word must have been resolved (Word32) first.
func (as *AddressSpace) SharedFutexKey(addr uint64) uint64 {
	as.mu.RLock()
	defer as.mu.RUnlock()
	if i := as.find(addr); i >= 0 && as.vmas[i].sharedFile() {
		if pa, _, ok := as.pager.Translate(addr); ok {
			return 1<<63 | pa | addr%PageSize
		}
	}
	return as.FutexKey(addr)
}
