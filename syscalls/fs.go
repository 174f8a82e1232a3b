package syscalls

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/fs/tmpfs"
	"github.com/rumpgo/rumpgo/posix/mm"
	"github.com/rumpgo/rumpgo/posix/vfs"
	"golang.org/x/sys/unix"
)

// FS is a kernel's file-system state: its namespace and each process's
// root and working directory.
type FS struct {
	VFS *vfs.VFS

	mu    sync.Mutex
	procs map[*posix.ThreadGroup]*procFS
	init  vfs.Path // where new processes start: root and cwd
	cwd   vfs.Path

	// Frames is guest memory for shared mappings of memfds.
	Frames mm.Frames
	memfd  *tmpfs.FS
}

// NewFS returns the state for namespace v whose processes start with root
// as root and cwd as working directory.
func NewFS(v *vfs.VFS, root, cwd vfs.Path) *FS {
	return &FS{VFS: v, procs: map[*posix.ThreadGroup]*procFS{}, init: root, cwd: cwd}
}

// procFS is a process's place in the file systems: its root and working
// directory, and the program it runs, for /proc/PID.
type procFS struct {
	ctx       *vfs.FSContext
	exe       *exeFile // nil until SetExec
	argv, env []string
	images    []Image
	start     time.Time
}

func (fs *FS) proc(g *posix.ThreadGroup) *procFS {
	p, ok := fs.procs[g]
	if !ok {
		c := vfs.NewFSContext(fs.init)
		c.SetCwd(fs.cwd)
		p = &procFS{ctx: c, start: time.Now()}
		fs.procs[g] = p
	}
	return p
}

// Context returns g's root and working directory, made on first use.
func (fs *FS) Context(g *posix.ThreadGroup) *vfs.FSContext {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.proc(g).ctx
}

// fork gives child parent's program and a copy of its root and working
// directory, or (share: CLONE_FS) the same ones, so a chdir or chroot in
// either is seen by both.
func (fs *FS) fork(parent, child *posix.ThreadGroup, share bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	p := fs.proc(parent)
	c := p.ctx
	if !share {
		c = vfs.NewFSContext(p.ctx.Root())
		c.SetCwd(p.ctx.Cwd())
	}
	fs.procs[child] = &procFS{ctx: c, exe: p.exe, argv: p.argv, env: p.env, images: p.images, start: time.Now()}
	if p.exe != nil {
		p.exe.refs.Add(1)
	}
}

// exeFile is a program file the processes running it share.
type exeFile struct {
	f    *vfs.File
	refs atomic.Int32 // processes beyond the first
}

func (x *exeFile) release() {
	if x != nil && x.refs.Add(-1) < 0 {
		x.f.Close()
	}
}

// SetExec records the program g runs since execve (or since boot): the
// open file, which FS keeps, its arguments and its loaded images.
func (fs *FS) SetExec(g *posix.ThreadGroup, exe *vfs.File, argv, env []string, images []Image) {
	fs.mu.Lock()
	p := fs.proc(g)
	old := p.exe
	p.exe, p.argv, p.env, p.images = &exeFile{f: exe}, argv, env, images
	fs.mu.Unlock()
	old.release()
}

// Exec is what /proc/PID shows of g's program.
func (fs *FS) Exec(g *posix.ThreadGroup) (exe *vfs.File, argv, env []string, start time.Time) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	p := fs.proc(g)
	if p.exe != nil {
		exe = p.exe.f
	}
	return exe, p.argv, p.env, p.start
}

// images are the ELFs g's program was loaded from, for crash reports.
func (fs *FS) images(g *posix.ThreadGroup) []Image {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.proc(g).images
}

// imagesOf are the ELFs g runs: what its execve loaded, else (the first
// program and the children it forked) Images.
func (k *Kernel) imagesOf(g *posix.ThreadGroup) []Image {
	if fs := k.FS(); fs != nil {
		if im := fs.images(g); len(im) > 0 {
			return im
		}
	}
	return k.Images
}

