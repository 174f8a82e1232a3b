package launch

import (
	"fmt"
	"os"

	"github.com/rumpgo/rumpgo/boot"
	"github.com/rumpgo/rumpgo/kernel"
	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/rumpglue/kvm"
)

// Which code answers the guest's system calls (Config.Kernel).
const (
	KernelHost  = "host"  // the monitor, one VM exit per call (stage 1)
	KernelGuest = "guest" // the guest kernel inside the VM (stage 2, docs/design/guest-kernel.md)
)

// KernelGODEBUG is in the guest kernel's environment, not the app's: the
// kernel's runtime is preempted by signals only at its own calls while the
// app runs, so asynchronous preemption would only add kicks.
const KernelGODEBUG = "GODEBUG=asyncpreemptoff=1"

// guestKernel is a run whose program is the guest kernel: rumpgo's own
// executable at CPL 0, with the app's ELF on kernel.AppFD.
type guestKernel struct {
	app *os.File
}

// asGuestKernel turns cfg into the run of the guest kernel serving cfg's
// program: the monitor boots rumpgo itself, which loads the app.
func asGuestKernel(cfg Config) (Config, *guestKernel, error) {
	if cfg.Image != nil {
		return cfg, nil, fmt.Errorf("--kernel guest: images are not supported yet")
	}
	if err := boot.SupervisorAvailable(); err != nil {
		return cfg, nil, fmt.Errorf("--kernel guest: %w", err)
	}
	app, err := os.Open(cfg.Path)
	if err != nil {
		return cfg, nil, err
	}
	self, err := os.Executable()
	if err != nil {
		app.Close()
		return cfg, nil, err
	}
	argv := cfg.Argv
	if len(argv) == 0 {
		argv = []string{cfg.Path}
	}
	cfg.Argv = append([]string{"rumpgo", "guest-kernel", "--"}, argv...)
	cfg.Path = self
	return cfg, &guestKernel{app: app}, nil
}

// prepare sets aside the app's frames and tells the kernel about them and
// its page table, and passes the app's ELF.
func (g *guestKernel) prepare(cfg *Config, m *kvm.Machine, fds *posix.FDTable) error {
	frames := cfg.Memory / 2 / boot.PageSize
	first, err := m.M.Mem.AllocRange(frames)
	if err != nil {
		return err
	}
	p := kernel.Params{RAM: m.M.Mem.Size(), PoolStart: first, PoolEnd: first + frames*boot.PageSize, Root: m.Root()}
	cfg.Env = append(cfg.Env[:len(cfg.Env):len(cfg.Env)], kernel.Env+"="+p.String(), KernelGODEBUG)
	if _, e := fds.Install(posix.NewHostFile(int(g.app.Fd())), kernel.AppFD, false, kernel.AppFD+1); e != 0 {
		return fmt.Errorf("passing the app to the guest kernel: %v", e)
	}
	return nil
}
