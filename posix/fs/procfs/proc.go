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

// oomAdj is the process's oom_score_adj.
func oomAdj(p *Process) int {
	if p.Attrs == nil {
		return 0
	}
	return p.Attrs().OOMScoreAdj()
}

// OOM_DISABLE and OOM_ADJUST_MAX bound the legacy oom_adj.
const (
	OOM_DISABLE    = -17
	OOM_ADJUST_MAX = 15
)

// legacyOOMAdj is oom_adj's view of oom_score_adj (oom_adj_read).
func legacyOOMAdj(v int) int {
	if v == posix.OOM_SCORE_ADJ_MAX {
		return OOM_ADJUST_MAX
	}
	return v * -OOM_DISABLE / posix.OOM_SCORE_ADJ_MAX
}

// setOOM is a write of oom_score_adj, or of oom_adj (legacy), whose range
// is [-17, 15] and which scales to the other.
func (fs *FS) setOOM(ctx *vfs.Context, pid int, b []byte, legacy bool) unix.Errno {
	v, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return unix.EINVAL
	}
	if legacy {
		if v < OOM_DISABLE || v > OOM_ADJUST_MAX {
			return unix.EINVAL
		}
		if v == OOM_ADJUST_MAX {
			v = posix.OOM_SCORE_ADJ_MAX
		} else {
			v = v * posix.OOM_SCORE_ADJ_MAX / -OOM_DISABLE
		}
	}
	p, e := fs.proc(pid)
	if e != 0 {
		return e
	}
	if p.Zombie || p.Attrs == nil {
		return unix.ESRCH
	}
	return p.Attrs().SetOOMScoreAdj(v, ctx.Cred.Capable(posix.CAP_SYS_RESOURCE))
}

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
	thread := n.parent.name == "task"
	out := []*node{
		n.file("cmdline", gen(func(p *Process) []byte { return nulList(p.Argv) })),
		n.file("environ", gen(func(p *Process) []byte { return nulList(p.Env) })),
		n.file("comm", gen(func(p *Process) []byte { return []byte(fs.comm(p, tid) + "\n") })),
		n.file("stat", gen(func(p *Process) []byte { return fs.pidStat(p, tid, thread) })),
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
		n.writable("oom_score_adj", gen(func(p *Process) []byte { return []byte(itoa(oomAdj(p)) + "\n") }),
			func(ctx *vfs.Context, b []byte) unix.Errno { return fs.setOOM(ctx, pid, b, false) }),
		n.writable("oom_adj", gen(func(p *Process) []byte { return []byte(itoa(legacyOOMAdj(oomAdj(p))) + "\n") }),
			func(ctx *vfs.Context, b []byte) unix.Errno { return fs.setOOM(ctx, pid, b, true) }),
		n.file("oom_score", gen(func(p *Process) []byte { return []byte(itoa(max(0, 666+oomAdj(p)*2/3)) + "\n") })),
		fs.pagemap(n, pid),
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
		if p.Zombie {
			return vfs.Path{}, nil, unix.ENOENT
		}
		return target(p)
	}
	c.link = func(ctx *vfs.Context) (string, unix.Errno) {
		p, e := fs.proc(pid)
		if e != 0 {
			return "", e
		}
		if p.Zombie {
			return "", unix.ENOENT
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
		if p == nil || p.Zombie || p.Group.FDs == nil {
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

// state is the letter /proc shows for thread tid of p.
func state(p *Process, tid int) byte {
	if p.Zombie {
		return posix.TaskZombie
	}
	t := p.Group.Task(tid)
	if t == nil {
		return posix.TaskZombie // a leader that ended before its threads
	}
	return t.State()
}

// stateNames are status's spelling of the states (fs/proc/array.c).
var stateNames = map[byte]string{
	posix.TaskRunning: "R (running)", posix.TaskSleeping: "S (sleeping)", posix.TaskDiskWait: "D (disk sleep)",
	posix.TaskStopped: "T (stopped)", posix.TaskZombie: "Z (zombie)",
}

// times are the processor times /proc shows: a thread's own under
// task/, else the process's; the reaped children's in both.
func times(p *Process, tid int, thread bool) (self, children posix.CPUTimes) {
	children = p.Group.ChildrenCPUTime()
	if !thread {
		return p.Group.CPUTime(), children
	}
	if t := p.Group.Task(tid); t != nil {
		self = t.CPUTime()
	}
	return self, children
}

func ticks(d time.Duration) string { return strconv.FormatInt(int64(d/(10*time.Millisecond)), 10) }

// signals are the pending (the task's and the process's), blocked,
// ignored and caught sets of thread tid.
func signals(p *Process, tid int) (pending, shared, blocked, ignored, caught uint64, queued int) {
	if t := p.Group.Task(tid); t != nil {
		pending, shared, blocked, queued = t.SignalState()
	}
	ignored, caught = p.Group.Signals.Dispositions()
	return
}

// pidStat is /proc/PID/stat's 52 fields (man 5 proc); the counters that
// are not kept here are zero.
func (fs *FS) pidStat(p *Process, tid int, thread bool) []byte {
	vss, rss := fs.vmSize(p)
	start := p.Start.Sub(fs.sys.Boot) / (10 * time.Millisecond)
	nice := 0
	if p.Attrs != nil {
		nice = p.Attrs().Nice()
	}
	self, children := times(p, tid, thread)
	pending, shared, blocked, ignored, caught, _ := signals(p, tid)
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	f := []string{
		itoa(tid), "(" + fs.comm(p, tid) + ")", string(state(p, tid)),
		itoa(p.Group.PPID()), itoa(p.Group.PGID()), itoa(p.Group.SID()), "0", "-1", "4194560", // ppid pgrp session tty tpgid flags
		"0", "0", "0", "0", // minflt cminflt majflt cmajflt
		ticks(self.User), ticks(self.System), ticks(children.User), ticks(children.System),
		strconv.Itoa(20 + nice), strconv.Itoa(nice), strconv.Itoa(p.Group.NumTasks()), "0",
		strconv.FormatInt(int64(start), 10), strconv.FormatUint(vss, 10), strconv.FormatUint(rss/mm.PageSize, 10),
		"18446744073709551615", "0", "0", "0", "0", "0", // rsslim startcode endcode startstack kstkesp kstkeip
		u(pending | shared), u(blocked), u(ignored), u(caught), // signal blocked sigignore sigcatch
		"0", "0", "0", "17", "0", "0", "0", "0", "0", // wchan nswap cnswap exit_signal processor rt_priority policy delayacct guest_time
		"0", "0", "0", "0", "0", "0", "0", "0", "0", // cguest_time up to exit_code
	}
	return []byte(strings.Join(f[:52], " ") + "\n")
}

// vmSize returns the mapped bytes and the committed (resident at most).
func (fs *FS) vmSize(p *Process) (uint64, uint64) {
	if p.Zombie || p.Group.MM == nil {
		return 0, 0
	}
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

// memory is status's Vm* lines: sizes by kind of mapping, in KiB. No
// page is ever swapped out; the resident figures count what is committed.
func (fs *FS) memory(b *bytes.Buffer, p *Process) {
	var size, data, stk, exe, lib, locked, file, shmem uint64
	for _, v := range p.Group.MM.VMAs() {
		n := v.End - v.Start
		size += n
		if v.Locked {
			locked += n
		}
		switch {
		case v.Flags&unix.MAP_GROWSDOWN != 0 || v.Name == "[stack]":
			stk += n
		case v.File != nil && v.Prot&unix.PROT_EXEC != 0:
			if p.Exe != nil && fs.sameFile(v, p) {
				exe += n
			} else {
				lib += n
			}
		case v.File == nil && v.Flags&unix.MAP_SHARED == 0 && v.Prot&unix.PROT_WRITE != 0:
			data += n
		}
		if v.File != nil {
			file += n
			if v.Flags&unix.MAP_SHARED != 0 {
				shmem += n
			}
		}
	}
	committed, _ := p.Group.MM.Committed()
	rss := committed
	kb := func(k string, v uint64) { fmt.Fprintf(b, "%s\t%8d kB\n", k+":", v>>10) }
	kb("VmPeak", size)
	kb("VmSize", size)
	kb("VmLck", locked)
	kb("VmPin", 0)
	kb("VmHWM", rss)
	kb("VmRSS", rss)
	kb("RssAnon", rss)
	kb("RssFile", 0)
	kb("RssShmem", 0)
	kb("VmData", data)
	kb("VmStk", stk)
	kb("VmExe", exe)
	kb("VmLib", lib)
	kb("VmPTE", (size>>21+1)*mm.PageSize)
	kb("VmSwap", 0)
	kb("HugetlbPages", 0)
	_, _ = file, shmem
}

// sameFile reports whether v maps the program's own file.
func (fs *FS) sameFile(v mm.VMA, p *Process) bool {
	_, ino, _ := v.File.MapInfo()
	return p.Exe.Path().Inode != nil && ino == p.Exe.Path().Inode.Ino()
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
	groups := ""
	for _, g := range c.Groups {
		groups += strconv.FormatUint(uint64(g), 10) + " "
	}
	fmt.Fprintf(&b, "Name:\t%s\nUmask:\t%04o\nState:\t%s\nTgid:\t%d\nNgid:\t0\nPid:\t%d\nPPid:\t%d\nTracerPid:\t0\n",
		fs.comm(p, tid), umask, stateNames[state(p, tid)], p.Group.PID, tid, p.Group.PPID())
	fmt.Fprintf(&b, "Uid:\t%d\t%d\t%d\t%d\nGid:\t%d\t%d\t%d\t%d\n", c.RUID, c.EUID, c.SUID, c.FSUID, c.RGID, c.EGID, c.SGID, c.FSGID)
	fds := 0
	if !p.Zombie && p.Group.FDs != nil {
		fds = p.Group.FDs.MaxFDs()
	}
	fmt.Fprintf(&b, "FDSize:\t%d\nGroups:\t%s\n", fds, groups)
	fmt.Fprintf(&b, "NStgid:\t%d\nNSpid:\t%d\nNSpgid:\t%d\nNSsid:\t%d\n", p.Group.PID, tid, p.Group.PGID(), p.Group.SID())
	if !p.Zombie && p.Group.MM != nil {
		fs.memory(&b, p)
	}
	fmt.Fprintf(&b, "Threads:\t%d\n", p.Group.NumTasks())
	pending, shared, blocked, ignored, caught, queued := signals(p, tid)
	sigLimit := p.Group.Limits.Get(unix.RLIMIT_SIGPENDING).Cur
	fmt.Fprintf(&b, "SigQ:\t%d/%d\nSigPnd:\t%016x\nShdPnd:\t%016x\nSigBlk:\t%016x\nSigIgn:\t%016x\nSigCgt:\t%016x\n",
		queued, sigLimit, pending, shared, blocked, ignored, caught)
	fmt.Fprintf(&b, "CapInh:\t%016x\nCapPrm:\t%016x\nCapEff:\t%016x\nCapBnd:\t%016x\nCapAmb:\t%016x\n",
		c.CapInh, c.CapPrm, c.CapEff, c.CapBnd, c.CapAmb)
	nnp := 0
	if p.Attrs != nil && p.Attrs().NoNewPrivs() {
		nnp = 1
	}
	cpus := max(fs.sys.CPUs, 1)
	mask := ""
	for i := (cpus + 31) / 32; i > 0; i-- {
		word := uint32(0xffffffff)
		if bits := cpus - (i-1)*32; bits < 32 {
			word = 1<<bits - 1
		}
		if mask != "" {
			mask += ","
		}
		mask += fmt.Sprintf("%08x", word)
	}
	mask = strings.TrimLeft(mask, "0")
	if mask == "" || mask[0] == ',' {
		mask = "0" + mask
	}
	fmt.Fprintf(&b, "NoNewPrivs:\t%d\nSeccomp:\t0\nSeccomp_filters:\t0\nCpus_allowed:\t%s\nCpus_allowed_list:\t0-%d\n", nnp, mask, cpus-1)
	fmt.Fprintf(&b, "Mems_allowed:\t1\nMems_allowed_list:\t0\nvoluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n")
	return b.Bytes()
}

// maps is /proc/PID/maps from the address space's VMAs.
func (fs *FS) maps(p *Process) []byte {
	var b bytes.Buffer
	if p.Zombie || p.Group.MM == nil {
		return nil
	}
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
	if p.Zombie || p.FS == nil {
		return nil
	}
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
