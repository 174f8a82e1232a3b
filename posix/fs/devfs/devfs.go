// Package devfs builds /dev: a tmpfs holding the device nodes a program
// expects (null, zero, full, random, urandom, tty when stdin is a
// terminal), the stdin/stdout/stderr and fd symlinks into /proc/self/fd,
// and shm (a tmpfs mounted by the caller); and the character devices those
// nodes open, registered in the VFS's device table under Linux's numbers:
// ptmx makes pseudo-terminals (posix/tty) whose slaves appear in pts, and
// tty is the caller's controlling terminal (ENXIO without one).
package devfs

import (
	"crypto/rand"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/fs/tmpfs"
	"github.com/rumpgo/rumpgo/posix/tty"
	"github.com/rumpgo/rumpgo/posix/vfs"
	"golang.org/x/sys/unix"
)

// Device numbers (Documentation/admin-guide/devices.txt).
var (
	DevNull    = unix.Mkdev(1, 3)
	DevZero    = unix.Mkdev(1, 5)
	DevFull    = unix.Mkdev(1, 7)
	DevRandom  = unix.Mkdev(1, 8)
	DevURandom = unix.Mkdev(1, 9)
	DevTTY     = unix.Mkdev(5, 0)
	DevPtmx    = unix.Mkdev(5, 2)
)

// ptsMajor is UNIX98_PTY_SLAVE_MAJOR: /dev/pts/N is (136, N).
const ptsMajor = 136

// Options say what /dev holds.
type Options struct {
	// TTY, when set, is what /dev/tty opens: the controlling terminal
	// (rumpgo's stdin when that is one) of the first session, whose
	// programs have no pseudo-terminal of their own.
	TTY func(flags int) (posix.File, unix.Errno)
	// Procs are the machine's processes, whom terminals signal; without
	// them there are no pseudo-terminals (ptmx is absent).
	Procs *posix.Processes
}

// firstSession is the session of the machine's first process, whose
// controlling terminal is rumpgo's own (Options.TTY).
const firstSession = 1

// New returns a populated /dev and registers its devices in v.
func New(v *vfs.VFS, o Options) *tmpfs.FS {
	fs := tmpfs.New(tmpfs.Options{Mode: 0o755, Size: 1 << 20})
	ctx := vfs.RootContext()
	root := fs.Root()
	node := func(name string, rdev uint64, mode uint32) {
		root.Create(ctx, name, vfs.CreateAttr{Mode: vfs.S_IFCHR | mode, Rdev: rdev})
	}
	link := func(name, target string) {
		root.Create(ctx, name, vfs.CreateAttr{Mode: vfs.S_IFLNK | 0o777, Target: target})
	}
	dir := func(name string, mode uint32) {
		root.Create(ctx, name, vfs.CreateAttr{Mode: vfs.S_IFDIR | mode})
	}
	node("null", DevNull, 0o666)
	node("zero", DevZero, 0o666)
	node("full", DevFull, 0o666)
	node("random", DevRandom, 0o666)
	node("urandom", DevURandom, 0o666)
	v.RegisterDevice(DevNull, device(func(int) (vfs.FileImpl, unix.Errno) { return nullDev{}, 0 }))
	v.RegisterDevice(DevZero, device(func(int) (vfs.FileImpl, unix.Errno) { return zeroDev{}, 0 }))
	v.RegisterDevice(DevFull, device(func(int) (vfs.FileImpl, unix.Errno) { return fullDev{}, 0 }))
	v.RegisterDevice(DevRandom, device(func(int) (vfs.FileImpl, unix.Errno) { return randomDev{}, 0 }))
	v.RegisterDevice(DevURandom, device(func(int) (vfs.FileImpl, unix.Errno) { return randomDev{}, 0 }))
	var ptys *tty.Manager
	if o.Procs != nil {
		ptys = tty.NewManager(o.Procs)
		pts, _ := root.Create(ctx, "pts", vfs.CreateAttr{Mode: vfs.S_IFDIR | 0o755})
		ptys.Created = func(p *tty.Pty, uid, gid uint32) {
			rdev := unix.Mkdev(ptsMajor, uint32(p.Index))
			v.RegisterDevice(rdev, ctxDevice(func(ctx *vfs.Context, flags int) (vfs.FileImpl, unix.Errno) {
				p := ptys.Pty(int(unix.Minor(rdev)))
				if p == nil {
					return nil, unix.EIO
				}
				s, e := p.OpenSlave(o.Procs.Group(ctx.PID), flags)
				if e != 0 {
					return nil, e
				}
				return s, 0
			}))
			// devpts's defaults: mode 0600, the opener's fsuid and fsgid.
			pts.Create(ctx, itoa(p.Index), vfs.CreateAttr{Mode: vfs.S_IFCHR | 0o600, UID: uid, GID: gid, Rdev: rdev})
		}
		ptys.Gone = func(p *tty.Pty) { pts.Unlink(ctx, itoa(p.Index), false) }
		node("ptmx", DevPtmx, 0o666)
		v.RegisterDevice(DevPtmx, ctxDevice(func(ctx *vfs.Context, flags int) (vfs.FileImpl, unix.Errno) {
			return ptys.Open(ctx.Cred.FSUID, ctx.Cred.FSGID), 0
		}))
	} else {
		dir("pts", 0o755)
	}
	node("tty", DevTTY, 0o666)
	v.RegisterDevice(DevTTY, ctxDevice(func(ctx *vfs.Context, flags int) (vfs.FileImpl, unix.Errno) {
		var g *posix.ThreadGroup
		if o.Procs != nil {
			g = o.Procs.Group(ctx.PID)
		}
		if ptys != nil && g != nil {
			if p := ptys.Controlling(g); p != nil {
				s, e := p.OpenSlave(nil, flags|unix.O_NOCTTY)
				if e != 0 {
					return nil, e
				}
				return s, 0
			}
		}
		if o.TTY == nil || g != nil && g.SID() != firstSession {
			return nil, unix.ENXIO // no controlling terminal
		}
		f, e := o.TTY(flags)
		if e != 0 {
			return nil, e
		}
		return &fileDev{f: f}, 0
	}))
	link("stdin", "/proc/self/fd/0")
	link("stdout", "/proc/self/fd/1")
	link("stderr", "/proc/self/fd/2")
	link("fd", "/proc/self/fd")
	dir("shm", 0o1777)
	return fs
}

