package main

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/rumpgo/rumpgo/launch"
)

// testMode completes cfg for `rumpgo run --test`, the runner of
// `go test -exec "rumpgo run --test"`: go test starts it in the package's
// directory with the test binary and its flags. The guest gets that
// directory, or the module root above it (the nearest directory holding
// go.mod, so ../testdata and go.mod are there too), read-write at the same
// path, starts in the package's directory, and has go test's environment
// (cfg.Env is rumpgo's, which go test set). Nothing else of the host is
// visible beyond what -v adds, except the host's time zone database,
// read-only: Go's time tests, like any program that loads a location, read
// it from /usr/share/zoneinfo. Test binaries allocate more than services
// do, so the guest gets testMemory unless --memory says otherwise. The exit
// status is the guest's, as always.
func testMode(cfg *launch.Config, memorySet bool) error {
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	if wd, err = filepath.EvalSymlinks(wd); err != nil {
		return err
	}
	root := wd
	for d := wd; ; {
		if st, err := os.Stat(filepath.Join(d, "go.mod")); err == nil && !st.IsDir() {
			root = d
			break
		}
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		d = parent
	}
	if root != "/" {
		cfg.Volumes = append(cfg.Volumes, launch.Volume{Host: root, Guest: root})
	}
	// The standard library's module is GOROOT/src; its tests also read
	// GOROOT/lib (time's zoneinfo.zip), which gets mounted read-only.
	if lib := filepath.Join(filepath.Dir(root), "lib"); filepath.Base(root) == "src" {
		if st, err := os.Stat(filepath.Join(lib, "time")); err == nil && st.IsDir() {
			cfg.Volumes = append(cfg.Volumes, launch.Volume{Host: lib, Guest: lib, ReadOnly: true})
		}
	}
	if st, err := os.Stat(zoneinfo); err == nil && st.IsDir() && !strings.HasPrefix(zoneinfo+"/", root+"/") {
		cfg.Volumes = append(cfg.Volumes, launch.Volume{Host: zoneinfo, Guest: zoneinfo, ReadOnly: true})
	}
	if !memorySet {
		cfg.Memory = testMemory
	}
	if cfg.Cwd == "" {
		cfg.Cwd = wd
	}
	return nil
}

const (
	zoneinfo   = "/usr/share/zoneinfo"
	testMemory = 2 << 30
)
