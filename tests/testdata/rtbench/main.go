// Command rtbench times one runtime operation N times and reports
// "ns_per_call X" on stderr, for tests/bench:
//
//	rtbench signal N   a signal to itself, from kill to signal.Notify's channel
//	rtbench futex N    a wake-up handed back and forth between two threads
//	rtbench thread N   creating an OS thread and waiting for it to end
//	rtbench touch N    the first touch of each page of N MiB freshly mmapped (per page)
//	rtbench spawn N    starting this program as a child (os/exec) and waiting for it
package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: rtbench signal|futex|thread|touch N")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[2])
	if err != nil || n < 1 {
		fmt.Fprintln(os.Stderr, "rtbench: N must be a positive number")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "touch":
		touch(n)
		return
	case "child":
		return // what spawn starts
	}
	ops := map[string]func(int){"signal": selfSignal, "futex": pingPong, "thread": threads, "spawn": spawn}
	op, ok := ops[os.Args[1]]
	if !ok {
		fmt.Fprintln(os.Stderr, "rtbench: unknown operation", os.Args[1])
		os.Exit(2)
	}
	start := time.Now()
	op(n)
	fmt.Fprintf(os.Stderr, "ns_per_call %.1f\n", float64(time.Since(start).Nanoseconds())/float64(n))
}

// spawn starts this program as a child that exits at once, n times.
func spawn(n int) {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "rtbench:", err)
		os.Exit(1)
	}
	for i := 0; i < n; i++ {
		if err := exec.Command(self, "child", "1").Run(); err != nil {
			fmt.Fprintln(os.Stderr, "rtbench: spawn:", err)
			os.Exit(1)
		}
	}
}

// touch reports per page, not per MiB: the cost of a page fault.
func touch(mib int) {
	b, err := syscall.Mmap(-1, 0, mib<<20, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		fmt.Fprintln(os.Stderr, "rtbench: mmap:", err)
		os.Exit(1)
	}
	start := time.Now()
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	pages := len(b) / 4096
	fmt.Fprintf(os.Stderr, "ns_per_call %.1f\n", float64(time.Since(start).Nanoseconds())/float64(pages))
}

func selfSignal(n int) {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGUSR1)
	pid := os.Getpid()
	for range n {
		syscall.Kill(pid, syscall.SIGUSR1)
		<-c
	}
}

// pingPong passes a token between two goroutines locked to their own
// threads: each hand-over parks one thread in futex and wakes the other.
func pingPong(n int) {
	ping, pong := make(chan struct{}), make(chan struct{})
	go func() {
		runtime.LockOSThread()
		for range n {
			<-ping
			pong <- struct{}{}
		}
	}()
	runtime.LockOSThread()
	for range n {
		ping <- struct{}{}
		<-pong
	}
}

// threads: a goroutine that exits while locked to its thread takes the
// thread with it, so each round clones a fresh one.
func threads(n int) {
	done := make(chan struct{})
	for range n {
		go func() {
			runtime.LockOSThread()
			done <- struct{}{}
		}()
		<-done
	}
}
