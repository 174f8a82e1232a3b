// Command timenow reads the clock N times (default 1 000 000) and checks
// what a program may rely on: the monotonic clock never goes back, and
// time moves on.
//
// stdout is the same natively and under rumpgo. stderr carries what is not:
// the first and last wall-clock readings (wall_ns FIRST LAST, nanoseconds
// since the epoch) and the cost of one reading (ns_per_call).
//
// With -syscall it alternates clock_gettime(CLOCK_MONOTONIC) system calls
// with the runtime's own (vDSO) reading of the same clock, checking that
// neither path ever sees time go back from the other's last answer. Its
// ns_per_call is the system call's: what every reading cost before rumpgo
// had a vDSO.
//
// With -contend another thread makes clock_gettime system calls all the
// while: under rumpgo each one publishes the time page (twice: the answer
// and the refresh after the exit), so the vDSO's readers retry more; the
// ns_per_call is time.Now's under that traffic.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"
	"unsafe"
)

// nanotime is CLOCK_MONOTONIC as the runtime reads it: through the vDSO
// when there is one.
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64

func main() {
	raw := flag.Bool("syscall", false, "call clock_gettime(CLOCK_MONOTONIC) directly, bypassing the vDSO")
	contend := flag.Bool("contend", false, "make clock_gettime system calls on another thread meanwhile")
	flag.Parse()
	n := 1_000_000
	if flag.NArg() > 0 {
		if _, err := fmt.Sscan(flag.Arg(0), &n); err != nil || n < 2 {
			fmt.Fprintln(os.Stderr, "usage: timenow [-syscall] [N>1]")
			os.Exit(2)
		}
	}
	if *raw {
		var ts syscall.Timespec
		var spent time.Duration
		last, backwards := nanotime(), 0
		for range n {
			start := time.Now()
			syscall.RawSyscall(syscall.SYS_CLOCK_GETTIME, 1 /* CLOCK_MONOTONIC */, uintptr(unsafe.Pointer(&ts)), 0)
			spent += time.Since(start)
			s := ts.Nano()
			v := nanotime()
			if s < last || v < s {
				backwards++
			}
			last = v
		}
		fmt.Printf("calls %d\n", n)
		fmt.Printf("monotonic went back %d times\n", backwards)
		fmt.Fprintf(os.Stderr, "ns_per_call %.1f\n", float64(spent.Nanoseconds())/float64(n))
		return
	}

	if *contend {
		started := make(chan struct{})
		go func() {
			runtime.LockOSThread()
			var ts syscall.Timespec
			close(started)
			for {
				syscall.RawSyscall(syscall.SYS_CLOCK_GETTIME, 1 /* CLOCK_MONOTONIC */, uintptr(unsafe.Pointer(&ts)), 0)
			}
		}()
		<-started
	}
	first := time.Now()
	prev, backwards := first, 0
	for range n - 1 {
		now := time.Now()
		if now.Sub(prev) < 0 { // compares the monotonic readings
			backwards++
		}
		prev = now
	}
	el := prev.Sub(first)
	fmt.Printf("calls %d\n", n)
	fmt.Printf("monotonic went back %d times\n", backwards)
	// A million readings take milliseconds even at native speed.
	fmt.Printf("time moved on: %v\n", el > 0)
	fmt.Fprintf(os.Stderr, "wall_ns %d %d\n", first.UnixNano(), prev.UnixNano())
	fmt.Fprintf(os.Stderr, "ns_per_call %.1f\n", float64(el.Nanoseconds())/float64(n))
}
