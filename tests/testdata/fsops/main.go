// fsops exercises the file-system calls on a fresh directory under /tmp
// and prints what each returns, so a native run and a rumpgo run can be
// compared line by line. Nothing printed depends on the file system's
// own choices (inode numbers, block counts, directory order).
package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

var dir string

func errName(err error) string {
	if err == nil {
		return "ok"
	}
	var en syscall.Errno
	if errors.As(err, &en) {
		return unix.ErrnoName(en)
	}
	return err.Error()
}

func try(what string, err error) { fmt.Printf("%-40s %s\n", what, errName(err)) }

func p(name string) string { return filepath.Join(dir, name) }

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func main() {
	var err error
	dir, err = os.MkdirTemp("", "fsops")
	must(err)
	defer os.RemoveAll(dir)
	unix.Umask(0o022)

	paths()
	dirs()
	links()
	attrs()
	rw()
	locks()
	fifo()
	copies()
	mapping()
	procSelf()
	devices()
	badPointers()
	xattrs()
}

func paths() {
	fmt.Println("== paths")
	f := p("f")
	fd, err := unix.Open(f, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY, 0o644)
	try("create O_EXCL", err)
	unix.Write(fd, []byte("0123456789"))
	unix.Close(fd)
	_, err = unix.Open(f, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY, 0o644)
	try("create O_EXCL again", err)
	_, err = unix.Open(p("nope"), unix.O_RDONLY, 0)
	try("open missing", err)
	_, err = unix.Open(p("nope/x"), unix.O_RDONLY, 0)
	try("open missing/x", err)
	_, err = unix.Open(f+"/", unix.O_RDONLY, 0)
	try("open file/", err)
	_, err = unix.Open(f+"/x", unix.O_RDONLY, 0)
	try("open file/x", err)
	var st unix.Stat_t
	try("stat file/", unix.Stat(f+"/", &st))
	_, err = unix.Open(f, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	try("open file O_DIRECTORY", err)
	_, err = unix.Open(dir, unix.O_WRONLY, 0)
	try("open dir O_WRONLY", err)
	_, err = unix.Open(dir, unix.O_RDONLY|unix.O_CREAT, 0o644)
	try("open dir O_CREAT", err)
	_, err = unix.Open(p("newdir/"), unix.O_CREAT|unix.O_WRONLY, 0o644)
	try("create with trailing slash", err)
	long := strings.Repeat("x", 256)
	_, err = unix.Open(p(long), unix.O_CREAT|unix.O_WRONLY, 0o644)
	try("create 256-byte name", err)
	fd, err = unix.Open(p(strings.Repeat("y", 255)), unix.O_CREAT|unix.O_WRONLY, 0o644)
	try("create 255-byte name", err)
	unix.Close(fd)
	longPath := dir + strings.Repeat("/a", 2100)
	try("stat PATH_MAX path", unix.Stat(longPath, &st))

	// Symlinks: a loop, a chain of 41, O_NOFOLLOW, dangling with O_CREAT.
	must(os.Symlink("loop", p("loop")))
	_, err = unix.Open(p("loop"), unix.O_RDONLY, 0)
	try("open symlink loop", err)
	prev := "f"
	for i := 0; i < 41; i++ {
		name := fmt.Sprintf("chain%d", i)
		must(os.Symlink(prev, p(name)))
		prev = name
	}
	_, err = unix.Open(p("chain39"), unix.O_RDONLY, 0)
	try("open chain of 40", err)
	_, err = unix.Open(p("chain40"), unix.O_RDONLY, 0)
	try("open chain of 41", err)
	_, err = unix.Open(p("chain0"), unix.O_RDONLY|unix.O_NOFOLLOW, 0)
	try("open symlink O_NOFOLLOW", err)
	fd, err = unix.Open(p("chain0"), unix.O_PATH|unix.O_NOFOLLOW, 0)
	try("open symlink O_PATH|O_NOFOLLOW", err)
	try("fstat O_PATH symlink", unix.Fstat(fd, &st))
	fmt.Println("  is symlink:", st.Mode&unix.S_IFMT == unix.S_IFLNK)
	try("fstatat AT_EMPTY_PATH", unix.Fstatat(fd, "", &st, unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW))
	buf := make([]byte, 64)
	n, err := unix.Readlinkat(fd, "", buf)
	try("readlinkat O_PATH fd", err)
	fmt.Printf("  target %q\n", buf[:n])
	_, err = unix.Read(fd, buf)
	try("read O_PATH", err)
	unix.Close(fd)
	must(os.Symlink("dangling-target", p("dangling")))
	fd, err = unix.Open(p("dangling"), unix.O_CREAT|unix.O_WRONLY, 0o600)
	try("O_CREAT through dangling symlink", err)
	unix.Close(fd)
	_, err = os.Lstat(p("dangling-target"))
	try("  target now exists", err)
	_, err = unix.Open(p("dangling"), unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY, 0o600)
	try("O_CREAT|O_EXCL on symlink", err)
	must(os.Symlink("f", p("tofile")))
	try("stat symlink-to-file/", unix.Stat(p("tofile")+"/", &st))
	try("lstat symlink", unix.Lstat(p("tofile"), &st))
	try("stat a/../f with a missing", unix.Stat(p("a/../f"), &st))
	must(os.Mkdir(p("d"), 0o755))
	try("stat d/../f", unix.Stat(p("d/../f"), &st))
	try("stat d/./../f", unix.Stat(p("d/./../f"), &st))
	try("stat /..", unix.Stat("/..", &st))
	try("stat empty path", unix.Stat("", &st))

	// openat2 scopes.
	dfd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	must(err)
	defer unix.Close(dfd)
	must(os.Symlink("/etc/hostname", p("abs")))
	must(os.Symlink("../..", p("d/up")))
	for _, c := range []struct {
		path    string
		resolve uint64
	}{
		{"f", unix.RESOLVE_BENEATH},
		{"d/../f", unix.RESOLVE_BENEATH},
		{"../x", unix.RESOLVE_BENEATH},
		{"/etc/hostname", unix.RESOLVE_BENEATH},
		{"abs", unix.RESOLVE_BENEATH},
		{"d/up/f", unix.RESOLVE_BENEATH},
		{"d/up", unix.RESOLVE_IN_ROOT},
		{"tofile", unix.RESOLVE_NO_SYMLINKS},
		{"f", unix.RESOLVE_NO_SYMLINKS},
		{"/proc/self/exe", unix.RESOLVE_NO_MAGICLINKS},
		{"/proc/self/exe", 0},
		{"/proc", unix.RESOLVE_NO_XDEV},
		{"../..", unix.RESOLVE_IN_ROOT},
	} {
		fd, err := unix.Openat2(dfd, c.path, &unix.OpenHow{Flags: unix.O_RDONLY, Resolve: c.resolve})
		try(fmt.Sprintf("openat2 %s %#x", c.path, c.resolve), err)
		if err == nil {
			var st2 unix.Stat_t
			unix.Fstat(fd, &st2)
			fmt.Println("  dir:", st2.Mode&unix.S_IFMT == unix.S_IFDIR)
			unix.Close(fd)
		}
	}
	_, err = unix.Openat2(dfd, "f", &unix.OpenHow{Flags: unix.O_RDONLY, Resolve: 0x1000})
	try("openat2 unknown resolve", err)
	_, err = unix.Openat2(dfd, "f", &unix.OpenHow{Flags: unix.O_RDONLY, Mode: 0o644})
	try("openat2 mode without O_CREAT", err)
	try("fstatat dirfd f", unix.Fstatat(dfd, "f", &st, 0))
	fmt.Println("  size:", st.Size)
	try("fstatat file-fd as dir", unix.Fstatat(must1(unix.Open(p("f"), unix.O_RDONLY, 0)), "x", &st, 0))
}

func must1(fd int, err error) int {
	must(err)
	return fd
}

func dirs() {
	fmt.Println("== dirs")
	try("mkdir", unix.Mkdir(p("m"), 0o750))
	try("mkdir again", unix.Mkdir(p("m"), 0o750))
	try("mkdir trailing slash", unix.Mkdir(p("m2/"), 0o750))
	try("mkdir under file", unix.Mkdir(p("f/x"), 0o750))
	var st unix.Stat_t
	unix.Stat(p("m"), &st)
	fmt.Printf("  mode %o nlink %d\n", st.Mode, st.Nlink)
	must(os.WriteFile(p("m/child"), nil, 0o644))
	must(os.Mkdir(p("m/sub"), 0o755))
	unix.Stat(p("m"), &st)
	fmt.Printf("  nlink with subdir %d\n", st.Nlink)
	try("rmdir non-empty", unix.Rmdir(p("m")))
	try("rmdir file", unix.Rmdir(p("m/child")))
	try("rmdir .", unix.Rmdir(p("m/.")))
	try("rmdir ..", unix.Rmdir(p("m/sub/..")))
	try("unlink dir", unix.Unlink(p("m/sub")))
	try("unlink file/", unix.Unlink(p("m/child/")))
	try("unlinkat bad flag", unix.Unlinkat(unix.AT_FDCWD, p("m/child"), 0x1000))
	try("rename into own subdir", unix.Rename(p("m"), p("m/sub/x")))
	try("rename file over dir", unix.Rename(p("m/child"), p("m/sub")))
	must(os.Mkdir(p("m/empty"), 0o755))
	try("rename dir over file", unix.Rename(p("m/empty"), p("m/child")))
	try("rename dir over empty dir", unix.Rename(p("m/empty"), p("m/sub2")))
	must(os.Mkdir(p("m/empty"), 0o755))
	try("rename dir over non-empty dir", unix.Rename(p("m/empty"), p("m")))
	must(os.WriteFile(p("m/sub/inner"), nil, 0o644))
	try("rename dir over non-empty dir2", unix.Rename(p("m/empty"), p("m/sub")))
	try("rename missing", unix.Rename(p("m/missing"), p("m/x")))
	try("rename to same", unix.Rename(p("m/child"), p("m/child")))
	must(os.WriteFile(p("m/a"), []byte("A"), 0o644))
	must(os.WriteFile(p("m/b"), []byte("B"), 0o644))
	try("renameat2 NOREPLACE", unix.Renameat2(unix.AT_FDCWD, p("m/a"), unix.AT_FDCWD, p("m/b"), unix.RENAME_NOREPLACE))
	try("renameat2 EXCHANGE", unix.Renameat2(unix.AT_FDCWD, p("m/a"), unix.AT_FDCWD, p("m/b"), unix.RENAME_EXCHANGE))
	a, _ := os.ReadFile(p("m/a"))
	b, _ := os.ReadFile(p("m/b"))
	fmt.Printf("  a=%s b=%s\n", a, b)
	try("renameat2 EXCHANGE missing", unix.Renameat2(unix.AT_FDCWD, p("m/a"), unix.AT_FDCWD, p("m/zz"), unix.RENAME_EXCHANGE))
	try("renameat2 both flags", unix.Renameat2(unix.AT_FDCWD, p("m/a"), unix.AT_FDCWD, p("m/b"), unix.RENAME_EXCHANGE|unix.RENAME_NOREPLACE))
	try("rename a -> c", unix.Rename(p("m/a"), p("m/c")))
	try("rename across mounts", unix.Rename(p("m/c"), "/dev/shm/fsops-c"))
	try("link across mounts", unix.Link(p("m/c"), "/dev/shm/fsops-c"))

	ents, err := os.ReadDir(p("m"))
	try("readdir", err)
	var names []string
	for _, e := range ents {
		names = append(names, fmt.Sprintf("%s:%v", e.Name(), e.IsDir()))
	}
	sort.Strings(names)
	fmt.Println(" ", strings.Join(names, " "))
	// Raw getdents64: "." and ".." come too; a tiny buffer is EINVAL.
	fd := must1(unix.Open(p("m"), unix.O_RDONLY|unix.O_DIRECTORY, 0))
	_, err = unix.Getdents(fd, make([]byte, 8))
	try("getdents tiny buffer", err)
	buf := make([]byte, 4096)
	n, err := unix.Getdents(fd, buf)
	try("getdents", err)
	var raw []string
	for off := 0; off < n; {
		reclen := int(*(*uint16)(unsafe.Pointer(&buf[off+16])))
		name := buf[off+19 : off+reclen]
		raw = append(raw, string(bytes.TrimRight(name, "\x00")))
		off += reclen
	}
	sort.Strings(raw)
	fmt.Println(" ", strings.Join(raw, " "))
	n, err = unix.Getdents(fd, buf)
	fmt.Println("  at end:", n, errName(err))
	unix.Seek(fd, 0, 0)
	n, _ = unix.Getdents(fd, buf)
	fmt.Println("  rewound:", n > 0)
	unix.Close(fd)

	// Working directory.
	old, _ := os.Getwd()
	try("chdir", unix.Chdir(p("m/sub")))
	wd, err := os.Getwd()
	try("getwd", err)
	fmt.Println("  wd:", strings.TrimPrefix(wd, dir))
	try("chdir ..", unix.Chdir(".."))
	wd, _ = os.Getwd()
	fmt.Println("  wd:", strings.TrimPrefix(wd, dir))
	try("chdir file", unix.Chdir(p("f")))
	fd = must1(unix.Open(p("d"), unix.O_RDONLY, 0))
	try("fchdir", unix.Fchdir(fd))
	unix.Close(fd)
	fd = must1(unix.Open(p("f"), unix.O_RDONLY, 0))
	try("fchdir file", unix.Fchdir(fd))
	unix.Close(fd)
	must(os.WriteFile("rel", []byte("r"), 0o644))
	_, err = os.Stat(p("d/rel"))
	try("relative create lands in cwd", err)
	must(os.Mkdir(p("gone"), 0o755))
	must(unix.Chdir(p("gone")))
	must(unix.Rmdir(p("gone")))
	_, err = unix.Getwd()
	try("getcwd of removed dir", err)
	try("create in removed cwd", os.WriteFile("x", nil, 0o644))
	unix.Chdir(old)
}

func links() {
	fmt.Println("== links")
	must(os.WriteFile(p("l1"), []byte("data"), 0o644))
	try("link", unix.Link(p("l1"), p("l2")))
	try("link existing", unix.Link(p("l1"), p("l2")))
	try("link dir", unix.Link(p("d"), p("d2")))
	var st unix.Stat_t
	unix.Stat(p("l1"), &st)
	fmt.Println("  nlink", st.Nlink)
	unix.Unlink(p("l1"))
	unix.Stat(p("l2"), &st)
	fmt.Println("  nlink after unlink", st.Nlink)
	b, _ := os.ReadFile(p("l2"))
	fmt.Printf("  data %q\n", b)
	try("symlink", unix.Symlink("l2", p("s1")))
	try("symlink existing", unix.Symlink("l2", p("s1")))
	try("symlink empty target", unix.Symlink("", p("s2")))
	buf := make([]byte, 2)
	n, err := unix.Readlink(p("s1"), buf)
	try("readlink short buffer", err)
	fmt.Printf("  %q\n", buf[:n])
	_, err = unix.Readlink(p("l2"), buf)
	try("readlink non-link", err)
	try("linkat AT_SYMLINK_FOLLOW", unix.Linkat(unix.AT_FDCWD, p("s1"), unix.AT_FDCWD, p("l3"), unix.AT_SYMLINK_FOLLOW))
	unix.Lstat(p("l3"), &st)
	fmt.Println("  l3 regular:", st.Mode&unix.S_IFMT == unix.S_IFREG)
	try("linkat no follow", unix.Linkat(unix.AT_FDCWD, p("s1"), unix.AT_FDCWD, p("l4"), 0))
	unix.Lstat(p("l4"), &st)
	fmt.Println("  l4 symlink:", st.Mode&unix.S_IFMT == unix.S_IFLNK)
	// An open file survives its unlink.
	fd := must1(unix.Open(p("l2"), unix.O_RDWR, 0))
	unix.Unlink(p("l2"))
	unix.Unlink(p("l3"))
	unix.Fstat(fd, &st)
	fmt.Println("  unlinked open nlink", st.Nlink)
	n, _ = unix.Pread(fd, buf, 0)
	fmt.Printf("  still reads %q\n", buf[:n])
	unix.Close(fd)
}

func attrs() {
	fmt.Println("== attrs")
	old := unix.Umask(0o027)
	fd := must1(unix.Open(p("um"), unix.O_CREAT|unix.O_WRONLY, 0o777))
	var st unix.Stat_t
	unix.Fstat(fd, &st)
	fmt.Printf("  umask 027 create 0777 -> %o\n", st.Mode&0o7777)
	unix.Umask(old)
	try("fchmod", unix.Fchmod(fd, 0o4755))
	unix.Fstat(fd, &st)
	fmt.Printf("  %o\n", st.Mode&0o7777)
	try("chmod", unix.Chmod(p("um"), 0o600))
	try("fchmodat nofollow on symlink", unix.Fchmodat(unix.AT_FDCWD, p("tofile"), 0o600, unix.AT_SYMLINK_NOFOLLOW))
	try("fchown same", unix.Fchown(fd, 0, 0))
	try("chown other", unix.Chown(p("um"), 1234, 5678))
	unix.Stat(p("um"), &st)
	fmt.Println("  owner", st.Uid, st.Gid)
	try("lchown symlink", unix.Lchown(p("tofile"), 99, 99))
	unix.Lstat(p("tofile"), &st)
	fmt.Println("  symlink owner", st.Uid, st.Gid)
	unix.Stat(p("f"), &st)
	fmt.Println("  target owner", st.Uid, st.Gid)
	ts := []unix.Timespec{{Sec: 1000000000, Nsec: 5}, {Sec: 1234567890, Nsec: 123456789}}
	try("utimensat", unix.UtimesNanoAt(unix.AT_FDCWD, p("um"), ts, 0))
	unix.Stat(p("um"), &st)
	fmt.Println("  atime", st.Atim.Sec, st.Atim.Nsec, "mtime", st.Mtim.Sec, st.Mtim.Nsec)
	ts = []unix.Timespec{{Nsec: unix.UTIME_OMIT}, {Sec: 42, Nsec: 0}}
	try("utimensat omit atime", unix.UtimesNanoAt(unix.AT_FDCWD, p("um"), ts, 0))
	unix.Stat(p("um"), &st)
	fmt.Println("  atime", st.Atim.Sec, "mtime", st.Mtim.Sec)
	try("utimensat bad nsec", unix.UtimesNanoAt(unix.AT_FDCWD, p("um"), []unix.Timespec{{Nsec: 2e9}, {}}, 0))
	try("utimes", unix.Utimes(p("um"), []unix.Timeval{{Sec: 7, Usec: 8}, {Sec: 9, Usec: 10}}))
	unix.Stat(p("um"), &st)
	fmt.Println("  atime", st.Atim.Sec, st.Atim.Nsec, "mtime", st.Mtim.Sec, st.Mtim.Nsec)
	unix.Close(fd)
	try("chmod 000", unix.Chmod(p("um"), 0))
	try("access R_OK as root", unix.Access(p("um"), unix.R_OK))
	try("access X_OK as root", unix.Access(p("um"), unix.X_OK))
	try("access F_OK missing", unix.Access(p("missing"), unix.F_OK))
	try("faccessat2 AT_EACCESS", unix.Faccessat2(unix.AT_FDCWD, p("um"), unix.W_OK, unix.AT_EACCESS))
	try("access bad mode", unix.Access(p("um"), 8))
	var sx unix.Statx_t
	try("statx", unix.Statx(unix.AT_FDCWD, p("f"), 0, unix.STATX_ALL, &sx))
	fmt.Printf("  size %d mode %o nlink %d basic %v\n", sx.Size, sx.Mode, sx.Nlink, sx.Mask&unix.STATX_BASIC_STATS == unix.STATX_BASIC_STATS)
	try("statx bad flags", unix.Statx(unix.AT_FDCWD, p("f"), 0x1, unix.STATX_ALL, &sx))
	var sf unix.Statfs_t
	try("statfs", unix.Statfs(dir, &sf))
	fmt.Println("  namelen", sf.Namelen)
}

func rw() {
	fmt.Println("== rw")
	fd := must1(unix.Open(p("rw"), unix.O_CREAT|unix.O_RDWR|unix.O_TRUNC, 0o644))
	unix.Write(fd, []byte("hello world"))
	off, err := unix.Seek(fd, 0, unix.SEEK_CUR)
	fmt.Println("  offset", off, errName(err))
	buf := make([]byte, 5)
	n, _ := unix.Pread(fd, buf, 6)
	fmt.Printf("  pread %q\n", buf[:n])
	unix.Pwrite(fd, []byte("HELLO"), 0)
	off, _ = unix.Seek(fd, 0, unix.SEEK_CUR)
	fmt.Println("  offset after pwrite", off)
	_, err = unix.Pread(fd, buf, -1)
	try("pread negative", err)
	off, err = unix.Seek(fd, -100, unix.SEEK_SET)
	try("seek negative", err)
	off, _ = unix.Seek(fd, 100, unix.SEEK_END)
	fmt.Println("  seek past end", off)
	unix.Write(fd, []byte("!"))
	var st unix.Stat_t
	unix.Fstat(fd, &st)
	fmt.Println("  size with gap", st.Size)
	b := make([]byte, 200)
	n, _ = unix.Pread(fd, b, 0)
	fmt.Printf("  %q\n", bytes.TrimRight(bytes.ReplaceAll(b[:n], []byte{0}, []byte(".")), "."))
	_, err = unix.Seek(fd, 0, 7)
	try("seek bad whence", err)
	// Vectored.
	iov := [][]byte{[]byte("ab"), []byte("cd")}
	n, err = unix.Pwritev(fd, iov, 2)
	fmt.Println("  pwritev", n, errName(err))
	r1, r2 := make([]byte, 3), make([]byte, 3)
	n, err = unix.Preadv(fd, [][]byte{r1, r2}, 0)
	fmt.Printf("  preadv %d %s %q %q\n", n, errName(err), r1, r2)
	n, err = unix.Preadv2(fd, [][]byte{r1}, -1, 0)
	fmt.Printf("  preadv2 at offset %d %s %q\n", n, errName(err), r1[:max(n, 0)])
	// Truncate.
	try("ftruncate shrink", unix.Ftruncate(fd, 4))
	try("ftruncate grow", unix.Ftruncate(fd, 8192*3))
	unix.Fstat(fd, &st)
	fmt.Println("  size", st.Size)
	n, _ = unix.Pread(fd, b[:8], 0)
	fmt.Printf("  %q\n", b[:n])
	try("ftruncate negative", unix.Ftruncate(fd, -1))
	try("truncate path", unix.Truncate(p("rw"), 3))
	ro := must1(unix.Open(p("rw"), unix.O_RDONLY, 0))
	try("ftruncate read-only fd", unix.Ftruncate(ro, 1))
	_, err = unix.Write(ro, []byte("x"))
	try("write read-only fd", err)
	unix.Close(ro)
	try("truncate dir", unix.Truncate(dir, 0))
	// Holes and fallocate.
	h := must1(unix.Open(p("holes"), unix.O_CREAT|unix.O_RDWR, 0o644))
	unix.Pwrite(h, []byte("x"), 0)
	unix.Pwrite(h, []byte("y"), 2*4096*16)
	d, err := unix.Seek(h, 1, unix.SEEK_HOLE)
	fmt.Println("  SEEK_HOLE from 1:", d, errName(err))
	d, err = unix.Seek(h, 4096*16, unix.SEEK_DATA)
	fmt.Println("  SEEK_DATA from 64k:", d, errName(err))
	_, err = unix.Seek(h, 1<<30, unix.SEEK_DATA)
	try("SEEK_DATA past end", err)
	try("fallocate", unix.Fallocate(h, 0, 0, 1<<20))
	unix.Fstat(h, &st)
	fmt.Println("  size after fallocate", st.Size)
	try("fallocate keep size", unix.Fallocate(h, unix.FALLOC_FL_KEEP_SIZE, 0, 4<<20))
	unix.Fstat(h, &st)
	fmt.Println("  size after keep size", st.Size)
	try("punch hole", unix.Fallocate(h, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, 0, 4096))
	n, _ = unix.Pread(h, b[:1], 0)
	fmt.Printf("  after punch %q\n", b[:n])
	try("punch without keep size", unix.Fallocate(h, unix.FALLOC_FL_PUNCH_HOLE, 0, 4096))
	try("fallocate bad len", unix.Fallocate(h, 0, 0, 0))
	try("fsync", unix.Fsync(h))
	try("fdatasync", unix.Fdatasync(h))
	try("syncfs", unix.Syncfs(h))
	unix.Sync()
	unix.Close(h)
	// O_APPEND, also for pwrite.
	a := must1(unix.Open(p("app"), unix.O_CREAT|unix.O_WRONLY|unix.O_APPEND, 0o644))
	unix.Write(a, []byte("one"))
	unix.Seek(a, 0, unix.SEEK_SET)
	unix.Write(a, []byte("two"))
	unix.Pwrite(a, []byte("three"), 0)
	unix.Close(a)
	bb, _ := os.ReadFile(p("app"))
	fmt.Printf("  append %q\n", bb)
	// O_TRUNC.
	tfd := must1(unix.Open(p("app"), unix.O_WRONLY|unix.O_TRUNC, 0))
	unix.Fstat(tfd, &st)
	fmt.Println("  after O_TRUNC", st.Size)
	unix.Close(tfd)
	// dup shares the offset; fcntl flags.
	d1 := must1(unix.Open(p("f"), unix.O_RDONLY, 0))
	d2, _ := unix.Dup(d1)
	unix.Read(d1, buf[:3])
	off, _ = unix.Seek(d2, 0, unix.SEEK_CUR)
	fmt.Println("  dup offset", off)
	fl, _ := unix.FcntlInt(uintptr(d1), unix.F_GETFL, 0)
	fmt.Printf("  F_GETFL %#o\n", fl)
	unix.FcntlInt(uintptr(d1), unix.F_SETFL, unix.O_APPEND|unix.O_NONBLOCK)
	fl, _ = unix.FcntlInt(uintptr(d2), unix.F_GETFL, 0)
	fmt.Printf("  F_GETFL after SETFL %#o\n", fl)
	var nread int32
	_, _, en := unix.Syscall(unix.SYS_IOCTL, uintptr(d1), 0x541B, uintptr(unsafe.Pointer(&nread)))
	fmt.Println("  FIONREAD", nread, errName(errnoOrNil(en)))
	_, _, en = unix.Syscall(unix.SYS_IOCTL, uintptr(d1), 0x5451, 0)
	fl, _ = unix.FcntlInt(uintptr(d1), unix.F_GETFD, 0)
	fmt.Println("  FIOCLEX", fl, errName(errnoOrNil(en)))
	_, _, en = unix.Syscall(unix.SYS_IOCTL, uintptr(d1), unix.TCGETS, uintptr(unsafe.Pointer(&b[0])))
	try("TCGETS on file", errnoOrNil(en))
	d3, _ := unix.Dup(d1)
	try("close_range", unix.CloseRange(uint(d2), uint(d3), 0))
	_, err = unix.FcntlInt(uintptr(d3), unix.F_GETFD, 0)
	try("  closed", err)
	unix.Close(d1)
	unix.Close(fd)
}

func errnoOrNil(e syscall.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

func locks() {
	fmt.Println("== locks")
	f1 := must1(unix.Open(p("f"), unix.O_RDWR, 0))
	f2 := must1(unix.Open(p("f"), unix.O_RDWR, 0))
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: 0, Len: 10}
	try("F_SETLK", unix.FcntlFlock(uintptr(f1), unix.F_SETLK, &lk))
	q := unix.Flock_t{Type: unix.F_WRLCK, Start: 5, Len: 1}
	try("F_GETLK same process", unix.FcntlFlock(uintptr(f2), unix.F_GETLK, &q))
	fmt.Println("  type unlocked:", q.Type == unix.F_UNLCK)
	q = unix.Flock_t{Type: unix.F_RDLCK, Start: 5, Len: 1}
	try("F_OFD_GETLK vs posix lock", unix.FcntlFlock(uintptr(f2), unix.F_OFD_GETLK, &q))
	fmt.Println("  conflict:", q.Type == unix.F_WRLCK, q.Start, q.Len)
	try("F_OFD_SETLK conflicting", unix.FcntlFlock(uintptr(f2), unix.F_OFD_SETLK, &q))
	q = unix.Flock_t{Type: unix.F_WRLCK, Start: 20, Len: 0}
	try("F_OFD_SETLK beyond", unix.FcntlFlock(uintptr(f2), unix.F_OFD_SETLK, &q))
	q = unix.Flock_t{Type: unix.F_WRLCK, Start: 30, Len: 1}
	try("F_OFD_GETLK from other description", unix.FcntlFlock(uintptr(f1), unix.F_OFD_GETLK, &q))
	fmt.Println("  conflict:", q.Type == unix.F_WRLCK, q.Start, q.Len, q.Pid)
	q = unix.Flock_t{Type: unix.F_WRLCK, Start: 30, Len: 1, Pid: 1}
	try("F_OFD_GETLK with pid", unix.FcntlFlock(uintptr(f1), unix.F_OFD_GETLK, &q))
	bad := unix.Flock_t{Type: 7}
	try("F_SETLK bad type", unix.FcntlFlock(uintptr(f1), unix.F_SETLK, &bad))
	try("flock LOCK_EX", unix.Flock(f1, unix.LOCK_EX))
	try("flock LOCK_EX|LOCK_NB other", unix.Flock(f2, unix.LOCK_EX|unix.LOCK_NB))
	try("flock LOCK_SH|LOCK_NB other", unix.Flock(f2, unix.LOCK_SH|unix.LOCK_NB))
	try("flock LOCK_UN", unix.Flock(f1, unix.LOCK_UN))
	try("flock LOCK_SH|LOCK_NB after", unix.Flock(f2, unix.LOCK_SH|unix.LOCK_NB))
	try("flock bad op", unix.Flock(f2, 0))
	unix.Close(f1)
	unix.Close(f2)
}

func fifo() {
	fmt.Println("== fifo")
	try("mkfifo", unix.Mkfifo(p("fifo"), 0o644))
	try("mkfifo existing", unix.Mkfifo(p("fifo"), 0o644))
	var st unix.Stat_t
	unix.Stat(p("fifo"), &st)
	fmt.Println("  is fifo:", st.Mode&unix.S_IFMT == unix.S_IFIFO)
	_, err := unix.Open(p("fifo"), unix.O_WRONLY|unix.O_NONBLOCK, 0)
	try("open writer nonblock, no reader", err)
	r, err := unix.Open(p("fifo"), unix.O_RDONLY|unix.O_NONBLOCK, 0)
	try("open reader nonblock", err)
	buf := make([]byte, 10)
	n, err := unix.Read(r, buf)
	fmt.Println("  read with no writer:", n, errName(err))
	w, err := unix.Open(p("fifo"), unix.O_WRONLY, 0)
	try("open writer with reader", err)
	unix.Write(w, []byte("pipe"))
	n, err = unix.Read(r, buf)
	fmt.Printf("  read %q %s\n", buf[:n], errName(err))
	n, err = unix.Read(r, buf)
	fmt.Println("  read empty nonblock:", n, errName(err))
	var nread int32
	unix.Write(w, []byte("abc"))
	unix.Syscall(unix.SYS_IOCTL, uintptr(r), 0x541B, uintptr(unsafe.Pointer(&nread)))
	fmt.Println("  FIONREAD", nread)
	sz, err := unix.FcntlInt(uintptr(w), unix.F_GETPIPE_SZ, 0)
	fmt.Println("  F_GETPIPE_SZ", sz, errName(err))
	unix.Close(w)
	n, _ = unix.Read(r, buf)
	n, err = unix.Read(r, buf)
	fmt.Println("  read after writer closed:", n, errName(err))
	unix.Close(r)
	rw, err := unix.Open(p("fifo"), unix.O_RDWR, 0)
	try("open O_RDWR", err)
	unix.Write(rw, []byte("self"))
	n, _ = unix.Read(rw, buf)
	fmt.Printf("  %q\n", buf[:n])
	_, err = unix.Seek(rw, 0, 0)
	try("lseek fifo", err)
	_, err = unix.Pread(rw, buf, 0)
	try("pread fifo", err)
	unix.Close(rw)
	try("mknod regular", unix.Mknod(p("regnod"), unix.S_IFREG|0o600, 0))
	try("mknod dir", unix.Mknod(p("dirnod"), unix.S_IFDIR|0o600, 0))
	try("mknod bad type", unix.Mknod(p("badnod"), 0o170000|0o600, 0))
}

func copies() {
	fmt.Println("== copies")
	must(os.WriteFile(p("src"), []byte("0123456789abcdef"), 0o644))
	in := must1(unix.Open(p("src"), unix.O_RDONLY, 0))
	out := must1(unix.Open(p("dst"), unix.O_CREAT|unix.O_WRONLY|unix.O_TRUNC, 0o644))
	off := int64(4)
	n, err := unix.Sendfile(out, in, &off, 6)
	fmt.Println("  sendfile", n, errName(err), off)
	n, err = unix.Sendfile(out, in, nil, 3)
	fmt.Println("  sendfile from offset", n, errName(err))
	var roff, woff int64 = 10, 100
	n, err = unix.CopyFileRange(in, &roff, out, &woff, 100, 0)
	fmt.Println("  copy_file_range", n, errName(err), roff, woff)
	_, err = unix.CopyFileRange(in, nil, out, nil, 1, 1)
	try("copy_file_range flags", err)
	unix.Close(out)
	b, _ := os.ReadFile(p("dst"))
	fmt.Printf("  dst %q\n", bytes.ReplaceAll(b, []byte{0}, []byte(".")))
	// splice and tee through pipes.
	var pp [2]int
	must(unix.Pipe(pp[:]))
	var pq [2]int
	must(unix.Pipe(pq[:]))
	var ioff int64 = 2
	n2, err := unix.Splice(in, &ioff, pp[1], nil, 5, 0)
	fmt.Println("  splice file->pipe", n2, errName(err), ioff)
	n2, err = unix.Tee(pp[0], pq[1], 100, 0)
	fmt.Println("  tee", n2, errName(err))
	out = must1(unix.Open(p("spliced"), unix.O_CREAT|unix.O_WRONLY|unix.O_TRUNC, 0o644))
	n2, err = unix.Splice(pp[0], nil, out, nil, 100, 0)
	fmt.Println("  splice pipe->file", n2, errName(err))
	buf := make([]byte, 10)
	n, _ = unix.Read(pq[0], buf)
	fmt.Printf("  tee copy %q\n", buf[:n])
	_, err = unix.Splice(in, nil, out, nil, 1, 0)
	try("splice file->file", err)
	n2, err = unix.Splice(pp[0], nil, out, nil, 1, unix.SPLICE_F_NONBLOCK)
	fmt.Println("  splice empty nonblock", n2, errName(err))
	unix.Close(out)
	b, _ = os.ReadFile(p("spliced"))
	fmt.Printf("  spliced %q\n", b)
	unix.Close(in)
	// memfd.
	m, err := unix.MemfdCreate("scratch", unix.MFD_CLOEXEC)
	try("memfd_create", err)
	unix.Write(m, []byte("memory"))
	var st unix.Stat_t
	unix.Fstat(m, &st)
	fmt.Println("  memfd size", st.Size, "nlink", st.Nlink)
	l, _ := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", m))
	fmt.Println("  memfd link", l)
	fl, _ := unix.FcntlInt(uintptr(m), unix.F_GETFD, 0)
	fmt.Println("  cloexec", fl)
	_, err = unix.MemfdCreate("x", 0x100)
	try("memfd bad flags", err)
	unix.Close(m)
}

func mapping() {
	fmt.Println("== mmap")
	must(os.WriteFile(p("map"), bytes.Repeat([]byte("m"), 5000), 0o644))
	fd := must1(unix.Open(p("map"), unix.O_RDWR, 0))
	sh, err := unix.Mmap(fd, 0, 3*4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	try("mmap shared", err)
	copy(sh, "SHARED")
	b := make([]byte, 8)
	unix.Pread(fd, b, 0)
	fmt.Printf("  file sees %q\n", b)
	unix.Pwrite(fd, []byte("pw"), 10)
	fmt.Printf("  mapping sees %q\n", sh[10:12])
	fmt.Printf("  past EOF in last page %q\n", sh[4999:5002])
	try("msync", unix.Msync(sh, unix.MS_SYNC))
	try("msync bad flags", unix.Msync(sh, unix.MS_SYNC|unix.MS_ASYNC))
	pr, err := unix.Mmap(fd, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE)
	try("mmap private", err)
	copy(pr, "private")
	unix.Pread(fd, b, 0)
	fmt.Printf("  file after private write %q\n", b)
	fmt.Printf("  private sees %q\n", pr[:8])
	// Beyond the end of the file: SIGBUS, which Go turns into a panic.
	func() {
		defer func() {
			r := recover()
			fmt.Println("  touch past EOF:", r != nil)
		}()
		old := debug.SetPanicOnFault(true)
		defer debug.SetPanicOnFault(old)
		_ = sh[4096+100]
		_ = sh[2*4096+1]
	}()
	unix.Munmap(sh)
	unix.Munmap(pr)
	ro := must1(unix.Open(p("map"), unix.O_RDONLY, 0))
	_, err = unix.Mmap(ro, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	try("mmap shared writable on O_RDONLY", err)
	m2, err := unix.Mmap(ro, 0, 4096, unix.PROT_READ, unix.MAP_SHARED)
	try("mmap shared read-only", err)
	try("mprotect it writable", unix.Mprotect(m2, unix.PROT_READ|unix.PROT_WRITE))
	fmt.Printf("  %q\n", m2[:6])
	unix.Munmap(m2)
	_, err = unix.Mmap(ro, 1, 4096, unix.PROT_READ, unix.MAP_PRIVATE)
	try("mmap unaligned offset", err)
	dfd := must1(unix.Open(dir, unix.O_RDONLY, 0))
	_, err = unix.Mmap(dfd, 0, 4096, unix.PROT_READ, unix.MAP_PRIVATE)
	try("mmap directory", err)
	unix.Close(dfd)
	unix.Close(ro)
	// The mapping outlives the descriptor.
	m3, _ := unix.Mmap(fd, 0, 4096, unix.PROT_READ, unix.MAP_SHARED)
	unix.Close(fd)
	fmt.Printf("  after close %q\n", m3[:6])
	unix.Munmap(m3)
}

func procSelf() {
	fmt.Println("== proc")
	exe, err := os.Executable()
	try("os.Executable", err)
	self, _ := os.Readlink("/proc/self/exe")
	fmt.Println("  exe matches argv0 path:", exe == self)
	st1, err1 := os.Stat(exe)
	st2, err2 := os.Stat("/proc/self/exe")
	fmt.Println("  stat exe same size:", err1 == nil && err2 == nil && st1.Size() == st2.Size())
	f, _ := os.Open(p("f"))
	l, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", f.Fd()))
	fmt.Println("  fd link:", strings.TrimPrefix(l, dir), errName(err))
	info, _ := os.ReadFile(fmt.Sprintf("/proc/self/fdinfo/%d", f.Fd()))
	fmt.Println("  fdinfo has pos:", strings.HasPrefix(string(info), "pos:\t0\n"))
	g, err := os.Open(fmt.Sprintf("/proc/self/fd/%d", f.Fd()))
	try("open via /proc/self/fd", err)
	b := make([]byte, 4)
	n, _ := g.Read(b)
	fmt.Printf("  reads %q\n", b[:n])
	g.Close()
	f.Close()
	os.Remove(p("gonefile"))
	h, _ := os.Create(p("gonefile"))
	os.Remove(p("gonefile"))
	l, _ = os.Readlink(fmt.Sprintf("/proc/self/fd/%d", h.Fd()))
	fmt.Println("  deleted link:", strings.TrimPrefix(l, dir))
	h.Close()
	wd, _ := os.Getwd()
	cwd, _ := os.Readlink("/proc/self/cwd")
	fmt.Println("  cwd link matches:", wd == cwd)
	cmd, _ := os.ReadFile("/proc/self/cmdline")
	fmt.Printf("  cmdline args: %q\n", strings.Split(strings.TrimSuffix(string(cmd), "\x00"), "\x00")[1:])
	_, err = os.ReadFile("/proc/self/maps")
	try("maps", err)
	_, err = os.ReadFile("/proc/self/status")
	try("status", err)
	_, err = os.ReadFile("/proc/self/stat")
	try("stat", err)
	_, err = os.ReadFile("/proc/meminfo")
	try("meminfo", err)
	_, err = os.ReadFile("/proc/cpuinfo")
	try("cpuinfo", err)
	s, err := os.ReadFile("/proc/sys/net/core/somaxconn")
	fmt.Printf("  somaxconn %q %s\n", s, errName(err))
	s, err = os.ReadFile("/proc/sys/vm/overcommit_memory")
	fmt.Printf("  overcommit %q %s\n", s, errName(err))
	_, err = os.ReadFile("/proc/sys/kernel/hostname")
	try("hostname", err)
	_, err = os.Stat("/proc/thread-self")
	try("thread-self", err)
	_, err = os.ReadFile("/proc/uptime")
	try("uptime", err)
	_, err = os.ReadFile("/proc/loadavg")
	try("loadavg", err)
	try("write /proc file", os.WriteFile("/proc/self/cmdline", []byte("x"), 0))
	_, err = os.Stat("/proc/self/fd/999")
	try("stat closed fd link", err)
}

func devices() {
	fmt.Println("== dev")
	b := make([]byte, 8)
	f, err := os.Open("/dev/zero")
	try("open /dev/zero", err)
	n, _ := f.Read(b)
	fmt.Println("  zero", n, b)
	f.Close()
	f, _ = os.OpenFile("/dev/null", os.O_RDWR, 0)
	n, err = f.Write([]byte("gone"))
	fmt.Println("  null write", n, errName(err))
	n, err = f.Read(b)
	fmt.Println("  null read", n, err)
	f.Close()
	f, _ = os.OpenFile("/dev/full", os.O_WRONLY, 0)
	_, err = f.Write([]byte("x"))
	try("full write", err)
	f.Close()
	f, _ = os.Open("/dev/urandom")
	n, err = f.Read(make([]byte, 16))
	fmt.Println("  urandom", n, errName(err))
	f.Close()
	var st unix.Stat_t
	unix.Stat("/dev/null", &st)
	fmt.Println("  /dev/null char:", st.Mode&unix.S_IFMT == unix.S_IFCHR, unix.Major(st.Rdev), unix.Minor(st.Rdev))
	l, _ := os.Readlink("/dev/stdin")
	fmt.Println("  /dev/stdin ->", l)
	_, err = os.Stat("/dev/fd/1")
	try("stat /dev/fd/1", err)
	fi, err := os.Stat("/dev/shm")
	try("stat /dev/shm", err)
	if err == nil {
		fmt.Println("  shm dir:", fi.IsDir())
	}
}

func badPointers() {
	fmt.Println("== efault")
	bad := uintptr(8)
	_, _, e := unix.Syscall6(unix.SYS_OPENAT, uintptr(unix.AT_FDCWD&0xffffffff), bad, 0, 0, 0, 0)
	try("openat bad path", errnoOrNil(e))
	_, _, e = unix.Syscall(unix.SYS_STAT, uintptr(unsafe.Pointer(cstr(dir))), bad, 0)
	try("stat bad buffer", errnoOrNil(e))
	fd := must1(unix.Open(p("f"), unix.O_RDONLY, 0))
	_, _, e = unix.Syscall(unix.SYS_READ, uintptr(fd), bad, 4)
	try("read into bad pointer", errnoOrNil(e))
	_, _, e = unix.Syscall(unix.SYS_GETDENTS64, uintptr(fd), bad, 100)
	try("getdents64 on a file", errnoOrNil(e))
	unix.Close(fd)
	_, _, e = unix.Syscall(unix.SYS_GETCWD, bad, 100, 0)
	try("getcwd bad buffer", errnoOrNil(e))
	_, _, e = unix.Syscall(unix.SYS_GETCWD, uintptr(unsafe.Pointer(&make([]byte, 1)[0])), 1, 0)
	try("getcwd small buffer", errnoOrNil(e))
	_, _, e = unix.Syscall(unix.SYS_MKDIR, bad, 0o755, 0)
	try("mkdir bad path", errnoOrNil(e))
	_, _, e = unix.Syscall(unix.SYS_READLINK, uintptr(unsafe.Pointer(cstr(p("tofile")))), bad, 10)
	try("readlink bad buffer", errnoOrNil(e))
	_, err := unix.Open("", unix.O_RDONLY, 0)
	try("open empty path", err)
	try("fstat bad fd", unix.Fstat(9999, new(unix.Stat_t)))
}

func xattrs() {
	fmt.Println("== xattr")
	try("setxattr", unix.Setxattr(p("f"), "user.k", []byte("v1"), 0))
	try("setxattr CREATE existing", unix.Setxattr(p("f"), "user.k", []byte("v2"), unix.XATTR_CREATE))
	try("setxattr REPLACE missing", unix.Setxattr(p("f"), "user.missing", []byte("v2"), unix.XATTR_REPLACE))
	b := make([]byte, 16)
	n, err := unix.Getxattr(p("f"), "user.k", b)
	fmt.Printf("  getxattr %q %s\n", b[:max(n, 0)], errName(err))
	n, err = unix.Getxattr(p("f"), "user.k", nil)
	fmt.Println("  size query", n, errName(err))
	_, err = unix.Getxattr(p("f"), "user.k", b[:1])
	try("getxattr small buffer", err)
	_, err = unix.Getxattr(p("f"), "user.none", b)
	try("getxattr missing", err)
	_, err = unix.Getxattr(p("f"), "bogus.k", b)
	try("getxattr bad namespace", err)
	n, err = unix.Listxattr(p("f"), b)
	fmt.Printf("  listxattr %q %s\n", b[:max(n, 0)], errName(err))
	try("removexattr", unix.Removexattr(p("f"), "user.k"))
	try("removexattr again", unix.Removexattr(p("f"), "user.k"))
	try("lsetxattr user on symlink", unix.Lsetxattr(p("tofile"), "user.k", []byte("v"), 0))
}

func cstr(s string) *byte {
	b, _ := unix.BytePtrFromString(s)
	return b
}
