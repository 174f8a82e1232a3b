// Package gotestexec is run by tests/compat_test.go with
// `go test -exec "rumpgo run --test"`: what the guest must see.
package gotestexec

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSeesPackageDir(t *testing.T) {
	b, err := os.ReadFile("testdata/hello.txt")
	if err != nil || string(b) != "hello from testdata\n" {
		t.Fatalf("testdata/hello.txt: %q, %v", b, err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if want := os.Getenv("GOTESTEXEC_DIR"); want != "" && wd != want {
		t.Errorf("working directory %s, want %s", wd, want)
	}
	// The module root above it (../../../go.mod).
	if _, err := os.Stat(filepath.Join("..", "..", "..", "go.mod")); err != nil {
		t.Errorf("module root: %v", err)
	}
}

func TestWritable(t *testing.T) {
	p := filepath.Join("testdata", "written.tmp")
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(t.TempDir(), "f"), []byte("y"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestEnvAndIsolation(t *testing.T) {
	if os.Getenv("GOTESTEXEC_UNDER") == "" {
		t.Skip("not under the exec test")
	}
	if os.Getenv("GOTESTEXEC_MARK") != "42" {
		t.Errorf("GOTESTEXEC_MARK = %q, want go test's environment", os.Getenv("GOTESTEXEC_MARK"))
	}
	// The rest of the host is not there.
	for _, p := range []string{"/usr/bin", "/home", "/var"} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s is visible in the guest", p)
		}
	}
	if os.Getenv("GOTESTEXEC_FAIL") != "" {
		t.Fatal("failing on request")
	}
}
