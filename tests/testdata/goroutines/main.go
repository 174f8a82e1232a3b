// Command goroutines stresses the scheduler and futex paths: a ring of
// 10 000 goroutines, each blocked on its own channel, passes tokens around.
package main

import "fmt"

const (
	n      = 10000
	rounds = 10
)

func main() {
	first := make(chan int)
	in := first
	for i := 0; i < n; i++ {
		out := make(chan int)
		go func(in <-chan int, out chan<- int, id int) {
			for v := range in {
				out <- v + id
			}
			close(out)
		}(in, out, i)
		in = out
	}
	// Feed from a separate goroutine so the ring never deadlocks on a full pipe.
	go func() {
		for r := 0; r < rounds; r++ {
			first <- r
		}
		close(first)
	}()
	sum := 0
	for v := range in {
		sum += v
	}
	// Each token gains sum(0..n-1); the seeds add sum(0..rounds-1).
	want := rounds*(n*(n-1)/2) + rounds*(rounds-1)/2
	fmt.Println("sum", sum, "want", want)
	if sum != want {
		panic("wrong sum")
	}
}
