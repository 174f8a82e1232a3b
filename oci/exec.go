package oci

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/rumpgo/rumpgo/launch"
	"golang.org/x/sys/unix"
)

// execHelperCommand is the hidden command exec starts its process with.
const execHelperCommand = "__exec"

// listenControl opens ROOT/ID/ctl.sock, where exec asks the monitor for
// a new process in the guest.
func listenControl(dir string) (*net.UnixListener, error) {
	return viaDir(dir, func(name string) (*net.UnixListener, error) {
		return net.ListenUnix("unix", &net.UnixAddr{Name: name, Net: "unix"})
	})
}

// viaDir calls f with a short name for dir/ctl.sock: the state
// directories the shim picks are longer than a socket address holds
// (108 bytes), so the name goes through a descriptor of dir.
func viaDir[T any](dir string, f func(string) (T, error)) (T, error) {
	var zero T
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return zero, err
	}
	defer unix.Close(fd)
	return f("/proc/self/fd/" + strconv.Itoa(fd) + "/ctl.sock")
}

func serveControl(ln *net.UnixListener, g *launch.Guest) {}

func (c *cli) exec(args []string) int {
	c.logError(errors.New("exec: not yet"))
	return 1
}

func execHelperMain(args []string) int { return 1 }

// execPIDs are the host PIDs of the container's exec processes.
func execPIDs(dir string) []int {
	ents, _ := os.ReadDir(filepath.Join(dir, "execs"))
	var pids []int
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			if _, ok := procStart(pid); ok {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}
