package launch

import (
	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/rumpglue/kvm"
	"github.com/rumpgo/rumpgo/syscalls"
)

// Guest is a running guest, handed to Config.Started: what an OCI
// runtime needs to start more processes in it (exec) and list them (ps).
type Guest struct {
	k    *syscalls.Kernel
	m    *kvm.Machine
	cfg  Config
	vd   *guestVDSO
	init *posix.ThreadGroup
}

// PIDs are the guest's live processes, as the guest numbers them.
func (g *Guest) PIDs() []int { return g.k.Procs.PIDs() }
