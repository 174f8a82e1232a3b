package sandbox

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Allowed are the host system calls the monitor may make once the guest
// runs, without argument checks: what `strace -f -c` of the test suite's
// rumpgo runs showed (the Go runtime, KVM, file systems on volumes and
// images, sockets of the NAT and published ports), and their close
// relatives (pread64 and preadv2, ...). The calls with argument checks
// are in checked below; every other call fails with EPERM.
var Allowed = []uintptr{
	// Files (Landlock decides which paths).
	unix.SYS_READ, unix.SYS_WRITE, unix.SYS_READV, unix.SYS_WRITEV, unix.SYS_PREAD64, unix.SYS_PWRITE64,
	unix.SYS_PREADV, unix.SYS_PWRITEV, unix.SYS_PREADV2, unix.SYS_PWRITEV2, unix.SYS_LSEEK,
	unix.SYS_CLOSE, unix.SYS_CLOSE_RANGE, unix.SYS_OPENAT, unix.SYS_OPENAT2, unix.SYS_NEWFSTATAT,
	unix.SYS_FSTAT, unix.SYS_STATX, unix.SYS_ACCESS, unix.SYS_FACCESSAT, unix.SYS_FACCESSAT2,
	unix.SYS_READLINKAT, unix.SYS_GETDENTS64, unix.SYS_MKDIRAT, unix.SYS_MKNODAT, unix.SYS_UNLINKAT,
	unix.SYS_RENAMEAT, unix.SYS_RENAMEAT2, unix.SYS_LINKAT, unix.SYS_SYMLINKAT, unix.SYS_FCHMOD,
	unix.SYS_FCHMODAT, unix.SYS_FCHOWN, unix.SYS_FCHOWNAT, unix.SYS_UTIMENSAT, unix.SYS_FTRUNCATE,
	unix.SYS_FALLOCATE, unix.SYS_FSYNC, unix.SYS_FDATASYNC, unix.SYS_SYNCFS, unix.SYS_SYNC_FILE_RANGE, unix.SYS_FADVISE64,
	unix.SYS_FLOCK, unix.SYS_FSTATFS, unix.SYS_STATFS, unix.SYS_COPY_FILE_RANGE, unix.SYS_SENDFILE,
	unix.SYS_FGETXATTR, unix.SYS_FSETXATTR, unix.SYS_FLISTXATTR, unix.SYS_FREMOVEXATTR,
	unix.SYS_GETXATTR, unix.SYS_LGETXATTR, unix.SYS_SETXATTR, unix.SYS_LSETXATTR,
	unix.SYS_LISTXATTR, unix.SYS_LLISTXATTR, unix.SYS_REMOVEXATTR, unix.SYS_LREMOVEXATTR,
	unix.SYS_FCNTL, unix.SYS_DUP, unix.SYS_DUP3, unix.SYS_PIPE2, unix.SYS_EVENTFD2, unix.SYS_MEMFD_CREATE,
	unix.SYS_GETCWD,
	// Memory.
	unix.SYS_MMAP, unix.SYS_MUNMAP, unix.SYS_MPROTECT, unix.SYS_MADVISE, unix.SYS_MREMAP, unix.SYS_BRK,
	unix.SYS_MEMBARRIER, unix.SYS_MINCORE,
	// Threads, signals, time.
	unix.SYS_EXIT, unix.SYS_EXIT_GROUP, unix.SYS_FUTEX, unix.SYS_SET_ROBUST_LIST, unix.SYS_RSEQ,
	unix.SYS_SET_TID_ADDRESS, unix.SYS_SIGALTSTACK, unix.SYS_RT_SIGACTION, unix.SYS_RT_SIGPROCMASK,
	unix.SYS_RT_SIGRETURN, unix.SYS_GETTID, unix.SYS_GETPID, unix.SYS_GETPPID, unix.SYS_SCHED_YIELD,
	unix.SYS_SCHED_GETAFFINITY, unix.SYS_SCHED_SETAFFINITY, unix.SYS_ARCH_PRCTL, unix.SYS_RESTART_SYSCALL,
	unix.SYS_NANOSLEEP, unix.SYS_CLOCK_NANOSLEEP, unix.SYS_CLOCK_GETTIME, unix.SYS_CLOCK_GETRES,
	unix.SYS_GETTIMEOFDAY, unix.SYS_TIMER_CREATE, unix.SYS_TIMER_SETTIME, unix.SYS_TIMER_GETTIME,
	unix.SYS_TIMER_DELETE, unix.SYS_SETITIMER, unix.SYS_GETITIMER, unix.SYS_TIMES, unix.SYS_GETRUSAGE,
	unix.SYS_TIMERFD_CREATE, unix.SYS_TIMERFD_SETTIME, unix.SYS_TIMERFD_GETTIME,
	// Waiting.
	unix.SYS_EPOLL_CREATE1, unix.SYS_EPOLL_CTL, unix.SYS_EPOLL_PWAIT, unix.SYS_EPOLL_PWAIT2,
	unix.SYS_EPOLL_WAIT, unix.SYS_POLL, unix.SYS_PPOLL, unix.SYS_SELECT, unix.SYS_PSELECT6,
	// Sockets (socket itself is checked).
	unix.SYS_SOCKETPAIR, unix.SYS_CONNECT, unix.SYS_BIND, unix.SYS_LISTEN, unix.SYS_ACCEPT,
	unix.SYS_ACCEPT4, unix.SYS_SENDTO, unix.SYS_RECVFROM, unix.SYS_SENDMSG, unix.SYS_RECVMSG,
	unix.SYS_SENDMMSG, unix.SYS_RECVMMSG, unix.SYS_SETSOCKOPT, unix.SYS_GETSOCKOPT,
	unix.SYS_GETSOCKNAME, unix.SYS_GETPEERNAME, unix.SYS_SHUTDOWN,
	// Identity and limits (read, and the monitor's own rlimits).
	unix.SYS_UNAME, unix.SYS_GETRANDOM, unix.SYS_PRLIMIT64, unix.SYS_GETRLIMIT, unix.SYS_SETRLIMIT,
	unix.SYS_GETUID, unix.SYS_GETEUID, unix.SYS_GETGID, unix.SYS_GETEGID, unix.SYS_GETRESUID,
	unix.SYS_GETRESGID, unix.SYS_GETGROUPS, unix.SYS_CAPGET, unix.SYS_SYSINFO, unix.SYS_GETPRIORITY,
	unix.SYS_SCHED_GETPARAM, unix.SYS_SCHED_GETSCHEDULER, unix.SYS_UMASK,
}

