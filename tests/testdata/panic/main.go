// Command panic checks that an unrecovered panic produces Go's traceback on
// stderr and exit status 2. The recursion gives the traceback several frames
// so stack unwinding inside the guest is exercised too.
package main

func main() {
	outer()
}

func outer() { inner(3) }

//go:noinline
func inner(depth int) {
	if depth == 0 {
		panic("rumpgo test panic")
	}
	inner(depth - 1)
}
