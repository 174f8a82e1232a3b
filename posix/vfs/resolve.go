package vfs

import (
	"strings"

	"github.com/rumpgo/rumpgo/posix"
	"golang.org/x/sys/unix"
)

// openat2's RESOLVE_* flags (linux/openat2.h).
const (
	RESOLVE_NO_XDEV       = 0x01
	RESOLVE_NO_MAGICLINKS = 0x02
	RESOLVE_NO_SYMLINKS   = 0x04
	RESOLVE_BENEATH       = 0x08
	RESOLVE_IN_ROOT       = 0x10
	RESOLVE_CACHED        = 0x20
	resolveScoped         = RESOLVE_BENEATH | RESOLVE_IN_ROOT
	ResolveAll            = 0x3f
)

// Lookup flags.
const (
	LookupFollow    = 1 << iota // follow a final symlink
	LookupDirectory             // the final file must be a directory
	LookupEmpty                 // an empty path names the start (AT_EMPTY_PATH)
)

// walker is one path resolution, as Linux's nameidata.
type walker struct {
	v       *VFS
	ctx     *Context
	root    Path // where absolute paths start and ".." stops
	resolve int
	links   int
}

func (v *VFS) walker(ctx *Context, fsc *FSContext, start Path, resolve int) *walker {
	w := &walker{v: v, ctx: ctx, root: fsc.Root(), resolve: resolve}
	if resolve&resolveScoped != 0 {
		w.root = start
	}
	return w
}

// start is where a relative path begins: dir, or the working directory.
func startOf(fsc *FSContext, dir Path) Path {
	if dir.Valid() {
		return dir
	}
	return fsc.Cwd()
}

// split returns the components of path and whether it ends in a slash.
func split(path string) ([]string, bool) {
	trailing := strings.HasSuffix(path, "/")
	var comps []string
	for _, c := range strings.Split(path, "/") {
		if c != "" {
			comps = append(comps, c)
		}
	}
	return comps, trailing
}

// stat is Stat with the mount's fields.
func stat(ctx *Context, p Path) (Stat, unix.Errno) {
	st, e := p.Inode.Stat(ctx)
	if e == 0 {
		st.Dev, st.MntID = p.Mnt.Dev, p.Mnt.ID
	}
	return st, e
}

// parent resolves every component of path but the last, from start. It
// returns the directory, the last component ("" for "/" and the like) and
// whether path ends in a slash.
func (w *walker) parent(start Path, path string) (Path, string, bool, unix.Errno) {
	if path == "" {
		return Path{}, "", false, unix.ENOENT
	}
	if len(path) >= PATH_MAX {
		return Path{}, "", false, unix.ENAMETOOLONG
	}
	cur := start
	if path[0] == '/' {
		if w.resolve&RESOLVE_BENEATH != 0 {
			return Path{}, "", false, unix.EXDEV
		}
		if w.resolve&RESOLVE_NO_XDEV != 0 && w.root.Mnt != start.Mnt {
			return Path{}, "", false, unix.EXDEV
		}
		cur = w.root
	}
	comps, trailing := split(path)
	if len(comps) == 0 {
		return cur, "", trailing, 0
	}
	for _, c := range comps[:len(comps)-1] {
		next, e := w.step(cur, c)
		if e != 0 {
			return Path{}, "", false, e
		}
		if next, e = w.followAll(cur, next, true); e != 0 {
			return Path{}, "", false, e
		}
		cur = next
	}
	return cur, comps[len(comps)-1], trailing, 0
}

// step looks name up in dir: search permission, ".", "..", mounts.
func (w *walker) step(dir Path, name string) (Path, unix.Errno) {
	st, e := dir.Inode.Stat(w.ctx)
	if e != 0 {
		return Path{}, e
	}
	if !IsDir(st.Mode) {
		return Path{}, unix.ENOTDIR
	}
	if e := Permission(w.ctx.Cred, &st, MayExec); e != 0 {
		return Path{}, e
	}
	if len(name) > NAME_MAX {
		return Path{}, unix.ENAMETOOLONG
	}
	switch name {
	case ".":
		return dir, 0
	case "..":
		return w.v.dotdot(w.ctx, dir, w.root, w.resolve)
	}
	child, e := dir.Inode.Lookup(w.ctx, name)
	if e != 0 {
		return Path{}, e
	}
	p, crossed := w.v.mounted(Path{dir.Mnt, child})
	if crossed && w.resolve&RESOLVE_NO_XDEV != 0 {
		return Path{}, unix.EXDEV
	}
	return p, 0
}

