package syscalls

import (
	"encoding/binary"
	"errors"
	"os"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rumpgo/rumpgo/boot"
	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/fs/devfs"
	"github.com/rumpgo/rumpgo/posix/fs/tmpfs"
	"github.com/rumpgo/rumpgo/posix/inet"
	"github.com/rumpgo/rumpgo/posix/mm"
	"github.com/rumpgo/rumpgo/posix/vfs"
	"github.com/rumpgo/rumpgo/rumpglue"
	"golang.org/x/sys/unix"
)

// The syscall-sequence fuzzer drives the handlers directly, with no VM: a
// Kernel over a fake machine (no second thread ever starts: clone gets
// EAGAIN) and a real posix/mm address space whose page tables and frames
// are plain host memory, as posix/mm's own tests build it. Each input is
// a program: a scratch area's contents and a list of calls, each a
// syscall number and six arguments drawn from valid pointers, bad
// pointers, small numbers, descriptors, huge lengths and every flag bit.
// After every call the thread returns as on the machine (Finish: RAX
// set, signals delivered onto a real stack), and the invariants are
// checked; at the end the process dies and the host must be as before:
// no goroutine and no descriptor left behind.
//
//	go test ./syscalls -run '^$' -fuzz FuzzSyscalls -fuzztime 3000x

// Layout of the fuzzed process.
const (
	fzScratch     = 0x10000000 // RW, the target of "valid" pointers
	fzScratchSize = 64 << 10
	fzStack       = 0x20000000 // RW, where signal frames go
	fzStackSize   = 64 << 10
	fzCallBudget  = 200 * time.Millisecond // a call blocking longer is interrupted by the process dying
)

// fzPager is mm.Pager over host memory (posix/mm's test pager).
type fzPager struct {
	mem *boot.Memory
	pt  *boot.PageTable
}

func (p *fzPager) AllocFrame() (uint64, error) { return p.mem.Alloc() }
func (p *fzPager) FreeFrames(f []uint64)       { p.mem.Free(f) }
func (p *fzPager) Bytes(pa, n uint64) []byte   { return p.mem.Bytes(pa, n) }
func (p *fzPager) Shootdown()                  {}
func (p *fzPager) MapPage(va, pa uint64, prot int) error {
	return p.pt.Map(va, pa, boot.ProtFlags(prot))
}
func (p *fzPager) Translate(va uint64) (uint64, int, bool) { return boot.PTEProt(p.pt.Lookup(va)) }
func (p *fzPager) UnmapRange(start, end uint64, fn func(va, pa uint64)) {
	p.pt.Walk(start, end, func(va uint64, e *uint64) { pa := boot.Frame(*e); boot.SetPTE(e, 0); fn(va, pa) })
}
func (p *fzPager) Retire() {}
func (p *fzPager) Present(start, end uint64, fn func(va, pa uint64, prot int)) {
	p.pt.Walk(start, end, func(va uint64, e *uint64) { pa, prot, _ := boot.PTEProt(*e); fn(va, pa, prot) })
}
func (p *fzPager) ProtectRange(start, end uint64, prot int) {
	p.pt.Walk(start, end, func(va uint64, e *uint64) {
		if prot == unix.PROT_NONE {
			boot.SetPTE(e, boot.Frame(*e)|boot.PTE_PROTNONE)
		} else {
			boot.SetPTE(e, boot.Frame(*e)|boot.ProtFlags(prot))
		}
	})
}

// fzMachine starts no threads.
type fzMachine struct{}

func (fzMachine) Start(rumpglue.Thread, rumpglue.Space, rumpglue.Regs, uint64) error {
	return rumpglue.ErrThreadLimit
}
func (fzMachine) NewSpace() (rumpglue.Space, error) { return nil, errors.New("no address spaces") }
func (fzMachine) Stop()                             {}

// fzCPU is a vCPU that is never entered.
type fzCPU struct {
	regs  rumpglue.Regs
	fs    uint64
	xsave [boot.XsaveSize]byte
}

