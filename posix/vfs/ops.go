package vfs

import (
	"strconv"

	"github.com/rumpgo/rumpgo/posix"
	"golang.org/x/sys/unix"
)

// Open flags vfs understands beyond the access mode.
const openPathFlags = unix.O_PATH | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC

// renameat2 flags (linux/fs.h).
const (
	RENAME_NOREPLACE = 1 << 0
	RENAME_EXCHANGE  = 1 << 1
	RENAME_WHITEOUT  = 1 << 2
)

// checkWrite refuses changes on a read-only mount.
func checkWrite(p Path) unix.Errno {
	if p.Mnt.ReadOnly() {
		return unix.EROFS
	}
	return 0
}

// OpenHow is openat2's struct open_how.
type OpenHow struct {
	Flags   int
	Mode    uint32
	Resolve int
	Umask   uint32
}

// Open opens path from dir as openat2(2) does.
func (v *VFS) Open(ctx *Context, fsc *FSContext, dir Path, path string, how OpenHow) (posix.File, unix.Errno) {
	flags := how.Flags
	if flags&unix.O_PATH != 0 {
		flags &= openPathFlags
	}
	if flags&(unix.O_TMPFILE&^unix.O_DIRECTORY) != 0 {
		return v.openTmpfile(ctx, fsc, dir, path, how)
	}
	start := startOf(fsc, dir)
	if path == "" {
		return nil, unix.ENOENT
	}
	w := v.walker(ctx, fsc, start, how.Resolve)
	var f found
	created := false
	if flags&unix.O_CREAT == 0 {
		var e unix.Errno
		f, e = w.resolveFrom(start, path, flags&unix.O_NOFOLLOW == 0, flags&unix.O_DIRECTORY != 0)
		if e != 0 {
			return nil, e
		}
	} else {
		d, last, trailing, e := w.parent(start, path)
		if e != 0 {
			return nil, e
		}
		for {
			if last == "" || last == "." || last == ".." || trailing {
				return nil, unix.EISDIR
			}
			p, e := w.step(d, last)
			if e == unix.ENOENT {
				p, e = v.create(ctx, d, last, CreateAttr{Mode: S_IFREG | how.Mode&0o7777&^how.Umask})
				if e == unix.EEXIST && flags&unix.O_EXCL == 0 {
					continue // lost a race with another creator: open theirs
				}
				if e != 0 {
					return nil, e
				}
				f, created = found{Path: p, dir: d, name: last}, true
				break
			}
			if e != 0 {
				return nil, e
			}
			if flags&unix.O_EXCL != 0 {
				return nil, unix.EEXIST
			}
			st, e := p.Inode.Stat(ctx)
			if e != 0 {
				return nil, e
			}
			if !IsLink(st.Mode) {
				f = found{Path: p, dir: d, name: last}
				break
			}
			if flags&unix.O_NOFOLLOW != 0 {
				return nil, unix.ELOOP
			}
			// O_CREAT follows a symlink, creating its target if missing.
			if w.links++; w.links > MAXSYMLINKS || w.resolve&RESOLVE_NO_SYMLINKS != 0 {
				return nil, unix.ELOOP
			}
			if _, ok := p.Inode.(MagicLink); ok {
				if f, e = w.follow(d, found{Path: p}, false); e != 0 {
					return nil, e
				}
				break
			}
			target, e := p.Inode.Readlink(ctx)
			if e != 0 {
				return nil, e
			}
			if d, last, trailing, e = w.parent(d, target); e != 0 {
				return nil, e
			}
		}
	}
	if f.file != nil {
		return reopen(f.file, flags)
	}
	return v.openPath(ctx, f, flags, created)
}

// reopen opens again a file reached through a magic link without a path.
func reopen(f posix.File, flags int) (posix.File, unix.Errno) {
	if r, ok := f.(Reopener); ok {
		return r.Reopen(flags)
	}
	return nil, unix.ENXIO
}

// Reopener is a file without a path that opening /proc/self/fd/N can
// open again (a pipe end, a host descriptor).
type Reopener interface {
	Reopen(flags int) (posix.File, unix.Errno)
}

func (v *VFS) create(ctx *Context, dir Path, name string, a CreateAttr) (Path, unix.Errno) {
	if len(name) > NAME_MAX {
		return Path{}, unix.ENAMETOOLONG
	}
	dst, e := dir.Inode.Stat(ctx)
	if e != 0 {
		return Path{}, e
	}
	if dst.Nlink == 0 {
		return Path{}, unix.ENOENT // a removed directory takes no new entries
	}
	if e := Permission(ctx.Cred, &dst, MayWrite|MayExec); e != 0 {
		return Path{}, e
	}
	if e := checkWrite(dir); e != 0 {
		return Path{}, e
	}
	initOwner(ctx, &dst, &a)
	ino, e := dir.Inode.Create(ctx, name, a)
	if e != 0 {
		return Path{}, e
	}
	notify(Path{}, IsDir(a.Mode), dir, name, IN_CREATE, 0)
	return Path{dir.Mnt, ino}, 0
}

