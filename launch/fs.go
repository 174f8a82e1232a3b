package launch

import (
	"errors"
	"fmt"
	"github.com/rumpgo/rumpgo/boot"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/fs/devfs"
	"github.com/rumpgo/rumpgo/posix/fs/procfs"
	"github.com/rumpgo/rumpgo/posix/fs/tmpfs"
	"github.com/rumpgo/rumpgo/posix/mm"
	"github.com/rumpgo/rumpgo/posix/vfs"
	"github.com/rumpgo/rumpgo/syscalls"
	"golang.org/x/sys/unix"
)

// fsSetup is what building the guest's file systems needs.
type fsSetup struct {
	cfg    Config
	k      *syscalls.Kernel
	group  *posix.ThreadGroup
	frames mm.Frames
	start  time.Time
	host   string // the hostname
	// etc are /etc files that replace the defaults (the network's
	// resolv.conf, see NetEtc).
	etc map[string]string
}

// setupFS builds the guest's namespace: the root (an image's tree under a
// tmpfs layer, or for a bare program a tmpfs holding its binary at its
// host path, so /proc/self/exe and os.Executable work; each tmpfs holds
// tmpfsSize bytes) with /etc defaults the image does not
// replace, /tmp (tmpfs), /dev (devfs, /dev/shm a tmpfs), the volumes and
// /proc. A bare program starts in a directory named as rumpgo's own
// working directory (empty unless a volume is there), an image's program
// in cfg.Cwd or /.
func setupFS(s fsSetup) error {
	cfg := s.cfg
	size := tmpfsSize(cfg)
	rootfs, source, flags, opts, err := rootFS(cfg, size, s.frames)
	if err != nil {
		return err
	}
	v := vfs.New(rootfs, source, flags, opts)
	ctx := vfs.RootContext()
	fsc := vfs.NewFSContext(v.Root())
	mkdirAll := func(dir string, mode uint32) error {
		p := ""
		for _, c := range strings.Split(strings.Trim(dir, "/"), "/") {
			if c == "" {
				continue
			}
			p += "/" + c
			if e := v.Mkdir(ctx, fsc, vfs.Path{}, p, mode, 0); e != 0 && e != unix.EEXIST {
				return fmt.Errorf("creating %s in the guest: %v", p, e)
			}
		}
		return nil
	}
	writeFile := func(path string, data []byte, mode uint32) error {
		if err := mkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		f, e := v.Open(ctx, fsc, vfs.Path{}, path, vfs.OpenHow{Flags: unix.O_WRONLY | unix.O_CREAT | unix.O_TRUNC, Mode: mode})
		if e != 0 {
			return fmt.Errorf("creating %s in the guest: %v", path, e)
		}
		defer f.Close()
		for len(data) > 0 {
			n, e := f.Write(data)
			if e != 0 {
				return fmt.Errorf("writing %s in the guest: %w", path, e)
			}
			data = data[n:]
		}
		return nil
	}

	etc := etcDefaults(s.host, cfg.UID, cfg.GID)
	maps.Copy(etc, s.etc)
	maps.Copy(etc, cfg.Files)
	for path, text := range etc {
		_, net := s.etc[path]
		_, given := cfg.Files[path]
		if cfg.rootThrough() && (!net && !given || volumeAt(cfg.Volumes, path)) {
			continue // runc writes nothing into the container's layer
		}
		if !net && !given && cfg.Image != nil && cfg.Image.Lookup(path) != nil {
			continue // the image's own
		}
		if !net && !given && cfg.RootDir != "" {
			if _, e := v.Lookup(ctx, fsc, vfs.Path{}, path, 0); e == 0 {
				continue // the rootfs's own
			}
		}
		if err := writeFile(path, []byte(text), 0o644); err != nil {
			return err
		}
	}
	dirs := []string{"/root", "/tmp", "/dev", "/proc", "/sys"}
	tmpfsMounts := cfg.Tmpfs
	if cfg.RootDir == "" {
		tmpfsMounts = append([]TmpfsMount{{Path: "/tmp", Mode: 0o1777}}, tmpfsMounts...)
	} else {
		dirs = dirs[2:] // a container's root has only what it brings and what is mounted
	}
	for _, d := range dirs {
		if err := mkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	for _, t := range tmpfsMounts {
		if err := mountTmpfs(v, t, size, s.frames, mkdirAll); err != nil {
			return err
		}
	}
	devOpts := devfs.Options{Procs: s.k.Procs}
	if _, err := unix.IoctlGetTermios(cfg.Stdio[0], unix.TCGETS); err == nil {
		stdin := cfg.Stdio[0]
		devOpts.TTY = func(int) (posix.File, unix.Errno) { return posix.NewHostFile(stdin), 0 }
	}
	dev := devfs.New(v, devOpts)
	if _, e := v.MountPath("/dev", dev, "devtmpfs", vfs.MS_NOSUID, "mode=755"); e != 0 {
		return fmt.Errorf("mounting /dev: %v", e)
	}
	shm := tmpfs.New(tmpfs.Options{Mode: 0o1777, Size: size, Frames: s.frames})
	if _, e := v.MountPath("/dev/shm", shm, "tmpfs", vfs.MS_NOSUID|vfs.MS_NODEV, sizeOption(size)); e != 0 {
		return fmt.Errorf("mounting /dev/shm: %v", e)
	}

	// The program itself, copied (after the mounts, which it may be under): the guest execs nothing yet, but reads
	// itself (debug/buildinfo, os.Executable, /proc/self/exe).
	// An image's program is in the image already.
	exePath := cfg.Path
	if cfg.Image == nil && cfg.RootDir == "" {
		var err error
		if exePath, err = filepath.Abs(cfg.Path); err != nil {
			return err
		}
		// The program, and any host programs the run also needs there (the
		// guest kernel's app), each with a dynamic one's ld.so and
		// libraries (libs.go).
		for _, p := range append([]string{exePath}, cfg.alsoPlace...) {
			n, err := placeExe(v, p, mkdirAll, writeFile)
			if err != nil {
				if errors.Is(err, unix.ENOSPC) {
					return fmt.Errorf("%w: the program (%d bytes) does not fit in its tmpfs of %d bytes (--tmpfs-size)", err, n, size)
				}
				return err
			}
			if err := installHostLibs(v, p, cfg.Env); err != nil {
				return err
			}
		}
	}

	attrs := func() *posix.ProcAttrs {
		return posix.AttrsOf(s.group, func() *posix.ProcAttrs {
			groups := cfg.Groups
			if len(groups) == 0 {
				groups = []uint32{cfg.GID}
			}
			return posix.NewProcAttrs(cfg.UID, cfg.GID, groups, filepath.Base(cfg.Path))
		})
	}
	// Volumes last: nothing above may write into one.
	if err := mountVolumes(v, cfg.Volumes, mkdirAll, writeFile); err != nil {
		return err
	}
	// After the volumes: the program may be on one (an OCI runtime's
	// --init binary, a file's bind mount).
	exeFile, e := v.Open(ctx, fsc, vfs.Path{}, exePath, vfs.OpenHow{Flags: unix.O_PATH})
	if e != 0 {
		return fmt.Errorf("opening %s in the guest: %v", exePath, e)
	}
	cwd := "/"
	if wd, err := os.Getwd(); err == nil && cfg.Cwd == "" && cfg.Image == nil && cfg.RootDir == "" {
		cwd = wd
	} else if cfg.Cwd != "" {
		cwd = cfg.Cwd
	}
	if err := mkdirAll(cwd, 0o755); err != nil {
		return err
	}
	cwdPath, e := v.Lookup(ctx, fsc, vfs.Path{}, cwd, vfs.LookupFollow|vfs.LookupDirectory)
	if e != 0 {
		return fmt.Errorf("working directory %s: %v", cwd, e)
	}
	kfs := syscalls.NewFS(v, v.Root(), cwdPath)
	kfs.Frames = s.frames
	argv := cfg.Argv
	if len(argv) == 0 {
		argv = []string{cfg.Path}
	}
	exe := exeFile.(*vfs.File)
	exe.DenyWrite() // a running program's file (ETXTBSY to open for writing); nothing writes it yet
	kfs.SetExec(s.group, exe, argv, cfg.Env, nil)
	procs := s.k.Procs
	pfs := procfs.New(v, procfs.System{
		Hostname: s.k.Hostname, SetHostname: s.k.SetHostname,
		Domainname: s.k.Domainname, SetDomainname: s.k.SetDomainname,
		Release: syscalls.Release, Version: syscalls.Version, CPUInfo: cpuinfo(cfg.CPUs),
		CPUs: cfg.CPUs, MemBytes: cfg.Memory, Boot: s.start,
		MemUsed: func() uint64 { c, _ := s.group.MM.Committed(); return c },
		Process: func(pid int) *procfs.Process {
			g := procs.Group(pid)
			if g == nil {
				return nil
			}
			if g.Exiting() && g.NumTasks() == 0 {
				// A zombie: its files and memory are gone, its stat stays.
				return &procfs.Process{Group: g, Zombie: true, Start: s.start,
					Attrs: func() *posix.ProcAttrs { return posix.AttrsOf(g, attrs) }}
			}
			exe, argv, env, start := kfs.Exec(g)
			return &procfs.Process{Group: g, FS: kfs.Context(g), Exe: exe, Argv: argv, Env: env, Start: start,
				Attrs: func() *posix.ProcAttrs { return posix.AttrsOf(g, attrs) }}
		},
		PIDs: procs.PIDs,
		ThreadGroupOf: func(tid int) int {
			if t := procs.Task(tid); t != nil {
				return t.Group.PID
			}
			return 0
		},
		Net: s.k, // /proc/net from the guest's network
	})
	s.k.CorePattern = func() (string, bool) {
		return pfs.Sysctl("kernel/core_pattern"), pfs.Sysctl("kernel/core_uses_pid") != "0"
	}
	if _, e := v.MountPath("/proc", pfs, "proc", vfs.MS_NOSUID|vfs.MS_NODEV|vfs.MS_NOEXEC, ""); e != 0 {
		return fmt.Errorf("mounting /proc: %v", e)
	}
	s.k.SetFS(kfs)
	if cfg.RootReadOnly {
		v.Root().Mnt.Flags |= vfs.MS_RDONLY // after the set-up above wrote into it
	}
	return nil
}

// TmpfsMount is one more tmpfs of the run (Config.Tmpfs).
type TmpfsMount struct {
	Path string
	Size int64  // bytes; 0 is the run's tmpfs size (tmpfsSize)
	Mode uint32 // of its root; 0 is 01777
	// Flags are MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC (vfs.MS_*).
	Flags int
}

func mountTmpfs(v *vfs.VFS, t TmpfsMount, size int64, frames mm.Frames, mkdirAll func(string, uint32) error) error {
	if t.Size > 0 {
		size = t.Size
	}
	mode := t.Mode
	if mode == 0 {
		mode = 0o1777
	}
	if err := mkdirAll(t.Path, 0o755); err != nil {
		return err
	}
	fs := tmpfs.New(tmpfs.Options{Mode: mode, Size: size, Frames: frames})
	flags := t.Flags
	if flags == 0 {
		flags = vfs.MS_NOSUID | vfs.MS_NODEV
	}
	if _, e := v.MountPath(t.Path, fs, "tmpfs", flags, sizeOption(size)); e != 0 {
		return fmt.Errorf("mounting a tmpfs at %s: %v", t.Path, e)
	}
	return nil
}

// tmpfsSize is how much file data each of the run's tmpfs instances (the
// root or the image's writable layer, /tmp, /dev/shm) may hold:
// cfg.TmpfsSize (--tmpfs-size), or half of guest memory, Linux's default.
// The data lives in the monitor's memory, so this bounds what a guest can
// make it allocate through files.
func tmpfsSize(cfg Config) int64 {
	if cfg.TmpfsSize > 0 {
		return cfg.TmpfsSize
	}
	return int64(cfg.Memory / 2)
}

// sizeOption is a tmpfs's size= mount option, as /proc/mounts shows it.
func sizeOption(size int64) string {
	return "size=" + strconv.FormatInt(size>>10, 10) + "k"
}

// placeExe puts the program at its own path in the guest's root. Its
// pages are a private mapping of the host file that the tmpfs file
// adopts: only what the guest reads of itself (build info, /proc/self/exe)
// is ever read from the host, where a copy cost ~5 ms for a 2 MiB Go
// binary on this project's machines. The mapping lives as long as the
// process. A file system that cannot adopt pages gets a copy.
func placeExe(v *vfs.VFS, path string, mkdirAll func(string, uint32) error, writeFile func(string, []byte, uint32) error) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := st.Size()
	if size == 0 || !st.Mode().IsRegular() {
		return size, writeFile(path, nil, 0o755)
	}
	length := (size + boot.PageSize - 1) &^ (boot.PageSize - 1)
	data, err := unix.Mmap(int(f.Fd()), 0, int(length), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE)
	if err != nil {
		return size, err
	}
	if err := mkdirAll(filepath.Dir(path), 0o755); err != nil {
		unix.Munmap(data)
		return size, err
	}
	ctx := vfs.RootContext()
	gf, e := v.Open(ctx, vfs.NewFSContext(v.Root()), vfs.Path{}, path, vfs.OpenHow{Flags: unix.O_WRONLY | unix.O_CREAT | unix.O_TRUNC, Mode: 0o755})
	if e != 0 {
		unix.Munmap(data)
		return size, fmt.Errorf("creating %s in the guest: %v", path, e)
	}
	defer gf.Close()
	vf, ok := gf.(*vfs.File)
	if ok {
		e = tmpfs.Adopt(vf.Impl(), data, size)
	}
	if !ok || e == unix.EINVAL {
		err := writeFile(path, data[:size], 0o755)
		unix.Munmap(data)
		return size, err
	}
	if e != 0 {
		unix.Munmap(data)
		return size, fmt.Errorf("writing %s in the guest: %w", path, e)
	}
	return size, nil
}