func (c *fzCPU) Regs() *rumpglue.Regs          { return &c.regs }
func (c *fzCPU) SetFSBase(b uint64)            { c.fs = b }
func (c *fzCPU) FSBase() uint64                { return c.fs }
func (c *fzCPU) Kick()                         {}
func (c *fzCPU) SetSpace(rumpglue.Space) error { return errors.New("no address spaces") }
func (c *fzCPU) CPUTime() time.Duration        { return time.Millisecond }
func (c *fzCPU) ExtendedState(b []byte) (int, error) {
	return copy(b, c.xsave[:]), nil
}
func (c *fzCPU) SetExtendedState(b []byte) error { copy(c.xsave[:], b); return nil }

// fzExcluded are the calls the fuzzer does not make: they replace the
// process image (which needs a real machine).
var fzExcluded = map[uint64]bool{unix.SYS_EXECVE: true, unix.SYS_EXECVEAT: true}

// fzCallList is built on first use: the table fills in init functions.
var fzCallList = sync.OnceValue(func() []uint64 {
	var nrs []uint64
	for nr := range Table() {
		if !fzExcluded[uint64(nr)] {
			nrs = append(nrs, uint64(nr))
		}
	}
	sort.Slice(nrs, func(i, j int) bool { return nrs[i] < nrs[j] })
	return nrs
})

// fzStrings are at the start of the scratch area, 64 bytes apart: the
// paths and names calls look for.
var fzStrings = []string{
	"/", "/tmp", "/tmp/a", "/tmp/a/b", "/dev/null", "/dev/zero", "/dev/urandom",
	".", "..", "/tmp/../../..", "a", "/tmp/link", "/nonexistent", "", "user.x", "/dev/shm/s",
}

// fzReader takes values from the fuzzer's bytes, then zeros.
type fzReader struct{ b []byte }

func (r *fzReader) byte() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *fzReader) u64() uint64 {
	var b [8]byte
	n := copy(b[:], r.b)
	r.b = r.b[n:]
	return binary.LittleEndian.Uint64(b[:])
}

// arg draws one argument.
func (r *fzReader) arg() uint64 {
	sel := r.byte()
	switch sel % 10 {
	case 0:
		return uint64(r.byte())
	case 1: // a valid pointer into scratch
		return fzScratch + uint64(r.byte())*64
	case 2: // a pointer near the end of scratch: the rest is unmapped
		return fzScratch + fzScratchSize - uint64(r.byte())
	case 3: // a descriptor
		return uint64(r.byte() % 12)
	case 4:
		return r.u64()
	case 5:
		return ^uint64(0) // -1
	case 6: // a huge length
		return 1<<uint(32+r.byte()%32) - uint64(r.byte())
	case 7: // a bad pointer
		return []uint64{0, 8, 0xffff_8000_0000_0000, 0x7fff_ffff_f000, fzScratch - 4096, 1 << 47}[r.byte()%6]
	case 8: // every flag bit, or a random 32-bit set
		if sel&0x80 != 0 {
			return uint64(uint32(r.u64()))
		}
		return 0xffff_ffff
	default: // a pointer to the stack
		return fzStack + fzStackSize - 8 - uint64(r.byte())*8
	}
}

