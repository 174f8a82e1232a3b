package vfs

import (
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/rumpgo/rumpgo/posix"
	"golang.org/x/sys/unix"
)

// Mount flags (MS_*), the ones a mount here can carry.
const (
	MS_RDONLY = unix.MS_RDONLY
	MS_NOSUID = unix.MS_NOSUID
	MS_NODEV  = unix.MS_NODEV
	MS_NOEXEC = unix.MS_NOEXEC
)

// Mount is one file system attached at a point of the tree.
type Mount struct {
	FS     FileSystem
	Source string // what /proc/mounts shows first ("tmpfs", a host path)
	Flags  int    // MS_*
	Opts   string // extra options for /proc/mounts ("size=..."), may be ""
	ID     uint64
	Dev    uint64 // st_dev of every file in it

	root   Inode
	parent *Mount
	point  Inode // the mount point in parent
}

// Root is the mount's root.
func (m *Mount) Root() Path { return Path{m, m.root} }

// ReadOnly reports MS_RDONLY.
func (m *Mount) ReadOnly() bool { return m.Flags&MS_RDONLY != 0 }

// Path is a file reached through a mount.
type Path struct {
	Mnt   *Mount
	Inode Inode
}

// Valid reports whether p names a file.
func (p Path) Valid() bool { return p.Mnt != nil && p.Inode != nil }

// Same reports whether p and q are the same file through the same mount.
func (p Path) Same(q Path) bool {
	return p.Mnt == q.Mnt && p.Inode != nil && q.Inode != nil && p.Inode.Ino() == q.Inode.Ino()
}

type mountKey struct {
	parent *Mount
	ino    uint64
}

// Device is a character device: what opening a device node with its
// number gives.
type Device interface {
	Open(ctx *Context, flags int) (FileImpl, unix.Errno)
}

// VFS is a machine's file-system namespace: its mounts, devices and locks.
type VFS struct {
	mu      sync.RWMutex
	root    *Mount
	mounts  map[mountKey]*Mount
	all     []*Mount // in mount order, for /proc/mounts
	devices map[uint64]Device
	nextID  atomic.Uint64
	nextDev atomic.Uint64

	locks   lockTable
	writers writeCounts
}

// New returns a namespace whose root is fs.
func New(fs FileSystem, source string, flags int, opts string) *VFS {
	v := &VFS{mounts: map[mountKey]*Mount{}, devices: map[uint64]Device{}}
	v.nextID.Store(20) // Linux's first mount ids are small; any will do
	v.root = v.newMount(fs, source, flags, opts)
	v.all = []*Mount{v.root}
	return v
}

func (v *VFS) newMount(fs FileSystem, source string, flags int, opts string) *Mount {
	// Anonymous devices are major 0, as Linux's for tmpfs and proc.
	return &Mount{FS: fs, Source: source, Flags: flags, Opts: opts, ID: v.nextID.Add(1),
		Dev: unix.Mkdev(0, uint32(v.nextDev.Add(1))+20), root: fs.Root()}
}

// Root is the namespace's root.
func (v *VFS) Root() Path { return v.root.Root() }

// Mount attaches fs at at, which must exist: a directory, or a file
// other than a directory when fs's root is one too (a bind mount of a
// single file, as Docker's /etc/hosts); ENOTDIR for one kind on the
// other, as Linux's do_move_mount and graft_tree answer.
func (v *VFS) Mount(at Path, fs FileSystem, source string, flags int, opts string) (*Mount, unix.Errno) {
	st, e := at.Inode.Stat(nil)
	if e != 0 {
		return nil, e
	}
	rst, e := fs.Root().Stat(nil)
	if e != 0 {
		return nil, e
	}
	if IsDir(st.Mode) != IsDir(rst.Mode) {
		return nil, unix.ENOTDIR
	}
	m := v.newMount(fs, source, flags, opts)
	m.parent, m.point = at.Mnt, at.Inode
	v.mu.Lock()
	defer v.mu.Unlock()
	k := mountKey{at.Mnt, at.Inode.Ino()}
	if _, ok := v.mounts[k]; ok {
		return nil, unix.EBUSY
	}
	v.mounts[k] = m
	v.all = append(v.all, m)
	return m, 0
}

