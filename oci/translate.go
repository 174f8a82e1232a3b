package oci

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rumpgo/rumpgo/launch"
	"github.com/rumpgo/rumpgo/posix"
	"github.com/rumpgo/rumpgo/posix/vfs"
	"golang.org/x/sys/unix"
)

// Plan is what create decides from a bundle: the guest's launch.Config
// (less what only the monitor can fill in: stdio, the network card) and
// how the monitor process is set up.
type Plan struct {
	Config launch.Config
	// Net is how the container is networked: "host" (no network
	// namespace in the spec), "new" (a namespace of its own, which
	// create makes; Docker's hook or CNI configures it) or "path"
	// (NetnsPath, an existing one).
	Net       string
	NetnsPath string
	Terminal  bool
	// Warnings are what the spec asks that is ignored (logged).
	Warnings []string
	// Hooks the runtime runs on the host.
	Hooks Hooks
}

// Network modes of a Plan.
const (
	NetHost = "host"
	NetNew  = "new"
	NetPath = "path"
)

// defaultPath is the PATH runc and Docker use when the spec sets none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// nrOpen is fs.nr_open's default, the most RLIMIT_NOFILE may be.
const nrOpen = 1 << 20

// Annotations rumpgo reads (its own options); any other "rumpgo." key is
// an error, so a typo is not silently ignored.
var annotations = map[string]string{
	"rumpgo.memory":     "guest memory in MiB (overrides linux.resources.memory.limit)",
	"rumpgo.cpus":       "CPUs the guest sees",
	"rumpgo.pids":       "most processes at once",
	"rumpgo.syscalls":   "exit, poll or auto",
	"rumpgo.tmpfs-size": "bytes of file data each tmpfs holds",
	"rumpgo.sandbox":    "false runs the monitor unconfined",
	"rumpgo.timeout":    "stop the guest after this Go duration",
}

