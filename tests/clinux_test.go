package tests

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCLinux runs testdata/clinux's groups natively and under rumpgo, as
// root and as an unprivileged user (the program drops to uid 1000 itself,
// natively as in the guest), and requires the same output: the kernel
// behaviour C test suites check.
//
// proc: task states in /proc/PID/stat and status (S for a sleeping
// child, T stopped, Z a zombie, D a vfork parent), kill of a zombie,
// /proc/PID/task/TID and /proc/TID of a thread, CPU times in stat,
// times, getrusage and wait4 (self and reaped children),
// oom_score_adj writes and their checks, the /proc/sys files and who may
// open them for writing, one kernel release in uname and /proc, sysinfo
// against meminfo, cpuinfo's hypervisor flag, the status lines (Vm*,
// Sig*), mlock in VmLck, pagemap.
//
// sys: calls that answered ENOSYS — personality, setting the clock
// (EPERM after Linux's argument checks), adjtimex's query, sethostname's
// checks, userfaultfd, readahead, sync_file_range, fadvise, fchmodat2 —
// and errnos: fsync of a pipe, waitpid(INT_MIN), mkdir of an existing
// name in an unwritable parent (EEXIST), MAP_SHARED_VALIDATE; RLIMIT_FSIZE
// for write, pwrite and truncate (EFBIG, SIGXFSZ).
//
// calls: vmsplice into and out of a pipe (its flags, descriptor and
// non-blocking checks, a full pipe, no reader), clock_getres of CPU
// clocks (thread, process, PROF's tick, bad ids), SIOCGIFINDEX and
// SIOCGIFNAME on an AF_UNIX socket (if_nametoindex), binding ports below
// 1024 (EACCES for the user).
//
// others: sched_*, setpriority/getpriority (process and group),
// sched_setaffinity/getaffinity, rt_sigqueueinfo and kill aimed at a
// child, and at another user's process by an unprivileged one.
//
// signals: core dumps as core_pattern and RLIMIT_CORE say (the file and
// the wait status's core bit, none when not dumpable or for SIGTERM),
// SA_RESETHAND resetting only the handler, SIGSEGV (catchable) for a
// frame that cannot be written, RLIMIT_SIGPENDING; a child's crash puts
// no report on the guest's stderr.
//
// errnos: the ERRORS sections of the man pages in Linux's order of
// checks for accept, epoll_ctl/create/wait, clock_nanosleep, nanosleep,
// timer_settime (EINVAL for no value), getsockopt/setsockopt,
// getsockname/getpeername, socket, socketpair, mmap (EOVERFLOW past the
// largest offset), msync (EBUSY invalidating locked pages), munmap,
// mprotect, readlink (ENOENT for an empty path), fsync of sockets and
// devices, execveat, pwritev2/preadv2 (the flags checked last), splice
// and tee (flags, zero length, ESPIPE, O_APPEND), futex requeue (negative
// counts, alignment), waitpid/waitid/wait4 options.
//
// events: epoll with more ready descriptors than maxevents (the ready
// list rotates; level- and edge-triggered, one-shot), shutdown's
// EPOLLRDHUP/EPOLLHUP; F_GETLK's conflicting lock in Linux's order,
// EDEADLK for two processes' crossing F_SETLKW; AF_UNIX path names as
// socket files (stat, the umask, EADDRINUSE, ENXIO to open, ENOENT once
// unlinked, EACCES in an unwritable directory, ECONNREFUSED for a closed
// socket's file or a regular file, another spelling of the path), EISCONN,
// MSG_MORE.
//
// pidfd: pidfd_open (a zombie, a thread, a reaped child), pidfd_send_signal,
// waitid(P_PIDFD) blocking and not (EAGAIN for a nonblocking pidfd),
// poll and epoll readable at the end, pidfd_getfd, clone(CLONE_PIDFD) and
// clone3's pidfd, and another user's process (EPERM).
//
// inotify: inotify_init1/add_watch/rm_watch and their errors; the events
// of the program's own creates, writes (merged while unread), opens,
// reads, closes, chmod, truncate, renames (cookies), links, unlinks,
// rmdir (DELETE_SELF, IGNORED), IN_ONESHOT, rm_watch; poll, epoll,
// FIONREAD and a blocking read woken by a child; on tmpfs, an image's
// root and a host volume.
//
// pty: /dev/tty without a controlling terminal (ENXIO, never a file made
// by O_CREAT); posix_openpt, the locked slave (EIO), grantpt, unlockpt,
// ptsname, the slave's node (136, N; mode 0600, the opener's), ttyname,
// the slave's termios and window size; canonical input (CR to NL, echo,
// erase, kill, word erase, VEOF, VLNEXT, FIONREAD, short reads), ONLCR
// output, raw mode with VMIN/VTIME (O_NONBLOCK short of VMIN); tcflush,
// tcdrain; controlling terminals (a session leader's open, TIOCSCTTY and
// its EPERMs, TIOCGSID, tcgetpgrp/tcsetpgrp and their errors, /dev/tty,
// TIOCNOTTY), ^C's SIGINT and TIOCSWINSZ's SIGWINCH to the foreground
// group, SIGTTIN/SIGTTOU for a background group (EIO when ignored,
// TOSTOP), the master's EIO and POLLHUP once the slave closed, and the
// slave's hangup (SIGHUP, end of file, EIO, its poll bits) once the
// master closed, its node gone.
//
// memory: madvise's advice values, ENOMEM over a hole for every advice,
// MADV_POPULATE_* (EINVAL for PROT_NONE, writing a read-only mapping),
// MADV_REMOVE's EINVAL for private memory, MADV_WIPEONFORK (zero pages in
// the child; EINVAL when shared) and MADV_DONTFORK (no mapping in the
// child) and their undoing; /dev/zero mapped shared (the child's writes
// seen) and private, EACCES for a shared writable map of a read-only
// descriptor; MAP_GROWSDOWN growing down to a fault below it, within
// 8 MiB and the guard gap.
//
// files: open(O_TMPFILE) on tmpfs and an image's root (nlink 0, the
// /proc/self/fd name, linkat through /proc/self/fd and AT_EMPTY_PATH, not
// after O_EXCL, the argument checks and EACCES for the user); ETXTBSY both
// ways: the running program's file (by path and /proc/self/exe) cannot be
// opened for writing or truncated, a file open for writing (a dup too)
// cannot be executed, a running copy cannot be opened for writing.
func TestCLinux(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	bin := cProgram(t, "clinux")
	img := buildImage(t, bin)
	for _, tc := range []struct {
		name string
		args []string
		// image: the guest runs the program from an image (its root an
		// overlay of the image and a writable layer), and an argument
		// "DIR" is a fresh directory natively and / in the guest.
		image bool
		// volume: "DIR" is a fresh directory natively and, in the guest,
		// /vol, another fresh host directory mounted there (-v).
		volume bool
	}{
		{"proc", []string{"proc"}, false, false},
		{"proc as user", []string{"proc", "user"}, false, false},
		{"sys", []string{"sys"}, false, false},
		{"sys as user", []string{"sys", "user"}, false, false},
		{"calls", []string{"calls"}, false, false},
		{"calls as user", []string{"calls", "user"}, false, false},
		{"others", []string{"others"}, false, false},
		{"others as user", []string{"others", "user"}, false, false},
		{"memory", []string{"memory"}, false, false},
		{"memory as user", []string{"memory", "user"}, false, false},
		{"pty", []string{"pty"}, false, false},
		{"pty as user", []string{"pty", "user"}, false, false},
		{"signals", []string{"signals"}, false, false},
		{"signals as user", []string{"signals", "user"}, false, false},
		{"errnos", []string{"errnos"}, false, false},
		{"errnos as user", []string{"errnos", "user"}, false, false},
		{"files", []string{"files"}, false, false},
		{"files as user", []string{"files", "user"}, false, false},
		{"files in an image", []string{"files", "DIR"}, true, false},
		{"files in an image as user", []string{"files", "user", "DIR"}, true, false},
		{"events", []string{"events"}, false, false},
		{"events as user", []string{"events", "user"}, false, false},
		{"pidfd", []string{"pidfd"}, false, false},
		{"pidfd as user", []string{"pidfd", "user"}, false, false},
		{"inotify", []string{"inotify"}, false, false},
		{"inotify as user", []string{"inotify", "user"}, false, false},
		{"inotify in an image", []string{"inotify", "DIR"}, true, false},
		{"inotify on a volume", []string{"inotify", "DIR"}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nargs, gargs := append([]string{bin}, tc.args...), append([]string{rumpgo, "run", bin}, tc.args...)
			if tc.image || tc.volume {
				dir := t.TempDir() // root's, 0700: the user may not write there, nor in the image's /
				gdir := "/"
				if tc.image {
					gargs[2] = img
				} else {
					gdir = "/vol"
					gargs = append([]string{rumpgo, "run", "-v", t.TempDir() + ":/vol"}, gargs[2:]...)
				}
				for i, a := range tc.args {
					if a == "DIR" {
						nargs[1+i], gargs[len(gargs)-len(tc.args)+i] = dir, gdir
					}
				}
			}
			native := run(t, os.Environ(), nil, nargs...)
			require.Equal(t, 0, native.status, "native stderr:\n%s", native.stderr)
			guest := run(t, os.Environ(), nil, gargs...)
			require.Equal(t, native.stdout, guest.stdout, "rumpgo stderr:\n%s", guest.stderr)
			require.Equal(t, native.status, guest.status, "rumpgo stderr:\n%s", guest.stderr)
			require.NotContains(t, guest.stderr, "rumpgo:", "children's deaths are their parent's business")
		})
	}
}