// dotdot is the parent of dir: dir itself at root, the mount point's
// parent at a mount's root.
func (v *VFS) dotdot(ctx *Context, dir, root Path, resolve ...int) (Path, unix.Errno) {
	res := 0
	if len(resolve) > 0 {
		res = resolve[0]
	}
	for {
		if !dir.Valid() {
			return Path{}, unix.ENOENT
		}
		if root.Valid() && dir.Same(root) {
			if res&RESOLVE_BENEATH != 0 {
				return Path{}, unix.EXDEV
			}
			return dir, 0
		}
		if dir.Inode.Ino() != dir.Mnt.root.Ino() || dir.Mnt.parent == nil {
			break
		}
		if res&RESOLVE_NO_XDEV != 0 {
			return Path{}, unix.EXDEV
		}
		dir = dir.Mnt.MountPoint()
	}
	if dir.Mnt.parent == nil && dir.Inode.Ino() == dir.Mnt.root.Ino() {
		return dir, 0
	}
	p, e := dir.Inode.Lookup(ctx, "..")
	if e != 0 {
		return Path{}, e
	}
	if p == nil {
		return Path{}, unix.ENOENT
	}
	return Path{dir.Mnt, p}, 0
}

// found is a resolved final component: a path, or for a magic link to a
// file without one (a pipe), that file.
type found struct {
	Path
	dir  Path   // the directory the file was found in, if known
	name string // its name there
	file posix.File
}

// followAll follows p while it is a symlink (p was found in dir). The
// result is a directory when wantDir (ENOTDIR otherwise).
func (w *walker) followAll(dir, p Path, wantDir bool) (Path, unix.Errno) {
	f, e := w.follow(dir, found{Path: p}, wantDir)
	if e != 0 {
		return Path{}, e
	}
	if f.file != nil {
		return Path{}, unix.ENOTDIR
	}
	return f.Path, 0
}

// follow resolves f while it is a symlink; with wantDir the result must be
// a directory.
func (w *walker) follow(dir Path, f found, wantDir bool) (found, unix.Errno) {
	for f.file == nil {
		st, e := f.Inode.Stat(w.ctx)
		if e != 0 {
			return found{}, e
		}
		if !IsLink(st.Mode) {
			if wantDir && !IsDir(st.Mode) {
				return found{}, unix.ENOTDIR
			}
			return f, 0
		}
		if w.links++; w.links > MAXSYMLINKS {
			return found{}, unix.ELOOP
		}
		if w.resolve&RESOLVE_NO_SYMLINKS != 0 {
			return found{}, unix.ELOOP
		}
		if m, ok := f.Inode.(MagicLink); ok {
			if w.resolve&RESOLVE_NO_MAGICLINKS != 0 {
				return found{}, unix.ELOOP
			}
			p, file, e := m.Follow(w.ctx)
			if e != 0 {
				return found{}, e
			}
			if vf, ok := file.(*File); ok {
				p, file = vf.path, nil
				f = found{Path: p, dir: vf.dir, name: vf.name}
			} else {
				f = found{Path: p, file: file}
			}
			if w.resolve&RESOLVE_NO_XDEV != 0 && p.Mnt != dir.Mnt {
				return found{}, unix.EXDEV
			}
			if w.resolve&resolveScoped != 0 {
				return found{}, unix.EXDEV
			}
			continue
		}
		target, e := f.Inode.Readlink(w.ctx)
		if e != 0 {
			return found{}, e
		}
		r, e := w.resolveFrom(dir, target, true, wantDir)
		if e != 0 {
			return found{}, e
		}
		return r, 0
	}
	return f, 0
}

// resolveFrom resolves path from start to its final file.
func (w *walker) resolveFrom(start Path, path string, followLast, wantDir bool) (found, unix.Errno) {
	dir, last, trailing, e := w.parent(start, path)
	if e != 0 {
		return found{}, e
	}
	wantDir = wantDir || trailing
	if last == "" {
		return found{Path: dir}, 0
	}
	p, e := w.step(dir, last)
	if e != 0 {
		return found{}, e
	}
	if followLast || trailing {
		return w.follow(dir, found{Path: p, dir: dir, name: last}, wantDir)
	}
	if wantDir {
		st, e := p.Inode.Stat(w.ctx)
		if e != 0 {
			return found{}, e
		}
		if !IsDir(st.Mode) {
			return found{}, unix.ENOTDIR
		}
	}
	return found{Path: p, dir: dir, name: last}, 0
}

// Lookup resolves path from dir (invalid: the working directory) with
// LookupFollow, LookupDirectory and LookupEmpty flags.
func (v *VFS) Lookup(ctx *Context, fsc *FSContext, dir Path, path string, flags int) (Path, unix.Errno) {
	f, e := v.lookup(ctx, fsc, dir, path, flags, 0)
	if e != 0 {
		return Path{}, e
	}
	if f.file != nil {
		// A magic link to a file without a path: stat and the like see
		// the file itself, which has no Path.
		return Path{}, unix.ENOENT
	}
	return f.Path, 0
}

// LookupFile is Lookup that also returns the open file a magic link
// names when it has no path (a pipe behind /proc/self/fd/N).
func (v *VFS) LookupFile(ctx *Context, fsc *FSContext, dir Path, path string, flags int) (Path, posix.File, unix.Errno) {
	f, e := v.lookup(ctx, fsc, dir, path, flags, 0)
	return f.Path, f.file, e
}

