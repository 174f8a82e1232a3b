package launch

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/rumpgo/rumpgo/boot"
)

// Exit statuses of rumpgo's own failures, as a shell's for exec failures.
const (
	ExitFailure     = 125
	ExitNotRunnable = 126
	ExitNotFound    = 127
)

// Failure prints the one-line reason a program did not start and picks the
// exit status a shell would: rumpgo run's and the guest kernel's alike.
func Failure(stderr io.Writer, path string, err error) int {
	var ee *boot.ExecError
	switch {
	case errors.As(err, &ee):
		fmt.Fprintf(stderr, "rumpgo: %v\n", err)
		return ExitNotRunnable
	case errors.Is(err, fs.ErrNotExist):
		fmt.Fprintf(stderr, "rumpgo: %s: no such file\n", path)
		return ExitNotFound
	case errors.Is(err, fs.ErrPermission):
		fmt.Fprintf(stderr, "rumpgo: %s: permission denied\n", path)
		return ExitNotRunnable
	}
	fmt.Fprintf(stderr, "rumpgo: %s\n", strings.ReplaceAll(err.Error(), "\n", "; "))
	return ExitFailure
}
