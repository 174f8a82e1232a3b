package procfs

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/mm"
	"github.com/rumpgo/rumpgo/posix/vfs"
	"golang.org/x/sys/unix"
)

func (fs *FS) proc(pid int) (*Process, unix.Errno) {
	p := fs.sys.Process(pid)
	if p == nil {
		return nil, unix.ENOENT
	}
	return p, 0
}

// pidDir is /proc/PID (tid == 0) or /proc/PID/task/TID.
func (fs *FS) pidDir(parent *node, name string, pid int) *node {
	d := parent.dir(name, nil)
	d.pid = pid
	d.children = func(ctx *vfs.Context, n *node) []*node { return fs.pidChildren(n, pid, 0) }
	return d
}

func (fs *FS) pidChildren(n *node, pid, tid int) []*node {
	p := fs.sys.Process(pid)
	if p == nil {
		return nil
	}
	gen := func(f func(p *Process) []byte) func(*vfs.Context) ([]byte, unix.Errno) {
		return func(*vfs.Context) ([]byte, unix.Errno) {
			p, e := fs.proc(pid)
			if e != 0 {
				return nil, e
			}
			return f(p), 0
		}
	}
	if tid == 0 {
		tid = pid
	}
	out := []*node{
		n.file("cmdline", gen(func(p *Process) []byte { return nulList(p.Argv) })),
		n.file("environ", gen(func(p *Process) []byte { return nulList(p.Env) })),
		n.file("comm", gen(func(p *Process) []byte { return []byte(fs.comm(p, tid) + "\n") })),
		n.file("stat", gen(func(p *Process) []byte { return fs.pidStat(p, tid) })),
		n.file("statm", gen(func(p *Process) []byte { return fs.statm(p) })),
		n.file("status", gen(func(p *Process) []byte { return fs.status(p, tid) })),
		n.file("maps", gen(func(p *Process) []byte { return fs.maps(p) })),
		n.file("limits", gen(func(p *Process) []byte { return limits(p) })),
		n.file("mounts", func(ctx *vfs.Context) ([]byte, unix.Errno) {
			p, e := fs.proc(pid)
			if e != 0 {
				return nil, e
			}
			return fs.mounts(ctx, p, false), 0
		}),
		n.file("mountinfo", func(ctx *vfs.Context) ([]byte, unix.Errno) {
			p, e := fs.proc(pid)
			if e != 0 {
				return nil, e
			}
			return fs.mounts(ctx, p, true), 0
		}),
		n.file("oom_score_adj", func(*vfs.Context) ([]byte, unix.Errno) { return []byte("0\n"), 0 }),
		fs.magic(n, "exe", pid, func(p *Process) (vfs.Path, posix.File, unix.Errno) {
			if p.Exe == nil {
				return vfs.Path{}, nil, unix.ENOENT
			}
			return p.Exe.Path(), p.Exe, 0
		}),
		fs.magic(n, "cwd", pid, func(p *Process) (vfs.Path, posix.File, unix.Errno) { return p.FS.Cwd(), nil, 0 }),
		fs.magic(n, "root", pid, func(p *Process) (vfs.Path, posix.File, unix.Errno) { return p.FS.Root(), nil, 0 }),
		fs.fdDir(n, "fd", pid, false),
		fs.fdDir(n, "fdinfo", pid, true),
	}
	if n.parent.name != "task" {
		task := n.dir("task", func(ctx *vfs.Context, tn *node) []*node {
			var out []*node
			for _, t := range p.Group.TIDs() {
				t := t
				d := tn.dir(itoa(t), nil)
				d.children = func(ctx *vfs.Context, dn *node) []*node { return fs.pidChildren(dn, pid, t) }
				out = append(out, d)
			}
			return out
		})
		out = append(out, task)
	}
	return out
}

