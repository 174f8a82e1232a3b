package boot

import (
	"runtime"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// BenchmarkSharedMemoryHandshake measures what a syscall could cost with
// no VM exit at all: the guest publishes a request in memory it shares with
// the monitor and spins (at CPL 3, natively) until a host thread polling
// that memory answers. Compare BenchmarkSyscallExit, the MMIO exit path.
func BenchmarkSharedMemoryHandshake(b *testing.B) {
	// mov $0x7000000,%rdi; xor %eax,%eax
	// 1: inc %rax; mov %rax,(%rdi)
	// 2: pause; cmp 8(%rdi),%rax; jne 2b
	// dec %rcx; jnz 1b; hlt
	code := []byte{0x48, 0xc7, 0xc7, 0x00, 0x00, 0x00, 0x07, 0x31, 0xc0, 0x48, 0xff, 0xc0,
		0x48, 0x89, 0x07, 0xf3, 0x90, 0x48, 0x3b, 0x47, 0x08, 0x75, 0xf8, 0x48,
		0xff, 0xc9, 0x75, 0xed, 0xf4}
	t := &testing.T{}
	m, pt, v := newTestGuest(t, code)
	var f uint64
	pt.Walk(0x7000000, 0x7001000, func(va uint64, e *uint64) { f = Frame(*e) })
	require.NotZero(b, f)
	page := m.Mem.Bytes(f, PageSize)
	req := (*uint64)(unsafe.Pointer(&page[0]))
	resp := (*uint64)(unsafe.Pointer(&page[8]))
	v.Regs().RCX = uint64(b.N)
	v.MarkRegsDirty()
	var done atomic.Bool
	go func() {
		runtime.LockOSThread()
		last := uint64(0)
		for !done.Load() {
			if r := atomic.LoadUint64(req); r != last {
				atomic.StoreUint64(resp, r)
				last = r
			}
		}
	}()
	b.ResetTimer()
	err := v.Enter()
	for err == unix.EINTR {
		err = v.Enter()
	}
	b.StopTimer()
	done.Store(true)
	require.NoError(b, err)
	require.EqualValues(b, KVM_EXIT_IO, v.Run.ExitReason)
	require.EqualValues(b, PortException+13, v.Run.IO().Port, "the guest ends in HLT (#GP)")
}

// BenchmarkSyscallExit is one SYSCALL through the stub's MMIO exit and back.
func BenchmarkSyscallExit(b *testing.B) {
	// 1: mov $39,%eax; syscall; jmp 1b
	code := []byte{0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0xeb, 0xf7}
	t := &testing.T{}
	_, _, v := newTestGuest(t, code)
	b.ResetTimer()
	for range b.N {
		err := v.Enter()
		for err == unix.EINTR { // the Go runtime's own signals
			err = v.Enter()
		}
		if err != nil {
			b.Fatal(err)
		}
		if v.Run.ExitReason != KVM_EXIT_MMIO {
			b.Fatalf("exit %d", v.Run.ExitReason)
		}
		r := v.Regs()
		r.RIP, r.RFLAGS = r.RCX, r.R11
		v.MarkRegsDirty()
	}
}
