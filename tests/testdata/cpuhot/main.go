// Command cpuhot burns CPU in one function, hotLoop, for the profiler's
// tests (tests/observe_test.go): cpuhot SECONDS [NATIVE.pprof]. With a
// second argument it profiles itself with runtime/pprof, the reference the
// profile rumpgo takes from outside is compared with. It also writes a
// line to stdout every 100 ms, so a run makes syscalls all along.
//
// cpuhot work N is the profiler's bench row (tests/bench): N rounds of
// 2^16 steps of hotLoop and one getpid, then "ns_per_call T" (per round)
// on stderr.
package main

import (
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"syscall"
	"time"
)

//go:noinline
func hotLoop(n int) uint64 {
	x := uint64(n)
	for i := 0; i < n; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}

//go:noinline
func coldLoop(n int) uint64 { return hotLoop(n / 16) }

func main() {
	if len(os.Args) == 3 && os.Args[1] == "work" {
		n, err := strconv.Atoi(os.Args[2])
		if err != nil || n < 1 {
			fmt.Fprintln(os.Stderr, "usage: cpuhot work ROUNDS")
			os.Exit(2)
		}
		var sum uint64
		start := time.Now()
		for range n {
			sum += hotLoop(1 << 16)
			syscall.Getpid()
		}
		fmt.Fprintf(os.Stderr, "ns_per_call %.1f\n", float64(time.Since(start).Nanoseconds())/float64(n))
		fmt.Println("sum", sum != 1)
		return
	}
	secs, err := strconv.ParseFloat(os.Args[1], 64)
	if err != nil {
		fmt.Fprintln(os.Stderr, "usage: cpuhot SECONDS [NATIVE.pprof]")
		os.Exit(2)
	}
	if len(os.Args) > 2 {
		f, err := os.Create(os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	end := time.Now().Add(time.Duration(secs * float64(time.Second)))
	next := time.Now()
	var sum uint64
	ticks := 0
	for time.Now().Before(end) {
		sum += hotLoop(1 << 20)
		sum += coldLoop(1 << 20)
		if time.Now().After(next) {
			fmt.Println("tick", ticks)
			ticks++
			next = next.Add(100 * time.Millisecond)
		}
	}
	fmt.Println("sum", sum != 1)
}