// initOwner sets a new file's owner and group as Linux's inode_init_owner:
// the fsuid, and the directory's group when it is setgid (directories
// inherit the bit; files lose it unless the creator is in the group or
// privileged).
func initOwner(ctx *Context, dst *Stat, a *CreateAttr) {
	a.UID, a.GID = ctx.Cred.FSUID, ctx.Cred.FSGID
	if dst.Mode&S_ISGID != 0 {
		a.GID = dst.GID
		if IsDir(a.Mode) {
			a.Mode |= S_ISGID
		} else if a.Mode&S_ISGID != 0 && !InGroup(ctx.Cred, a.GID) && !ctx.Cred.Capable(posix.CAP_FSETID) {
			a.Mode &^= S_ISGID
		}
	}
}

// TmpfileDir is a directory that makes unnamed regular files, for
// open(O_TMPFILE); a file system without it answers EOPNOTSUPP, as Linux
// does for one without ->tmpfile.
type TmpfileDir interface {
	// CreateTmpfile makes a regular file with no link in the directory.
	// Unless linkable is false (O_EXCL) a link may name it later while
	// it has none (Linux's I_LINKABLE); the file system counts it as an
	// inode while it lives.
	CreateTmpfile(ctx *Context, a CreateAttr, linkable bool) (Inode, unix.Errno)
}

// LinkableInode is an inode without links that linkat may still name
// (an O_TMPFILE file opened without O_EXCL).
type LinkableInode interface{ Linkable() bool }

// openTmpfile is open(dir, O_TMPFILE): an unnamed regular file in the
// directory path names, checked in the order of Linux's build_open_flags,
// do_tmpfile and vfs_tmpfile.
func (v *VFS) openTmpfile(ctx *Context, fsc *FSContext, dir Path, path string, how OpenHow) (posix.File, unix.Errno) {
	flags := how.Flags
	acc := flags & unix.O_ACCMODE
	if flags&(unix.O_TMPFILE|unix.O_CREAT) != unix.O_TMPFILE || (acc != unix.O_WRONLY && acc != unix.O_RDWR) {
		return nil, unix.EINVAL
	}
	if path == "" {
		return nil, unix.ENOENT
	}
	start := startOf(fsc, dir)
	w := v.walker(ctx, fsc, start, how.Resolve)
	f, e := w.resolveFrom(start, path, true, true)
	if e != 0 {
		return nil, e
	}
	if f.file != nil {
		return nil, unix.ENOTDIR // a magic link to a pipe or socket
	}
	d := f.Path
	dst, e := d.Inode.Stat(ctx)
	if e != 0 {
		return nil, e
	}
	if !IsDir(dst.Mode) {
		return nil, unix.ENOTDIR
	}
	if e := checkWrite(d); e != 0 {
		return nil, e
	}
	if e := Permission(ctx.Cred, &dst, MayWrite|MayExec); e != 0 {
		return nil, e
	}
	td, ok := d.Inode.(TmpfileDir)
	if !ok {
		return nil, unix.EOPNOTSUPP
	}
	if dst.Nlink == 0 {
		return nil, unix.ENOENT
	}
	a := CreateAttr{Mode: S_IFREG | how.Mode&0o7777&^how.Umask}
	initOwner(ctx, &dst, &a)
	ino, e := td.CreateTmpfile(ctx, a, flags&unix.O_EXCL == 0)
	if e != 0 {
		return nil, e
	}
	// /proc/self/fd shows "DIR/#INO (deleted)", as Linux names the
	// dentry of a tmpfile.
	file := &File{v: v, path: Path{d.Mnt, ino}, typ: S_IFREG, dir: d, name: "#" + strconv.FormatUint(ino.Ino(), 10), opener: ctx.Cred}
	impl, e := ino.Open(ctx, flags&^unix.O_TMPFILE)
	if e != 0 {
		return nil, e
	}
	file.impl = impl
	file.Init(flags &^ (unix.O_CREAT | unix.O_EXCL | unix.O_NOCTTY | unix.O_TRUNC | unix.O_CLOEXEC))
	notify(file.path, false, Path{}, "", IN_OPEN, 0) // no name: it has none
	return file, 0
}

