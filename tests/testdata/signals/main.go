// Command signals exercises the parts of the Go runtime that rest on Linux
// signals; the first argument picks the case. Its output is the same on
// every run, natively and under rumpgo.
package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	cases := map[string]func(){
		"preempt":      preempt,
		"nilderef":     nilDeref,
		"index":        index,
		"usr1":         usr1,
		"sigterm":      sigterm,
		"term-default": termDefault,
		"kill-default": killDefault,
		"mutex":        mutex,
		"sleep":        sleep,
		"pprof":        cpuProfile,
		"itimer":       itimer,
	}
	f, ok := cases[os.Args[1]]
	if !ok {
		fmt.Fprintln(os.Stderr, "unknown case", os.Args[1])
		os.Exit(64)
	}
	f()
}

// preempt needs asynchronous preemption: with one P, the spinning
// goroutine only yields when the runtime's SIGURG interrupts it.
func preempt() {
	runtime.GOMAXPROCS(1)
	var stop atomic.Bool
	go func() {
		for !stop.Load() {
		}
	}()
	time.Sleep(10 * time.Millisecond) // let the spinner take the P
	for i := 0; i < 3; i++ {
		time.Sleep(20 * time.Millisecond)
		fmt.Println("main ran", i)
	}
	stop.Store(true)
}

type node struct{ next *node }

func nilDeref() {
	defer func() { fmt.Println("recovered:", recover()) }()
	var n *node
	fmt.Println(n.next.next)
}

func index() {
	defer func() { fmt.Println("recovered:", recover()) }()
	s := []int{1, 2, 3}
	i := len(os.Args) + 5
	fmt.Println(s[i])
}

func usr1() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGUSR1)
	if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
		fmt.Println("kill:", err)
		os.Exit(1)
	}
	fmt.Println("got", <-c)
	if err := syscall.Kill(os.Getpid(), 0); err != nil {
		fmt.Println("kill 0:", err)
	}
	fmt.Println("kill 65:", syscall.Kill(os.Getpid(), 65))
	fmt.Println("tgkill bad tid:", syscall.Tgkill(os.Getpid(), 1<<22, syscall.SIGUSR1))
}

// sigterm waits for the test to send SIGTERM from outside.
func sigterm() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM)
	fmt.Println("ready")
	select {
	case s := <-c:
		fmt.Println("got", s)
	case <-time.After(30 * time.Second):
		fmt.Println("timed out")
		os.Exit(1)
	}
}

// termDefault: without Notify, Go re-raises SIGTERM with its default
// action, which kills the process: status 128+15.
func termDefault() {
	fmt.Println("raising")
	syscall.Kill(os.Getpid(), syscall.SIGTERM)
	time.Sleep(5 * time.Second)
	fmt.Println("still alive")
}

// killDefault: SIGKILL sent to itself ends it (137); rumpgo reports it
// as it reports any other fatal signal.
func killDefault() {
	fmt.Println("raising")
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	time.Sleep(5 * time.Second)
	fmt.Println("still alive")
}

func mutex() {
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		total int
	)
	ch := make(chan int, 16)
	for g := 0; g < 64; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				mu.Lock()
				total++
				mu.Unlock()
				if i%100 == 0 {
					ch <- 1
					<-ch
				}
			}
		}()
	}
	wg.Wait()
	fmt.Println("total", total)
}

func sleep() {
	start := time.Now()
	time.Sleep(50 * time.Millisecond)
	d := time.Since(start)
	fmt.Println("slept enough:", d >= 50*time.Millisecond, "not too long:", d < 500*time.Millisecond)
	tk := time.NewTicker(10 * time.Millisecond)
	start = time.Now()
	for i := 0; i < 10; i++ {
		<-tk.C
	}
	tk.Stop()
	d = time.Since(start)
	fmt.Println("ticks on time:", d >= 90*time.Millisecond && d < time.Second)
}

//go:noinline
func burn(n int) int {
	x := 0
	for i := 0; i < n; i++ {
		x += i * i % 7
	}
	return x
}

// cpuProfile needs the per-thread CPU timers Go's profiler arms
// (timer_create on CLOCK_THREAD_CPUTIME_ID with SIGEV_THREAD_ID) and SIGPROF
// delivery: a function's name is in the profile only if a sample hit it.
func cpuProfile() {
	var buf bytes.Buffer
	if err := pprof.StartCPUProfile(&buf); err != nil {
		fmt.Println("start:", err)
		os.Exit(1)
	}
	deadline := time.Now().Add(300 * time.Millisecond)
	for time.Now().Before(deadline) {
		burn(1 << 20)
	}
	pprof.StopCPUProfile()
	zr, err := gzip.NewReader(&buf)
	if err != nil {
		fmt.Println("gzip:", err)
		os.Exit(1)
	}
	raw, _ := io.ReadAll(zr)
	fmt.Println("burn sampled:", bytes.Contains(raw, []byte("main.burn")))
}

// itimer: ITIMER_REAL and alarm deliver SIGALRM on time.
func itimer() {
	c := make(chan os.Signal, 4)
	signal.Notify(c, syscall.SIGALRM)
	start := time.Now()
	it := unix.Itimerval{Value: unix.Timeval{Usec: 30000}, Interval: unix.Timeval{Usec: 20000}}
	if _, err := unix.Setitimer(unix.ItimerReal, it); err != nil {
		fmt.Println("setitimer:", err)
		os.Exit(1)
	}
	for i := 0; i < 3; i++ {
		<-c
	}
	d := time.Since(start)
	fmt.Println("three SIGALRMs:", d >= 60*time.Millisecond, d < 2*time.Second)
	old, _ := unix.Setitimer(unix.ItimerReal, unix.Itimerval{})
	fmt.Println("old interval:", old.Interval.Usec)
	unix.Alarm(5)
	left, _ := unix.Alarm(0)
	fmt.Println("alarm left:", left)
}
