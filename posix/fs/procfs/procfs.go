// Package procfs is /proc: a synthetic file system whose files are made
// from the kernel objects when they are opened (a snapshot per open, as
// Linux's seq_file files read consistently only within one read). It holds
// /proc/self and /proc/thread-self, PID directories (exe, cwd, root, fd/,
// fdinfo/, maps, stat, status, statm, cmdline, environ, comm, mounts,
// mountinfo, limits, task/), system files (cpuinfo, meminfo, stat,
// uptime, loadavg, mounts, filesystems) and the sysctls programs read
// under sys/. A few files take writes: oom_score_adj and the sysctls a
// root guest may set (a guest's own values: the host's are never
// touched).
package procfs

import (
	"hash/fnv"
	"sort"
	"strconv"
	"time"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/vfs"
	"golang.org/x/sys/unix"
)

// PROC_SUPER_MAGIC is statfs's f_type (linux/magic.h).
const PROC_SUPER_MAGIC = 0x9fa0

// Process is what /proc/PID shows of a process.
type Process struct {
	Group *posix.ThreadGroup
	// Zombie says the process ended and waits for its parent: its
	// stat and status remain, its memory and files are gone.
	Zombie bool
	FS     *vfs.FSContext
	Attrs  func() *posix.ProcAttrs
	// Exe is the program's open file (O_PATH) for /proc/PID/exe.
	Exe       *vfs.File
	Argv, Env []string
	Start     time.Time
}

// System is what the system-wide files show.
type System struct {
	Hostname func() string
	// SetHostname, when set, makes /proc/sys/kernel/hostname writable:
	// sethostname(2)'s checks and effect.
	SetHostname func(ctx *vfs.Context, name []byte) unix.Errno
	// Domainname and SetDomainname are the NIS domain name's, when set.
	Domainname    func() string
	SetDomainname func(ctx *vfs.Context, name []byte) unix.Errno
	Release       string // uname -r
	Version       string // uname -v
	CPUs          int
	MemBytes      uint64
	Boot          time.Time
	// MemUsed is the guest memory in use, for meminfo.
	MemUsed func() uint64
	// CPUInfo, when set, is /proc/cpuinfo's text.
	CPUInfo func() []byte
	// Process returns the process with pid, or nil.
	Process func(pid int) *Process
	// ThreadGroupOf returns the PID of the process thread tid belongs
	// to, or 0: /proc/TID works for every thread, unlisted.
	ThreadGroupOf func(tid int) int
	// PIDs lists the live processes.
	PIDs func() []int
	// Net, when set, makes /proc/net (net.go).
	Net NetFiles
}

// FS is a procfs instance.
type FS struct {
	v       *vfs.VFS
	sys     System
	root    *node
	sysctls *sysctls
}

// New makes /proc for the namespace v.
func New(v *vfs.VFS, sys System) *FS {
	fs := &FS{v: v, sys: sys}
	fs.root = &node{fs: fs, path: "", mode: vfs.S_IFDIR | 0o555, children: fs.rootChildren}
	fs.root.parent = fs.root
	fs.root.hidden = func(ctx *vfs.Context, name string) *node { return fs.hiddenTask(ctx, fs.root, name) }
	fs.sysctls = newSysctls(sys)
	return fs
}

// Root implements vfs.FileSystem.
func (fs *FS) Root() vfs.Inode { return fs.root }

// Type implements vfs.FileSystem.
func (fs *FS) Type() string { return "proc" }

// Sync implements vfs.FileSystem.
func (fs *FS) Sync() unix.Errno { return 0 }

// Statfs implements vfs.FileSystem.
func (fs *FS) Statfs(*vfs.Context) (vfs.Statfs, unix.Errno) {
	return vfs.Statfs{Type: PROC_SUPER_MAGIC, Bsize: 4096, Frsize: 4096, Namelen: vfs.NAME_MAX}, 0
}

// node is every procfs file: a directory (children), a file (gen) or a
// symlink (link, and follow for magic links).
type node struct {
	vfs.NoLink
	fs     *FS
	parent *node
	path   string // from /proc's root, for the inode number
	mode   uint32
	pid    int // the process the node belongs to, 0 for system files

	children func(ctx *vfs.Context, n *node) []*node
	gen      func(ctx *vfs.Context) ([]byte, unix.Errno)
	write    func(ctx *vfs.Context, b []byte) unix.Errno                  // nil: read-only
	sysctl   bool                                                         // under /proc/sys: its mode binds root too
	hidden   func(ctx *vfs.Context, name string) *node                    // entries Lookup finds but ReadDir does not list
	open     func(ctx *vfs.Context, flags int) (vfs.FileImpl, unix.Errno) // a file not made at open (pagemap)
	link     func(ctx *vfs.Context) (string, unix.Errno)
	follow   func(ctx *vfs.Context) (vfs.Path, posix.File, unix.Errno)
	name     string
}

func (n *node) child(name string, mode uint32) *node {
	return &node{fs: n.fs, parent: n, path: n.path + "/" + name, name: name, mode: mode, pid: n.pid}
}