// magic makes a magic link: readlink shows the target's path, following
// it jumps to the file.
func (fs *FS) magic(n *node, name string, pid int, target func(*Process) (vfs.Path, posix.File, unix.Errno)) *node {
	c := n.child(name, vfs.S_IFLNK|0o777)
	c.follow = func(ctx *vfs.Context) (vfs.Path, posix.File, unix.Errno) {
		p, e := fs.proc(pid)
		if e != 0 {
			return vfs.Path{}, nil, e
		}
		return target(p)
	}
	c.link = func(ctx *vfs.Context) (string, unix.Errno) {
		p, e := fs.proc(pid)
		if e != 0 {
			return "", e
		}
		path, f, e := target(p)
		if e != 0 {
			return "", e
		}
		return fs.describe(ctx, p, path, f), 0
	}
	return c
}

// describe names a file as /proc/PID/fd shows it.
func (fs *FS) describe(ctx *vfs.Context, p *Process, path vfs.Path, f posix.File) string {
	root := p.FS.Root()
	if vf, ok := f.(*vfs.File); ok {
		return vf.Name(ctx, root)
	}
	if f == nil {
		return fs.v.DisplayName(ctx, root, path)
	}
	return FileName(f)
}

// Namer is a file without a path that has a /proc/self/fd name of its own
// ("socket:[N]").
type Namer interface{ FDName() string }

// FileName is what /proc/self/fd shows for a file that has no path.
func FileName(f posix.File) string {
	switch x := f.(type) {
	case Namer:
		return x.FDName()
	case *posix.PipeEnd:
		return fmt.Sprintf("pipe:[%d]", x.Pipe().Ino())
	case *posix.EventFD:
		return "anon_inode:[eventfd]"
	case *posix.Epoll:
		return "anon_inode:[eventpoll]"
	case *posix.TimerFD:
		return "anon_inode:[timerfd]"
	case *posix.SignalFD:
		return "anon_inode:[signalfd]"
	case *posix.HostFile:
		// The host's name for it: a terminal, a pipe, /dev/null.
		if s, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(x.FD)); err == nil {
			return s
		}
	}
	return "anon_inode:[unknown]"
}

func (fs *FS) fdDir(n *node, name string, pid int, info bool) *node {
	return n.dir(name, func(ctx *vfs.Context, dn *node) []*node {
		p := fs.sys.Process(pid)
		if p == nil {
			return nil
		}
		var out []*node
		for _, fi := range p.Group.FDs.FDs() {
			fd := fi.FD
			if info {
				out = append(out, dn.file(itoa(fd), func(ctx *vfs.Context) ([]byte, unix.Errno) {
					of, e := p.Group.FDs.Get(fd)
					if e != 0 {
						return nil, unix.ENOENT
					}
					return fdinfo(of, p.Group.FDs, fd), 0
				}))
				continue
			}
			c := fs.magic(dn, itoa(fd), pid, func(p *Process) (vfs.Path, posix.File, unix.Errno) {
				of, e := p.Group.FDs.Get(fd)
				if e != 0 {
					return vfs.Path{}, nil, unix.ENOENT
				}
				if vf, ok := of.File.(*vfs.File); ok {
					return vf.Path(), vf, 0
				}
				return vfs.Path{}, of.File, 0
			})
			// The link's permissions say how the descriptor was opened.
			c.mode = vfs.S_IFLNK | 0o500
			if fl := fi.File.Flags() & unix.O_ACCMODE; fl != unix.O_RDONLY {
				c.mode |= 0o200
			}
			out = append(out, c)
		}
		return out
	})
}

func fdinfo(of *posix.OpenFile, fds *posix.FDTable, fd int) []byte {
	var b bytes.Buffer
	pos, mnt, ino := int64(0), uint64(0), uint64(0)
	if vf, ok := of.File.(*vfs.File); ok {
		pos = vf.Offset()
		mnt = vf.Path().Mnt.ID
		ino = vf.Path().Inode.Ino()
	}
	flags := of.Flags()
	if ce, _ := fds.CloseOnExec(fd, nil); ce {
		flags |= unix.O_CLOEXEC
	}
	fmt.Fprintf(&b, "pos:\t%d\nflags:\t0%o\nmnt_id:\t%d\nino:\t%d\n", pos, flags, mnt, ino)
	return b.Bytes()
}

func nulList(s []string) []byte {
	var b bytes.Buffer
	for _, x := range s {
		b.WriteString(x)
		b.WriteByte(0)
	}
	return b.Bytes()
}

