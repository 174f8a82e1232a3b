package syscalls

import (
	"encoding/binary"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/fs/tmpfs"
	"github.com/rumpgo/rumpgo/posix/vfs"
	"golang.org/x/sys/unix"
)

func init() {
	register(unix.SYS_OPENAT, Entry{Name: "openat", Support: Partial, Note: "O_TMPFILE on tmpfs and overlays (EOPNOTSUPP on host volumes); O_DIRECT, O_SYNC, O_DSYNC, O_NOATIME are accepted and have no effect in memory",
		fn: sysOpenat, args: []argKind{aDirFD, aPath, aOpenFlags, aOctal}})
	register(unix.SYS_OPEN, Entry{Name: "open", Support: Partial, Note: "as openat",
		fn: func(t *Thread, a Args) (uint64, unix.Errno) {
			return sysOpenat(t, Args{uint64(unix.AT_FDCWD & 0xffffffff), a[0], a[1], a[2]})
		}, args: []argKind{aPath, aOpenFlags, aOctal}})
	register(unix.SYS_CREAT, Entry{Name: "creat", Support: Partial, Note: "as openat",
		fn: func(t *Thread, a Args) (uint64, unix.Errno) {
			return sysOpenat(t, Args{uint64(unix.AT_FDCWD & 0xffffffff), a[0], unix.O_CREAT | unix.O_WRONLY | unix.O_TRUNC, a[1]})
		}, args: []argKind{aPath, aOctal}})
	register(unix.SYS_OPENAT2, Entry{Name: "openat2", Support: Partial, Note: "as openat; every RESOLVE_* flag (RESOLVE_CACHED never fails: nothing is cached)",
		fn: sysOpenat2, args: []argKind{aDirFD, aPath, aPtr, aUint}})
	register(unix.SYS_CLOSE_RANGE, Entry{Name: "close_range", fn: sysCloseRange, args: []argKind{aFD, aFD, aHex}})
	register(unix.SYS_MEMFD_CREATE, Entry{Name: "memfd_create", Support: Partial, Note: "MFD_HUGETLB is EINVAL; seals (MFD_ALLOW_SEALING, F_ADD_SEALS) are not kept",
		fn: sysMemfdCreate, args: []argKind{aPath, aHex}})
	register(unix.SYS_MKNODAT, Entry{Name: "mknodat", Support: Partial, Note: "FIFOs, regular files and socket names; device nodes need CAP_MKNOD and open only the devices /dev has",
		fn: sysMknodat, args: []argKind{aDirFD, aPath, aMode, aHex}})
	register(unix.SYS_MKNOD, Entry{Name: "mknod", Support: Partial, Note: "as mknodat",
		fn: func(t *Thread, a Args) (uint64, unix.Errno) {
			return sysMknodat(t, Args{uint64(unix.AT_FDCWD & 0xffffffff), a[0], a[1], a[2]})
		}, args: []argKind{aPath, aMode, aHex}})
}

// openFlagsValid are the flags open accepts (others are ignored, as
// Linux's build_open_flags ignores unknown bits for open and openat).
const openFlagsKnown = unix.O_ACCMODE | unix.O_CREAT | unix.O_EXCL | unix.O_NOCTTY | unix.O_TRUNC |
	unix.O_APPEND | unix.O_NONBLOCK | unix.O_DSYNC | unix.O_ASYNC | unix.O_DIRECT | unix.O_LARGEFILE |
	unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_NOATIME | unix.O_CLOEXEC | unix.O_SYNC | unix.O_PATH |
	unix.O_TMPFILE

func sysOpenat(t *Thread, a Args) (uint64, unix.Errno) {
	return t.open(a.Int(0), a[1], a.Int(2)&openFlagsKnown, uint32(a[3]), 0)
}