// openPath opens a resolved file.
func (v *VFS) openPath(ctx *Context, fd found, flags int, created bool) (ret posix.File, _ unix.Errno) {
	p := fd.Path
	st, e := p.Inode.Stat(ctx)
	if e != 0 {
		return nil, e
	}
	typ := FileType(st.Mode)
	if flags&unix.O_DIRECTORY != 0 && typ != S_IFDIR {
		return nil, unix.ENOTDIR
	}
	f := &File{v: v, path: p, typ: typ, opener: ctx.Cred}
	if typ != S_IFDIR {
		f.dir, f.name = fd.dir, fd.name // a directory is named by walking ".."
	}
	if flags&unix.O_PATH != 0 {
		f.Init(unix.O_PATH | flags&unix.O_ACCMODE)
		return f, 0
	}
	if typ == S_IFLNK {
		return nil, unix.ELOOP
	}
	acc := flags & unix.O_ACCMODE
	if acc == unix.O_ACCMODE {
		return nil, unix.EINVAL
	}
	want := 0
	switch acc {
	case unix.O_RDONLY:
		want = MayRead
	case unix.O_WRONLY:
		want = MayWrite
	case unix.O_RDWR:
		want = MayRead | MayWrite
	}
	if flags&unix.O_TRUNC != 0 {
		want |= MayWrite
	}
	if typ == S_IFDIR && (want&MayWrite != 0 || flags&unix.O_CREAT != 0) {
		return nil, unix.EISDIR
	}
	if !created {
		if e := Permission(ctx.Cred, &st, want); e != 0 {
			return nil, e
		}
		if want&MayWrite != 0 && (typ == S_IFREG || typ == S_IFDIR) {
			if e := checkWrite(p); e != 0 {
				return nil, e
			}
		}
	}
	if (typ == S_IFCHR || typ == S_IFBLK) && p.Mnt.Flags&MS_NODEV != 0 {
		return nil, unix.EACCES
	}
	if want&MayWrite != 0 && acc != unix.O_RDONLY && typ == S_IFREG {
		if e := f.getWriteAccess(); e != 0 {
			return nil, e // a running program's file (do_dentry_open)
		}
		defer func() {
			if ret == nil {
				f.putWriteAccess()
			}
		}()
	}
	if flags&unix.O_TRUNC != 0 && typ == S_IFREG && !created {
		if e := v.textBusy(p); e != 0 {
			return nil, e // O_RDONLY|O_TRUNC (handle_truncate)
		}
		now := Now()
		if e := p.Inode.SetAttr(ctx, &SetAttr{Mask: SetSize | SetMtime | SetCtime, Size: 0, Mtime: now, Ctime: now}); e != 0 {
			return nil, e
		}
	}
	keep := flags &^ (unix.O_CREAT | unix.O_EXCL | unix.O_NOCTTY | unix.O_TRUNC | unix.O_CLOEXEC)
	f.Init(keep)
	switch typ {
	case S_IFIFO:
		fi, ok := p.Inode.(FIFOInode)
		if !ok {
			return nil, unix.ENXIO
		}
		end, e := fi.FIFO().Open(flags, ctx.Block)
		if e != 0 {
			return nil, e
		}
		f.impl = pipeImpl{end}
	case S_IFCHR:
		d := v.device(st.Rdev)
		if d == nil {
			return nil, unix.ENXIO
		}
		impl, e := d.Open(ctx, flags)
		if e != 0 {
			return nil, e
		}
		f.impl = impl
	case S_IFBLK, S_IFSOCK:
		return nil, unix.ENXIO
	default:
		impl, e := p.Inode.Open(ctx, flags)
		if e != 0 {
			return nil, e
		}
		f.impl = impl
	}
	if flags&unix.O_TRUNC != 0 && typ == S_IFREG && !created {
		f.notify(IN_MODIFY) // do_truncate's fsnotify_change
	}
	f.notify(IN_OPEN)
	return f, 0
}

// mknodAt creates name in the directory of path with attributes a.
func (v *VFS) mknodAt(ctx *Context, fsc *FSContext, dir Path, path string, a CreateAttr, umask uint32) unix.Errno {
	d, last, trailing, e := v.lookupParent(ctx, fsc, dir, path)
	if e != 0 {
		return e
	}
	if last == "" || last == "." || last == ".." {
		return unix.EEXIST
	}
	if trailing && !IsDir(a.Mode) {
		// mknod("x/") and symlink(..., "x/"): Linux looks the name up
		// as a directory: ENOENT when missing, EEXIST when present.
		if _, e := (&walker{v: v, ctx: ctx, root: fsc.Root()}).step(d, last); e == 0 {
			return unix.EEXIST
		}
		return unix.ENOENT
	}
	// An existing name is EEXIST before the parent's write permission is
	// asked (filename_create looks it up first): mkdir of a mount point
	// or of /tmp in an unwritable / says so.
	if _, e := (&walker{v: v, ctx: ctx, root: fsc.Root()}).step(d, last); e == 0 {
		return unix.EEXIST
	}
	if !IsLink(a.Mode) {
		a.Mode = FileType(a.Mode) | a.Mode&0o7777&^umask
	}
	_, e = v.create(ctx, d, last, a)
	return e
}

