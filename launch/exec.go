package launch

import (
	"errors"

	"github.com/rumpgo/rumpgo/boot"
	"github.com/rumpgo/rumpgo/posix/mm"
	"github.com/rumpgo/rumpgo/syscalls"
	"golang.org/x/sys/unix"
)

// loader is syscalls.Loader on this machine: execve's programs load the
// way the first one does, into a fresh address space.
type loader struct {
	m   vm
	k   *syscalls.Kernel
	cfg Config // for the memory size and the stack's defaults
	vd  *guestVDSO
}

// Load implements syscalls.Loader.
func (l *loader) Load(req syscalls.ExecRequest) (*syscalls.Program, unix.Errno) {
	exe, err := boot.ReadELFAt(req.Filename, guestReader{req.File}, req.Size)
	if err != nil {
		var xe *boot.ExecError
		if errors.As(err, &xe) {
			return nil, unix.ENOEXEC // not an x86-64 ELF we can run
		}
		return nil, unix.EIO
	}
	space, err := l.m.NewSpace()
	if err != nil {
		return nil, unix.ENOMEM
	}
	as := mm.New(space, commitLimit(l.cfg.Memory))
	fail := func(e unix.Errno) (*syscalls.Program, unix.Errno) {
		as.Release()
		return nil, e
	}
	loaded, err := exe.Load(loaderSpace{as})
	if err != nil {
		return fail(unix.ENOMEM)
	}
	as.SetBrk(loaded.Brk)
	if l.vd != nil {
		if l.vd.mapInto(as) != nil {
			return fail(unix.ENOMEM)
		}
	}
	interp, interpELF, err := loadInterp(l.k.FS(), req.Process, as, exe)
	if err != nil {
		var ie *interpError
		if errors.As(err, &ie) {
			return fail(ie.errno)
		}
		return fail(unix.ENOEXEC)
	}
	c := l.cfg
	c.Argv, c.Env, c.Path = req.Argv, req.Env, req.Filename
	c.UID, c.GID = req.Cred.RUID, req.Cred.RGID
	if len(c.Argv) == 0 {
		c.Argv = []string{""} // argc 0 gets an empty argv[0], as Linux 5.18+ does
	}
	sp, err := setupStack(as, l.m.CPUID, exe, loaded, interp, c, l.vd)
	if err != nil {
		return fail(unix.E2BIG)
	}
	regs := startRegs(loaded, interp, sp)
	images := []syscalls.Image{loadedImage(exe, loaded)}
	images[0].Path = req.Filename
	if interp != nil {
		images = append(images, loadedImage(interpELF, interp))
	}
	return &syscalls.Program{MM: as, Regs: regs, Images: images}, 0
}
