package procfs

import (
	"strconv"
	"strings"
	"sync"

	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/vfs"
	"golang.org/x/sys/unix"
)

// sysctl is one /proc/sys file with a stored value: Linux's default (a
// Debian 12 system's), which a root guest may change for itself.
// Writes are kept and read back; the machine's behaviour does not
// follow them (pipe-max-size, for one, stays posix.PipeMaxSize).
type sysctl struct {
	path  string // under /proc/sys
	value string
	ints  int // how many integers a write must hold; 0: a string
	ro    bool
}

var sysctlDefaults = []sysctl{
	{path: "kernel/core_pattern", value: "core"},
	{path: "kernel/core_pipe_limit", value: "0", ints: 1},
	{path: "kernel/core_uses_pid", value: "0", ints: 1},
	{path: "kernel/tainted", value: "0", ints: 1},
	{path: "kernel/pid_max", value: "4194304", ints: 1},
	{path: "kernel/threads-max", value: "126832", ints: 1},
	{path: "kernel/randomize_va_space", value: "2", ints: 1},
	{path: "kernel/overflowuid", value: "65534", ints: 1},
	{path: "kernel/overflowgid", value: "65534", ints: 1},
	{path: "kernel/shmmax", value: "18446744073692774399", ints: 1},
	{path: "kernel/shmall", value: "18446744073692774399", ints: 1},
	{path: "kernel/shmmni", value: "4096", ints: 1},
	{path: "kernel/msgmax", value: "8192", ints: 1},
	{path: "kernel/msgmnb", value: "16384", ints: 1},
	{path: "kernel/msgmni", value: "32000", ints: 1},
	{path: "kernel/sem", value: "32000\t1024000000\t500\t32000", ints: 4},
	{path: "kernel/perf_event_paranoid", value: "2", ints: 1},
	{path: "kernel/kptr_restrict", value: "0", ints: 1},
	{path: "kernel/dmesg_restrict", value: "1", ints: 1},
	{path: "kernel/sched_child_runs_first", value: "0", ints: 1},
	{path: "kernel/keys/maxkeys", value: "200", ints: 1},
	{path: "kernel/keys/maxbytes", value: "20000", ints: 1},
	{path: "kernel/ngroups_max", value: strconv.Itoa(posix.NGROUPS_MAX), ro: true},
	{path: "kernel/cap_last_cap", value: strconv.Itoa(posix.CAP_LAST_CAP), ro: true},
	{path: "kernel/ostype", value: "Linux", ro: true},
	{path: "vm/overcommit_memory", value: "0", ints: 1},
	{path: "vm/overcommit_ratio", value: "50", ints: 1},
	{path: "vm/overcommit_kbytes", value: "0", ints: 1},
	{path: "vm/max_map_count", value: "65530", ints: 1},
	{path: "vm/mmap_min_addr", value: "65536", ints: 1},
	{path: "vm/swappiness", value: "60", ints: 1},
	{path: "vm/dirty_ratio", value: "20", ints: 1},
	{path: "vm/dirty_background_ratio", value: "10", ints: 1},
	{path: "fs/pipe-max-size", value: strconv.Itoa(posix.PipeMaxSize), ints: 1},
	{path: "fs/pipe-user-pages-soft", value: "16384", ints: 1},
	{path: "fs/pipe-user-pages-hard", value: "0", ints: 1},
	{path: "fs/nr_open", value: "1048576", ints: 1},
	{path: "fs/file-max", value: "9223372036854775807", ints: 1},
	{path: "fs/aio-max-nr", value: "65536", ints: 1},
	{path: "fs/aio-nr", value: "0", ro: true},
	{path: "fs/leases-enable", value: "1", ints: 1},
	{path: "fs/lease-break-time", value: "45", ints: 1},
	{path: "fs/protected_symlinks", value: "1", ints: 1},
	{path: "fs/protected_hardlinks", value: "1", ints: 1},
	{path: "fs/protected_fifos", value: "1", ints: 1},
	{path: "fs/protected_regular", value: "2", ints: 1},
	{path: "fs/suid_dumpable", value: "0", ints: 1},
	{path: "fs/inotify/max_user_watches", value: "8192", ints: 1},
	{path: "fs/inotify/max_user_instances", value: "128", ints: 1},
	{path: "fs/inotify/max_queued_events", value: "16384", ints: 1},
	{path: "fs/mqueue/msg_max", value: "10", ints: 1},
	{path: "fs/mqueue/msgsize_max", value: "8192", ints: 1},
	{path: "fs/mqueue/queues_max", value: "256", ints: 1},
	{path: "net/core/somaxconn", value: "4096", ints: 1},
	{path: "net/core/rmem_max", value: "212992", ints: 1},
	{path: "net/core/wmem_max", value: "212992", ints: 1},
	{path: "net/core/rmem_default", value: "212992", ints: 1},
	{path: "net/core/wmem_default", value: "212992", ints: 1},
	{path: "net/ipv4/ip_local_port_range", value: "32768\t60999", ints: 2},
	{path: "net/ipv4/tcp_syncookies", value: "1", ints: 1},
	{path: "net/ipv6/conf/all/disable_ipv6", value: "0", ints: 1},
}

