package launch

import (
	"path/filepath"

	"github.com/rumpgo/rumpgo/sandbox"
)

// confine installs the sandbox (Config.Sandbox) once the machine, the
// guest's file systems and its network are set up and before any guest
// code runs: from then on the monitor may open only the program or image
// (read-only), the volumes (as mounted) and sandbox's defaults (/dev/kvm,
// /proc/self, the resolver's files), and make only the host system calls
// a run needs. Every thread, the ones already running included, is
// confined.
func confine(cfg Config) (sandbox.Status, error) {
	var p sandbox.Policy
	if cfg.rootThrough() {
		p.ReadWrite = append(p.ReadWrite, cfg.RootDir)
	} else if cfg.RootDir != "" {
		p.ReadOnly = append(p.ReadOnly, cfg.RootDir)
	} else if cfg.Image != nil {
		p.ReadOnly = append(p.ReadOnly, cfg.Image.Path)
	} else if abs, err := filepath.Abs(cfg.Path); err == nil {
		p.ReadOnly = append(p.ReadOnly, abs)
	}
	p.ReadOnly = append(p.ReadOnly, "/usr/share/zoneinfo") // time.Local, loaded on first use
	for _, v := range cfg.Volumes {
		if v.ReadOnly {
			p.ReadOnly = append(p.ReadOnly, v.Host)
		} else {
			p.ReadWrite = append(p.ReadWrite, v.Host)
		}
	}
	return sandbox.Install(p)
}