// Translate turns a bundle's spec into a Plan, or one error saying what
// cannot be honoured.
func Translate(s *Spec, bundle string) (*Plan, error) {
	p := &Plan{Net: NetHost}
	c := &p.Config
	c.Sandbox = true // the monitor is confined as rumpgo run's (annotation rumpgo.sandbox)
	warn := func(f string, a ...any) { p.Warnings = append(p.Warnings, fmt.Sprintf(f, a...)) }

	root := s.Root.Path
	if !filepath.IsAbs(root) {
		root = filepath.Join(bundle, root)
	}
	if fi, err := os.Stat(root); err != nil {
		return nil, fmt.Errorf("root.path %s: %w", s.Root.Path, err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("root.path %s: not a directory", s.Root.Path)
	}
	// The rootfs itself is the writable layer, as with runc (Docker's
	// container layer sees the writes); root.readonly keeps it read-only
	// under a tmpfs for rumpgo's own mount points.
	c.RootDir, c.RootReadOnly, c.RootWritable = root, s.Root.Readonly, true

	pr := s.Process
	c.Env = slices.Clone(pr.Env)
	if !hasKey(c.Env, "PATH") {
		c.Env = append(c.Env, "PATH="+defaultPath)
	}
	c.UID, c.GID, c.Groups = pr.User.UID, pr.User.GID, nil
	if len(pr.User.AdditionalGids) > 0 {
		c.Groups = append([]uint32{pr.User.GID}, pr.User.AdditionalGids...)
	}
	if !hasKey(c.Env, "HOME") {
		home := "/"
		if c.UID == 0 {
			home = "/root"
		}
		c.Env = append(c.Env, "HOME="+home)
	}
	if pr.User.Umask != nil && *pr.User.Umask != 0o022 {
		warn("process.user.umask %#o: the guest starts with umask 022", *pr.User.Umask)
	}
	c.Cwd = pr.Cwd
	if c.Cwd == "" {
		c.Cwd = "/"
	}
	if !path.IsAbs(c.Cwd) {
		return nil, fmt.Errorf("process.cwd %q: not an absolute path", pr.Cwd)
	}
	p.Terminal = pr.Terminal
	if len(pr.Rlimits) > 0 {
		c.Rlimits = map[int]posix.Rlimit{}
	}
	for _, r := range pr.Rlimits {
		n, ok := rlimits[r.Type]
		if !ok {
			return nil, fmt.Errorf("process.rlimits: unknown type %q", r.Type)
		}
		if r.Soft > r.Hard {
			return nil, fmt.Errorf("process.rlimits %s: soft %d above hard %d", r.Type, r.Soft, r.Hard)
		}
		c.Rlimits[n] = posix.Rlimit{Cur: r.Soft, Max: r.Hard}
	}
	if _, ok := c.Rlimits[unix.RLIMIT_NOFILE]; !ok {
		// runc leaves the limits the spec does not set as the runtime's
		// own; for open files, which the guest's programs look at, the
		// guest gets the same (bounded by fs.nr_open's default).
		var rl unix.Rlimit
		if unix.Getrlimit(unix.RLIMIT_NOFILE, &rl) == nil {
			if c.Rlimits == nil {
				c.Rlimits = map[int]posix.Rlimit{}
			}
			c.Rlimits[unix.RLIMIT_NOFILE] = posix.Rlimit{Cur: min(rl.Cur, nrOpen), Max: min(rl.Max, nrOpen)}
		}
	}
	if pr.OOMScoreAdj != nil {
		warn("process.oomScoreAdj: not applied")
	}

	c.Hostname = s.Hostname
	if c.Hostname == "" {
		// runc sets none: the container's UTS namespace starts as a
		// copy of the host's (ctr run's spec names no hostname).
		c.Hostname, _ = os.Hostname()
	}
	if s.Domainname != "" {
		warn("domainname %q: not applied", s.Domainname)
	}
	if err := translateMounts(p, s.Mounts, warn); err != nil {
		return nil, err
	}
	// After the mounts: the program may be on one (Docker's --init
	// binary is a file's bind mount).
	var err error
	if c.Path, c.Argv, err = findProgram(c, pr.Args, getenv(c.Env, "PATH"), c.Cwd); err != nil {
		return nil, err
	}
	if s.Linux != nil {
		if err := translateLinux(p, s.Linux, warn); err != nil {
			return nil, err
		}
	}
	if s.Hooks != nil {
		if len(s.Hooks.CreateContainer)+len(s.Hooks.StartContainer) > 0 {
			return nil, errors.New("hooks.createContainer and hooks.startContainer run inside the container, which has no host programs under rumpgo")
		}
		p.Hooks = *s.Hooks
	}
	if err := applyAnnotations(c, s.Annotations); err != nil {
		return nil, err
	}
	return p, nil
}

var rlimits = map[string]int{
	"RLIMIT_AS": unix.RLIMIT_AS, "RLIMIT_CORE": unix.RLIMIT_CORE, "RLIMIT_CPU": unix.RLIMIT_CPU,
	"RLIMIT_DATA": unix.RLIMIT_DATA, "RLIMIT_FSIZE": unix.RLIMIT_FSIZE, "RLIMIT_LOCKS": unix.RLIMIT_LOCKS,
	"RLIMIT_MEMLOCK": unix.RLIMIT_MEMLOCK, "RLIMIT_MSGQUEUE": unix.RLIMIT_MSGQUEUE, "RLIMIT_NICE": unix.RLIMIT_NICE,
	"RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_NPROC": unix.RLIMIT_NPROC, "RLIMIT_RSS": unix.RLIMIT_RSS,
	"RLIMIT_RTPRIO": unix.RLIMIT_RTPRIO, "RLIMIT_RTTIME": unix.RLIMIT_RTTIME, "RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING,
	"RLIMIT_STACK": unix.RLIMIT_STACK,
}

func hasKey(env []string, k string) bool { return getenv(env, k) != "" || slices.Contains(env, k+"=") }

func getenv(env []string, k string) string {
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, k+"="); ok {
			return v
		}
	}
	return ""
}

