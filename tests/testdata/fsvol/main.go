// fsvol works on a directory that the tests make a host volume:
//
//	fsvol tree DIR          leave a known tree of files in DIR (the test
//	                        compares it with a native run's)
//	fsvol escape VOL ROVOL  try to reach or change the host outside the
//	                        volume VOL, and to change the read-only ROVOL;
//	                        print each attempt and its result
//	fsvol durable FILE      write and fsync FILE, print "synced", wait
//	                        to be killed
//	fsvol read FILE         read FILE; "ns_per_call" on stderr is the
//	                        time per MiB (tests/bench)
//	fsvol create DIR N      create N small files in DIR; "ns_per_call"
//	                        is the time per file (tests/bench)
package main

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

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

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func main() {
	switch os.Args[1] {
	case "tree":
		tree(os.Args[2])
	case "escape":
		escape(os.Args[2], os.Args[3])
	case "durable":
		durable(os.Args[2])
	case "read":
		read(os.Args[2])
	case "create":
		create(os.Args[2], os.Args[3])
	}
}

// tree makes files with every kind of change a program makes, so the
// host side of a volume can be compared with a native run's.
func tree(dir string) {
	p := func(s string) string { return filepath.Join(dir, s) }
	unix.Umask(0o022)
	must(os.MkdirAll(p("a/b/c"), 0o750))
	must(os.WriteFile(p("a/file"), []byte("hello, volume\n"), 0o640))
	f, err := os.OpenFile(p("a/file"), os.O_APPEND|os.O_WRONLY, 0)
	must(err)
	f.WriteString("appended\n")
	must(f.Sync())
	f.Close()
	must(os.WriteFile(p("big"), make([]byte, 3<<20), 0o644))
	f, _ = os.OpenFile(p("big"), os.O_RDWR, 0)
	f.WriteAt([]byte("middle"), 1<<20)
	must(f.Truncate(2<<20 + 5))
	must(unix.Fdatasync(int(f.Fd())))
	f.Close()
	must(os.Symlink("a/file", p("rel-link")))
	must(os.Symlink("/nonexistent/abs", p("abs-link")))
	must(os.Link(p("a/file"), p("a/b/hard")))
	must(os.WriteFile(p("to-rename"), []byte("renamed"), 0o600))
	must(os.Rename(p("to-rename"), p("a/b/c/renamed")))
	must(os.WriteFile(p("gone"), []byte("x"), 0o644))
	must(os.Remove(p("gone")))
	must(os.Mkdir(p("emptied"), 0o755))
	must(os.Remove(p("emptied")))
	must(os.Chmod(p("a/b"), 0o711))
	must(os.WriteFile(p("exe"), []byte("#!/bin/sh\n"), 0o755))
	must(os.Chmod(p("exe"), 0o4755))
	t := time.Date(2001, 2, 3, 4, 5, 6, 7000, time.UTC)
	must(os.Chtimes(p("a/file"), t, t))
	// A shared mapping's writes reach the file.
	must(os.WriteFile(p("mapped"), make([]byte, 8192), 0o644))
	fd, err := unix.Open(p("mapped"), unix.O_RDWR, 0)
	must(err)
	m, err := unix.Mmap(fd, 0, 8192, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	must(err)
	copy(m[4090:], "across pages")
	must(unix.Msync(m, unix.MS_SYNC))
	unix.Munmap(m)
	unix.Close(fd)
	must(unix.Mkfifo(p("fifo"), 0o620))
	must(unix.Setxattr(p("a/file"), "user.note", []byte("xattr value"), 0))
	fmt.Println("tree done")
}

// escape tries every way out of VOL it knows and every change to ROVOL.
// The test checks the host; this only reports.
func escape(vol, ro string) {
	try := func(what string, err error) { fmt.Printf("%-44s %s\n", what, errName(err)) }
	write := func(path string) error {
		return os.WriteFile(path, []byte("escaped"), 0o644)
	}
	// Symlinks the test planted on the host (rel -> ../secret, abs -> the
	// host path of secret) and ones made here.
	try("write through planted relative symlink", write(filepath.Join(vol, "planted-rel")))
	try("write through planted absolute symlink", write(filepath.Join(vol, "planted-abs")))
	try("symlink ../secret", os.Symlink("../secret", filepath.Join(vol, "mine-rel")))
	try("write through it", write(filepath.Join(vol, "mine-rel")))
	try("symlink ../../../../../../secret", os.Symlink("../../../../../../secret", filepath.Join(vol, "mine-deep")))
	try("write through it", write(filepath.Join(vol, "mine-deep")))
	try("write VOL/../secret", write(filepath.Join(vol, "..", "secret")))
	try("write VOL/../../../secret", write(vol+"/../../../secret"))
	// Hard links and renames out of, and into, the volume.
	try("link VOL file to /tmp", os.Link(filepath.Join(vol, "inside"), "/tmp/linked"))
	try("link /etc/passwd into VOL", os.Link("/etc/passwd", filepath.Join(vol, "passwd")))
	try("rename VOL file to /tmp", os.Rename(filepath.Join(vol, "inside"), "/tmp/moved"))
	try("rename VOL file to VOL/../x", os.Rename(filepath.Join(vol, "inside"), vol+"/../x"))
	// /proc/self/root and cwd, and descriptors.
	try("write /proc/self/root/VOL/../secret", write("/proc/self/root"+vol+"/../secret"))
	dfd, err := unix.Open(vol, unix.O_PATH|unix.O_DIRECTORY, 0)
	try("open VOL O_PATH", err)
	_, err = unix.Openat(dfd, "../secret", unix.O_CREAT|unix.O_WRONLY, 0o644)
	try("openat(VOL, ../secret, O_CREAT)", err)
	how := unix.OpenHow{Flags: unix.O_RDONLY, Resolve: unix.RESOLVE_BENEATH}
	_, err = unix.Openat2(dfd, "../secret", &how)
	try("openat2 RESOLVE_BENEATH ../secret", err)
	how.Resolve = unix.RESOLVE_IN_ROOT
	_, err = unix.Openat2(dfd, "../../secret", &how)
	try("openat2 RESOLVE_IN_ROOT ../../secret", err)
	try("write /proc/self/fd/N/../secret", write(fmt.Sprintf("/proc/self/fd/%d/../secret", dfd)))
	try("fchdir VOL", unix.Fchdir(dfd))
	for i := 0; i < 10; i++ {
		unix.Chdir("..")
	}
	wd, _ := os.Getwd()
	fmt.Printf("%-44s %s\n", "cwd after ten chdir ..", wd)
	try("write secret from there", write("secret"))
	try("mkdir VOL/../newdir", os.Mkdir(vol+"/../newdir", 0o755))

	// The read-only volume.
	rop := func(s string) string { return filepath.Join(ro, s) }
	try("ro: create", write(rop("new")))
	try("ro: write existing", write(rop("inside")))
	_, err = os.OpenFile(rop("inside"), os.O_RDWR, 0)
	try("ro: open O_RDWR", err)
	try("ro: truncate", os.Truncate(rop("inside"), 0))
	try("ro: unlink", os.Remove(rop("inside")))
	try("ro: rename", os.Rename(rop("inside"), rop("moved")))
	try("ro: mkdir", os.Mkdir(rop("d"), 0o755))
	try("ro: symlink", os.Symlink("x", rop("s")))
	try("ro: link", os.Link(rop("inside"), rop("l")))
	try("ro: chmod", os.Chmod(rop("inside"), 0o777))
	try("ro: chown", os.Chown(rop("inside"), 1, 1))
	try("ro: utimes", os.Chtimes(rop("inside"), time.Unix(1, 0), time.Unix(1, 0)))
	try("ro: setxattr", unix.Setxattr(rop("inside"), "user.x", []byte("y"), 0))
	try("ro: mkfifo", unix.Mkfifo(rop("fifo"), 0o644))
	rofd, err := unix.Open(rop("inside"), unix.O_RDONLY, 0)
	try("ro: open O_RDONLY", err)
	_, err = unix.Mmap(rofd, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	try("ro: mmap shared writable", err)
	f, err := os.Open(rop("inside"))
	if err == nil {
		b, _ := io.ReadAll(f)
		fmt.Printf("%-44s %q\n", "ro: reads", b)
	}
}

// durable writes FILE, fsyncs it and its directory, says so and waits for
// the test to kill rumpgo.
func durable(path string) {
	data := make([]byte, 1<<20)
	for i := range data {
		data[i] = byte(i*31 + i>>8)
	}
	f, err := os.Create(path)
	must(err)
	_, err = f.Write(data)
	must(err)
	must(f.Sync())
	d, err := os.Open(filepath.Dir(path))
	must(err)
	must(d.Sync())
	fmt.Printf("synced %x\n", sha256.Sum256(data))
	for {
		time.Sleep(time.Hour)
	}
}

// read reads FILE sequentially in 1 MiB reads and checks its size.
func read(path string) {
	f, err := os.Open(path)
	must(err)
	st, err := f.Stat()
	must(err)
	buf := make([]byte, 1<<20)
	var n int64
	start := time.Now()
	for {
		c, err := f.Read(buf)
		n += int64(c)
		if err == io.EOF {
			break
		}
		must(err)
	}
	el := time.Since(start)
	if n != st.Size() {
		panic(fmt.Sprintf("read %d bytes of %d", n, st.Size()))
	}
	fmt.Printf("read %d bytes\n", n)
	fmt.Fprintf(os.Stderr, "ns_per_call %d\n", el.Nanoseconds()*(1<<20)/max(n, 1))
}

// create makes n files of 100 bytes in dir, each created, written and
// closed.
func create(dir, count string) {
	n, err := strconv.Atoi(count)
	must(err)
	must(os.MkdirAll(dir, 0o755))
	data := make([]byte, 100)
	start := time.Now()
	for i := range n {
		must(os.WriteFile(filepath.Join(dir, "f"+strconv.Itoa(i)), data, 0o644))
	}
	el := time.Since(start)
	fmt.Printf("created %d files\n", n)
	fmt.Fprintf(os.Stderr, "ns_per_call %d\n", el.Nanoseconds()/int64(max(n, 1)))
}