// fzFDs counts this process's open host descriptors.
func fzFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// FuzzSyscalls runs random syscall sequences against a fresh process
// (see the top of this file):
//
//	go test ./syscalls -run '^$' -fuzz FuzzSyscalls -fuzztime 3000x
func FuzzSyscalls(f *testing.F) {
	fzCalls := fzCallList()
	call := func(nr uint64, args ...[]byte) []byte {
		var b []byte
		for i, n := range fzCalls {
			if n == nr {
				b = []byte{byte(i), byte(i >> 8)}
			}
		}
		for _, a := range args {
			b = append(b, a...)
		}
		for len(b) < 2+6*2 {
			b = append(b, 0, 0)
		}
		return b
	}
	str := func(i byte) []byte { return []byte{1, i} }
	small := func(v byte) []byte { return []byte{0, v} }
	fd := func(v byte) []byte { return []byte{3, v} }
	huge := []byte{6, 31, 0}
	bad := []byte{7, 2}
	all := []byte{8}
	seeds := [][]byte{
		append(call(unix.SYS_OPENAT, small(0), str(2), []byte{0, unix.O_CREAT | unix.O_RDWR}, small(0o600&0xff)),
			call(unix.SYS_WRITE, fd(3), str(40), small(200))...),
		call(unix.SYS_READ, fd(0), bad, huge),
		call(unix.SYS_MMAP, small(0), huge, small(3), small(0x22)),
		append(call(unix.SYS_PIPE2, str(20), small(0)), call(unix.SYS_READ, fd(3), str(30), small(10))...),
		call(unix.SYS_RT_SIGACTION, small(10), str(50), str(60), small(8)),
		append(call(unix.SYS_RT_SIGPROCMASK, small(0), str(50), str(60), small(8)), call(unix.SYS_KILL, small(1), small(10))...),
		call(unix.SYS_NANOSLEEP, str(50), str(60)),
		append(call(unix.SYS_SOCKET, small(2), small(2), small(0)), call(unix.SYS_SENDMSG, fd(3), str(70), all)...),
		append(call(unix.SYS_SOCKET, small(1), small(1), small(0)), call(unix.SYS_CONNECT, fd(3), str(70), small(110))...),
		call(unix.SYS_WRITEV, fd(1), str(70), huge),
		call(unix.SYS_FUTEX, str(80), small(0), small(0), bad),
		call(unix.SYS_EPOLL_CREATE1, small(0)),
		append(call(unix.SYS_MKDIRAT, small(0), str(2), small(0o755&0xff)), call(unix.SYS_SYMLINKAT, str(0), small(0), str(11))...),
		call(unix.SYS_RT_SIGRETURN),
		call(unix.SYS_EXIT_GROUP, small(3)),
		call(unix.SYS_PRCTL, all, all, all, all, all),
	}
	for _, s := range seeds {
		f.Add(make([]byte, 64), s)
	}
	// Issue 22's paths, with the structures they need in the scratch area
	// (which starts at slot 16, after fzStrings): a ping socket asking for
	// packet info, splice between pipes, an error-queue read, waitid for
	// stops, namespaces, clone3, a robust list walked at exit,
	// process_vm_readv, sendfile of a sparse memfd into itself. The
	// process's first descriptor is 0.
	u64 := func(v uint64) []byte { return binary.LittleEndian.AppendUint64([]byte{4}, v) }
	slot := func(i int) uint64 { return fzScratch + uint64(i)*64 }
	sc := make([]byte, 16*64)
	put := func(i int, b []byte) { copy(sc[(i-16)*64:], b) }
	le := binary.LittleEndian
	put(16, []byte{1, 0, 0, 0})                                       // optval 1
	put(17, []byte{8, 0, 0, 0, 0, 0, 0, 1})                           // ICMP echo request
	put(18, []byte{2, 0, 0, 0, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}) // 127.0.0.1
	msg := make([]byte, 56)                                           // msghdr: iov at 20, control at 21
	le.PutUint64(msg[16:], slot(20))
	le.PutUint64(msg[24:], 1)
	le.PutUint64(msg[32:], slot(21))
	le.PutUint64(msg[40:], 128)
	put(19, msg)
	iov := le.AppendUint64(le.AppendUint64(nil, slot(24)), 64)
	put(20, iov)
	robust := le.AppendUint64(le.AppendUint64(le.AppendUint64(nil, slot(26)), 0), slot(27))
	put(25, robust) // a robust list head whose entry and pending lock are junk
	put(26, le.AppendUint64(nil, slot(25)))
	for _, prog := range [][]byte{
		slices.Concat(call(unix.SYS_SOCKET, small(2), small(2), small(1)),
			call(unix.SYS_SETSOCKOPT, fd(0), small(0), small(unix.IP_PKTINFO), str(16), small(4)),
			call(unix.SYS_SENDTO, fd(0), str(17), small(8), small(0), str(18), small(16)),
			call(unix.SYS_RECVMSG, fd(0), str(19), small(0))),
		slices.Concat(call(unix.SYS_PIPE2, str(22), small(0)), call(unix.SYS_PIPE2, str(23), small(0)),
			call(unix.SYS_WRITE, fd(1), str(30), u64(8192)),
			call(unix.SYS_WRITE, fd(3), str(30), u64(60000)),
			call(unix.SYS_SPLICE, fd(0), small(0), fd(3), small(0), u64(8192), small(0)),
			call(unix.SYS_SPLICE, fd(0), small(0), fd(1), small(0), u64(8192), small(2))),
		slices.Concat(call(unix.SYS_SOCKET, small(10), small(1), small(0)),
			call(unix.SYS_RECVMSG, fd(0), str(19), u64(unix.MSG_ERRQUEUE))),
		call(unix.SYS_WAITID, small(0), small(0), str(22), small(2), small(0)),
		slices.Concat(call(unix.SYS_UNSHARE, u64(unix.CLONE_NEWUSER)), call(unix.SYS_CLONE3, str(22), small(88)),
			call(unix.SYS_PTRACE, small(0), small(0), small(0), small(0))),
		slices.Concat(call(unix.SYS_SET_ROBUST_LIST, str(25), small(24)), call(unix.SYS_EXIT, small(0))),
		call(unix.SYS_PROCESS_VM_READV, small(1), str(20), small(1), str(20), small(1), small(0)),
		// guestfuzz seed 114: a sparse memfd sent into itself, with a count
		// of 2^64-4096 (EINVAL) and of 2 GiB (bounded by the guest's RAM).
		slices.Concat(call(unix.SYS_MEMFD_CREATE, str(2), small(0)),
			call(unix.SYS_FTRUNCATE, fd(0), u64(1<<40)),
			call(unix.SYS_SENDFILE, fd(0), fd(0), small(0), u64(1<<64-4096)),
			call(unix.SYS_SENDFILE, fd(0), fd(0), small(0), u64(1<<31))),
	} {
		f.Add(sc, prog)
	}
	f.Fuzz(func(t *testing.T, scratch, prog []byte) {
		fzRun(t, scratch, prog)
	})
}

