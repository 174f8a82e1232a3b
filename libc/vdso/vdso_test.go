package vdso

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestImageIsCurrent rebuilds vdso.so from vdso.S and vdso.lds and compares
// it with the embedded image, so an edit without `go generate` fails.
func TestImageIsCurrent(t *testing.T) {
	for _, tool := range []string{"as", "ld"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs binutils (%s): %v", tool, err)
		}
	}
	dir := t.TempDir()
	obj, so := filepath.Join(dir, "vdso.o"), filepath.Join(dir, "vdso.so")
	out, err := exec.Command("as", "--64", "-o", obj, "vdso.S").CombinedOutput()
	require.NoError(t, err, "%s", out)
	out, err = exec.Command("ld", "-shared", "-T", "vdso.lds", "--hash-style=both", "-soname=linux-vdso.so.1",
		"--build-id=none", "--eh-frame-hdr", "-z", "max-page-size=4096", "-z", "noexecstack", "-s",
		"-o", so, obj).CombinedOutput()
	require.NoError(t, err, "%s", out)
	want, err := os.ReadFile(so)
	require.NoError(t, err)
	require.Equal(t, want, image, "vdso.so is stale: run go generate ./libc/vdso")
}

func parse(t *testing.T) *elf.File {
	f, err := elf.NewFile(bytes.NewReader(image))
	require.NoError(t, err)
	return f
}

// TestImageShape checks what Go's runtime (runtime/vdso_linux.go), glibc and
// musl need to find the functions: a shared object whose first PT_LOAD
// starts at offset and address 0, a PT_DYNAMIC with both hash tables, the
// symbol and string tables and the version tables, and nothing a loader
// would have to relocate or write.
func TestImageShape(t *testing.T) {
	f := parse(t)
	require.Equal(t, elf.ET_DYN, f.Type)
	require.Equal(t, elf.EM_X86_64, f.Machine)
	var types []elf.ProgType
	for _, p := range f.Progs {
		types = append(types, p.Type)
		if p.Type == elf.PT_LOAD {
			require.Zero(t, p.Off, "one PT_LOAD from the ELF header on")
			require.Zero(t, p.Vaddr)
			require.Equal(t, p.Filesz, p.Memsz, "no bss: the image is copied as is")
			require.Equal(t, elf.PF_R|elf.PF_X, p.Flags)
			require.LessOrEqual(t, p.Filesz, uint64(len(image)))
		}
	}
	require.ElementsMatch(t, []elf.ProgType{elf.PT_LOAD, elf.PT_DYNAMIC, elf.PT_NOTE, elf.PT_GNU_EH_FRAME}, types)

	for _, tag := range []elf.DynTag{elf.DT_HASH, elf.DT_GNU_HASH, elf.DT_SYMTAB, elf.DT_STRTAB, elf.DT_VERSYM, elf.DT_VERDEF} {
		v, err := f.DynValue(tag)
		require.NoError(t, err)
		require.Len(t, v, 1, "%v", tag)
	}
	soname, err := f.DynString(elf.DT_SONAME)
	require.NoError(t, err)
	require.Equal(t, []string{"linux-vdso.so.1"}, soname)
	for _, tag := range []elf.DynTag{elf.DT_RELA, elf.DT_REL, elf.DT_JMPREL, elf.DT_NEEDED, elf.DT_TEXTREL} {
		v, _ := f.DynValue(tag)
		require.Empty(t, v, "%v: the vDSO is mapped, never loaded", tag)
	}
	for _, s := range f.Sections {
		require.NotEqual(t, elf.SHT_RELA, s.Type, s.Name)
		require.NotEqual(t, elf.SHT_NOBITS, s.Type, s.Name)
	}
	require.LessOrEqual(t, ImagePages(), 2)
}