// sysctls are a machine's stored sysctl values.
type sysctls struct {
	mu  sync.Mutex
	val map[string]*sysctl
}

func newSysctls(System) *sysctls {
	s := &sysctls{val: map[string]*sysctl{}}
	for _, d := range sysctlDefaults {
		d := d
		s.val[d.path] = &d
	}
	return s
}

func (s *sysctls) get(path string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.val[path].value
}

// set checks and stores a write as proc_dointvec and proc_dostring take
// it: numbers separated by white space, or a line of text.
func (s *sysctls) set(path string, b []byte) unix.Errno {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.val[path]
	text := strings.TrimRight(string(b), "\n")
	if c.ints == 0 {
		if len(text) >= 4096 {
			return unix.EINVAL
		}
		c.value = text
		return 0
	}
	f := strings.Fields(text)
	if len(f) == 0 || len(f) > c.ints {
		return unix.EINVAL
	}
	for _, x := range f {
		if _, err := strconv.ParseInt(x, 10, 64); err != nil {
			if _, err := strconv.ParseUint(x, 10, 64); err != nil {
				return unix.EINVAL
			}
		}
	}
	old := strings.Fields(c.value)
	copy(old, f) // fewer numbers than the file holds change the first ones
	c.value = strings.Join(old, "\t")
	return 0
}

// children lists the sysctls in directory dir ("kernel", "fs/inotify"),
// and its subdirectories.
func (fs *FS) sysctlDir(dir string) func(*vfs.Context, *node) []*node {
	return func(_ *vfs.Context, n *node) []*node {
		var out []*node
		seen := map[string]bool{}
		for _, d := range sysctlDefaults {
			rest, ok := strings.CutPrefix(d.path, dir+"/")
			if !ok {
				continue
			}
			if sub, _, isDir := strings.Cut(rest, "/"); isDir {
				if !seen[sub] {
					seen[sub] = true
					out = append(out, n.dir(sub, fs.sysctlDir(dir+"/"+sub)))
				}
				continue
			}
			out = append(out, fs.sysctlFile(n, rest, d))
		}
		return out
	}
}

func (fs *FS) sysctlFile(n *node, name string, d sysctl) *node {
	gen := func(*vfs.Context) ([]byte, unix.Errno) { return []byte(fs.sysctls.get(d.path) + "\n"), 0 }
	var c *node
	if d.ro {
		c = n.file(name, gen)
	} else {
		c = n.writable(name, gen, func(_ *vfs.Context, b []byte) unix.Errno { return fs.sysctls.set(d.path, b) })
	}
	c.sysctl = true
	return c
}

// Sysctl is the guest's value of a stored sysctl ("kernel/core_pattern"),
// for the kernel code that follows it; "" for one not stored here.
func (fs *FS) Sysctl(path string) string {
	fs.sysctls.mu.Lock()
	defer fs.sysctls.mu.Unlock()
	if c := fs.sysctls.val[path]; c != nil {
		return c.value
	}
	return ""
}
