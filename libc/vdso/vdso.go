// Package vdso owns the virtual dynamic shared object rumpgo maps into every
// guest and the data page it reads: the image (vdso.S and vdso.lds, built
// into vdso.so by `go generate`, checked by a test), the layout of the data
// page ("vvar", one page just below the image) and Clock, the monitor side
// that keeps the page's time current.
//
// The image exports __vdso_clock_gettime, __vdso_gettimeofday, __vdso_time
// and __vdso_getcpu, with Linux's unprefixed weak aliases, at symbol version
// LINUX_2.6, with DT_HASH and DT_GNU_HASH: what Go's runtime, glibc and musl
// look up through AT_SYSINFO_EHDR.
//
// Why a time page and not RDTSC: on this project's PVM hosts RDTSC at guest
// CPL 3 traps (~2.4 µs), and worse, the vCPU then stays in KVM's instruction
// emulator (~1.4 µs per instruction) until its next exit to the monitor. So
// the monitor publishes the host's clocks into the page — from a ticker, and
// after every exit it handles — and the vDSO returns them: no exit and no
// trap, at the cost of resolution between updates (Clock).
package vdso

import (
	_ "embed"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

//go:generate sh -c "as --64 -o vdso.o vdso.S && ld -shared -T vdso.lds --hash-style=both -soname=linux-vdso.so.1 --build-id=none --eh-frame-hdr -z max-page-size=4096 -z noexecstack -s -o vdso.so vdso.o && rm vdso.o"

//go:embed vdso.so
var image []byte

// PageSize is the x86-64 base page size.
const PageSize = 4096

// Image returns a copy of the vDSO's ELF image. It is mapped at a page
// boundary with the data page (VvarSize bytes) right below it.
func Image() []byte { return append([]byte(nil), image...) }

// ImagePages is how many pages the image needs.
func ImagePages() int { return (len(image) + PageSize - 1) / PageSize }

// VvarSize is the size of the data page below the image.
const VvarSize = PageSize

// The data page, as vdso.S reads it.
const (
	offSeq    = 0  // uint32: odd while the monitor writes
	offServed = 8  // uint64: bit n set when clock id n is in clocks
	offClocks = 16 // [MaxClock+1]struct{ sec, nsec int64 }, indexed by clock id

	// MaxClock is the highest clock id the page has room for; higher ids
	// and the ones not served go to the system call.
	MaxClock = 15
)

// Clock ids the page serves. The CPU-time clocks need the kernel's view of
// the calling thread and stay system calls, as the *_ALARM clocks do.
var served = []int{
	unix.CLOCK_REALTIME, unix.CLOCK_MONOTONIC, unix.CLOCK_MONOTONIC_RAW,
	unix.CLOCK_REALTIME_COARSE, unix.CLOCK_MONOTONIC_COARSE, unix.CLOCK_BOOTTIME, unix.CLOCK_TAI,
}

// DefaultPeriod is how often Clock refreshes the page on its own. Between
// refreshes the guest's clocks stand still unless one of its threads exits
// to the monitor, which refreshes them too (Refresh).
const DefaultPeriod = time.Millisecond

// nanotime is the host's CLOCK_MONOTONIC through Go's own vDSO call: the
// time package offers only monotonic readings relative to process start.
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64

// Clock is the guest's time: it keeps a data page's clocks equal to the
// host's, and answers the system calls too (Now), so that every path a
// guest reads a clock through gives one time.
//
// Every value a guest sees, from the page or from Now, is one publication
// of a single sequence (publish, under mu), and in that sequence the clocks
// Linux never sets back (MONOTONIC, MONOTONIC_RAW, BOOTTIME and their
// coarse forms) never go back: a read that starts after another read ended,
// on any thread, through either path, is not earlier. The page lags the
// host by up to a period, but a thread's exit refreshes it before the thread
// resumes (launch/vdso.go), so nothing the guest learnt through a system
// call (a time, a file's mtime) is ahead of what the page then says.
type Clock struct {
	seq    *uint32
	served *uint64
	clocks *[MaxClock + 1][2]int64

	mu sync.Mutex // serializes publications, so they go forward in time
	// offsets of the clocks derived from CLOCK_MONOTONIC or CLOCK_REALTIME,
	// re-read from the host by the ticker (readOffsets).
	offRaw, offBoot, offTAI int64
	// bootErr bounds the error of offBoot: half the width of the readings
	// it was measured between.
	bootErr int64
	last    [MaxClock + 1]int64 // the last publication, ns by clock id
	stopped bool                // the page may be gone: write no more

	stop chan struct{}
	done chan struct{}
}

// NewClock returns a Clock writing to page, the host view of the data page
// (at least VvarSize bytes, 8-byte aligned), and publishes the clocks once.
func NewClock(page []byte) *Clock {
	if len(page) < VvarSize || uintptr(unsafe.Pointer(&page[0]))%8 != 0 {
		panic("vdso: data page too small or misaligned")
	}
	p := unsafe.Pointer(&page[0])
	c := &Clock{
		seq:    (*uint32)(unsafe.Add(p, offSeq)),
		served: (*uint64)(unsafe.Add(p, offServed)),
		clocks: (*[MaxClock + 1][2]int64)(unsafe.Add(p, offClocks)),
	}
	c.mu.Lock()
	c.readOffsets(true)
	c.publish()
	var mask uint64
	for _, id := range served {
		mask |= 1 << id
	}
	c.locked(func() { atomic.StoreUint64(c.served, mask) })
	c.mu.Unlock()
	return c
}

// Refresh publishes the host's clocks now. The monitor calls it before a
// guest thread resumes from an exit, so the thread sees fresh time after
// every system call, in particular after a sleep, and never a page older
// than what a clock_gettime system call just told it. It waits for a
// concurrent refresh rather than skip: that one may have read the host's
// clocks before this thread's system call did.
func (c *Clock) Refresh() {
	c.mu.Lock()
	if !c.stopped {
		c.publish()
	}
	c.mu.Unlock()
}

// Now publishes the host's clocks, as Refresh, and returns clock id's
// value in that publication: what a clock_gettime system call answers, so
// that it agrees with the page. ok is false for the clocks the page does
// not serve (the CPU-time clocks), which the caller asks the host for.
func (c *Clock) Now(id int32) (ns int64, ok bool) {
	if id < 0 || id > MaxClock || atomic.LoadUint64(c.served)&(1<<id) == 0 {
		return 0, false
	}
	c.mu.Lock()
	c.advance()
	if !c.stopped {
		c.write(c.last)
	}
	ns = c.last[id]
	c.mu.Unlock()
	return ns, true
}

// Start refreshes the page every period (DefaultPeriod when zero), and the
// derived clocks' offsets every 64 periods, until Stop.
func (c *Clock) Start(period time.Duration) {
	if period <= 0 {
		period = DefaultPeriod
	}
	c.stop, c.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(c.done)
		t := time.NewTicker(period)
		defer t.Stop()
		for n := 1; ; n++ {
			select {
			case <-c.stop:
				return
			case <-t.C:
			}
			c.mu.Lock()
			if n%64 == 0 {
				c.readOffsets(false)
			}
			c.publish()
			c.mu.Unlock()
		}
	}()
}

