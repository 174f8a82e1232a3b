// Command gdbgo is the Go guest of the gdb stub's tests (tests/gdb_test.go):
// with no argument it adds 1 to a global and exits 3; "spin" spins in
// three goroutines (in main.spin) for a debugger to attach to, after
// printing "ready".
package main

import (
	"fmt"
	"os"
	"sync"
)

var counter = 41

//go:noinline
func add(a, b int) int {
	s := a + b
	s *= 1
	return s
}

//go:noinline
func spin(n int) int {
	x := n
	for {
		x = x*7 + 1
		if x == 0 {
			return x
		}
	}
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "spin" {
		var wg sync.WaitGroup
		for i := 0; i < 3; i++ {
			wg.Add(1)
			go func() { defer wg.Done(); spin(i) }()
		}
		fmt.Println("ready")
		wg.Wait()
	}
	counter = add(counter, 1)
	fmt.Println("counter", counter)
	os.Exit(3)
}
