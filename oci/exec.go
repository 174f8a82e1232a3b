package oci

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/rumpgo/rumpgo/launch"
)

// execHelperCommand is the hidden command exec starts its process with.
const execHelperCommand = "__exec"

// listenControl opens ROOT/ID/ctl.sock, where exec asks the monitor for
// a new process in the guest.
func listenControl(dir string) (*net.UnixListener, error) {
	return net.ListenUnix("unix", &net.UnixAddr{Name: filepath.Join(dir, "ctl.sock"), Net: "unix"})
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