// Stop ends every write to the page, Start's and Refresh's, and waits for
// a write in progress: afterwards the page's memory may be released even if
// a guest thread is still leaving.
func (c *Clock) Stop() {
	if c.stop != nil {
		close(c.stop)
		<-c.done
		c.stop = nil
	}
	c.mu.Lock()
	c.stopped = true
	c.mu.Unlock()
}

func hostClock(id int) int64 {
	var ts unix.Timespec
	if unix.ClockGettime(int32(id), &ts) != nil {
		return 0
	}
	return ts.Nano()
}

// readOffsets re-reads the clocks that follow CLOCK_MONOTONIC or
// CLOCK_REALTIME at a rate or offset of their own. They change slowly
// (NTP's slew for MONOTONIC_RAW, suspend for BOOTTIME, leap seconds for
// TAI), so the page derives them from the two fast clocks in between and
// saves the system calls on every refresh.
//
// Each offset is measured between two readings of its base clock, the
// closest pair of a few tries, so a preemption between the readings (a
// busy host) does not skew it. CLOCK_TAI is CLOCK_REALTIME plus a whole
// number of seconds in Linux (timekeeping's tai_offset), so that offset is
// rounded and exact. BOOTTIME's offset moves only forward and only by more
// than bootJump (the host was suspended): a new measurement a little below
// the old one would set the guest's BOOTTIME back, and one a little above
// is noise.
func (c *Clock) readOffsets(first bool) {
	c.offRaw, _ = offset(unix.CLOCK_MONOTONIC_RAW, nanotime)
	boot, bootErr := offset(unix.CLOCK_BOOTTIME, nanotime)
	if first || boot > c.offBoot+bootJump {
		c.offBoot, c.bootErr = boot, bootErr
	}
	tai, _ := offset(unix.CLOCK_TAI, wallNanos)
	c.offTAI = (tai + 5e8) / 1e9 * 1e9 // the offset is positive (37 s) or 0
	if tai < 0 {
		c.offTAI = (tai - 5e8) / 1e9 * 1e9
	}
}