func (fs *FS) comm(p *Process, tid int) string {
	if p.Attrs == nil {
		return ""
	}
	c := p.Attrs().Thread(tid).Comm
	return string(bytes.TrimRight(c[:], "\x00"))
}

// pidStat is /proc/PID/stat's 52 fields (man 5 proc); the counters that
// are not kept here are zero.
func (fs *FS) pidStat(p *Process, tid int) []byte {
	vss, rss := fs.vmSize(p)
	start := p.Start.Sub(fs.sys.Boot) / (10 * time.Millisecond)
	nice := 0
	if p.Attrs != nil {
		nice = p.Attrs().Nice()
	}
	f := []string{
		itoa(tid), "(" + fs.comm(p, tid) + ")", "R",
		itoa(p.Group.PPID()), itoa(p.Group.PGID()), itoa(p.Group.SID()), "0", "-1", "4194560", // ppid pgrp session tty tpgid flags
		"0", "0", "0", "0", "0", "0", "0", "0", // faults and times
		strconv.Itoa(20 + nice), strconv.Itoa(nice), strconv.Itoa(p.Group.NumTasks()), "0",
		strconv.FormatInt(int64(start), 10), strconv.FormatUint(vss, 10), strconv.FormatUint(rss/mm.PageSize, 10),
		"18446744073709551615", "0", "0", "0", "0", "0", // rsslim startcode endcode startstack kstkesp kstkeip
		"0", "0", "0", "0", "0", "0", "0", "17", "0", "0", "0", "0", "0", // signals... exit_signal processor
		"0", "0", "0", "0", "0", "0", "0", "0", "0", // up to exit_code
	}
	return []byte(strings.Join(f[:52], " ") + "\n")
}

// vmSize returns the mapped bytes and the committed (resident at most).
func (fs *FS) vmSize(p *Process) (uint64, uint64) {
	var total uint64
	for _, v := range p.Group.MM.VMAs() {
		total += v.End - v.Start
	}
	c, _ := p.Group.MM.Committed()
	return total, c
}

func (fs *FS) statm(p *Process) []byte {
	vss, rss := fs.vmSize(p)
	return []byte(fmt.Sprintf("%d %d 0 0 0 0 0\n", vss/mm.PageSize, rss/mm.PageSize))
}

func (fs *FS) status(p *Process, tid int) []byte {
	var b bytes.Buffer
	c := posix.NewCred(0, 0, nil)
	umask := uint32(posix.DefaultUmask)
	if p.Attrs != nil {
		a := p.Attrs()
		c = a.Creds.Get()
		umask = a.CurrentUmask()
	}
	vss, rss := fs.vmSize(p)
	groups := ""
	for _, g := range c.Groups {
		groups += strconv.FormatUint(uint64(g), 10) + " "
	}
	fmt.Fprintf(&b, "Name:\t%s\nUmask:\t%04o\nState:\tR (running)\nTgid:\t%d\nNgid:\t0\nPid:\t%d\nPPid:\t%d\nTracerPid:\t0\n",
		fs.comm(p, tid), umask, p.Group.PID, tid, p.Group.PPID())
	fmt.Fprintf(&b, "Uid:\t%d\t%d\t%d\t%d\nGid:\t%d\t%d\t%d\t%d\n", c.RUID, c.EUID, c.SUID, c.FSUID, c.RGID, c.EGID, c.SGID, c.FSGID)
	fmt.Fprintf(&b, "FDSize:\t%d\nGroups:\t%s\n", p.Group.FDs.MaxFDs(), groups)
	fmt.Fprintf(&b, "VmPeak:\t%8d kB\nVmSize:\t%8d kB\nVmRSS:\t%8d kB\n", vss>>10, vss>>10, rss>>10)
	fmt.Fprintf(&b, "Threads:\t%d\n", p.Group.NumTasks())
	fmt.Fprintf(&b, "CapInh:\t%016x\nCapPrm:\t%016x\nCapEff:\t%016x\nCapBnd:\t%016x\nCapAmb:\t%016x\n",
		c.CapInh, c.CapPrm, c.CapEff, c.CapBnd, c.CapAmb)
	nnp := 0
	if p.Attrs != nil && p.Attrs().NoNewPrivs() {
		nnp = 1
	}
	cpus := max(fs.sys.CPUs, 1)
	fmt.Fprintf(&b, "NoNewPrivs:\t%d\nSeccomp:\t0\nCpus_allowed_list:\t0-%d\n", nnp, cpus-1)
	return b.Bytes()
}