// IoctlTypes are the ioctl request types (the _IOC type byte) allowed:
// KVM (0xAE), terminals and FIONREAD/FIONBIO/FIOCLEX ('T'), sockets (0x89).
var IoctlTypes = []uint32{0xAE, 0x54, 0x89}

// IoctlDenied are terminal requests refused although their type is
// allowed: faking terminal input (TIOCSTI), the console and line
// discipline (TIOCLINUX, TIOCCONS, TIOCSETD).
var IoctlDenied = []uint32{unix.TIOCSTI, unix.TIOCLINUX, unix.TIOCCONS, unix.TIOCSETD}

// SocketDomains are the address families socket(2) may create.
var SocketDomains = []uint32{unix.AF_UNIX, unix.AF_INET, unix.AF_INET6, unix.AF_NETLINK}

// PrctlOptions are the prctl options allowed: naming threads and
// mappings, reading dumpability, no_new_privs and capabilities.
var PrctlOptions = []uint32{unix.PR_SET_NAME, unix.PR_GET_NAME, unix.PR_SET_VMA, unix.PR_GET_DUMPABLE,
	unix.PR_GET_NO_NEW_PRIVS, unix.PR_SET_NO_NEW_PRIVS, unix.PR_CAPBSET_READ, unix.PR_GET_SECCOMP,
	unix.PR_GET_KEEPCAPS, unix.PR_GET_PDEATHSIG}

// BPF building.
type prog []unix.SockFilter

func stmt(code uint16, k uint32) unix.SockFilter { return unix.SockFilter{Code: code, K: k} }
func jump(code uint16, k uint32, jt, jf uint8) unix.SockFilter {
	return unix.SockFilter{Code: code, Jt: jt, Jf: jf, K: k}
}