// bootJump is how far BOOTTIME must move against MONOTONIC before the page
// follows: more than a measurement's error, less than any suspend.
const bootJump = int64(time.Millisecond)

func wallNanos() int64 { return time.Now().UnixNano() }

// offset measures host clock id against base: id's reading minus the
// middle of base's readings before and after it, from the narrowest of a
// few tries, and half that width, which bounds the error.
func offset(id int, base func() int64) (off, err int64) {
	best := int64(1<<63 - 1)
	for range 5 {
		b0 := base()
		x := hostClock(id)
		b1 := base()
		if w := b1 - b0; w >= 0 && w < best {
			best, off = w, x-(b0+w/2)
		}
	}
	return off, (best + 1) / 2
}

// publish writes every served clock. Called with c.mu held.
func (c *Clock) publish() {
	c.advance()
	c.write(c.last)
}

// advance reads the host's clocks into the next publication, c.last.
// Called with c.mu held.
func (c *Clock) advance() {
	real, mono := time.Now().UnixNano(), nanotime()
	var v [MaxClock + 1]int64
	v[unix.CLOCK_REALTIME], v[unix.CLOCK_REALTIME_COARSE] = real, real
	v[unix.CLOCK_TAI] = real + c.offTAI
	v[unix.CLOCK_MONOTONIC], v[unix.CLOCK_MONOTONIC_COARSE] = mono, mono
	v[unix.CLOCK_MONOTONIC_RAW] = mono + c.offRaw
	v[unix.CLOCK_BOOTTIME] = mono + c.offBoot
	// MONOTONIC_RAW's offset drifts with NTP's slew and a new measurement
	// may be a little behind the old one; the clocks that never go back on
	// Linux do not go back here either (MONOTONIC is the host's and
	// BOOTTIME's offset only grows: for them this changes nothing).
	// CLOCK_REALTIME and CLOCK_TAI follow the host, steps back included.
	for _, id := range []int{unix.CLOCK_MONOTONIC, unix.CLOCK_MONOTONIC_COARSE, unix.CLOCK_MONOTONIC_RAW, unix.CLOCK_BOOTTIME} {
		v[id] = max(v[id], c.last[id])
	}
	c.last = v
}

// write stores publication v into the page, inside the seqlock's write
// side: readers that overlap it see an odd or changed count and retry.
func (c *Clock) write(v [MaxClock + 1]int64) {
	c.locked(func() {
		for _, id := range served {
			atomic.StoreInt64(&c.clocks[id][0], v[id]/1e9)
			atomic.StoreInt64(&c.clocks[id][1], v[id]%1e9)
		}
	})
}

// locked runs fn inside the seqlock's write side.
func (c *Clock) locked(fn func()) {
	s := atomic.LoadUint32(c.seq)
	atomic.StoreUint32(c.seq, s+1)
	fn()
	atomic.StoreUint32(c.seq, s+2)
}