// forget drops an ended process.
func (fs *FS) forget(g *posix.ThreadGroup) {
	fs.mu.Lock()
	p := fs.procs[g]
	delete(fs.procs, g)
	fs.mu.Unlock()
	if p != nil {
		p.exe.release()
	}
}

// SetFS gives the kernel its file systems; call it before the guest runs.
func (k *Kernel) SetFS(fs *FS) { k.fs = fs }

// FS returns the kernel's file systems, or nil.
func (k *Kernel) FS() *FS { return k.fs }

// vfs returns the namespace and the process's context; ENOENT for a
// kernel without file systems (as before there were any).
func (t *Thread) vfs() (*vfs.VFS, *vfs.FSContext, unix.Errno) {
	fs := t.K.FS()
	if fs == nil {
		return nil, nil, unix.ENOENT
	}
	return fs.VFS, fs.Context(t.Task.Group), 0
}

// vctx is the caller as the VFS sees it.
func (t *Thread) vctx() *vfs.Context {
	return &vfs.Context{
		Cred: t.cred(), PID: t.Task.Group.PID, TID: t.Task.TID,
		Block: func(ch <-chan struct{}) unix.Errno { return t.block(ch, time.Time{}) },
	}
}

func (t *Thread) umask() uint32 { return t.attrs().CurrentUmask() }

// pathArg reads a path argument: EFAULT for a bad pointer, ENAMETOOLONG
// at PATH_MAX.
func (t *Thread) pathArg(addr uint64) (string, unix.Errno) {
	return t.mm().CopyInString(addr, vfs.PATH_MAX)
}

// dirArg is the directory a *at call resolves path from: the working
// directory for AT_FDCWD (an invalid Path), nothing for absolute paths,
// else dirfd's file, which must be a directory unless path is empty
// (AT_EMPTY_PATH names the file itself).
func (t *Thread) dirArg(dirfd int, path string) (vfs.Path, unix.Errno) {
	if len(path) > 0 && path[0] == '/' {
		return vfs.Path{}, 0
	}
	if dirfd == unix.AT_FDCWD {
		return vfs.Path{}, 0
	}
	f, e := t.file(dirfd)
	if e != 0 {
		return vfs.Path{}, e
	}
	vf, ok := f.File.(*vfs.File)
	if !ok {
		return vfs.Path{}, unix.ENOTDIR
	}
	if path != "" && !vfs.IsDir(vf.Type()) {
		return vfs.Path{}, unix.ENOTDIR
	}
	return vf.Path(), 0
}

// vfile returns fd's file when it was opened by path.
func (t *Thread) vfile(fd int) (*vfs.File, *posix.OpenFile, unix.Errno) {
	f, e := t.file(fd)
	if e != 0 {
		return nil, nil, e
	}
	vf, _ := f.File.(*vfs.File)
	return vf, f, 0
}

// atFlags checks an *at call's flags against the allowed ones.
func atFlags(flags, allowed int) unix.Errno {
	if flags&^allowed != 0 {
		return unix.EINVAL
	}
	return 0
}

// lookupAt resolves the path at addr from dirfd with AT_SYMLINK_NOFOLLOW
// (nofollow set: do not follow a final symlink; else follow) and
// AT_EMPTY_PATH in flags.
func (t *Thread) lookupAt(dirfd int, addr uint64, flags int, followByDefault bool) (vfs.Path, unix.Errno) {
	v, fsc, e := t.vfs()
	if e != 0 {
		return vfs.Path{}, e
	}
	path, e := t.pathArg(addr)
	if e != 0 {
		return vfs.Path{}, e
	}
	dir, e := t.dirArg(dirfd, path)
	if e != 0 {
		return vfs.Path{}, e
	}
	lf := 0
	if followByDefault && flags&unix.AT_SYMLINK_NOFOLLOW == 0 || flags&unix.AT_SYMLINK_FOLLOW != 0 {
		lf |= vfs.LookupFollow
	}
	if flags&unix.AT_EMPTY_PATH != 0 {
		lf |= vfs.LookupEmpty
	}
	return v.Lookup(t.vctx(), fsc, dir, path, lf)
}