const (
	ldAbs  = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
	jeqK   = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
	jsetK  = unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K
	jgeK   = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K
	andK   = unix.BPF_ALU | unix.BPF_AND | unix.BPF_K
	retK   = unix.BPF_RET | unix.BPF_K
	offNR  = 0
	offArc = 4
)

func argLow(i int) uint32 { return uint32(16 + 8*i) }

var (
	retAllow = stmt(retK, unix.SECCOMP_RET_ALLOW)
	retEPERM = stmt(retK, unix.SECCOMP_RET_ERRNO|uint32(unix.EPERM))
)

// oneOf is: A in vals → allow, else EPERM (A already loaded).
func oneOf(vals []uint32) prog {
	var p prog
	for _, v := range vals {
		p = append(p, jump(jeqK, v, 0, 1), retAllow)
	}
	return append(p, retEPERM)
}

// checked are the calls allowed with argument checks: each block starts
// with A = the syscall number known, and ends in a return.
func checked() map[uintptr]prog {
	self := uint32(pid)
	return map[uintptr]prog{
		// Threads only: a new process could exec what the filter forbids
		// this one.
		unix.SYS_CLONE: {stmt(ldAbs, argLow(0)), jump(jsetK, unix.CLONE_THREAD, 0, 1), retAllow, retEPERM},
		// clone3's flags are behind a pointer; ENOSYS makes glibc use clone.
		unix.SYS_CLONE3: {stmt(retK, unix.SECCOMP_RET_ERRNO|uint32(unix.ENOSYS))},
		unix.SYS_IOCTL: append(append(prog{stmt(ldAbs, argLow(1))}, deny(IoctlDenied)...),
			append(prog{stmt(andK, 0xff00)}, oneOf(shifted(IoctlTypes))...)...),
		unix.SYS_SOCKET: append(prog{stmt(ldAbs, argLow(0))}, oneOf(SocketDomains)...),
		unix.SYS_PRCTL:  append(prog{stmt(ldAbs, argLow(0))}, oneOf(PrctlOptions)...),
		// Signals to this process only (Go's preemption, crash re-raise).
		unix.SYS_KILL:   append(prog{stmt(ldAbs, argLow(0))}, oneOf([]uint32{self})...),
		unix.SYS_TGKILL: append(prog{stmt(ldAbs, argLow(0))}, oneOf([]uint32{self})...),
	}
}

// deny is: A in vals → EPERM, else fall through (A kept).
func deny(vals []uint32) prog {
	var p prog
	for _, v := range vals {
		p = append(p, jump(jeqK, v, 0, 1), retEPERM)
	}
	return p
}

func shifted(types []uint32) []uint32 {
	out := make([]uint32, len(types))
	for i, t := range types {
		out[i] = t << 8
	}
	return out
}

// Filter returns the seccomp program Install loads.
func Filter() []unix.SockFilter {
	p := prog{
		stmt(ldAbs, offArc),
		jump(jeqK, unix.AUDIT_ARCH_X86_64, 1, 0),
		stmt(retK, unix.SECCOMP_RET_KILL_PROCESS),
		stmt(ldAbs, offNR),
		jump(jgeK, 0x40000000, 0, 1), // the x32 ABI
		retEPERM,
	}
	for nr, block := range checked() {
		if len(block) > 255 {
			panic("sandbox: argument check too long")
		}
		p = append(p, jump(jeqK, uint32(nr), 0, uint8(len(block))))
		p = append(p, block...)
	}
	for _, nr := range Allowed {
		p = append(p, jump(jeqK, uint32(nr), 0, 1), retAllow)
	}
	return append(p, retEPERM)
}

func installFilter() error {
	f := Filter()
	fprog := unix.SockFprog{Len: uint16(len(f)), Filter: &f[0]}
	r, _, e := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC,
		uintptr(unsafe.Pointer(&fprog)))
	if e != 0 {
		return fmt.Errorf("sandbox: seccomp: %v", e)
	}
	if r != 0 { // TSYNC names a thread it could not synchronise
		return fmt.Errorf("sandbox: seccomp: thread %d has another filter", r)
	}
	return nil
}