func TestImageSymbols(t *testing.T) {
	syms, err := parse(t).DynamicSymbols()
	require.NoError(t, err)
	byName := map[string]elf.Symbol{}
	for _, s := range syms {
		byName[s.Name] = s
	}
	for _, tc := range []struct{ name, alias string }{
		{"__vdso_clock_gettime", "clock_gettime"},
		{"__vdso_gettimeofday", "gettimeofday"},
		{"__vdso_time", "time"},
		{"__vdso_getcpu", "getcpu"},
	} {
		s, ok := byName[tc.name]
		require.True(t, ok, tc.name)
		require.Equal(t, elf.STT_FUNC, elf.ST_TYPE(s.Info), tc.name)
		require.Equal(t, elf.STB_GLOBAL, elf.ST_BIND(s.Info), tc.name)
		require.NotEqual(t, elf.SHN_UNDEF, s.Section, tc.name)
		require.True(t, s.HasVersion, tc.name)
		require.Equal(t, "LINUX_2.6", s.Version, tc.name)
		require.NotZero(t, s.Size, tc.name)

		a, ok := byName[tc.alias]
		require.True(t, ok, tc.alias)
		require.Equal(t, elf.STB_WEAK, elf.ST_BIND(a.Info), tc.alias)
		require.Equal(t, elf.STT_FUNC, elf.ST_TYPE(a.Info), tc.alias)
		require.Equal(t, s.Value, a.Value, "%s aliases %s", tc.alias, tc.name)
		require.Equal(t, "LINUX_2.6", a.Version, tc.alias)
	}
}

// mapped is the image mapped into this process below its data page, as in
// a guest, with a scratch page for results.
type mapped struct {
	mem     []byte
	vvar    []byte
	buf     []byte  // the scratch page
	scratch uintptr // its address, for the functions' pointer arguments
	fn      map[string]uintptr
}

func mapImage(t *testing.T) *mapped {
	n := ImagePages()
	mem, err := unix.Mmap(-1, 0, VvarSize+(n+1)*PageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	require.NoError(t, err)
	t.Cleanup(func() { unix.Munmap(mem) })
	text := mem[VvarSize : VvarSize+n*PageSize]
	copy(text, image)
	require.NoError(t, unix.Mprotect(text, unix.PROT_READ|unix.PROT_EXEC))
	buf := mem[VvarSize+n*PageSize:]
	m := &mapped{mem: mem, vvar: mem[:VvarSize], buf: buf, scratch: uintptr(unsafe.Pointer(&buf[0])), fn: map[string]uintptr{}}
	syms, err := parse(t).DynamicSymbols()
	require.NoError(t, err)
	for _, s := range syms {
		m.fn[s.Name] = uintptr(unsafe.Pointer(&text[0])) + uintptr(s.Value)
	}
	return m
}

func (m *mapped) word(i int) int64 { return int64(binary.LittleEndian.Uint64(m.buf[8*i:])) }

func (m *mapped) clockGettime(id int) (ns int64, ret int64) {
	r := int64(callC(m.fn["__vdso_clock_gettime"], uintptr(id), m.scratch, 0))
	return m.word(0)*1e9 + m.word(1), r
}

func host(id int) int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(int32(id), &ts); err != nil {
		panic(err)
	}
	return ts.Nano()
}

// TestServedFromPage runs the image's functions in this process against a
// page a Clock keeps: each clock reads what was last published, between the
// host's clock before the refresh and after the call.
func TestServedFromPage(t *testing.T) {
	m := mapImage(t)
	c := NewClock(m.vvar)
	for _, id := range served {
		t.Run(clockName(id), func(t *testing.T) {
			// The coarse clocks are served at full resolution: between the
			// fine clock's readings, always ahead of the host's coarse one.
			fine, ok := map[int]int{unix.CLOCK_REALTIME_COARSE: unix.CLOCK_REALTIME, unix.CLOCK_MONOTONIC_COARSE: unix.CLOCK_MONOTONIC}[id]
			if !ok {
				fine = id
			}
			// BOOTTIME comes from an offset measured between two readings
			// of MONOTONIC, within bootErr; MONOTONIC_RAW's drifts with
			// NTP between measurements (500 ppm of 64 ms at most) and
			// stands still rather than go back. TAI's is exact: whole
			// seconds.
			slack := map[int]int64{unix.CLOCK_BOOTTIME: c.bootErr, unix.CLOCK_MONOTONIC_RAW: int64(time.Millisecond)}[id]
			coarseLo := host(id)
			lo := host(fine)
			c.Refresh()
			got, r := m.clockGettime(id)
			hi := host(fine)
			require.GreaterOrEqual(t, got, coarseLo-slack)
			require.Zero(t, r)
			require.Less(t, m.word(1), int64(1e9))
			require.GreaterOrEqual(t, got, lo-slack)
			require.LessOrEqual(t, got, hi+slack)
		})
	}

	c.Refresh()
	real, _ := m.clockGettime(unix.CLOCK_REALTIME)
	tv := callC(m.fn["__vdso_gettimeofday"], m.scratch, m.scratch+16, 0)
	require.Zero(t, tv)
	require.Equal(t, real/1e9, m.word(0))
	require.Equal(t, real%1e9/1000, m.word(1), "microseconds")
	require.Zero(t, m.word(2), "timezone: UTC")

	sec := int64(callC(m.fn["__vdso_time"], m.scratch, 0, 0))
	require.Equal(t, real/1e9, sec)
	require.Equal(t, sec, m.word(0))
	require.Equal(t, sec, int64(callC(m.fn["time"], 0, 0, 0)), "the alias, with a NULL pointer")

	binary.LittleEndian.PutUint64(m.buf, ^uint64(0))
	require.Zero(t, callC(m.fn["__vdso_getcpu"], m.scratch, m.scratch+4, 0))
	require.Zero(t, m.word(0), "CPU 0, node 0")
	require.Zero(t, callC(m.fn["getcpu"], 0, 0, 0))
}