// Mkdir is mkdirat(2).
func (v *VFS) Mkdir(ctx *Context, fsc *FSContext, dir Path, path string, mode, umask uint32) unix.Errno {
	return v.mknodAt(ctx, fsc, dir, path, CreateAttr{Mode: S_IFDIR | mode&0o7777}, umask)
}

// Mknod is mknodat(2): regular files, FIFOs, sockets and (with
// CAP_MKNOD) device nodes.
func (v *VFS) Mknod(ctx *Context, fsc *FSContext, dir Path, path string, mode uint32, rdev uint64, umask uint32) unix.Errno {
	switch FileType(mode) {
	case 0:
		mode |= S_IFREG
	case S_IFREG, S_IFIFO, S_IFSOCK:
	case S_IFCHR, S_IFBLK:
		if !ctx.Cred.Capable(posix.CAP_MKNOD) {
			return unix.EPERM
		}
	case S_IFDIR:
		return unix.EPERM
	default:
		return unix.EINVAL
	}
	a := CreateAttr{Mode: mode}
	if t := FileType(mode); t == S_IFCHR || t == S_IFBLK {
		a.Rdev = rdev
	}
	return v.mknodAt(ctx, fsc, dir, path, a, umask)
}

// Symlink is symlinkat(2).
func (v *VFS) Symlink(ctx *Context, fsc *FSContext, target string, dir Path, path string) unix.Errno {
	if target == "" {
		return unix.ENOENT
	}
	return v.mknodAt(ctx, fsc, dir, path, CreateAttr{Mode: S_IFLNK | 0o777, Target: target}, 0)
}

// lookupLast resolves the directory of path and looks its last component
// up without following it. Paths ending in "." or ".." are refused with
// errDot, which callers map to their own errno.
func (v *VFS) lookupLast(ctx *Context, fsc *FSContext, dir Path, path string) (d Path, last string, child Path, trailing bool, e unix.Errno) {
	d, last, trailing, e = v.lookupParent(ctx, fsc, dir, path)
	if e != 0 {
		return
	}
	if last == "" || last == "." || last == ".." {
		return d, last, Path{}, trailing, 0
	}
	w := &walker{v: v, ctx: ctx, root: fsc.Root()}
	child, e = w.step(d, last)
	return
}

// Unlink is unlinkat(2) without AT_REMOVEDIR.
func (v *VFS) Unlink(ctx *Context, fsc *FSContext, dir Path, path string) unix.Errno {
	d, last, child, trailing, e := v.lookupLast(ctx, fsc, dir, path)
	if e != 0 {
		return e
	}
	if !child.Valid() {
		return unix.EISDIR
	}
	cst, e := child.Inode.Stat(ctx)
	if e != 0 {
		return e
	}
	if IsDir(cst.Mode) {
		return unix.EISDIR
	}
	if trailing {
		return unix.ENOTDIR
	}
	return v.remove(ctx, d, last, child, &cst, false)
}

func (v *VFS) remove(ctx *Context, d Path, last string, child Path, cst *Stat, isDir bool) unix.Errno {
	if child.Mnt != d.Mnt || v.isMountPoint(child) {
		return unix.EBUSY
	}
	dst, e := d.Inode.Stat(ctx)
	if e != 0 {
		return e
	}
	if e := mayDelete(ctx.Cred, &dst, cst); e != 0 {
		return e
	}
	if e := checkWrite(d); e != 0 {
		return e
	}
	if e := d.Inode.Unlink(ctx, last, isDir); e != 0 {
		return e
	}
	// Linux's order: the file's link count (IN_ATTRIB), its removal
	// when that was the last link (IN_DELETE_SELF, its watches' end:
	// IN_IGNORED), then the directory's IN_DELETE. A file still open is
	// reported deleted at once here; Linux waits for its last close.
	if nwatches.Load() != 0 {
		last0 := isDir
		if !isDir {
			notify(child, false, Path{}, "", IN_ATTRIB, 0)
			st, e := child.Inode.Stat(ctx)
			last0 = e == 0 && st.Nlink == 0
		}
		if last0 {
			notify(child, false, Path{}, "", IN_DELETE_SELF, 0) // without IN_ISDIR, as Linux
			endWatches(child)
		}
		notify(Path{}, isDir, d, last, IN_DELETE, 0)
	}
	return 0
}

func (v *VFS) isMountPoint(p Path) bool {
	v.mu.RLock()
	defer v.mu.RUnlock()
	_, ok := v.mounts[mountKey{p.Mnt, p.Inode.Ino()}]
	return ok
}

