package tests

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestStartStress starts a guest many times in a row while the host is
// loaded — every CPU busy, and the dentry cache churned by walks of /proc
// and /usr, which evicts and remakes /proc/<pid> entries — and requires
// every start to succeed (issue 22: once in ~280 starts the sandbox failed
// to list /proc/self/task from a thread it had already confined).
// RUMPGO_START_STRESS=N sets the number of starts (default 500; the issue
// asks for 2000 once).
func TestStartStress(t *testing.T) {
	requireKVM(t)
	rumpgo := requireRumpgo(t)
	bin := asmProgram(t)
	n := 500
	if s := os.Getenv("RUMPGO_START_STRESS"); s != "" {
		v, err := strconv.Atoi(s)
		require.NoError(t, err)
		n = v
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < runtime.NumCPU(); i++ {
		wg.Add(1)
		go func() { // a CPU hog
			defer wg.Done()
			x := 0
			for {
				select {
				case <-stop:
					return
				default:
				}
				for j := 0; j < 1e6; j++ {
					x += j
				}
			}
		}()
	}
	var walks atomic.Int64
	wg.Add(1)
	go func() { // dentry churn
		defer wg.Done()
		for {
			for _, root := range []string{"/proc", "/usr/lib", "/usr/share"} {
				filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
					select {
					case <-stop:
						return filepath.SkipAll
					default:
					}
					if err != nil {
						return filepath.SkipDir
					}
					return nil
				})
				walks.Add(1)
			}
			select {
			case <-stop:
				return
			default:
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	start := time.Now()
	failures := 0
	for i := 0; i < n; i++ {
		out, err := exec.Command(rumpgo, "run", bin).CombinedOutput()
		if !strings.HasPrefix(string(out), "hello from asm") || strings.Contains(string(out), "rumpgo:") {
			failures++
			t.Errorf("start %d: %v\n%s", i, err, out)
			if failures > 5 {
				break
			}
		}
	}
	t.Logf("%d starts in %v under load (%d CPU hogs, %d tree walks): %d failures",
		n, time.Since(start).Round(time.Millisecond), runtime.NumCPU(), walks.Load(), failures)
}
