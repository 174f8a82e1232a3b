// Package gobuild finds the rumpgo module and builds its programs, for the
// commands under tests/bench.
package gobuild

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ModuleRoot is the directory of the go.mod above the working directory;
// it fails outside a module.
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("run this inside the rumpgo module")
	}
	return filepath.Dir(gomod), nil
}

// Build runs `go build -o out pkgs...` in root with cgo off: rumpgo runs
// static binaries, and cgo would make the test programs dynamic. With more
// than one package, out is a directory ending in "/" and each binary is
// named after the last element of its package path, as go build does.
func Build(root, out string, pkgs ...string) error {
	cmd := exec.Command("go", append([]string{"build", "-buildvcs=false", "-o", out}, pkgs...)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	var b bytes.Buffer
	cmd.Stdout, cmd.Stderr = &b, &b
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", strings.Join(pkgs, " "), err, b.Bytes())
	}
	return nil
}