// Rmdir is rmdir(2) and unlinkat(2) with AT_REMOVEDIR.
func (v *VFS) Rmdir(ctx *Context, fsc *FSContext, dir Path, path string) unix.Errno {
	d, last, child, _, e := v.lookupLast(ctx, fsc, dir, path)
	if e != 0 {
		return e
	}
	switch last {
	case "", ".":
		if last == "" && d.Same(fsc.Root()) {
			return unix.EBUSY
		}
		return unix.EINVAL
	case "..":
		return unix.ENOTEMPTY
	}
	cst, e := child.Inode.Stat(ctx)
	if e != 0 {
		return e
	}
	if !IsDir(cst.Mode) {
		return unix.ENOTDIR
	}
	if child.Mnt != d.Mnt || child.Same(fsc.Root()) {
		return unix.EBUSY
	}
	return v.remove(ctx, d, last, child, &cst, true)
}

// Link is linkat(2): oldpath (followed with follow, or the start itself
// with empty) gets the new name newpath.
func (v *VFS) Link(ctx *Context, fsc *FSContext, olddir Path, oldpath string, newdir Path, newpath string, flags int) unix.Errno {
	old, e := v.Lookup(ctx, fsc, olddir, oldpath, flags)
	if e != 0 {
		return e
	}
	d, last, trailing, e := v.lookupParent(ctx, fsc, newdir, newpath)
	if e != 0 {
		return e
	}
	if last == "" || last == "." || last == ".." {
		return unix.EEXIST
	}
	ost, e := old.Inode.Stat(ctx)
	if e != 0 {
		return e
	}
	if IsDir(ost.Mode) {
		return unix.EPERM
	}
	if trailing {
		// Linux looks a slash-terminated new name up as a directory.
		if _, e := (&walker{v: v, ctx: ctx, root: fsc.Root()}).step(d, last); e == 0 {
			return unix.EEXIST
		}
		return unix.ENOENT
	}
	if old.Mnt != d.Mnt {
		return unix.EXDEV
	}
	if len(last) > NAME_MAX {
		return unix.ENAMETOOLONG
	}
	dst, e := d.Inode.Stat(ctx)
	if e != 0 {
		return e
	}
	if e := Permission(ctx.Cred, &dst, MayWrite|MayExec); e != 0 {
		return e
	}
	if e := checkWrite(d); e != 0 {
		return e
	}
	// fs.protected_hardlinks (on by default): linking a file one does not
	// own needs read and write permission on it, or CAP_FOWNER.
	if !OwnerOrCapable(ctx.Cred, &ost) {
		if FileType(ost.Mode) != S_IFREG || ost.Mode&S_ISUID != 0 ||
			ost.Mode&(S_ISGID|0o010) == S_ISGID|0o010 || Permission(ctx.Cred, &ost, MayRead|MayWrite) != 0 {
			return unix.EPERM
		}
	}
	if ost.Nlink == 0 {
		// Only an O_TMPFILE file opened without O_EXCL takes a first
		// link (I_LINKABLE).
		if l, ok := old.Inode.(LinkableInode); !ok || !l.Linkable() {
			return unix.ENOENT
		}
	}
	if e := d.Inode.Link(ctx, last, old.Inode); e != 0 {
		return e
	}
	notify(old, false, Path{}, "", IN_ATTRIB, 0) // fsnotify_link: the count
	notify(Path{}, false, d, last, IN_CREATE, 0)
	return 0
}

