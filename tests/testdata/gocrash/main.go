// Command gocrash dereferences nil without recovering, for the crash
// report test in tests/c_test.go. Run with GOTRACEBACK=crash, the Go
// runtime prints its own traceback and then dies of SIGABRT with the
// default action, which is when rumpgo's report names the frames. With
// the argument "cgo" (built with cgo) it dies inside C instead.
package main

import (
	"fmt"
	"os"
)

type node struct{ next *node }

//go:noinline
func crashHere(n *node) int {
	return len(fmt.Sprint(n.next.next)) // n.next is nil
}

func main() {
	fmt.Println("about to crash")
	if len(os.Args) > 1 && os.Args[1] == "cgo" {
		cCrash()
		return
	}
	os.Exit(crashHere(&node{}))
}