// findProgram resolves args[0] as runc does — through PATH when it has
// no slash, against cwd when relative — in the container's root, and
// unwraps #! scripts as execve would (rumpgo boots an ELF): the result is
// the ELF's guest path and the argv it gets. c's volumes are seen where
// they will be mounted.
func findProgram(c *launch.Config, args []string, pathEnv, cwd string) (string, []string, error) {
	name := args[0]
	resolve := func(name string) (string, error) {
		if strings.Contains(name, "/") {
			if !path.IsAbs(name) {
				name = path.Join(cwd, name)
			}
			return name, checkExec(c, name)
		}
		for _, dir := range filepath.SplitList(pathEnv) {
			if dir == "" {
				dir = "."
			}
			p := path.Join(dir, name)
			if !path.IsAbs(p) {
				p = path.Join(cwd, p)
			}
			if checkExec(c, p) == nil {
				return p, nil
			}
		}
		return "", fmt.Errorf("exec: %q: executable file not found in $PATH", name)
	}
	p, err := resolve(name)
	if err != nil {
		return "", nil, err
	}
	argv := slices.Clone(args)
	for depth := 0; ; depth++ {
		f, err := launch.OpenRootFile(c, p)
		if err != nil {
			return "", nil, err
		}
		head := make([]byte, 256)
		n, _ := f.Read(head)
		f.Close()
		head = head[:n]
		if !bytes.HasPrefix(head, []byte("#!")) {
			return p, argv, nil
		}
		if depth == 4 {
			return "", nil, fmt.Errorf("exec %s: too many levels of #! interpreters", args[0])
		}
		line, _, _ := bytes.Cut(head[2:], []byte("\n"))
		fields := strings.Fields(string(line))
		if len(fields) == 0 {
			return "", nil, fmt.Errorf("exec %s: empty #! line", p)
		}
		interp := fields[0]
		next := []string{interp}
		if rest := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(line)), interp)); rest != "" {
			next = append(next, rest) // Linux passes the rest of the line as one argument
		}
		argv = append(append(next, p), argv[1:]...)
		if err := checkExec(c, interp); err != nil {
			return "", nil, fmt.Errorf("exec %s: interpreter %s: %w", p, interp, err)
		}
		p = interp
	}
}

// checkExec reports whether name in the container is a regular file
// someone may execute.
func checkExec(c *launch.Config, name string) error {
	f, err := launch.OpenRootFile(c, name)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return &os.PathError{Op: "exec", Path: name, Err: unix.EACCES}
	}
	return nil
}

// provided are the mounts every guest gets from rumpgo itself: a
// spec's entry for one of them is satisfied by it.
var provided = map[string]string{
	"/proc":          "proc",
	"/dev":           "tmpfs",
	"/dev/shm":       "tmpfs",
	"/dev/pts":       "devpts",
	"/dev/mqueue":    "mqueue",
	"/sys":           "sysfs",
	"/sys/fs/cgroup": "cgroup",
}