// Rename is renameat2(2).
func (v *VFS) Rename(ctx *Context, fsc *FSContext, olddir Path, oldpath string, newdir Path, newpath string, flags uint32) unix.Errno {
	if flags&^(RENAME_NOREPLACE|RENAME_EXCHANGE|RENAME_WHITEOUT) != 0 {
		return unix.EINVAL
	}
	if flags&RENAME_EXCHANGE != 0 && flags&(RENAME_NOREPLACE|RENAME_WHITEOUT) != 0 {
		return unix.EINVAL
	}
	if flags&RENAME_WHITEOUT != 0 {
		return unix.EINVAL // whiteouts are an overlay's business, not a guest's
	}
	od, olast, ochild, otrail, e := v.lookupLast(ctx, fsc, olddir, oldpath)
	if e != 0 {
		return e
	}
	nd, nlast, ntrail, e := v.lookupParent(ctx, fsc, newdir, newpath)
	if e != 0 {
		return e
	}
	if olast == "" || olast == "." || olast == ".." || nlast == "" || nlast == "." || nlast == ".." {
		if flags&RENAME_NOREPLACE != 0 {
			return unix.EEXIST
		}
		return unix.EBUSY
	}
	if od.Mnt != nd.Mnt {
		return unix.EXDEV
	}
	ost, e := ochild.Inode.Stat(ctx)
	if e != 0 {
		return e
	}
	if len(nlast) > NAME_MAX {
		return unix.ENAMETOOLONG
	}
	w := &walker{v: v, ctx: ctx, root: fsc.Root()}
	nchild, ne := w.step(nd, nlast)
	if ne != 0 && ne != unix.ENOENT {
		return ne
	}
	var nst Stat
	if ne == 0 {
		if nst, e = nchild.Inode.Stat(ctx); e != 0 {
			return e
		}
		if flags&RENAME_NOREPLACE != 0 {
			return unix.EEXIST
		}
	} else if flags&RENAME_EXCHANGE != 0 {
		return unix.ENOENT
	}
	// Trailing slashes need directories on both sides.
	if (otrail || ntrail) && !IsDir(ost.Mode) {
		return unix.ENOTDIR
	}
	if ne == 0 && flags&RENAME_EXCHANGE != 0 && ntrail && !IsDir(nst.Mode) {
		return unix.ENOTDIR
	}
	if ochild.Mnt != od.Mnt || v.isMountPoint(ochild) || (ne == 0 && (nchild.Mnt != nd.Mnt || v.isMountPoint(nchild))) {
		return unix.EBUSY
	}
	if ne == 0 && ochild.Inode.Ino() == nchild.Inode.Ino() {
		return 0 // the same file under both names: nothing to do
	}
	ods, e := od.Inode.Stat(ctx)
	if e != 0 {
		return e
	}
	if e := mayDelete(ctx.Cred, &ods, &ost); e != 0 {
		return e
	}
	nds, e := nd.Inode.Stat(ctx)
	if e != 0 {
		return e
	}
	if ne == 0 {
		if e := mayDelete(ctx.Cred, &nds, &nst); e != 0 {
			return e
		}
	} else if e := Permission(ctx.Cred, &nds, MayWrite|MayExec); e != 0 {
		return e
	}
	// Moving a directory to another parent rewrites its "..": write
	// permission on it is needed, as Linux's vfs_rename checks.
	if od.Inode.Ino() != nd.Inode.Ino() {
		if IsDir(ost.Mode) {
			if e := Permission(ctx.Cred, &ost, MayWrite); e != 0 {
				return e
			}
		}
		if ne == 0 && flags&RENAME_EXCHANGE != 0 && IsDir(nst.Mode) {
			if e := Permission(ctx.Cred, &nst, MayWrite); e != 0 {
				return e
			}
		}
	}
	if e := checkWrite(od); e != 0 {
		return e
	}
	// A directory cannot move below itself, nor (exchanging) the target
	// below the source.
	if IsDir(ost.Mode) && v.isAncestor(ctx, ochild, nd) {
		return unix.EINVAL
	}
	if ne == 0 && flags&RENAME_EXCHANGE != 0 && IsDir(nst.Mode) && v.isAncestor(ctx, nchild, od) {
		return unix.EINVAL
	}
	// Over an existing file, the old name's ancestor check is ENOTEMPTY
	// when the target is the source's ancestor.
	if ne == 0 && flags&RENAME_EXCHANGE == 0 && IsDir(nst.Mode) && v.isAncestor(ctx, nchild, od) {
		return unix.ENOTEMPTY
	}
	if e := od.Inode.Rename(ctx, olast, nd.Inode, nlast, flags); e != 0 {
		return e
	}
	if nwatches.Load() != 0 {
		notifyMove(ctx, od, olast, nd, nlast, ochild, IsDir(ost.Mode), nchild, ne == 0 && flags&RENAME_EXCHANGE == 0)
		if ne == 0 && flags&RENAME_EXCHANGE != 0 {
			notifyMove(ctx, nd, nlast, od, olast, nchild, IsDir(nst.Mode), Path{}, false)
		}
	}
	return 0
}

// notifyMove reports a rename as Linux's fsnotify_move: MOVED_FROM and
// MOVED_TO sharing a cookie, the replaced file's link count, the moved
// file's IN_MOVE_SELF; a replaced file whose last link went is deleted.
func notifyMove(ctx *Context, od Path, olast string, nd Path, nlast string, moved Path, isDir bool, replaced Path, hasReplaced bool) {
	cookie := cookies.Add(1)
	notify(Path{}, isDir, od, olast, IN_MOVED_FROM, cookie)
	notify(Path{}, isDir, nd, nlast, IN_MOVED_TO, cookie)
	if hasReplaced {
		notify(replaced, false, Path{}, "", IN_ATTRIB, 0)
	}
	notify(moved, isDir, Path{}, "", IN_MOVE_SELF, 0)
	if hasReplaced {
		if st, e := replaced.Inode.Stat(ctx); e == 0 && (st.Nlink == 0 || IsDir(st.Mode)) {
			notify(replaced, false, Path{}, "", IN_DELETE_SELF, 0)
			endWatches(replaced)
		}
	}
}