// TestSysctlWrites checks what a root guest may set for itself and reads
// back, which no test may do natively (the host's values): sysctls,
// oom_score_adj below zero, the host name through /proc and sethostname.
func TestSysctlWrites(t *testing.T) {
	requireNativeGuests(t)
	rumpgo := requireRumpgo(t)
	script := `echo '|/bin/false %p' > /proc/sys/kernel/core_pattern && cat /proc/sys/kernel/core_pattern &&
echo 1 > /proc/sys/vm/overcommit_memory && cat /proc/sys/vm/overcommit_memory &&
echo 32768 > /proc/sys/kernel/pid_max && cat /proc/sys/kernel/pid_max &&
(echo nonsense > /proc/sys/kernel/pid_max || echo refused) &&
echo -1000 > /proc/self/oom_score_adj && cat /proc/self/oom_score_adj &&
echo guesthost > /proc/sys/kernel/hostname && uname -n && hostname other && cat /proc/sys/kernel/hostname`
	r := run(t, os.Environ(), nil, rumpgo, "run", busyboxStatic, "sh", "-c", script)
	require.Equal(t, 0, r.status, r.stderr)
	require.Equal(t, "|/bin/false %p\n1\n32768\nrefused\n-1000\nguesthost\nother\n", r.stdout, r.stderr)
}