func (v *VFS) lookup(ctx *Context, fsc *FSContext, dir Path, path string, flags, resolve int) (found, unix.Errno) {
	start := startOf(fsc, dir)
	if path == "" {
		if flags&LookupEmpty != 0 {
			return found{Path: start}, 0
		}
		return found{}, unix.ENOENT
	}
	w := v.walker(ctx, fsc, start, resolve)
	return w.resolveFrom(start, path, flags&LookupFollow != 0, flags&LookupDirectory != 0)
}

// lookupParent resolves all but the last component of path for the calls
// that create or remove a name.
func (v *VFS) lookupParent(ctx *Context, fsc *FSContext, dir Path, path string) (Path, string, bool, unix.Errno) {
	start := startOf(fsc, dir)
	w := v.walker(ctx, fsc, start, 0)
	return w.parent(start, path)
}

// PathName returns p's path as seen from root, walking up through ".." and
// searching each parent for the child's name. ENOENT when p was removed;
// a path outside root gets Linux's "(unreachable)" prefix.
func (v *VFS) PathName(ctx *Context, root, p Path) (string, unix.Errno) {
	if ctx == nil {
		ctx = RootContext()
	}
	var names []string
	for i := 0; ; i++ {
		if i > 4096 {
			return "", unix.ENAMETOOLONG
		}
		if !p.Valid() {
			// No file at all: a descriptor opened without a directory
			// (a removed directory's missing parent), or above a root
			// mount. Nothing to name, as for a removed file.
			return "", unix.ENOENT
		}
		if p.Same(root) {
			break
		}
		if p.Inode.Ino() == p.Mnt.root.Ino() {
			if p.Mnt.parent == nil {
				// Outside the root: Linux's d_path marks it so.
				return "(unreachable)/" + strings.Join(reverse(names), "/"), 0
			}
			p = p.Mnt.MountPoint()
			continue
		}
		st, e := p.Inode.Stat(ctx)
		if e != 0 {
			return "", e
		}
		if st.Nlink == 0 {
			return "", unix.ENOENT
		}
		parent, e := p.Inode.Lookup(ctx, "..")
		if e != 0 {
			if e == unix.ENOTDIR {
				return "", unix.ENOENT
			}
			return "", e
		}
		if parent == nil {
			return "", unix.ENOENT
		}
		name, e := childName(ctx, parent, p.Inode)
		if e != 0 {
			return "", e
		}
		names = append(names, name)
		p = Path{p.Mnt, parent}
	}
	if len(names) == 0 {
		return "/", 0
	}
	return "/" + strings.Join(reverse(names), "/"), 0
}

// DisplayName is p's name as /proc shows it (a working directory, a
// mapping): its path, or for a removed directory the path it had with
// " (deleted)", as Linux's d_path shows a dentry that is still in use.
// A removed directory's parents are followed through ".." (they may be
// removed too); where a name is not known any more it is left out.
func (v *VFS) DisplayName(ctx *Context, root, p Path) string {
	s, e := v.PathName(ctx, root, p)
	if e == 0 {
		return s
	}
	if ctx == nil {
		ctx = RootContext()
	}
	var names []string
	for i := 0; i < 4096 && p.Valid(); i++ {
		if p.Same(root) || p.Inode.Ino() == p.Mnt.root.Ino() {
			// The rest of the path is alive: name it the usual way.
			if pre, e := v.PathName(ctx, root, p); e == 0 && pre != "/" {
				names = append(names, strings.TrimPrefix(pre, "/"))
			}
			break
		}
		if n, ok := p.Inode.(RemovedNamer); ok {
			if name := n.RemovedName(); name != "" {
				names = append(names, name)
			}
		} else if st, e := p.Inode.Stat(ctx); e == 0 && st.Nlink > 0 {
			pre, e := v.PathName(ctx, root, p)
			if e == 0 {
				if pre != "/" {
					names = append(names, strings.TrimPrefix(pre, "/"))
				}
				break
			}
		}
		parent, e := p.Inode.Lookup(ctx, "..")
		if e != 0 || parent == nil || parent.Ino() == p.Inode.Ino() {
			break
		}
		p = Path{p.Mnt, parent}
	}
	return "/" + strings.Join(reverse(names), "/") + " (deleted)"
}

func reverse(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[len(s)-1-i] = x
	}
	return out
}

// childName finds child's name in dir.
func childName(ctx *Context, dir, child Inode) (string, unix.Errno) {
	if n, ok := child.(DirNamer); ok {
		return n.DirName()
	}
	ino := child.Ino()
	var name string
	e := dir.ReadDir(ctx, FirstPos, func(d Dirent) bool {
		if d.Ino == ino {
			name = d.Name
			return false
		}
		return true
	})
	if e != 0 {
		return "", e
	}
	if name == "" {
		return "", unix.ENOENT
	}
	return name, 0
}