// isAncestor reports whether a is p or one of p's ancestors within p's
// mount.
func (v *VFS) isAncestor(ctx *Context, a, p Path) bool {
	for i := 0; i < 4096; i++ {
		if p.Inode.Ino() == a.Inode.Ino() {
			return true
		}
		if p.Inode.Ino() == p.Mnt.root.Ino() {
			return false
		}
		parent, e := p.Inode.Lookup(ctx, "..")
		if e != 0 || parent == nil || parent.Ino() == p.Inode.Ino() {
			return false
		}
		p = Path{p.Mnt, parent}
	}
	return false
}

// Readlink is readlinkat(2); an empty path reads the symlink dir is.
func (v *VFS) Readlink(ctx *Context, fsc *FSContext, dir Path, path string) (string, unix.Errno) {
	p, e := v.Lookup(ctx, fsc, dir, path, LookupEmpty)
	if e != 0 {
		if path == "" && e == unix.ENOENT {
			return "", unix.ENOENT
		}
		return "", e
	}
	st, e := p.Inode.Stat(ctx)
	if e != 0 {
		return "", e
	}
	if !IsLink(st.Mode) {
		if path == "" {
			return "", unix.ENOENT // the file dirfd is, which is no symlink
		}
		return "", unix.EINVAL
	}
	return p.Inode.Readlink(ctx)
}

// Stat returns p's attributes with the mount's device.
func (v *VFS) Stat(ctx *Context, p Path) (Stat, unix.Errno) { return stat(ctx, p) }

// Chmod is fchmodat(2) on a resolved file.
func (v *VFS) Chmod(ctx *Context, p Path, mode uint32) unix.Errno {
	st, e := p.Inode.Stat(ctx)
	if e != 0 {
		return e
	}
	if !OwnerOrCapable(ctx.Cred, &st) {
		return unix.EPERM
	}
	if e := checkWrite(p); e != 0 {
		return e
	}
	mode &= 0o7777
	// Linux's setattr_should_drop_sgid: a non-member without CAP_FSETID
	// cannot keep the setgid bit.
	if mode&S_ISGID != 0 && !InGroup(ctx.Cred, st.GID) && !ctx.Cred.Capable(posix.CAP_FSETID) {
		mode &^= S_ISGID
	}
	return notifyIf(ctx, p, IN_ATTRIB, p.Inode.SetAttr(ctx, &SetAttr{Mask: SetMode | SetCtime, Mode: mode, Ctime: Now()}))
}

// Chown is fchownat(2) on a resolved file; posix.NoID leaves an id.
func (v *VFS) Chown(ctx *Context, p Path, uid, gid uint32) unix.Errno {
	st, e := p.Inode.Stat(ctx)
	if e != 0 {
		return e
	}
	c := ctx.Cred
	a := SetAttr{Mask: SetCtime, Ctime: Now()}
	if uid != posix.NoID {
		if uid != st.UID && !c.Capable(posix.CAP_CHOWN) {
			return unix.EPERM
		}
		a.Mask |= SetUID
		a.UID = uid
	}
	if gid != posix.NoID {
		// The owner may give the file to one of its own groups.
		if gid != st.GID && !c.Capable(posix.CAP_CHOWN) && !(c.FSUID == st.UID && InGroup(c, gid)) {
			return unix.EPERM
		}
		if gid == st.GID && c.FSUID != st.UID && !c.Capable(posix.CAP_CHOWN) {
			return unix.EPERM
		}
		a.Mask |= SetGID
		a.GID = gid
	}
	if e := checkWrite(p); e != 0 {
		return e
	}
	// Changing the owner of a non-directory drops setuid, and setgid
	// when group-executable, as notify_change's ATTR_KILL_S*ID.
	if !IsDir(st.Mode) && (uid != posix.NoID || gid != posix.NoID) {
		m := st.Mode & 0o7777
		nm := m &^ S_ISUID
		if m&(S_ISGID|0o010) == S_ISGID|0o010 {
			nm &^= S_ISGID
		}
		if nm != m {
			a.Mask |= SetMode
			a.Mode = nm
		}
	}
	return notifyIf(ctx, p, IN_ATTRIB, p.Inode.SetAttr(ctx, &a))
}

// Special values of utimensat's tv_nsec.
const (
	UTIME_NOW  = (1 << 30) - 1
	UTIME_OMIT = (1 << 30) - 2
)

