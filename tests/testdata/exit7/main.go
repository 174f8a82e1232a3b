// Command exit7 checks that a non-zero exit_group status reaches the host and
// that output written just before os.Exit (which skips deferred calls) is kept.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Println("exiting with 7")
	os.Exit(7)
}