// cpuinfo is /proc/cpuinfo: the host's description of its first
// processor, once per guest CPU, with the hypervisor flag a virtual
// machine's CPUID sets (leaf 1, ECX bit 31). It reads the host's file
// now, before the monitor sandboxes itself; without one, procfs makes
// its own minimal text.
func cpuinfo(cpus int) func() []byte {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return nil
	}
	return func() []byte {
		first, _, _ := strings.Cut(string(b), "\n\n")
		var out strings.Builder
		for i := 0; i < max(cpus, 1); i++ {
			for _, line := range strings.Split(first, "\n") {
				k, v, _ := strings.Cut(line, ":")
				switch strings.TrimSpace(k) {
				case "processor", "core id", "apicid", "initial apicid":
					v = " " + strconv.Itoa(i)
				case "siblings", "cpu cores":
					v = " " + strconv.Itoa(max(cpus, 1))
				case "physical id":
					v = " 0"
				case "flags":
					if !strings.Contains(v+" ", " hypervisor ") {
						v += " hypervisor"
					}
				}
				if strings.Contains(line, ":") {
					line = k + ":" + v
				}
				out.WriteString(line + "\n")
			}
			out.WriteString("\n")
		}
		return []byte(out.String())
	}
}

// etcDefaults are the /etc files a program expects; an image may carry
// its own.
func etcDefaults(host string, uid, gid uint32) map[string]string {
	passwd := "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
	group := "root:x:0:\nnogroup:x:65534:\n"
	if uid != 0 && uid != 65534 {
		passwd += fmt.Sprintf("guest:x:%d:%d:rumpgo guest:/tmp:/bin/sh\n", uid, gid)
	}
	if gid != 0 && gid != 65534 {
		group += fmt.Sprintf("guest:x:%d:\n", gid)
	}
	return map[string]string{
		"/etc/hostname":      host + "\n",
		"/etc/hosts":         "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t" + host + "\n",
		"/etc/resolv.conf":   "nameserver 127.0.0.53\noptions edns0\n",
		"/etc/passwd":        passwd,
		"/etc/group":         group,
		"/etc/nsswitch.conf": "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nservices: files\nprotocols: files\n",
	}
}