// Utimes is utimensat(2) on a resolved file: times nil means now for
// both.
func (v *VFS) Utimes(ctx *Context, p Path, times *[2]Timespec) unix.Errno {
	st, e := p.Inode.Stat(ctx)
	if e != 0 {
		return e
	}
	now := Now()
	a := SetAttr{Mask: SetCtime, Ctime: now}
	explicit := false
	if times == nil {
		a.Mask |= SetAtime | SetMtime
		a.Atime, a.Mtime = now, now
	} else {
		for i, t := range times {
			switch t.Nsec {
			case UTIME_OMIT:
				continue
			case UTIME_NOW:
				t = now
			default:
				if t.Nsec < 0 || t.Nsec >= 1e9 {
					return unix.EINVAL
				}
				explicit = true
			}
			if i == 0 {
				a.Mask |= SetAtime
				a.Atime = t
			} else {
				a.Mask |= SetMtime
				a.Mtime = t
			}
		}
		if a.Mask&(SetAtime|SetMtime) == 0 {
			return 0 // both omitted: nothing, not even ctime
		}
	}
	if !OwnerOrCapable(ctx.Cred, &st) {
		if explicit {
			return unix.EPERM
		}
		if e := Permission(ctx.Cred, &st, MayWrite); e != 0 {
			return e
		}
	}
	if e := checkWrite(p); e != 0 {
		return e
	}
	return notifyIf(ctx, p, IN_ATTRIB, p.Inode.SetAttr(ctx, &a))
}

// Truncate is truncate(2) on a resolved file (permission checked by the
// caller for ftruncate, which needs a writable descriptor instead).
func (v *VFS) Truncate(ctx *Context, p Path, size int64, checkPerm bool) unix.Errno {
	if size < 0 {
		return unix.EINVAL
	}
	st, e := p.Inode.Stat(ctx)
	if e != 0 {
		return e
	}
	if IsDir(st.Mode) {
		return unix.EISDIR
	}
	if FileType(st.Mode) != S_IFREG {
		return unix.EINVAL
	}
	if checkPerm {
		if e := Permission(ctx.Cred, &st, MayWrite); e != 0 {
			return e
		}
		if e := checkWrite(p); e != 0 {
			return e
		}
		if e := v.textBusy(p); e != 0 {
			return e
		}
	}
	now := Now()
	a := SetAttr{Mask: SetSize | SetMtime | SetCtime, Size: size, Mtime: now, Ctime: now}
	// Writing by a non-owner drops setuid/setgid, as file_remove_privs.
	if m := st.Mode & 0o7777; m&(S_ISUID|S_ISGID) != 0 && !ctx.Cred.Capable(posix.CAP_FSETID) {
		a.Mask |= SetMode
		a.Mode = m &^ S_ISUID
		if m&0o010 != 0 {
			a.Mode &^= S_ISGID
		}
	}
	return notifyIf(ctx, p, IN_MODIFY, p.Inode.SetAttr(ctx, &a))
}

// Access is faccessat(2)'s check of mode (R_OK|W_OK|X_OK, or F_OK = 0)
// on a resolved file, with ctx's credentials.
func (v *VFS) Access(ctx *Context, p Path, mode int) unix.Errno {
	st, e := p.Inode.Stat(ctx)
	if e != 0 {
		return e
	}
	if mode == 0 {
		return 0
	}
	if mode&MayWrite != 0 && p.Mnt.ReadOnly() {
		if t := FileType(st.Mode); t == S_IFREG || t == S_IFDIR || t == S_IFLNK {
			return unix.EROFS
		}
	}
	return Permission(ctx.Cred, &st, mode)
}

// Statfs reports the file system of p.
func (v *VFS) Statfs(ctx *Context, p Path) (Statfs, unix.Errno) {
	s, e := p.Mnt.FS.Statfs(ctx)
	if e != 0 {
		return s, e
	}
	s.Flags |= unix.ST_RELATIME
	if p.Mnt.ReadOnly() {
		s.Flags |= unix.ST_RDONLY
	}
	if p.Mnt.Flags&MS_NOSUID != 0 {
		s.Flags |= unix.ST_NOSUID
	}
	if p.Mnt.Flags&MS_NODEV != 0 {
		s.Flags |= unix.ST_NODEV
	}
	if p.Mnt.Flags&MS_NOEXEC != 0 {
		s.Flags |= unix.ST_NOEXEC
	}
	return s, 0
}

// Chdir makes p the working directory (it must be a searchable
// directory).
func (v *VFS) Chdir(ctx *Context, fsc *FSContext, p Path) unix.Errno {
	st, e := p.Inode.Stat(ctx)
	if e != 0 {
		return e
	}
	if !IsDir(st.Mode) {
		return unix.ENOTDIR
	}
	if e := Permission(ctx.Cred, &st, MayExec); e != 0 {
		return e
	}
	fsc.SetCwd(p)
	return 0
}

// Getcwd is getcwd(2): the working directory's path, ENOENT once it was
// removed.
func (v *VFS) Getcwd(ctx *Context, fsc *FSContext) (string, unix.Errno) {
	return v.PathName(ctx, fsc.Root(), fsc.Cwd())
}

// Sync is sync(2): every mount's file system.
func (v *VFS) Sync() {
	for _, m := range v.Mounts() {
		m.FS.Sync()
	}
}
