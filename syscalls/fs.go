package syscalls

import (
	"sync"
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
	procs map[*posix.ThreadGroup]*vfs.FSContext
	init  vfs.Path // where new processes start: root and cwd
	cwd   vfs.Path

	// Frames is guest memory for shared mappings of memfds.
	Frames mm.Frames
	memfd  *tmpfs.FS
}

// NewFS returns the state for namespace v whose processes start with root
// as root and cwd as working directory.
func NewFS(v *vfs.VFS, root, cwd vfs.Path) *FS {
	return &FS{VFS: v, procs: map[*posix.ThreadGroup]*vfs.FSContext{}, init: root, cwd: cwd}
}

// Context returns g's root and working directory, made on first use.
func (fs *FS) Context(g *posix.ThreadGroup) *vfs.FSContext {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	c, ok := fs.procs[g]
	if !ok {
		c = vfs.NewFSContext(fs.init)
		c.SetCwd(fs.cwd)
		fs.procs[g] = c
	}
	return c
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