var fzBaseline struct {
	once       sync.Once
	goroutines int
	fds        int
}

func fzRun(t *testing.T, scratch, prog []byte) {
	fzBaseline.once.Do(func() {
		fzBaseline.goroutines = runtime.NumGoroutine()
		fzBaseline.fds = fzFDs(t)
	})
	mem, err := boot.NewMemory(64<<20, boot.ReservedSize)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := boot.NewPageTable(mem)
	if err != nil {
		t.Fatal(err)
	}
	pager := &fzPager{mem: mem, pt: pt}
	as := mm.New(pager, 32<<20)
	rw := unix.PROT_READ | unix.PROT_WRITE
	anon := unix.MAP_PRIVATE | unix.MAP_ANONYMOUS | unix.MAP_FIXED
	if _, e := as.Mmap(fzScratch, fzScratchSize, rw, anon); e != 0 {
		t.Fatal(e)
	}
	if _, e := as.Mmap(fzStack, fzStackSize, rw, anon); e != 0 {
		t.Fatal(e)
	}
	as.SetBrk(0x30000000)
	var init []byte
	for _, s := range fzStrings {
		b := make([]byte, 64)
		copy(b, s)
		init = append(init, b...)
	}
	init = append(init, scratch...)
	as.CopyOut(fzScratch, init[:min(len(init), fzScratchSize)])

	k := NewKernel(fzMachine{}, SystemInfo{Hostname: "fuzz", CPUs: 2, MemBytes: 64 << 20, Comm: "fuzz", Boot: time.Now()})
	v := vfs.New(tmpfs.New(tmpfs.Options{Mode: 0o755, Size: 4 << 20, Frames: pager}), "rootfs", 0, "")
	ctx, fsc := vfs.RootContext(), vfs.NewFSContext(v.Root())
	for _, d := range []string{"/tmp", "/dev"} {
		v.Mkdir(ctx, fsc, vfs.Path{}, d, 0o1777, 0)
	}
	v.MountPath("/dev", devfs.New(v, devfs.Options{}), "devtmpfs", 0, "")
	kfs := NewFS(v, v.Root(), v.Root())
	kfs.Frames = pager
	k.SetFS(kfs)
	stack, err := inet.NewStack(nil)
	if err != nil {
		t.Fatal(err)
	}
	k.SetNetwork(&Network{Inet: stack, Unix: posix.NewUnixNamespace()})

	fds := posix.NewFDTable()
	group, _ := k.Procs.NewProcess(nil, 0)
	group.MM, group.FDs = as, fds
	task, _ := group.NewTask()
	th := k.NewThread(task)
	cpu := &fzCPU{}
	th.Attach(cpu)

	r := &fzReader{b: prog}
	dead := false
	for steps := 0; len(r.b) > 0 && steps < 64 && !dead; steps++ {
		idx := int(r.byte()) | int(r.byte())<<8
		calls := fzCallList()
		nr := calls[idx%len(calls)]
		var a Args
		for i := range a {
			a[i] = r.arg()
		}
		cpu.regs = rumpglue.Regs{RAX: nr, RDI: a[0], RSI: a[1], RDX: a[2], R10: a[3], R8: a[4], R9: a[5],
			RSP: fzStack + fzStackSize - 256, RIP: 0x400000, RFLAGS: 0x202}
		done := make(chan rumpglue.Resume, 1)
		go func() { done <- th.Syscall(cpu) }()
		var res rumpglue.Resume
		select {
		case res = <-done:
		case <-time.After(fzCallBudget):
			// Blocked (a read of an empty pipe, a long sleep): the process
			// dies, which must end every wait.
			group.ExitGroup(posix.ExitStatus{Signal: int(unix.SIGKILL)})
			select {
			case res = <-done:
			case <-time.After(5 * time.Second):
				t.Fatalf("%s%v did not return when its process died", Name(nr), a)
			}
			dead = true
		}
		if res == rumpglue.Stop {
			dead = true
		}
		select {
		case <-group.Dying():
			dead = true
		default:
		}
		fzCheck(t, nr, a, as, fds)
	}

	// The process ends; nothing of it may stay in the host.
	group.ExitGroup(posix.ExitStatus{Code: 0})
	for _, fi := range fds.FDs() {
		fds.Close(fi.FD)
	}
	k.ReleaseNetwork()
	stack.Close()
	as.Munmap(0, 1<<47)
	mem.Close()
	fzNoLeaks(t)
}

