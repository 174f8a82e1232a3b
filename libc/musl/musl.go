// Package musl builds cgo programs as fully static binaries against musl
// (Debian's musl-tools: musl-gcc), for users who want a program with no
// ld.so and no libraries to pack: the binary alone is the image. The Go
// part links as usual; the C part and the C library are musl's, linked
// statically by the external linker.
//
// From a shell, libc/musl/go-build-static does the same.
package musl

import (
	"fmt"
	"os"
	"os/exec"
)

// CC is the compiler driver musl-tools installs: gcc with musl's headers,
// startup files and libc.
const CC = "musl-gcc"

// LDFlags are the go build -ldflags that make the result static: cgo
// needs the external linker for C code, and -static makes it link libc
// and the rest in.
const LDFlags = `-linkmode external -extldflags "-static"`

// Command returns the go build command that builds pkgs (go build
// arguments: packages, and flags other than -ldflags) into out from dir,
// statically against musl. It fails when musl-gcc is not installed.
func Command(dir, out string, args ...string) (*exec.Cmd, error) {
	cc, err := exec.LookPath(CC)
	if err != nil {
		return nil, fmt.Errorf("%s not found (apt-get install musl-tools): %w", CC, err)
	}
	cmd := exec.Command("go", append([]string{"build", "-o", out, "-ldflags", LDFlags}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CC="+cc, "CGO_ENABLED=1")
	return cmd, nil
}
