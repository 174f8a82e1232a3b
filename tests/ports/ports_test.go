// Package ports_test builds every port's image (ports/NAME), boots it
// with rumpgo and runs its smoke checks over the network (-p on [::1]),
// with host commands (a port's tools such as etcdctl, or the host's
// sqlite3 on a volume's files) or over stdio.
//
// The default run (go test ./...) covers the fast ports only: busybox-httpd,
// a Debian binary taken as is, and the ports made of Debian packages
// (rumpgo build --deb; seconds once apt-get download has cached them). RUMPGO_PORTS=all runs every port; a
// comma-separated list of names runs those (RUMPGO_PORTS=etcd,sqlite-http).
// Go-built ports compile their pinned upstream release (or, for
// sqlite-http, SQLite's C) once (minutes) and are cached under
// $RUMPGO_PORTS_CACHE (default $XDG_CACHE_HOME/rumpgo/ports).
package ports_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rumpgo/rumpgo/ports"
)

// fast are the ports of the default run.
var fast = map[string]bool{"busybox-httpd": true, "python-wsgi": true, "memcached": true, "nginx": true, "nodejs": true}

var rumpgoBin, rumpgoErr = "", error(nil)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rumpgo-ports-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if bin := os.Getenv("RUMPGO_BIN"); bin != "" {
		rumpgoBin, rumpgoErr = filepath.Abs(bin)
	} else {
		rumpgoBin = filepath.Join(dir, "rumpgo")
		cmd := exec.Command("go", "build", "-buildvcs=false", "-o", rumpgoBin, "github.com/rumpgo/rumpgo/cmd/rumpgo")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			rumpgoErr = fmt.Errorf("go build ./cmd/rumpgo: %v: %s", err, out)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// selected reports whether RUMPGO_PORTS picks port name.
func selected(name string) bool {
	sel := os.Getenv("RUMPGO_PORTS")
	if sel == "" {
		return fast[name]
	}
	for _, s := range strings.Split(sel, ",") {
		if s = strings.TrimSpace(s); s == "all" || s == name {
			return true
		}
	}
	return false
}

// requireGuests skips without a KVM that runs guest code natively (every
// port's program uses SSE), as `rumpgo doctor` probes.
func requireGuests(t *testing.T) {
	t.Helper()
	if rumpgoErr != nil {
		t.Fatalf("rumpgo is not available: %v", rumpgoErr)
	}
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("needs /dev/kvm: %v", err)
	}
	f.Close()
	out, _ := exec.Command(rumpgoBin, "doctor").CombinedOutput()
	if !strings.Contains(string(out), "native execution: yes") {
		t.Skipf("needs a KVM that executes guest code natively; `rumpgo doctor` says:\n%s", out)
	}
}

// unavailable reports whether a fetch failed for want of a toolchain,
// package or network rather than for a fault of the port.
func unavailable(err error) bool {
	s := err.Error()
	for _, m := range []string{"needs the go command", "needs Debian's", "apt-get download", "host's apt lists", "dial tcp", "no such host", "proxy.golang.org", "connection refused", "i/o timeout"} {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func TestPorts(t *testing.T) {
	rs, err := ports.List()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		t.Run(r.Name, func(t *testing.T) {
			if !selected(r.Name) {
				t.Skipf("slow port: run with RUMPGO_PORTS=all (or RUMPGO_PORTS=%s)", r.Name)
			}
			requireGuests(t)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
			defer cancel()
			log := logWriter{t}
			bin, err := r.Fetch(ctx, ports.CacheDir(), log)
			if err != nil {
				if unavailable(err) {
					t.Skipf("cannot fetch the port's program here: %v", err)
				}
				t.Fatal(err)
			}
			staged := t.TempDir()
			if err := r.Stage(staged); err != nil {
				t.Fatal(err)
			}
			img := filepath.Join(t.TempDir(), r.Name+".img")
			out, err := exec.CommandContext(ctx, rumpgoBin, append([]string{"build"}, r.BuildArgs(bin, staged, img)...)...).CombinedOutput()
			if err != nil {
				if r.Debian != nil && strings.Contains(string(out), "needs libraries the host does not have") {
					t.Skipf("the dynamic binary's libraries are not on this host (apt-get install %s): %s", r.Debian.Package, out)
				}
				t.Fatalf("rumpgo build: %v: %s", err, out)
			}
			st, err := os.Stat(img)
			if err != nil {
				t.Fatal(err)
			}
			tools, err := r.FetchTools(ctx, ports.CacheDir(), log)
			if err != nil {
				if unavailable(err) {
					t.Skipf("cannot fetch the port's tools here: %v", err)
				}
				t.Fatal(err)
			}
			rep, err := r.Test(ctx, rumpgoBin, img, tools, log)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("image %.1f MiB", float64(st.Size())/(1<<20))
			if rep.Ready > 0 {
				t.Logf("boot to first answer %v", rep.Ready.Round(time.Millisecond))
			}
			for _, res := range rep.Results {
				t.Run(res.Check.Name, func(t *testing.T) {
					switch res.Status() {
					case "FAIL":
						t.Errorf("%v\nthe server guest's stderr:\n%s", res.Err, rep.Stderr)
					case "GAP":
						t.Skipf("known gap (%s): %v", res.Check.Gap, res.Err)
					case "GAP-CLOSED":
						t.Errorf("passed: the gap %q is closed; update ports/%s/port.json", res.Check.Gap, r.Name)
					}
				})
			}
		})
	}
}
