// Package sandbox confines the rumpgo monitor before it runs guest code,
// so that a guest that subverts the emulation layer gets little from the
// host process it took over.
//
// Install applies two independent layers to every thread of the process
// (and every thread created later, which inherits them):
//
//   - Landlock (ABI 1 and later): file access is limited to the paths of a
//     Policy, read-only or read-write: the image or program, the volumes,
//     /dev/kvm, /proc/self, the few /etc and /dev files a run reads. Every
//     other open, create, remove, rename, truncate or exec of a host path
//     fails with EACCES. Landlock has no thread-synchronisation flag before
//     ABI 8, so Install makes every thread call landlock_restrict_self
//     itself, from a signal handler (allthreads.go), as glibc does for
//     setuid.
//   - seccomp-BPF with SECCOMP_FILTER_FLAG_TSYNC: an allowlist of the host
//     system calls the monitor makes at run time (filter.go), with argument
//     checks where they are practical: clone only for threads, ioctl only
//     KVM, terminal (not TIOCSTI and the like) and socket requests, socket only unix, inet, inet6
//     and netlink, kill and tgkill only this process, prctl only a few
//     read-or-name options. Anything else (execve, fork, ptrace, mount,
//     bpf, keyctl, open_by_handle_at, perf_event_open, ...) fails with
//     EPERM; clone3 says ENOSYS so that glibc falls back to clone.
//
// Both need no privilege: they set no_new_privs first.
package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Policy says which host paths the confined process may still use, on
// top of DefaultReadOnly and DefaultReadWrite. Missing paths are skipped.
type Policy struct {
	ReadOnly  []string // read files and list directories, beneath each path
	ReadWrite []string // also write, create, remove, rename, truncate
}

// Status says what Install applied.
type Status struct {
	LandlockABI int  // the kernel's Landlock ABI version; 0 without Landlock
	Landlock    bool // the file rules are in force
	Seccomp     bool // the syscall filter is in force
}

func (s Status) String() string {
	var parts []string
	if s.Seccomp {
		parts = append(parts, "seccomp")
	}
	if s.Landlock {
		parts = append(parts, fmt.Sprintf("landlock (ABI %d)", s.LandlockABI))
	} else {
		parts = append(parts, "no landlock")
	}
	return strings.Join(parts, ", ")
}

var installed sync.Mutex // one Install at a time

// Install confines the whole process: Landlock with p's paths, then the
// seccomp filter. A kernel without Landlock gets the filter alone (Status
// says so); a failure of the filter is an error. It cannot be undone.
func Install(p Policy) (Status, error) {
	installed.Lock()
	defer installed.Unlock()
	var st Status
	if _, _, e := unix.RawSyscall6(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0); e != 0 {
		return st, fmt.Errorf("sandbox: no_new_privs: %v", e)
	}
	st.LandlockABI = landlockABI()
	if st.LandlockABI > 0 {
		if err := landlock(p, st.LandlockABI); err != nil {
			return st, err
		}
		st.Landlock = true
	}
	if err := installFilter(); err != nil {
		return st, err
	}
	st.Seccomp = true
	return st, nil
}

func landlockABI() int {
	v, _, e := unix.RawSyscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if e != 0 {
		return 0
	}
	return int(v)
}

// Access rights by the ABI that introduced them.
const (
	fsRead = unix.LANDLOCK_ACCESS_FS_READ_FILE | unix.LANDLOCK_ACCESS_FS_READ_DIR
	// fsWrite are the rights of ABI 1 besides reading and executing.
	fsWrite = unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_REMOVE_DIR |
		unix.LANDLOCK_ACCESS_FS_REMOVE_FILE | unix.LANDLOCK_ACCESS_FS_MAKE_CHAR |
		unix.LANDLOCK_ACCESS_FS_MAKE_DIR | unix.LANDLOCK_ACCESS_FS_MAKE_REG |
		unix.LANDLOCK_ACCESS_FS_MAKE_SOCK | unix.LANDLOCK_ACCESS_FS_MAKE_FIFO |
		unix.LANDLOCK_ACCESS_FS_MAKE_BLOCK | unix.LANDLOCK_ACCESS_FS_MAKE_SYM
)