func translateMounts(p *Plan, mounts []Mount, warn func(string, ...any)) error {
	c := &p.Config
	for _, m := range mounts {
		dest := path.Clean(m.Destination)
		if !path.IsAbs(dest) {
			return fmt.Errorf("mounts: destination %q: not an absolute path", m.Destination)
		}
		bind := m.Type == "bind" || slices.Contains(m.Options, "bind") || slices.Contains(m.Options, "rbind")
		ro := slices.Contains(m.Options, "ro")
		if t, ok := provided[dest]; ok {
			switch {
			case dest == "/dev/shm" && (bind || m.Type == "tmpfs"):
				// Shared memory stays inside the guest (rumpgo's tmpfs).
			case t != m.Type && !(dest == "/sys/fs/cgroup" && m.Type == "cgroup2"):
				return fmt.Errorf("mounts: %s of type %q: rumpgo provides its own %s there", dest, m.Type, t)
			}
			if dest == "/sys" || dest == "/sys/fs/cgroup" || dest == "/dev/mqueue" {
				warn("mounts: %s (%s): not provided in the guest", dest, m.Type)
			}
			continue
		}
		switch {
		case bind:
			if m.Source == "" {
				return fmt.Errorf("mounts: bind to %s has no source", dest)
			}
			if dest == "/" {
				return errors.New("mounts: a bind mount on / replaces root.path; use root.path")
			}
			fi, err := os.Stat(m.Source)
			if err != nil {
				return fmt.Errorf("mounts: bind %s to %s: %w", m.Source, dest, err)
			}
			switch {
			case fi.IsDir():
				c.Volumes = append(c.Volumes, launch.Volume{Host: m.Source, Guest: dest, ReadOnly: ro})
			case fi.Mode().IsRegular():
				// A file's bind mount, as runc's: the host file itself
				// (Docker rewrites /etc/hosts and resolv.conf there).
				c.Volumes = append(c.Volumes, launch.Volume{Host: m.Source, Guest: dest, ReadOnly: ro})
			default:
				return fmt.Errorf("mounts: bind %s to %s: only directories and regular files can be bound into a rumpgo guest (this is a %v)", m.Source, dest, fi.Mode().Type())
			}
		case m.Type == "tmpfs":
			t := launch.TmpfsMount{Path: dest}
			for _, o := range m.Options {
				k, v, _ := strings.Cut(o, "=")
				switch k {
				case "size":
					n, err := parseSize(v)
					if err != nil {
						return fmt.Errorf("mounts: tmpfs %s: size=%s: %v", dest, v, err)
					}
					t.Size = n
				case "mode":
					n, err := strconv.ParseUint(v, 8, 32)
					if err != nil {
						return fmt.Errorf("mounts: tmpfs %s: mode=%s: want octal", dest, v)
					}
					t.Mode = uint32(n)
				case "ro":
					t.Flags |= vfs.MS_RDONLY
				case "nosuid":
					t.Flags |= vfs.MS_NOSUID
				case "nodev":
					t.Flags |= vfs.MS_NODEV
				case "noexec":
					t.Flags |= vfs.MS_NOEXEC
				}
			}
			if t.Flags == 0 {
				t.Flags = vfs.MS_NOSUID | vfs.MS_NODEV
			}
			c.Tmpfs = append(c.Tmpfs, t)
		default:
			return fmt.Errorf("mounts: %s of type %q: rumpgo guests can have bind mounts and tmpfs", dest, m.Type)
		}
	}
	return nil
}

// parseSize reads a tmpfs size= value: bytes or with k, m, g suffixes.
func parseSize(s string) (int64, error) {
	num := strings.TrimRight(s, "kKmMgG")
	shift := map[string]uint{"": 0, "k": 10, "m": 20, "g": 30}[strings.ToLower(s[len(num):])]
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64>>shift {
		return 0, errors.New("want a positive size in bytes or with k, m or g")
	}
	return n << shift, nil
}

