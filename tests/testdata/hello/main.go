// Command hello exercises the basic process contract: argv, env, stdin,
// stdout and exit status, so a differential run can compare them byte for byte.
package main

import (
	"crypto/sha256"
	"fmt"
	"io"
	"os"
)

func main() {
	fmt.Println("hello, world")
	for _, a := range os.Args[1:] {
		fmt.Println(a)
	}
	fmt.Printf("RUMPGO_TEST_VAR=%q\n", os.Getenv("RUMPGO_TEST_VAR"))
	data, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "read stdin:", err)
		os.Exit(1)
	}
	fmt.Printf("stdin %d %x\n", len(data), sha256.Sum256(data))
}
