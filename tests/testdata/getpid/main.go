// Command getpid measures the cost of the cheapest real syscall, which under
// rumpgo is the full round trip guest -> monitor -> guest.
package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

func main() {
	n := 100000
	if len(os.Args) > 1 {
		v, err := strconv.Atoi(os.Args[1])
		if err != nil || v <= 0 {
			fmt.Fprintln(os.Stderr, "usage: getpid [N>0]")
			os.Exit(2)
		}
		n = v
	}
	start := time.Now()
	for i := 0; i < n; i++ {
		syscall.Getpid()
	}
	el := time.Since(start)
	fmt.Printf("getpid_ns %.1f\n", float64(el.Nanoseconds())/float64(n))
}