func (t *Thread) open(dirfd int, addr uint64, flags int, mode uint32, resolve int) (uint64, unix.Errno) {
	v, fsc, e := t.vfs()
	if e != 0 {
		// Still check the arguments a kernel without files would.
		if _, e := t.pathArg(addr); e != 0 {
			return 0, e
		}
		return 0, unix.ENOENT
	}
	path, e := t.pathArg(addr)
	if e != 0 {
		return 0, e
	}
	dir, e := t.dirArg(dirfd, path)
	if e != 0 {
		return 0, e
	}
	// O_LARGEFILE is implied on 64-bit and shows in F_GETFL.
	flags |= O_LARGEFILE
	f, e := v.Open(t.vctx(), fsc, dir, path, vfs.OpenHow{Flags: flags, Mode: mode, Resolve: resolve, Umask: t.umask()})
	if e != 0 {
		return 0, e
	}
	fd, e := t.Task.Group.FDs.Install(f, 0, flags&unix.O_CLOEXEC != 0, t.fdLimit())
	if e != 0 {
		f.Close()
		return 0, e
	}
	return uint64(fd), 0
}

// O_LARGEFILE is x86-64's value; x/sys/unix calls it 0 on amd64 because
// 64-bit Linux implies it, but F_GETFL shows the bit.
const O_LARGEFILE = 0o100000

// openHowSize is sizeof(struct open_how) (OPEN_HOW_SIZE_VER0).
const openHowSize = 24

func sysOpenat2(t *Thread, a Args) (uint64, unix.Errno) {
	size := a[3]
	if size < openHowSize {
		return 0, unix.EINVAL
	}
	if size > 4096 {
		return 0, unix.E2BIG
	}
	b := make([]byte, size)
	if e := t.mm().CopyIn(a[2], b); e != 0 {
		return 0, e
	}
	// A larger struct is fine if the fields we do not know are zero.
	for _, c := range b[openHowSize:] {
		if c != 0 {
			return 0, unix.E2BIG
		}
	}
	flags := binary.LittleEndian.Uint64(b[0:])
	mode := binary.LittleEndian.Uint64(b[8:])
	resolve := binary.LittleEndian.Uint64(b[16:])
	// openat2 rejects what open ignores.
	if flags&^uint64(openFlagsKnown) != 0 || resolve&^vfs.ResolveAll != 0 {
		return 0, unix.EINVAL
	}
	if mode&^0o7777 != 0 || (mode != 0 && flags&(unix.O_CREAT|unix.O_TMPFILE) == 0) {
		return 0, unix.EINVAL
	}
	if resolve&vfs.RESOLVE_BENEATH != 0 && resolve&vfs.RESOLVE_IN_ROOT != 0 {
		return 0, unix.EINVAL
	}
	if resolve&vfs.RESOLVE_CACHED != 0 && flags&(unix.O_TRUNC|unix.O_CREAT|unix.O_TMPFILE) != 0 {
		return 0, unix.EAGAIN
	}
	return t.open(a.Int(0), a[1], int(flags), uint32(mode), int(resolve))
}

// close_range(2) flags (linux/close_range.h).
const (
	CLOSE_RANGE_UNSHARE = 1 << 1
	CLOSE_RANGE_CLOEXEC = 1 << 2
)

func sysCloseRange(t *Thread, a Args) (uint64, unix.Errno) {
	first, last, flags := uint32(a[0]), uint32(a[1]), a[2]
	if flags&^(CLOSE_RANGE_UNSHARE|CLOSE_RANGE_CLOEXEC) != 0 || first > last {
		return 0, unix.EINVAL
	}
	// UNSHARE: the table is the process's own already (no CLONE_FILES
	// sharing between processes exists here).
	fds := t.Task.Group.FDs
	for _, fi := range fds.FDs() {
		if uint32(fi.FD) < first || uint32(fi.FD) > last {
			continue
		}
		if flags&CLOSE_RANGE_CLOEXEC != 0 {
			ce := true
			fds.CloseOnExec(fi.FD, &ce)
			continue
		}
		t.closeFD(fi.FD)
	}
	return 0, 0
}

// closeFD closes fd, dropping the process's POSIX locks on its file as
// every close does.
func (t *Thread) closeFD(fd int) unix.Errno {
	// Not t.file: a hold would put off the File's Close, and its error,
	// past this call.
	if of, e := t.Task.Group.FDs.Get(fd); e == 0 {
		if vf, ok := of.File.(*vfs.File); ok {
			vf.ReleasePOSIX(t.Task.Group.PID)
		}
	}
	return t.Task.Group.FDs.Close(fd)
}