// handled is every file right the kernel's ABI knows: all are denied
// unless a rule grants them.
func handled(abi int) uint64 {
	h := uint64(unix.LANDLOCK_ACCESS_FS_EXECUTE | fsRead | fsWrite)
	if abi >= 2 {
		h |= unix.LANDLOCK_ACCESS_FS_REFER
	}
	if abi >= 3 {
		h |= unix.LANDLOCK_ACCESS_FS_TRUNCATE
	}
	if abi >= 5 {
		h |= unix.LANDLOCK_ACCESS_FS_IOCTL_DEV
	}
	return h
}

// rulesetAttr is struct landlock_ruleset_attr as of ABI 4 (x/sys/unix has
// fields later kernels refuse when set; these stay zero-sized for them).
type rulesetAttr struct {
	fs, net uint64
}

func landlock(p Policy, abi int) error {
	all := handled(abi)
	attr := rulesetAttr{fs: all}
	size := unsafe.Sizeof(attr)
	if abi < 4 {
		size = 8 // handled_access_fs only
	}
	fd, _, e := unix.RawSyscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), size, 0)
	if e != 0 {
		return fmt.Errorf("sandbox: landlock_create_ruleset: %v", e)
	}
	defer unix.Close(int(fd))
	rw := all &^ unix.LANDLOCK_ACCESS_FS_EXECUTE
	add := func(path string, access uint64) error {
		f, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil // nothing there to allow
		}
		defer unix.Close(f)
		var st unix.Stat_t
		if unix.Fstat(f, &st) == nil && st.Mode&unix.S_IFMT != unix.S_IFDIR {
			// Rules on a file may only carry file rights.
			access &= unix.LANDLOCK_ACCESS_FS_READ_FILE | unix.LANDLOCK_ACCESS_FS_WRITE_FILE |
				unix.LANDLOCK_ACCESS_FS_TRUNCATE | unix.LANDLOCK_ACCESS_FS_IOCTL_DEV | unix.LANDLOCK_ACCESS_FS_EXECUTE
		}
		rule := unix.LandlockPathBeneathAttr{Allowed_access: access & all, Parent_fd: int32(f)}
		if _, _, e := unix.RawSyscall6(unix.SYS_LANDLOCK_ADD_RULE, fd, unix.LANDLOCK_RULE_PATH_BENEATH,
			uintptr(unsafe.Pointer(&rule)), 0, 0, 0); e != 0 {
			return fmt.Errorf("sandbox: landlock rule for %s: %v", path, e)
		}
		return nil
	}
	for _, path := range clean(slices.Concat(p.ReadOnly, DefaultReadOnly)) {
		if err := add(path, fsRead); err != nil {
			return err
		}
	}
	for _, path := range clean(slices.Concat(p.ReadWrite, DefaultReadWrite)) {
		if err := add(path, rw); err != nil {
			return err
		}
	}
	return onAllThreads(int(fd))
}

// clean makes paths absolute, drops empty ones and duplicates.
func clean(paths []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range paths {
		if p == "" {
			continue
		}
		if a, err := filepath.Abs(p); err == nil {
			p = a
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// DefaultReadOnly are the host paths every run may read after setup: its
// own /proc entries (the Go runtime and the monitor read /proc/self), the
// resolver configuration and the files Go's and glibc's name service read.
var DefaultReadOnly = []string{
	"/proc/self", "/proc/thread-self", "/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf",
	"/etc/localtime", "/dev/urandom", "/sys/kernel/mm/transparent_hugepage",
}

// DefaultReadWrite are the devices every run uses: KVM, and /dev/null.
var DefaultReadWrite = []string{"/dev/kvm", "/dev/null"}

// ErrUnsupported is returned where the host cannot confine the process.
var ErrUnsupported = errors.New("sandbox: not supported on this host")

// pid is this process's id, for the kill and tgkill checks.
var pid = os.Getpid()
