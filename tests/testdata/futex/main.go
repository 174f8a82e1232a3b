// Command futex drives futex(2) directly: every operation Go and libcs
// use, their timeouts, and the errors Linux gives bad arguments. It prints
// one line per case; the output is the same natively and under rumpgo.
package main

import (
	"fmt"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	futexWait         = 0
	futexWake         = 1
	futexRequeue      = 3
	futexCmpRequeue   = 4
	futexWakeOp       = 5
	futexWaitBitset   = 9
	futexWakeBitset   = 10
	futexPrivate      = 128
	futexClockRealtim = 256
)

// futex passes timeout either as a *unix.Timespec or, for the requeue and
// wake_op operations, as the integer val2 that shares its slot.
// The Go runtime preempts threads with signals, so a wait can end in EINTR
// on Linux too; every call is retried then, as programs must.
func futex(addr *uint32, op int, val uint32, timeout any, addr2 *uint32, val3 uint32) (int, unix.Errno) {
	for {
		n, e := futexOnce(addr, op, val, timeout, addr2, val3)
		if e != unix.EINTR {
			return n, e
		}
	}
}

func futexOnce(addr *uint32, op int, val uint32, timeout any, addr2 *uint32, val3 uint32) (int, unix.Errno) {
	var ts *unix.Timespec
	var val2 uintptr
	switch v := timeout.(type) {
	case *unix.Timespec:
		ts = v
	case int:
		val2 = uintptr(v)
	}
	arg4 := uintptr(unsafe.Pointer(ts))
	if ts == nil {
		arg4 = val2
	}
	r, _, e := unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), uintptr(op), uintptr(val),
		arg4, uintptr(unsafe.Pointer(addr2)), uintptr(val3))
	return int(r), e
}

func raw(addr uintptr, op int, val uint32) unix.Errno {
	_, _, e := unix.Syscall6(unix.SYS_FUTEX, addr, uintptr(op), uintptr(val), 0, 0, 0)
	return e
}

func show(name string, n int, e unix.Errno) {
	if e != 0 {
		fmt.Printf("%s: %v\n", name, e)
		return
	}
	fmt.Printf("%s: %d\n", name, n)
}

// waiters starts n goroutines blocked in FUTEX_WAIT on w (each locked to a
// thread so they really block) and waits until they should be queued.
func waiters(w *uint32, n int, wg *sync.WaitGroup) {
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			futex(w, futexWait|futexPrivate, 0, nil, nil, 0)
		}()
	}
	time.Sleep(100 * time.Millisecond)
}

func main() {
	var w, w2 uint32

	res("wait value changed")(futexValue(&w, 1))
	rel := unix.NsecToTimespec(int64(20 * time.Millisecond))
	start := time.Now()
	n, e := futex(&w, futexWait, 0, &rel, nil, 0)
	show("wait relative timeout", n, e)
	fmt.Println("  waited long enough:", time.Since(start) >= 20*time.Millisecond)

	for _, clk := range []struct {
		name  string
		id    int32
		flags int
	}{{"monotonic", unix.CLOCK_MONOTONIC, 0}, {"realtime", unix.CLOCK_REALTIME, futexClockRealtim}} {
		var now unix.Timespec
		unix.ClockGettime(clk.id, &now)
		abs := unix.NsecToTimespec(now.Nano() + int64(20*time.Millisecond))
		start := time.Now()
		n, e := futex(&w, futexWaitBitset|clk.flags, 0, &abs, nil, 0xffffffff)
		show("wait_bitset absolute "+clk.name, n, e)
		fmt.Println("  waited long enough:", time.Since(start) >= 15*time.Millisecond)
	}
	past := unix.Timespec{Sec: 1}
	res("wait_bitset in the past")(futexAbs(&w, &past))
	bad := unix.Timespec{Nsec: 2e9}
	res("wait bad timespec")(futexRel(&w, &bad))
	res("wait_bitset zero bitset")(futex(&w, futexWaitBitset, 0, nil, nil, 0))
	res("wake nobody")(futex(&w, futexWake, 1, nil, nil, 0))
	show("wait unaligned", 0, raw(uintptr(unsafe.Pointer(&w))+1, futexWait, 0))
	show("wait unmapped", 0, raw(8, futexWait, 0))
	show("wake unmapped", 0, raw(8, futexWake, 1))
	res("unknown op")(futex(&w, 77, 0, nil, nil, 0))

	var wg sync.WaitGroup
	waiters(&w, 3, &wg)
	res("wake 2 of 3")(futex(&w, futexWake|futexPrivate, 2, nil, nil, 0))
	res("wake_bitset rest")(futex(&w, futexWakeBitset|futexPrivate, 10, nil, nil, 0xffffffff))
	wg.Wait()

	waiters(&w, 3, &wg)
	res("cmp_requeue mismatch")(futex(&w, futexCmpRequeue|futexPrivate, 1, 1, &w2, 5))
	res("cmp_requeue 1 woken 2 moved")(futex(&w, futexCmpRequeue|futexPrivate, 1, 5, &w2, 0))
	res("wake on the requeued word")(futex(&w2, futexWake|futexPrivate, 5, nil, nil, 0))
	wg.Wait()

	// WAKE_OP: *w2 += 3 (old 0); wake on w, and on w2 if old == 0.
	waiters(&w, 1, &wg)
	waiters(&w2, 1, &wg)
	op := uint32(1)<<28 | 0<<24 | 3<<12 | 0 // ADD 3, CMP_EQ 0
	res("wake_op")(futex(&w, futexWakeOp|futexPrivate, 1, 1, &w2, op))
	fmt.Println("  w2 after op:", w2)
	wg.Wait()
	shift := uint32(1|8)<<28 | 1<<24 | 4<<12 | 3 // OR 1<<4, CMP_NE 3
	res("wake_op shift")(futex(&w, futexWakeOp, 1, 1, &w2, shift))
	fmt.Println("  w2 after op:", w2)
	res("wake_op bad op")(futex(&w, futexWakeOp, 1, 1, &w2, 7<<28))
}

func res(name string) func(int, unix.Errno) {
	return func(n int, e unix.Errno) { show(name, n, e) }
}

func futexValue(w *uint32, val uint32) (int, unix.Errno) {
	return futex(w, futexWait, val, nil, nil, 0)
}
func futexAbs(w *uint32, ts *unix.Timespec) (int, unix.Errno) {
	return futex(w, futexWaitBitset, 0, ts, nil, 0xffffffff)
}
func futexRel(w *uint32, ts *unix.Timespec) (int, unix.Errno) {
	return futex(w, futexWait, 0, ts, nil, 0)
}
