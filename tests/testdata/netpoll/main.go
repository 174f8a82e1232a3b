// Command netpoll exercises Go's network poller, which waits for pipes
// and timers with epoll: os.Pipe between goroutines, read deadlines,
// time.Sleep, time.After and tickers. Its output does not depend on
// timing.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

func main() {
	// A chain of goroutines joined by pipes, each adding its number.
	const stages = 8
	first, w0, err := os.Pipe()
	if err != nil {
		panic(err)
	}
	in := first
	var wg sync.WaitGroup
	for i := 0; i < stages; i++ {
		r, w, err := os.Pipe()
		if err != nil {
			panic(err)
		}
		wg.Add(1)
		go func(id int, in *os.File, out *os.File) {
			defer wg.Done()
			defer out.Close()
			sc := bufio.NewScanner(in)
			for sc.Scan() {
				fmt.Fprintf(out, "%s+%d\n", sc.Text(), id)
			}
			in.Close()
		}(i, in, w)
		in = r
	}
	go func() {
		for i := 0; i < 5; i++ {
			fmt.Fprintf(w0, "msg%d\n", i)
			time.Sleep(5 * time.Millisecond)
		}
		w0.Close()
	}()
	out, err := io.ReadAll(in)
	if err != nil {
		panic(err)
	}
	fmt.Print(string(out))
	wg.Wait()

	// A large transfer through one pipe: the writer blocks in the poller
	// while the pipe is full.
	r, w, _ := os.Pipe()
	const size = 4 << 20
	go func() {
		buf := make([]byte, size)
		for i := range buf {
			buf[i] = byte(i * 31)
		}
		w.Write(buf)
		w.Close()
	}()
	data, _ := io.ReadAll(r)
	sum := 0
	for i, b := range data {
		if b != byte(i*31) {
			panic("corrupt")
		}
		sum += int(b)
	}
	fmt.Println("transfer:", len(data), sum)
	r.Close()

	// Read deadlines on a pipe are poller timers.
	r, w, _ = os.Pipe()
	r.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	start := time.Now()
	_, err = r.Read(make([]byte, 10))
	fmt.Println("deadline:", errors.Is(err, os.ErrDeadlineExceeded), time.Since(start) >= 45*time.Millisecond)
	r.SetReadDeadline(time.Time{})
	go func() {
		time.Sleep(20 * time.Millisecond)
		w.Write([]byte("late"))
	}()
	buf := make([]byte, 10)
	n, err := r.Read(buf)
	fmt.Printf("after deadline cleared: %q %v\n", buf[:n], err)
	// Closing a file another goroutine is blocked reading wakes it.
	go func() {
		time.Sleep(20 * time.Millisecond)
		r.Close()
	}()
	_, err = r.Read(buf)
	fmt.Println("closed while reading:", errors.Is(err, os.ErrClosed))
	w.Close()

	// Timers.
	start = time.Now()
	time.Sleep(30 * time.Millisecond)
	fmt.Println("sleep:", time.Since(start) >= 30*time.Millisecond)
	select {
	case <-time.After(20 * time.Millisecond):
		fmt.Println("after: fired")
	case <-time.After(2 * time.Second):
		fmt.Println("after: wrong timer")
	}
	tk := time.NewTicker(10 * time.Millisecond)
	start = time.Now()
	for i := 0; i < 5; i++ {
		<-tk.C
	}
	tk.Stop()
	fmt.Println("ticker:", time.Since(start) >= 40*time.Millisecond)
	var twg sync.WaitGroup
	results := make([]int, 20)
	for i := range results {
		twg.Add(1)
		go func(i int) {
			defer twg.Done()
			time.Sleep(time.Duration(i%5) * 3 * time.Millisecond)
			results[i] = i * i
		}(i)
	}
	twg.Wait()
	total := 0
	for _, v := range results {
		total += v
	}
	fmt.Println("sleepers:", total)
}