func (n *node) dir(name string, children func(*vfs.Context, *node) []*node) *node {
	c := n.child(name, vfs.S_IFDIR|0o555)
	c.children = children
	return c
}

func (n *node) file(name string, gen func(*vfs.Context) ([]byte, unix.Errno)) *node {
	c := n.child(name, vfs.S_IFREG|0o444)
	c.gen = gen
	return c
}

// writable is a file that takes writes (mode 0644, or 0200|perm of a
// sysctl): each write(2) is one call of write, as proc files take them.
func (n *node) writable(name string, gen func(*vfs.Context) ([]byte, unix.Errno), write func(*vfs.Context, []byte) unix.Errno) *node {
	c := n.file(name, gen)
	c.mode = vfs.S_IFREG | 0o644
	c.write = write
	return c
}

func (n *node) symlink(name string, link func(*vfs.Context) (string, unix.Errno)) *node {
	c := n.child(name, vfs.S_IFLNK|0o777)
	c.link = link
	return c
}

// Ino implements vfs.Inode: a hash of the path, stable across lookups.
func (n *node) Ino() uint64 {
	if n.path == "" {
		return 1
	}
	h := fnv.New64a()
	h.Write([]byte(n.path))
	return h.Sum64()>>1 | 2
}

// Stat implements vfs.Inode.
func (n *node) Stat(ctx *vfs.Context) (vfs.Stat, unix.Errno) {
	t := vfs.TimespecOf(n.fs.sys.Boot)
	st := vfs.Stat{Mask: unix.STATX_BASIC_STATS, Ino: n.Ino(), Mode: n.mode, Nlink: 1, Blksize: 1024,
		Atime: t, Mtime: t, Ctime: t}
	if vfs.IsDir(n.mode) {
		st.Nlink = 2
	}
	if n.pid != 0 {
		if p := n.fs.sys.Process(n.pid); p != nil && p.Attrs != nil {
			c := p.Attrs().Creds.Get()
			st.UID, st.GID = c.EUID, c.EGID
		} else if p == nil {
			return vfs.Stat{}, unix.ENOENT
		}
	}
	if n.link != nil {
		if s, e := n.link(ctx); e == 0 {
			st.Size = int64(len(s))
		}
	}
	return st, 0
}

// SetAttr implements vfs.Inode: /proc files keep their attributes; a
// size change (O_TRUNC) is accepted and ignored, as proc_setattr does.
func (n *node) SetAttr(_ *vfs.Context, a *vfs.SetAttr) unix.Errno {
	if a.Mask&(vfs.SetMode|vfs.SetUID|vfs.SetGID) != 0 {
		return unix.EPERM
	}
	return 0
}

// Readlink implements vfs.Inode.
func (n *node) Readlink(ctx *vfs.Context) (string, unix.Errno) {
	if n.link == nil {
		return "", unix.EINVAL
	}
	return n.link(ctx)
}

// magicNode is a node whose symlink jumps to a file.
type magicNode struct{ *node }

// Follow implements vfs.MagicLink.
func (m magicNode) Follow(ctx *vfs.Context) (vfs.Path, posix.File, unix.Errno) {
	return m.follow(ctx)
}

func (n *node) inode() vfs.Inode {
	if n.follow != nil {
		return magicNode{n}
	}
	return n
}

// Lookup implements vfs.Inode.
func (n *node) Lookup(ctx *vfs.Context, name string) (vfs.Inode, unix.Errno) {
	if n.children == nil {
		return nil, unix.ENOTDIR
	}
	if name == ".." {
		return n.parent.inode(), 0
	}
	for _, c := range n.children(ctx, n) {
		if c.name == name {
			return c.inode(), 0
		}
	}
	if n.hidden != nil {
		if c := n.hidden(ctx, name); c != nil {
			return c.inode(), 0
		}
	}
	return nil, unix.ENOENT
}

// ReadDir implements vfs.Inode.
func (n *node) ReadDir(ctx *vfs.Context, pos uint64, fn func(vfs.Dirent) bool) unix.Errno {
	if n.children == nil {
		return unix.ENOTDIR
	}
	cs := n.children(ctx, n)
	for i := int(pos) - vfs.FirstPos; i < len(cs); i++ {
		if i < 0 {
			continue
		}
		c := cs[i]
		if !fn(vfs.Dirent{Name: c.name, Ino: c.Ino(), Type: vfs.DTType(c.mode), Next: uint64(i + vfs.FirstPos + 1)}) {
			break
		}
	}
	return 0
}

// Create implements vfs.Inode.
func (n *node) Create(*vfs.Context, string, vfs.CreateAttr) (vfs.Inode, unix.Errno) {
	if n.children == nil {
		return nil, unix.ENOTDIR
	}
	return nil, unix.EACCES
}

// Link implements vfs.Inode.
func (n *node) Link(*vfs.Context, string, vfs.Inode) unix.Errno { return unix.EPERM }

