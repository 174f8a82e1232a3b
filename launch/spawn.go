package launch

import (
	"fmt"
	"time"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/syscalls"
	"golang.org/x/sys/unix"
)

// Guest is a running guest, handed to Config.Started: what an OCI
// runtime needs to start more processes in it (exec) and list them (ps).
type Guest struct {
	k    *syscalls.Kernel
	m    vm
	cfg  Config
	vd   *guestVDSO
	init *posix.ThreadGroup
}

// PIDs are the guest's live processes, as the guest numbers them.
func (g *Guest) PIDs() []int { return g.k.Procs.PIDs() }

// SpawnConfig is a process to start in a running guest (Guest.Spawn).
type SpawnConfig struct {
	// Path is the program in the guest: absolute, relative to Cwd, or a
	// name looked up through Env's PATH.
	Path      string
	Argv, Env []string
	Cwd       string
	UID, GID  uint32
	Groups    []uint32
	// Stdio are host descriptors the process gets as 0, 1 and 2; they
	// are the process's from then on (closed when it ends).
	Stdio   [3]int
	Rlimits map[int]posix.Rlimit
}

// Process is a process Spawn started.
type Process struct{ g *posix.ThreadGroup }

// Spawn starts a new process in the running guest, with no parent
// there (see syscalls.Kernel.Spawn).
func (g *Guest) Spawn(c SpawnConfig) (*Process, error) {
	fds := posix.NewFDTable()
	for i, fd := range c.Stdio {
		if _, e := fds.Install(posix.NewOwnedHostFile(fd), i, false, 3); e != 0 {
			fds.Release()
			return nil, fmt.Errorf("stdio %d: %v", i, e)
		}
	}
	p, err := g.k.Spawn(syscalls.SpawnRequest{Path: c.Path, Argv: c.Argv, Env: c.Env, Cwd: c.Cwd,
		UID: c.UID, GID: c.GID, Groups: c.Groups, FDs: fds, Rlimits: c.Rlimits})
	if err != nil {
		return nil, err
	}
	return &Process{g: p}, nil
}

// PID is the process's PID in the guest.
func (p *Process) PID() int { return p.g.PID }

// Signal sends sig to the process as a signal from outside the machine
// (pid 0, SI_USER).
func (p *Process) Signal(sig unix.Signal) {
	p.g.Send(posix.SigInfo{Signo: int32(sig), Code: posix.SI_USER})
}

// Wait waits for the process to end and returns how. Its descriptors
// are closed by then (a reader of its stdout sees the end), unless a
// thread stays blocked in a host call for more than a second.
func (p *Process) Wait() posix.ExitStatus {
	<-p.g.Dying()
	for deadline := time.Now().Add(time.Second); p.g.NumTasks() > 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	return p.g.Status()
}
