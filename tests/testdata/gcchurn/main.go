// Command gcchurn keeps ~200 MiB live while allocating 2 GiB in total, so the
// collector repeatedly frees and the allocator reuses memory (madvise, page
// faults on recycled spans) instead of only growing the heap.
package main

import (
	"fmt"
	"runtime"
)

const (
	chunk = 1 << 20
	live  = 200
	total = 2048 // chunks, i.e. 2 GiB

	// FNV-1a, so a single wrong byte anywhere changes the printed checksum.
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func main() {
	ring := make([][]byte, live)
	sum := uint64(fnvOffset)
	for i := 0; i < total; i++ {
		b := make([]byte, chunk)
		// Write one byte per page so every page is really touched.
		for j := 0; j < chunk; j += 4096 {
			b[j] = byte(i + j>>12)
		}
		old := ring[i%live]
		if old != nil {
			// Read back the chunk being dropped to catch memory that changed
			// under us (a bad page mapping would show up here).
			for j := 0; j < chunk; j += 4096 {
				sum = (sum ^ uint64(old[j])) * fnvPrime
			}
		}
		ring[i%live] = b
	}
	for _, b := range ring {
		for j := 0; j < chunk; j += 4096 {
			sum = (sum ^ uint64(b[j])) * fnvPrime
		}
	}
	runtime.GC()
	fmt.Printf("checksum %016x\n", sum)
	fmt.Println("ok")
}
