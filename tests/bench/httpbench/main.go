// Command httpbench runs only the HTTP rows of tests/bench, at a length
// of your choosing: a Go net/http hello server natively and under
// `rumpgo run -p`, -c keep-alive connections (64) from a load generator
// on the host, each sending one request at a time for -d after 1 s of
// warm-up. `go run ./tests/bench` measures the same in its one table.
//
//	go run ./tests/bench/httpbench [-c 64] [-d 10s] [-rumpgo PATH]
//
// Both servers listen on [::1] (this project's hosts have no 127.0.0.1 on
// the host's lo); the rumpgo one is reached through -p, so its numbers
// include the forwarder that splices host connections into the guest's
// netstack.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rumpgo/rumpgo/tests/bench/internal/gobuild"
	"github.com/rumpgo/rumpgo/tests/bench/internal/httpload"
)

func main() { os.Exit(run()) }

func run() int {
	conns := flag.Int("c", 64, "keep-alive connections")
	dur := flag.Duration("d", 10*time.Second, "measuring time per side (after 1 s of warm-up)")
	rumpgoFlag := flag.String("rumpgo", "", "use this rumpgo binary instead of building ./cmd/rumpgo")
	flag.Parse()
	root, err := gobuild.ModuleRoot()
	if err != nil {
		return fail("%v", err)
	}
	dir, err := os.MkdirTemp("", "rumpgo-httpbench-")
	if err != nil {
		return fail("%v", err)
	}
	defer os.RemoveAll(dir)
	rumpgo := *rumpgoFlag
	if rumpgo == "" {
		rumpgo = filepath.Join(dir, "rumpgo")
		if err := gobuild.Build(root, rumpgo, "./cmd/rumpgo"); err != nil {
			return fail("%v", err)
		}
	}
	server := filepath.Join(dir, "httpserve")
	if err := gobuild.Build(root, server, "./tests/testdata/httpserve"); err != nil {
		return fail("%v", err)
	}
	var res [2]httpload.Result
	for i := range res {
		port, err := httpload.FreePort()
		if err != nil {
			return fail("%v", err)
		}
		addr := fmt.Sprintf("[::1]:%d", port)
		argv := []string{server, addr}
		if i == 1 {
			argv = []string{rumpgo, "run", "-p", fmt.Sprintf("[::1]:%d:8080", port), server, ":8080"}
		}
		if res[i], err = httpload.Run(argv, addr, *conns, time.Second, *dur); err != nil {
			return fail("%v", err)
		}
	}
	n, g := res[0], res[1]
	fmt.Printf("%d keep-alive connections, %v per side, GET / (6-byte body); bulk: one GET of 64 MiB\n\n", *conns, *dur)
	fmt.Println("| measurement | native | rumpgo -p | ratio |")
	fmt.Println("|---|---|---|---|")
	fmt.Printf("| requests/s | %.0f | %.0f | %.2f× |\n", n.RPS, g.RPS, g.RPS/n.RPS)
	fmt.Printf("| p50 latency | %.2f ms | %.2f ms | %.1f× |\n", n.P50/1e6, g.P50/1e6, g.P50/n.P50)
	fmt.Printf("| p99 latency | %.2f ms | %.2f ms | %.1f× |\n", n.P99/1e6, g.P99/1e6, g.P99/n.P99)
	fmt.Printf("| bulk download (guest→host) | %.0f MB/s | %.0f MB/s | %.2f× |\n", n.BulkMBps, g.BulkMBps, g.BulkMBps/n.BulkMBps)
	fmt.Printf("| idle server VmRSS | %.1f MiB | %.1f MiB | %.1f× |\n", n.RSS/(1<<20), g.RSS/(1<<20), g.RSS/n.RSS)
	if n.Errs+g.Errs > 0 {
		fmt.Printf("\nfailed requests: native %d, rumpgo %d\n", n.Errs, g.Errs)
	}
	return 0
}

func fail(format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "httpbench: "+format+"\n", args...)
	return 1
}