// MountPath mounts fs at the absolute path target, creating the
// directory (mode 0755, root's) when missing.
func (v *VFS) MountPath(target string, fs FileSystem, source string, flags int, opts string) (*Mount, unix.Errno) {
	ctx := RootContext()
	fsc := NewFSContext(v.Root())
	p, e := v.Lookup(ctx, fsc, Path{}, target, LookupFollow)
	if e == unix.ENOENT {
		if e = v.Mkdir(ctx, fsc, Path{}, target, 0o755, 0); e == 0 {
			p, e = v.Lookup(ctx, fsc, Path{}, target, LookupFollow)
		}
	}
	if e != 0 {
		return nil, e
	}
	return v.Mount(p, fs, source, flags, opts)
}

// Mounts returns the mounts in mount order.
func (v *VFS) Mounts() []*Mount {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return append([]*Mount(nil), v.all...)
}

// MountPoint returns where m is attached (invalid for the root mount).
func (m *Mount) MountPoint() Path {
	if m.parent == nil {
		return Path{}
	}
	return Path{m.parent, m.point}
}

// mounted returns the mount on top of p, following stacked mounts.
func (v *VFS) mounted(p Path) (Path, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	crossed := false
	for {
		m, ok := v.mounts[mountKey{p.Mnt, p.Inode.Ino()}]
		if !ok {
			return p, crossed
		}
		p, crossed = m.Root(), true
	}
}

// RegisterDevice makes device nodes with rdev open d.
func (v *VFS) RegisterDevice(rdev uint64, d Device) {
	v.mu.Lock()
	v.devices[rdev] = d
	v.mu.Unlock()
}

func (v *VFS) device(rdev uint64) Device {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.devices[rdev]
}

// FSContext is a process's root and working directory (Linux's
// fs_struct).
type FSContext struct {
	mu        sync.Mutex
	root, cwd Path
}

// NewFSContext returns a context with root and cwd at root.
func NewFSContext(root Path) *FSContext { return &FSContext{root: root, cwd: root} }

// Root returns the process root.
func (c *FSContext) Root() Path {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.root
}

// Cwd returns the working directory.
func (c *FSContext) Cwd() Path {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cwd
}

// SetCwd changes the working directory.
func (c *FSContext) SetCwd(p Path) {
	c.mu.Lock()
	c.cwd = p
	c.mu.Unlock()
}

// SetRoot changes the root (chroot).
func (c *FSContext) SetRoot(p Path) {
	c.mu.Lock()
	c.root = p
	c.mu.Unlock()
}

// RootContext is the context of the machine itself (boot-time setup):
// root with every capability.
func RootContext() *Context {
	return &Context{Cred: posix.NewCred(0, 0, nil)}
}

// MountInfo is one line of /proc/self/mounts.
type MountInfo struct {
	Source, Target, Type, Opts string
	ID, ParentID               uint64
	Dev                        uint64
}

// MountTable describes the mounts visible from root, with their paths.
func (v *VFS) MountTable(ctx *Context, root Path) []MountInfo {
	var out []MountInfo
	for _, m := range v.Mounts() {
		target := "/"
		if m.parent != nil {
			s, e := v.PathName(ctx, root, m.MountPoint())
			if e != 0 {
				continue
			}
			target = s
		}
		opts := "rw"
		if m.ReadOnly() {
			opts = "ro"
		}
		for _, f := range []struct {
			bit  int
			name string
		}{{MS_NOSUID, "nosuid"}, {MS_NODEV, "nodev"}, {MS_NOEXEC, "noexec"}} {
			if m.Flags&f.bit != 0 {
				opts += "," + f.name
			}
		}
		opts += ",relatime"
		if m.Opts != "" {
			opts += "," + m.Opts
		}
		var pid uint64
		if m.parent != nil {
			pid = m.parent.ID
		} else {
			pid = 1
		}
		out = append(out, MountInfo{Source: m.Source, Target: target, Type: m.FS.Type(), Opts: opts, ID: m.ID, ParentID: pid, Dev: m.Dev})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Octal-escape a mount path field as /proc/mounts does.
func MangleMountField(s string) string {
	r := strings.NewReplacer(" ", `\040`, "\t", `\011`, "\n", `\012`, `\`, `\134`)
	return r.Replace(s)
}