// TestOffsets: TAI's offset from REALTIME is the host's whole seconds
// however slow the measurement, and BOOTTIME's never moves back however
// often it is measured again.
func TestOffsets(t *testing.T) {
	m := mapImage(t)
	c := NewClock(m.vvar)
	require.Zero(t, c.offTAI%int64(time.Second))
	real, tai := host(unix.CLOCK_REALTIME), host(unix.CLOCK_TAI)
	require.InDelta(t, tai-real, c.offTAI, float64(100*time.Millisecond))
	require.Less(t, c.bootErr, int64(100*time.Millisecond), "the narrowest of five brackets")
	boot := c.offBoot
	for range 1000 {
		c.mu.Lock()
		c.readOffsets(false)
		require.Equal(t, boot, c.offBoot, "no suspend here: BOOTTIME's offset stays")
		c.mu.Unlock()
	}
}

// TestNowAgreesWithPage reads the monotonic clocks alternately through the
// page and through Now (the system calls' answer) while two more
// goroutines read them through Now and the ticker runs: a read that starts
// after another ended is never earlier. The clocks the page does not serve
// are not Now's. (Only one goroutine reads the page: a reader waiting out a
// write cannot be preempted, so with a reader on every P a writer
// preempted mid-write could never finish; see concurrentWriter.)
func TestNowAgreesWithPage(t *testing.T) {
	concurrentWriter(t)
	m := mapImage(t)
	c := NewClock(m.vvar)
	c.Start(time.Millisecond)
	defer c.Stop()
	for _, id := range []int32{unix.CLOCK_PROCESS_CPUTIME_ID, unix.CLOCK_THREAD_CPUTIME_ID, 12, MaxClock + 1, -1} {
		_, ok := c.Now(id)
		require.False(t, ok, "clock %d", id)
	}
	monotonic := []int{unix.CLOCK_MONOTONIC, unix.CLOCK_MONOTONIC_COARSE, unix.CLOCK_MONOTONIC_RAW, unix.CLOCK_BOOTTIME}
	var latest [MaxClock + 1]atomic.Int64 // the latest value a finished read saw
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for g := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each goroutine reads the page through its own scratch word.
			out := make([]int64, 2)
			for i := range 20000 {
				id := monotonic[i%len(monotonic)]
				floor := latest[id].Load()
				var got int64
				if g > 0 || i/len(monotonic)%2 == 0 {
					got, _ = c.Now(int32(id))
				} else {
					r := callC(m.fn["__vdso_clock_gettime"], uintptr(id), uintptr(unsafe.Pointer(&out[0])), 0)
					if r != 0 {
						errs <- "vDSO error"
						return
					}
					got = out[0]*1e9 + out[1]
				}
				if got < floor {
					errs <- clockName(id) + " went back"
					return
				}
				for {
					old := latest[id].Load()
					if got <= old || latest[id].CompareAndSwap(old, got) {
						break
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestFallsBackToSyscall: clocks the page does not serve, and every clock
// before the first publication, go to the real system call (here the host
// kernel's), which also reports errors as Linux's vDSO does.
func TestFallsBackToSyscall(t *testing.T) {
	m := mapImage(t) // a zero page: nothing published yet
	for _, id := range []int{unix.CLOCK_REALTIME, unix.CLOCK_MONOTONIC} {
		lo := host(id)
		got, r := m.clockGettime(id)
		require.Zero(t, r)
		require.GreaterOrEqual(t, got, lo, "the kernel's own time, not the empty page's")
	}
	lo := time.Now()
	require.Zero(t, callC(m.fn["__vdso_gettimeofday"], m.scratch, 0, 0))
	require.InDelta(t, lo.Unix(), m.word(0), 1)

	NewClock(m.vvar)
	for _, tc := range []struct {
		id   int
		want int64
	}{
		{unix.CLOCK_PROCESS_CPUTIME_ID, 0},
		{unix.CLOCK_THREAD_CPUTIME_ID, 0},
		{12, -int64(unix.EINVAL)},
		{MaxClock, -int64(unix.EINVAL)},
		{1000, -int64(unix.EINVAL)},
		{-1 << 20, -int64(unix.EINVAL)}, // a CPU clock of a process that is not there
	} {
		_, r := m.clockGettime(tc.id)
		require.Equal(t, tc.want, r, "clock %d", tc.id)
	}
	_, r := m.clockGettime(unix.CLOCK_PROCESS_CPUTIME_ID)
	require.Zero(t, r)
	require.Positive(t, m.word(0)*1e9+m.word(1), "this process's CPU time, from the kernel")
}

// TestSeqlock reads while a writer refreshes as fast as it can: every read
// is a whole publication (nanoseconds in range) and CLOCK_MONOTONIC never
// goes back.
func TestSeqlock(t *testing.T) {
	concurrentWriter(t)
	m := mapImage(t)
	c := NewClock(m.vvar)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				c.Refresh()
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	var last int64
	for i := range 200000 {
		got, r := m.clockGettime(unix.CLOCK_MONOTONIC)
		require.Zero(t, r)
		require.Less(t, m.word(1), int64(1e9))
		require.GreaterOrEqual(t, got, last, "read %d", i)
		last = got
	}
}

func TestClockTicks(t *testing.T) {
	concurrentWriter(t)
	m := mapImage(t)
	c := NewClock(m.vvar)
	first, _ := m.clockGettime(unix.CLOCK_MONOTONIC)
	c.Start(time.Millisecond)
	require.Eventually(t, func() bool {
		now, _ := m.clockGettime(unix.CLOCK_MONOTONIC)
		return now > first
	}, time.Second, time.Millisecond, "the ticker publishes on its own")
	c.Stop()
	c.Stop()
	stopped, _ := m.clockGettime(unix.CLOCK_MONOTONIC)
	time.Sleep(5 * time.Millisecond)
	after, _ := m.clockGettime(unix.CLOCK_MONOTONIC)
	require.Equal(t, stopped, after, "Stop ends the updates")
	c.Refresh()
	after, _ = m.clockGettime(unix.CLOCK_MONOTONIC)
	require.Equal(t, stopped, after, "and Refresh writes no more")
}

// concurrentWriter prepares a test whose goroutines write the page while
// this one reads it. A reader waits for an odd count inside callC, where
// Go cannot preempt it; if the writer were stopped mid-write for a
// stop-the-world, the world could never stop. So: no GC, and a second P
// for the writer. (In rumpgo the reader is a vCPU inside KVM_RUN, a system
// call to Go, which never holds up a stop-the-world.)
func concurrentWriter(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs GOMAXPROCS >= 2: the writer must run while the reader waits")
	}
	old := debug.SetGCPercent(-1)
	t.Cleanup(func() { debug.SetGCPercent(old) })
}

func clockName(id int) string {
	return map[int]string{
		unix.CLOCK_REALTIME: "REALTIME", unix.CLOCK_MONOTONIC: "MONOTONIC", unix.CLOCK_MONOTONIC_RAW: "MONOTONIC_RAW",
		unix.CLOCK_REALTIME_COARSE: "REALTIME_COARSE", unix.CLOCK_MONOTONIC_COARSE: "MONOTONIC_COARSE",
		unix.CLOCK_BOOTTIME: "BOOTTIME", unix.CLOCK_TAI: "TAI",
	}[id]
}