// memfd_create(2) flags (linux/memfd.h).
const (
	MFD_CLOEXEC       = 0x1
	MFD_ALLOW_SEALING = 0x2
	MFD_HUGETLB       = 0x4
	MFD_NOEXEC_SEAL   = 0x8
	MFD_EXEC          = 0x10
)

// memfd_create makes an unlinked file on an internal tmpfs; its name shows
// as "/memfd:NAME (deleted)", as on Linux.
func sysMemfdCreate(t *Thread, a Args) (uint64, unix.Errno) {
	name, e := t.mm().CopyInString(a[0], 250)
	if e != 0 {
		if e == unix.ENAMETOOLONG {
			return 0, unix.EINVAL // MFD_NAME_MAX_LEN
		}
		return 0, e
	}
	flags := a[1]
	if flags&^(MFD_CLOEXEC|MFD_ALLOW_SEALING|MFD_HUGETLB|MFD_NOEXEC_SEAL|MFD_EXEC) != 0 ||
		flags&(MFD_NOEXEC_SEAL|MFD_EXEC) == MFD_NOEXEC_SEAL|MFD_EXEC {
		return 0, unix.EINVAL
	}
	if flags&MFD_HUGETLB != 0 {
		return 0, unix.EINVAL // no hugetlbfs
	}
	fs := t.K.FS()
	if fs == nil {
		return 0, unix.ENOSYS
	}
	mfs := memfdFS(fs, int64(t.K.Info.MemBytes))
	v := vfs.New(mfs, "memfd", 0, "")
	ctx := t.vctx()
	mode := uint32(0o777)
	if flags&MFD_NOEXEC_SEAL != 0 {
		mode = 0o666
	}
	// A fresh directory per file keeps names apart; the file is
	// unlinked at once, so the tmpfs holds nothing else.
	fsc := vfs.NewFSContext(v.Root())
	f, e := v.Open(ctx, fsc, vfs.Path{}, "/memfd:"+name, vfs.OpenHow{Flags: unix.O_RDWR | unix.O_CREAT | unix.O_EXCL | O_LARGEFILE, Mode: mode})
	if e != 0 {
		return 0, e
	}
	v.Unlink(ctx, fsc, vfs.Path{}, "/memfd:"+name)
	fd, e := t.Task.Group.FDs.Install(f, 0, flags&MFD_CLOEXEC != 0, t.fdLimit())
	if e != 0 {
		f.Close()
	}
	return uint64(fd), e
}

var memfdMu = make(chan struct{}, 1)

// memfdFS is the tmpfs memfds live on, one per kernel file-system state.
// Their data is the monitor's memory, so it is bounded by the guest's RAM
// (size; 0 is tmpfs's default bound): past it a write is ENOSPC. Linux's
// memfds are shmem without a size of their own, bounded by the memory
// they are charged to; unbounded here, one guest grew the monitor to
// 24 GiB and the host's OOM killer ended it (guestfuzz seed 114: sendfile
// from a sparse memfd into itself).
func memfdFS(fs *FS, size int64) *tmpfs.FS {
	memfdMu <- struct{}{}
	defer func() { <-memfdMu }()
	if fs.memfd == nil {
		fs.memfd = tmpfs.New(tmpfs.Options{Mode: 0o1777, Size: size, Frames: fs.Frames})
	}
	return fs.memfd
}

func sysMknodat(t *Thread, a Args) (uint64, unix.Errno) {
	v, fsc, e := t.vfs()
	if e != 0 {
		return 0, e
	}
	path, e := t.pathArg(a[1])
	if e != 0 {
		return 0, e
	}
	dir, e := t.dirArg(a.Int(0), path)
	if e != 0 {
		return 0, e
	}
	// The device number is the kernel's new_decode_dev of a u32.
	dev := uint32(a[3])
	rdev := unix.Mkdev((dev&0xfff00)>>8, (dev&0xff)|((dev>>12)&0xfff00))
	return 0, v.Mknod(t.vctx(), fsc, dir, path, uint32(a[2]), rdev, t.umask())
}

var _ = posix.NoID
