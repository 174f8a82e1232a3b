package boot

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// PageSize is the guest's (and x86-64's) base page size.
const PageSize = 4096

// ErrNoFrames means guest-physical memory is exhausted.
var ErrNoFrames = errors.New("guest physical memory exhausted")

// Memory is guest-physical RAM: one host mapping that the host backs only
// where the guest touches it, and an allocator of its 4 KiB frames.
//
// Freed frames go to the front of a LIFO list so that recently used frames
// (already backed by the host and already in PVM's shadow tables) are reused
// first; frames freed in bulk are returned to the host with MADV_DONTNEED,
// which also zeroes them as anonymous memory must be.
type Memory struct {
	mem  []byte
	base uint64 // first frame the allocator hands out
	end  uint64 // the allocator's limit: len(mem), or a view's pool end
	view bool   // the guest kernel's view (MemoryView)

	mu    sync.Mutex
	next  uint64   // bump pointer for never-used frames
	free  []uint64 // freed frames, zeroed, most recent last
	inUse uint64
}

// NewMemory maps size bytes of guest RAM. The first reserved bytes belong
// to the machine (stub, descriptor tables, IST stacks) and are never handed
// out by Alloc.
func NewMemory(size, reserved uint64) (*Memory, error) {
	if size%PageSize != 0 || reserved%PageSize != 0 || reserved >= size {
		return nil, fmt.Errorf("guest memory: bad size %d (reserved %d)", size, reserved)
	}
	mem, err := unix.Mmap(-1, 0, int(size), unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		return nil, fmt.Errorf("map %d MiB of guest memory: %w", size>>20, err)
	}
	return &Memory{mem: mem, base: reserved, next: reserved, end: size}, nil
}

// MemoryView is guest RAM as the guest kernel sees it through its physmap:
// mem is all of RAM, and Alloc hands out only the frames of [from, to), the
// pool the monitor set aside for it (AllocRange). Free zeroes a view's
// frames in place, as the guest has no host mapping to give back; Close
// and Invalidate must not be used on a view: they are the host's.
func MemoryView(mem []byte, from, to uint64) *Memory {
	return &Memory{mem: mem, base: from, next: from, end: to, view: true}
}

// AllocRange returns the first of n contiguous zeroed frames, for a pool the
// guest kernel manages itself.
func (m *Memory) AllocRange(n uint64) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.next+n*PageSize > m.end {
		return 0, ErrNoFrames
	}
	f := m.next
	m.next += n * PageSize
	m.inUse += n
	return f, nil
}

// Close unmaps guest RAM.
func (m *Memory) Close() error { return unix.Munmap(m.mem) }

// Size is the guest-physical RAM size.
func (m *Memory) Size() uint64 { return uint64(len(m.mem)) }

// Host returns the host address of guest-physical address 0.
func (m *Memory) Host() uintptr { return uintptr(unsafe.Pointer(&m.mem[0])) }

// Bytes returns the host view of [pa, pa+n).
func (m *Memory) Bytes(pa, n uint64) []byte { return m.mem[pa : pa+n : pa+n] }

// Word returns a pointer to the aligned 64-bit word at pa, for atomic access
// to memory the guest may touch concurrently (page-table entries, futexes).
func (m *Memory) Word(pa uint64) *uint64 { return (*uint64)(unsafe.Pointer(&m.mem[pa])) }

// FrameCount is how many frames Alloc can hand out in total.
func (m *Memory) FrameCount() uint64 { return (m.end - m.base) / PageSize }

// InUse is how many frames are allocated now.
func (m *Memory) InUse() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.inUse
}

// Alloc returns a zeroed frame.
func (m *Memory) Alloc() (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n := len(m.free); n > 0 {
		f := m.free[n-1]
		m.free = m.free[:n-1]
		m.inUse++
		return f, nil
	}
	if m.next >= m.end {
		return 0, ErrNoFrames
	}
	f := m.next
	m.next += PageSize
	m.inUse++
	return f, nil
}

// AllocPair returns two zeroed, adjacent frames, the first 8 KiB aligned: a
// page-table root and the user root PVM's KPTI mode expects at root+4 KiB
// (CPL follows CR3 bit 12 there).
func (m *Memory) AllocPair() (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.next%(2*PageSize) != 0 {
		m.free = append(m.free, m.next)
		m.next += PageSize
	}
	if m.next+2*PageSize > m.end {
		return 0, ErrNoFrames
	}
	f := m.next
	m.next += 2 * PageSize
	m.inUse += 2
	return f, nil
}

// Free returns frames to the allocator and their backing to the host.
// Invalidate makes KVM forget every translation of frames that are still
// in use (a page unmapped or made read-only, not freed). KVM's shadow page
// tables do not see the monitor's writes to guest page tables, and a guest
// CR3 reload does not resync them; what KVM does watch is the host's own
// page tables, through its MMU notifier. Changing the protection of the
// host pages and changing it back makes the notifier zap every shadow
// entry for them and flush the vCPUs' TLBs before mprotect returns. The
// change adds execute permission rather than taking write away: other
// monitor threads keep writing these frames meanwhile (the vDSO's time
// page, a file's shared pages), and a read-only moment would fault them.
func (m *Memory) Invalidate(frames []uint64) {
	slices.Sort(frames)
	for i := 0; i < len(frames); {
		j := i + 1
		for j < len(frames) && frames[j] == frames[j-1]+PageSize {
			j++
		}
		run := m.mem[frames[i] : frames[j-1]+PageSize]
		_ = unix.Mprotect(run, unix.PROT_READ|unix.PROT_WRITE|unix.PROT_EXEC)
		_ = unix.Mprotect(run, unix.PROT_READ|unix.PROT_WRITE)
		i = j
	}
}

func (m *Memory) Free(frames []uint64) {
	for _, f := range frames {
		if m.view {
			clear(m.mem[f : f+PageSize])
			continue
		}
		// MADV_DONTNEED on private anonymous memory reads back as zero.
		_ = unix.Madvise(m.mem[f:f+PageSize], unix.MADV_DONTNEED)
	}
	m.mu.Lock()
	m.free = append(m.free, frames...)
	m.inUse -= uint64(len(frames))
	m.mu.Unlock()
}

// Discard zeroes a frame in place and gives its backing back to the host,
// keeping it allocated (MADV_DONTNEED on a guest page).
func (m *Memory) Discard(f uint64) { _ = unix.Madvise(m.mem[f:f+PageSize], unix.MADV_DONTNEED) }