// fzCheck asserts the address space's invariants after a call.
func fzCheck(t *testing.T, nr uint64, a Args, as *mm.AddressSpace, fds *posix.FDTable) {
	var prev uint64
	for _, v := range as.VMAs() {
		if v.Start >= v.End || v.Start%mm.PageSize != 0 || v.End%mm.PageSize != 0 || v.Start < prev || v.End > 1<<47 {
			t.Fatalf("after %s%v: bad VMA list %+v", Name(nr), a, as.VMAs())
		}
		prev = v.End
	}
	if c, limit := as.Committed(); c > limit {
		t.Fatalf("after %s%v: %d bytes committed over the limit %d", Name(nr), a, c, limit)
	}
	if n := len(fds.FDs()); n > 1<<20 {
		t.Fatalf("after %s%v: %d descriptors", Name(nr), a, n)
	}
}

// fzNoLeaks waits for the host's goroutines and descriptors to come back
// to what they were before the first run.
func fzNoLeaks(t *testing.T) {
	deadline := time.Now().Add(3 * time.Second)
	for {
		g, fd := runtime.NumGoroutine(), fzFDs(t)
		// The fuzzing engine's own goroutines come and go: allow a few.
		if g <= fzBaseline.goroutines+4 && fd <= fzBaseline.fds+2 {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("leak: %d goroutines (was %d), %d fds (was %d)\n%s", g, fzBaseline.goroutines, fd, fzBaseline.fds,
				strings.TrimSpace(string(buf)))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