// maps is /proc/PID/maps from the address space's VMAs.
func (fs *FS) maps(p *Process) []byte {
	var b bytes.Buffer
	for _, v := range p.Group.MM.VMAs() {
		perm := []byte("---p")
		if v.Prot&unix.PROT_READ != 0 {
			perm[0] = 'r'
		}
		if v.Prot&unix.PROT_WRITE != 0 {
			perm[1] = 'w'
		}
		if v.Prot&unix.PROT_EXEC != 0 {
			perm[2] = 'x'
		}
		if v.Flags&unix.MAP_SHARED != 0 {
			perm[3] = 's'
		}
		var dev, ino, off uint64
		name := v.Name
		if fi, ok := mapFileInfo(v); ok {
			dev, ino, off, name = fi.dev, fi.ino, fi.off, fi.name
		}
		line := fmt.Sprintf("%08x-%08x %s %08x %02x:%02x %d", v.Start, v.End, perm, off, unix.Major(dev), unix.Minor(dev), ino)
		if name != "" {
			line += strings.Repeat(" ", max(1, 73-len(line))) + name
		}
		b.WriteString(line + "\n")
	}
	return b.Bytes()
}

func limits(p *Process) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%-25s %-20s %-20s %-10s\n", "Limit", "Soft Limit", "Hard Limit", "Units")
	rows := []struct {
		name string
		res  int
		unit string
	}{
		{"Max cpu time", unix.RLIMIT_CPU, "seconds"}, {"Max file size", unix.RLIMIT_FSIZE, "bytes"},
		{"Max data size", unix.RLIMIT_DATA, "bytes"}, {"Max stack size", unix.RLIMIT_STACK, "bytes"},
		{"Max core file size", unix.RLIMIT_CORE, "bytes"}, {"Max resident set", unix.RLIMIT_RSS, "bytes"},
		{"Max processes", unix.RLIMIT_NPROC, "processes"}, {"Max open files", unix.RLIMIT_NOFILE, "files"},
		{"Max locked memory", unix.RLIMIT_MEMLOCK, "bytes"}, {"Max address space", unix.RLIMIT_AS, "bytes"},
		{"Max file locks", unix.RLIMIT_LOCKS, "locks"}, {"Max pending signals", unix.RLIMIT_SIGPENDING, "signals"},
		{"Max msgqueue size", unix.RLIMIT_MSGQUEUE, "bytes"}, {"Max nice priority", unix.RLIMIT_NICE, ""},
		{"Max realtime priority", unix.RLIMIT_RTPRIO, ""}, {"Max realtime timeout", unix.RLIMIT_RTTIME, "us"},
	}
	val := func(v uint64) string {
		if v == posix.RLIM_INFINITY {
			return "unlimited"
		}
		return strconv.FormatUint(v, 10)
	}
	for _, r := range rows {
		l := p.Group.Limits.Get(r.res)
		fmt.Fprintf(&b, "%-25s %-20s %-20s %-10s\n", r.name, val(l.Cur), val(l.Max), r.unit)
	}
	return b.Bytes()
}

func (fs *FS) mounts(ctx *vfs.Context, p *Process, info bool) []byte {
	var b bytes.Buffer
	for _, m := range fs.v.MountTable(ctx, p.FS.Root()) {
		if info {
			fmt.Fprintf(&b, "%d %d %d:%d / %s %s - %s %s %s\n", m.ID, m.ParentID, unix.Major(m.Dev), unix.Minor(m.Dev),
				vfs.MangleMountField(m.Target), m.Opts, m.Type, vfs.MangleMountField(m.Source), "rw")
			continue
		}
		fmt.Fprintf(&b, "%s %s %s %s 0 0\n", vfs.MangleMountField(m.Source), vfs.MangleMountField(m.Target), m.Type, m.Opts)
	}
	return b.Bytes()
}
