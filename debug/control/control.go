// Package control answers questions about a running guest on a Unix
// socket (rumpgo run --control PATH), without stopping it: a client that
// connects gets the live summary — syscalls made, the time per syscall
// (count, total, p50, p99) and the unsupported calls — and the connection
// closes. `socat - UNIX-CONNECT:PATH` or `nc -U PATH` prints it.
package control

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"strings"
	"time"

	"github.com/rumpgo/rumpgo/syscalls"
)

// Listen makes the socket at path ("@name" for an abstract one, which
// leaves no file). It must be made before the monitor is confined (the
// sandbox forbids creating files); serving needs only accept. The
// confined monitor cannot remove the file at exit either, so a socket
// left by an earlier run that nobody answers on is replaced.
func Listen(path string) (*net.UnixListener, error) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSocket != 0 {
		if c, err := net.Dial("unix", path); err == nil {
			c.Close()
			return nil, fmt.Errorf("--control %s: another rumpgo answers there", path)
		}
		os.Remove(path)
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("--control %s: %w", path, err)
	}
	l.SetUnlinkOnClose(true)
	return l, nil
}

// Serve answers every connection on l with k's summary until l closes.
// start is when the guest started, for the elapsed time.
func Serve(l net.Listener, k *syscalls.Kernel, start time.Time) {
	for {
		c, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond) // EMFILE and the like: try again
			continue
		}
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		WriteSummary(c, k, time.Since(start))
		c.Close()
	}
}

// WriteSummary writes what --summary prints at exit, for a guest that
// still runs.
func WriteSummary(w io.Writer, k *syscalls.Kernel, elapsed time.Duration) error {
	if _, err := fmt.Fprintf(w, "rumpgo: %d syscalls in %v\n", k.Calls(), elapsed.Round(time.Millisecond)); err != nil {
		return err
	}
	if err := k.WriteCallTimes(w); err != nil {
		return err
	}
	if u := k.Unsupported(); len(u) > 0 {
		_, err := fmt.Fprintf(w, "rumpgo: unsupported syscalls answered ENOSYS: %s\n", strings.Join(u, ", "))
		return err
	}
	return nil
}