func translateLinux(p *Plan, l *Linux, warn func(string, ...any)) error {
	c := &p.Config
	for _, ns := range l.Namespaces {
		switch ns.Type {
		case "network":
			p.Net = NetNew
			if ns.Path != "" {
				p.Net, p.NetnsPath = NetPath, ns.Path
				// Docker's --network host names the host's own namespace
				// (a bind mount of dockerd's): that is host networking,
				// and its interfaces are the host's, never the guest's.
				if sameNamespace(ns.Path, "/proc/self/ns/net") {
					p.Net, p.NetnsPath = NetHost, ""
				}
			}
		case "user":
			return errors.New("linux.namespaces: user namespaces are not supported (the guest's users are its own already; volumes are accessed as the runtime's user)")
		case "pid", "ipc", "uts", "mount", "cgroup", "time":
			// The guest is a machine of its own: its processes, IPC,
			// hostname and mounts are private to it anyway.
			if ns.Path != "" {
				return fmt.Errorf("linux.namespaces: joining another container's %s namespace (%s) is not supported", ns.Type, ns.Path)
			}
		default:
			return fmt.Errorf("linux.namespaces: unknown type %q", ns.Type)
		}
	}
	if len(l.UIDMappings)+len(l.GIDMappings) > 0 {
		return errors.New("linux.uidMappings/gidMappings: user namespaces are not supported")
	}
	if r := l.Resources; r != nil {
		if m := r.Memory; m != nil && m.Limit != nil && *m.Limit > 0 {
			mib := (uint64(*m.Limit) + 1<<20 - 1) >> 20
			if mib < 16 {
				return fmt.Errorf("linux.resources.memory.limit %d: a rumpgo guest needs at least 16 MiB", *m.Limit)
			}
			c.Memory = mib << 20
		}
		if cpu := r.CPU; cpu != nil {
			if cpu.Quota != nil && *cpu.Quota > 0 {
				period := uint64(100000)
				if cpu.Period != nil && *cpu.Period > 0 {
					period = *cpu.Period
				}
				c.CPUs = int((uint64(*cpu.Quota) + period - 1) / period)
			}
			if cpu.Cpus != "" {
				n, err := countCPUs(cpu.Cpus)
				if err != nil {
					return fmt.Errorf("linux.resources.cpu.cpus %q: %v", cpu.Cpus, err)
				}
				if c.CPUs == 0 || n < c.CPUs {
					c.CPUs = n
				}
			}
			if cpu.Shares != nil && *cpu.Shares != 0 && *cpu.Shares != 1024 {
				warn("linux.resources.cpu.shares %d: not applied", *cpu.Shares)
			}
		}
		if r.Pids != nil && r.Pids.Limit > 0 {
			c.PIDs = int(min(r.Pids.Limit, math.MaxInt32))
		}
		if len(r.BlockIO) > 0 && string(r.BlockIO) != "null" && string(r.BlockIO) != "{}" {
			warn("linux.resources.blockIO: not applied")
		}
	}
	if len(l.Sysctl) > 0 {
		warn("linux.sysctl: not applied (%d settings)", len(l.Sysctl))
	}
	return nil
}

// countCPUs counts a cpuset list such as "0-3,6".
func countCPUs(s string) (int, error) {
	n := 0
	for _, part := range strings.Split(s, ",") {
		lo, hi, rng := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return 0, errors.New("want a list such as 0-3,6")
		}
		b := a
		if rng {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return 0, errors.New("want a list such as 0-3,6")
			}
		}
		n += b - a + 1
	}
	return n, nil
}

func applyAnnotations(c *launch.Config, an map[string]string) error {
	for k, v := range an {
		if !strings.HasPrefix(k, "rumpgo.") {
			continue
		}
		if _, ok := annotations[k]; !ok {
			keys := make([]string, 0, len(annotations))
			for k := range annotations {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			return fmt.Errorf("annotation %s: unknown (rumpgo reads %s)", k, strings.Join(keys, ", "))
		}
		bad := func(want string) error { return fmt.Errorf("annotation %s=%q: want %s", k, v, want) }
		switch k {
		case "rumpgo.memory":
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil || n < 16 || n > 1<<20 {
				return bad("16 to 1048576 (MiB)")
			}
			c.Memory = n << 20
		case "rumpgo.cpus":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 255 {
				return bad("1 to 255")
			}
			c.CPUs = n
		case "rumpgo.pids":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return bad("a positive number")
			}
			c.PIDs = n
		case "rumpgo.syscalls":
			switch v {
			case "exit", "poll":
				c.SyscallPath = v
			case "auto":
				c.SyscallPath = ""
			default:
				return bad("exit, poll or auto")
			}
		case "rumpgo.tmpfs-size":
			n, err := parseSize(v)
			if err != nil || n < 4096 {
				return bad("a size of 4k or more")
			}
			c.TmpfsSize = n
		case "rumpgo.sandbox":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return bad("true or false")
			}
			c.Sandbox = b
		case "rumpgo.timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return bad("a positive duration such as 30s")
			}
			c.Timeout = d
		}
	}
	return nil
}

// sameNamespace reports whether two namespace files name one namespace.
func sameNamespace(a, b string) bool {
	var sa, sb unix.Stat_t
	if unix.Stat(a, &sa) != nil || unix.Stat(b, &sb) != nil {
		return false
	}
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino
}