type device func(flags int) (vfs.FileImpl, unix.Errno)

func (d device) Open(_ *vfs.Context, flags int) (vfs.FileImpl, unix.Errno) { return d(flags) }

// ctxDevice is a device that needs its opener (terminals).
type ctxDevice func(ctx *vfs.Context, flags int) (vfs.FileImpl, unix.Errno)

func (d ctxDevice) Open(ctx *vfs.Context, flags int) (vfs.FileImpl, unix.Errno) {
	if ctx == nil {
		ctx = vfs.RootContext()
	}
	return d(ctx, flags)
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// charDev is what every memory device shares: no offsets that mean
// anything (lseek answers 0, as Linux's null_lseek), nothing to release.
type charDev struct{}

func (charDev) Release() {}
func (charDev) Seek(*vfs.Context, int64, int, int64) (int64, unix.Errno) {
	return 0, 0
}

type nullDev struct{ charDev }

func (nullDev) ReadAt(*vfs.Context, []byte, int64) (int, unix.Errno)        { return 0, 0 }
func (nullDev) WriteAt(_ *vfs.Context, p []byte, _ int64) (int, unix.Errno) { return len(p), 0 }

type zeroDev struct{ charDev }

func (zeroDev) ReadAt(_ *vfs.Context, p []byte, _ int64) (int, unix.Errno) {
	clear(p)
	return len(p), 0
}
func (zeroDev) WriteAt(_ *vfs.Context, p []byte, _ int64) (int, unix.Errno) { return len(p), 0 }

// AnonymousMapping tells mmap that mapping /dev/zero is anonymous memory.
func (zeroDev) AnonymousMapping() {}

type fullDev struct{ charDev }

func (fullDev) ReadAt(_ *vfs.Context, p []byte, _ int64) (int, unix.Errno) {
	clear(p)
	return len(p), 0
}
func (fullDev) WriteAt(*vfs.Context, []byte, int64) (int, unix.Errno) { return 0, unix.ENOSPC }

type randomDev struct{ charDev }

func (randomDev) ReadAt(_ *vfs.Context, p []byte, _ int64) (int, unix.Errno) {
	rand.Read(p)
	return len(p), 0
}

// Writing to the random devices mixes entropy in on Linux; here it is
// accepted and dropped.
func (randomDev) WriteAt(_ *vfs.Context, p []byte, _ int64) (int, unix.Errno) { return len(p), 0 }

// fileDev is a device backed by an open posix.File (the terminal).
type fileDev struct{ f posix.File }

func (d *fileDev) ReadAt(_ *vfs.Context, p []byte, _ int64) (int, unix.Errno)  { return d.f.Read(p) }
func (d *fileDev) WriteAt(_ *vfs.Context, p []byte, _ int64) (int, unix.Errno) { return d.f.Write(p) }
func (d *fileDev) Release()                                                    { d.f.Close() }
func (d *fileDev) Stream()                                                     {}

// Ioctl passes terminal ioctls through.
func (d *fileDev) Ioctl(mem posix.GuestMemory, cmd uint32, arg uint64) (uint64, unix.Errno) {
	if io, ok := d.f.(posix.Ioctler); ok {
		return io.Ioctl(mem, cmd, arg)
	}
	return 0, unix.ENOTTY
}

// Host returns the file behind the device (the host terminal), for
// terminal ioctls the syscall layer answers.
func (d *fileDev) Host() posix.File { return d.f }
