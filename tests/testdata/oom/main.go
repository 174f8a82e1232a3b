// Command oom keeps touching memory until it has 4 GiB. Under rumpgo with
// --memory 256 the guest must die with Go's own out-of-memory error rather
// than take the host down. It is never run natively by the tests.
package main

import "fmt"

const chunk = 16 << 20

func main() {
	var keep [][]byte
	for total := 0; total < 4<<30; total += chunk {
		b := make([]byte, chunk)
		for j := 0; j < chunk; j += 4096 {
			b[j] = 1
		}
		keep = append(keep, b)
	}
	fmt.Println("allocated", len(keep)*chunk>>20, "MiB without running out")
}