// Unlink implements vfs.Inode.
func (n *node) Unlink(*vfs.Context, string, bool) unix.Errno {
	if n.children == nil {
		return unix.ENOTDIR
	}
	return unix.EACCES
}

// Rename implements vfs.Inode.
func (n *node) Rename(*vfs.Context, string, vfs.Inode, string, uint32) unix.Errno {
	return unix.EACCES
}

// Open implements vfs.Inode: a file's contents are made now.
func (n *node) Open(ctx *vfs.Context, flags int) (vfs.FileImpl, unix.Errno) {
	if n.children != nil {
		return dirImpl{}, 0
	}
	if n.open != nil {
		return n.open(ctx, flags)
	}
	if n.gen == nil {
		return nil, unix.ENXIO
	}
	writing := flags&unix.O_ACCMODE != unix.O_RDONLY
	if writing && n.sysctl && n.write == nil {
		// sysctl's own check: a read-only sysctl is read-only for root
		// too (proc_sys_permission).
		return nil, unix.EACCES
	}
	// Other writable opens of read-only files succeed and their writes
	// fail (EINVAL), as for /proc files without a write method.
	var b []byte
	if flags&unix.O_ACCMODE != unix.O_WRONLY {
		var e unix.Errno
		if b, e = n.gen(ctx); e != 0 {
			return nil, e
		}
	}
	// Writes are checked against the opener's credentials (f_cred), as
	// sysctl's are: a write(2) carries no context of its own here.
	opener := vfs.Context{Cred: ctx.Cred, PID: ctx.PID, TID: ctx.TID}
	return &snapshot{b: b, write: n.write, opener: &opener}, 0
}

type dirImpl struct{}

func (dirImpl) ReadAt(*vfs.Context, []byte, int64) (int, unix.Errno)  { return 0, unix.EISDIR }
func (dirImpl) WriteAt(*vfs.Context, []byte, int64) (int, unix.Errno) { return 0, unix.EISDIR }
func (dirImpl) Release()                                              {}

// snapshot is an open /proc file: the bytes made at open, and the
// file's write method.
type snapshot struct {
	b      []byte
	write  func(*vfs.Context, []byte) unix.Errno
	opener *vfs.Context
}

func (s *snapshot) ReadAt(_ *vfs.Context, p []byte, off int64) (int, unix.Errno) {
	if off >= int64(len(s.b)) {
		return 0, 0
	}
	return copy(p, s.b[off:]), 0
}
func (s *snapshot) WriteAt(_ *vfs.Context, p []byte, _ int64) (int, unix.Errno) {
	if s.write == nil {
		return 0, unix.EINVAL
	}
	if e := s.write(s.opener, p); e != 0 {
		return 0, e
	}
	return len(p), 0
}
func (s *snapshot) Release()    {}
func (s *snapshot) Size() int64 { return int64(len(s.b)) }

func itoa(i int) string { return strconv.Itoa(i) }

// rootChildren lists /proc.
func (fs *FS) rootChildren(ctx *vfs.Context, n *node) []*node {
	var out []*node
	pids := fs.sys.PIDs()
	sort.Ints(pids)
	for _, pid := range pids {
		out = append(out, fs.pidDir(n, itoa(pid), pid))
	}
	self := ctx.PID
	out = append(out,
		n.symlink("self", func(ctx *vfs.Context) (string, unix.Errno) { return itoa(ctx.PID), 0 }),
		n.symlink("thread-self", func(ctx *vfs.Context) (string, unix.Errno) {
			return itoa(ctx.PID) + "/task/" + itoa(ctx.TID), 0
		}),
		n.file("cpuinfo", fs.cpuinfo),
		n.file("meminfo", fs.meminfo),
		n.file("stat", fs.stat),
		n.file("uptime", fs.uptime),
		n.file("loadavg", fs.loadavg),
		n.file("version", fs.version),
		n.file("filesystems", func(*vfs.Context) ([]byte, unix.Errno) {
			return []byte("nodev\ttmpfs\nnodev\tproc\n"), 0
		}),
		n.symlink("mounts", func(*vfs.Context) (string, unix.Errno) { return "self/mounts", 0 }),
		n.dir("sys", fs.sysDir),
	)
	if fs.sys.Net != nil {
		out = append(out, n.dir("net", fs.netDir))
	}
	_ = self
	return out
}

// hiddenTask is /proc/TID for a thread that leads no process: readdir of
// /proc lists processes only, but every thread's directory is there.
func (fs *FS) hiddenTask(_ *vfs.Context, n *node, name string) *node {
	tid, err := strconv.Atoi(name)
	if err != nil || tid <= 0 || itoa(tid) != name || fs.sys.ThreadGroupOf == nil {
		return nil
	}
	pid := fs.sys.ThreadGroupOf(tid)
	if pid == 0 || pid == tid {
		return nil
	}
	d := n.dir(name, nil)
	d.pid = pid
	d.children = func(ctx *vfs.Context, dn *node) []*node { return fs.pidChildren(dn, pid, tid) }
	return d
}
