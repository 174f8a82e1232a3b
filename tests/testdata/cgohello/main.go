// Command cgohello is a cgo program: C code that prints with printf, runs
// pthreads and keeps thread-local state, called from several goroutines.
// tests/c_test.go builds it dynamic against glibc and fully static against
// musl, and compares each run natively and under rumpgo.
package main

/*
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static __thread long c_tls;

static void *c_worker(void *arg) {
	long n = (long)arg, sum = 0;
	for (long i = 1; i <= n; i++)
		sum += i;
	c_tls = sum;
	return (void *)c_tls;
}

// c_threads sums 1..n+i in each of k pthreads i; it prints the total
// when asked (goroutines calling at once do not: their order varies).
static long c_threads(int k, long n, int print) {
	pthread_t t[16];
	long total = 0;
	for (int i = 0; i < k; i++)
		pthread_create(&t[i], NULL, c_worker, (void *)(n + i));
	for (int i = 0; i < k; i++) {
		void *r;
		pthread_join(t[i], &r);
		total += (long)r;
	}
	if (print) {
		printf("C: %d pthreads summed to %ld\n", k, total);
		fflush(stdout);
	}
	return total;
}

static char *c_greet(const char *who) {
	char *s = malloc(64);
	snprintf(s, 64, "hello, %s, from C", who);
	return s;
}
*/
import "C"

import (
	"fmt"
	"os"
	"sync"
	"unsafe"
)

func main() {
	who := C.CString("Go")
	defer C.free(unsafe.Pointer(who))
	g := C.c_greet(who)
	fmt.Println(C.GoString(g))
	C.free(unsafe.Pointer(g))

	total := C.c_threads(4, 1000, 1)
	// C called from several goroutines at once, each on its own thread.
	var wg sync.WaitGroup
	results := make([]int64, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = int64(C.c_threads(2, C.long(100*(i+1)), 0))
		}()
	}
	wg.Wait()
	fmt.Println("Go: totals", int64(total), results)
	os.Exit(int(total % 7))
}
