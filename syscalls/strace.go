package syscalls

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// argKind says how --strace prints an argument.
type argKind int

const (
	aInt    argKind = iota // signed decimal
	aUint                  // unsigned decimal
	aHex                   // 0x...
	aPtr                   // NULL or 0x...
	aFD                    // descriptor
	aDirFD                 // descriptor or AT_FDCWD
	aPath                  // NUL-terminated string
	aBufIn                 // bytes the call reads; length is the next argument
	aBufOut                // bytes the call fills; length is the result
	aOctal                 // file mode
	aProt
	aMapFlags
	aOpenFlags
	aCloneFlags
	aFutexOp
	aSignal
	aSigHow
	aClockID
	aArchPrctl
	aMadvise
	aResource
	aFcntlCmd
	aPrctl  // prctl option
	aPolicy // scheduling policy
	aEpollOp
	aPipeFDs // int[2] the call fills
	aSockDomain
	aSockType
	aMsgFlags
)

// retKind says how --strace prints a successful result.
type retKind int

const (
	rInt retKind = iota
	rHex
	rOctal // umask
)

const straceStrMax = 32 // strace -s default

func (k *Kernel) strace(t *Thread, nr uint64, e *Entry, a Args, ret uint64, errno unix.Errno) {
	var b strings.Builder
	if t.Task.TID != 1 { // strace -f marks every task but the first
		fmt.Fprintf(&b, "[pid %d] ", t.Task.TID)
	}
	b.WriteString(Name(nr))
	b.WriteByte('(')
	var kinds []argKind
	if e != nil {
		kinds = e.args
	} else {
		kinds = []argKind{aHex, aHex, aHex, aHex, aHex, aHex}
	}
	for i, kind := range kinds {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(t.formatArg(kind, a, i, ret, errno))
	}
	b.WriteString(") = ")
	switch {
	case errno != 0:
		fmt.Fprintf(&b, "-1 %s (%s)", unix.ErrnoName(errno), errnoText(errno))
	case t.gone:
		b.WriteString("?")
	case e != nil && e.ret == rHex:
		fmt.Fprintf(&b, "%#x", ret)
	case e != nil && e.ret == rOctal:
		fmt.Fprintf(&b, "%#o", ret)
	default:
		fmt.Fprintf(&b, "%d", int64(ret))
	}
	b.WriteByte('\n')
	k.straceMu.Lock()
	k.Strace.Write([]byte(b.String()))
	k.straceMu.Unlock()
}

func errnoText(e unix.Errno) string {
	s := e.Error()
	if s == "" {
		return "Unknown error " + strconv.Itoa(int(e))
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func (t *Thread) formatArg(kind argKind, a Args, i int, ret uint64, errno unix.Errno) string {
	v := a[i]
	switch kind {
	case aInt, aFD:
		return strconv.FormatInt(int64(int32(v)), 10)
	case aUint:
		return strconv.FormatUint(v, 10)
	case aHex:
		return fmt.Sprintf("%#x", v)
	case aPtr:
		if v == 0 {
			return "NULL"
		}
		return fmt.Sprintf("%#x", v)
	case aDirFD:
		if int32(v) == unix.AT_FDCWD {
			return "AT_FDCWD"
		}
		return strconv.FormatInt(int64(int32(v)), 10)
	case aPath:
		s, e := t.mm().CopyInString(v, unix.PathMax)
		if e != 0 {
			return fmt.Sprintf("%#x", v)
		}
		return quote([]byte(s))
	case aBufIn:
		return t.formatBuf(v, a[i+1])
	case aBufOut:
		if errno != 0 {
			return fmt.Sprintf("%#x", v)
		}
		return t.formatBuf(v, ret)
	case aOctal:
		return fmt.Sprintf("%#o", v)
	case aProt:
		if v == 0 {
			return "PROT_NONE"
		}
		return flagString(v, protNames)
	case aMapFlags:
		return flagString(v, mapNames)
	case aOpenFlags:
		acc := []string{"O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"}[v&3]
		if rest := v &^ 3; rest != 0 {
			return acc + "|" + flagString(rest, openNames)
		}
		return acc
	case aCloneFlags:
		s := flagString(v&^0xff, cloneNames)
		if sig := v & 0xff; sig != 0 {
			s += "|" + sigName(int(sig))
		}
		return s
	case aFutexOp:
		return futexOpString(v)
	case aSignal:
		return sigName(int(v))
	case aSigHow:
		return enumString(v, []string{"SIG_BLOCK", "SIG_UNBLOCK", "SIG_SETMASK"})
	case aClockID:
		return enumString(v, []string{"CLOCK_REALTIME", "CLOCK_MONOTONIC", "CLOCK_PROCESS_CPUTIME_ID",
			"CLOCK_THREAD_CPUTIME_ID", "CLOCK_MONOTONIC_RAW", "CLOCK_REALTIME_COARSE",
			"CLOCK_MONOTONIC_COARSE", "CLOCK_BOOTTIME"})
	case aArchPrctl:
		if n, ok := archPrctlNames[v]; ok {
			return n
		}
		return fmt.Sprintf("%#x", v)
	case aMadvise:
		if n, ok := madviseNames[v]; ok {
			return n
		}
		return strconv.FormatUint(v, 10)
	case aResource:
		return enumString(v, []string{"RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK",
			"RLIMIT_CORE", "RLIMIT_RSS", "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK",
			"RLIMIT_AS", "RLIMIT_LOCKS", "RLIMIT_SIGPENDING", "RLIMIT_MSGQUEUE", "RLIMIT_NICE",
			"RLIMIT_RTPRIO", "RLIMIT_RTTIME"})
	case aFcntlCmd:
		if n, ok := fcntlNames[v]; ok {
			return n
		}
		return strconv.FormatUint(v, 10)
	case aEpollOp:
		return enumString(v, []string{"0", "EPOLL_CTL_ADD", "EPOLL_CTL_DEL", "EPOLL_CTL_MOD"})
	case aPipeFDs:
		var b [8]byte
		if errno != 0 || t.mm().CopyIn(v, b[:]) != 0 {
			return fmt.Sprintf("%#x", v)
		}
		return fmt.Sprintf("[%d, %d]", int32(binary.LittleEndian.Uint32(b[0:])), int32(binary.LittleEndian.Uint32(b[4:])))
	case aSockDomain, aSockType, aMsgFlags:
		return sockArg(kind, v)
	case aMode:
		s := ""
		if typ, ok := modeTypeNames[v&unix.S_IFMT]; ok {
			s = typ + "|"
		} else if v&unix.S_IFMT != 0 {
			s = fmt.Sprintf("%#o|", v&unix.S_IFMT)
		}
		return s + fmt.Sprintf("%#o", v&0o7777)
	case aAtFlags:
		if v == 0 {
			return "0"
		}
		return flagString(v, atNames)
	case aWhence:
		return enumString(v, []string{"SEEK_SET", "SEEK_CUR", "SEEK_END", "SEEK_DATA", "SEEK_HOLE"})
	case aAccess:
		if v == 0 {
			return "F_OK"
		}
		return flagString(v, []flagName{{4, "R_OK"}, {2, "W_OK"}, {1, "X_OK"}})
	case aRename:
		if v == 0 {
			return "0"
		}
		return flagString(v, []flagName{{1, "RENAME_NOREPLACE"}, {2, "RENAME_EXCHANGE"}, {4, "RENAME_WHITEOUT"}})
	case aStatx:
		return flagString(v, statxNames)
	case aFlock:
		return flagString(v, []flagName{{unix.LOCK_SH, "LOCK_SH"}, {unix.LOCK_EX, "LOCK_EX"}, {unix.LOCK_UN, "LOCK_UN"}, {unix.LOCK_NB, "LOCK_NB"}})
	case aPrctl:
		if n, ok := prctlNames[v]; ok {
			return n
		}
		return fmt.Sprintf("%#x", v)
	case aPolicy:
		s := enumString(v&^SCHED_RESET_ON_FORK, []string{"SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH", "4", "SCHED_IDLE", "SCHED_DEADLINE"})
		if v&SCHED_RESET_ON_FORK != 0 {
			s += "|SCHED_RESET_ON_FORK"
		}
		return s
	}
	return fmt.Sprintf("%#x", v)
}

func (t *Thread) formatBuf(addr, n uint64) string {
	show := min(n, straceStrMax)
	buf := make([]byte, show)
	if t.mm().CopyIn(addr, buf) != 0 {
		return fmt.Sprintf("%#x", addr)
	}
	s := quote(buf)
	if n > show {
		s += "..."
	}
	return s
}

// quote prints bytes as strace does: C escapes, octal for the rest.
func quote(p []byte) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range p {
		switch c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if c < 0x20 || c >= 0x7f {
				fmt.Fprintf(&b, `\%o`, c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

type flagName struct {
	bit  uint64
	name string
}

func flagString(v uint64, names []flagName) string {
	var parts []string
	for _, f := range names {
		if v&f.bit == f.bit && f.bit != 0 {
			parts = append(parts, f.name)
			v &^= f.bit
		}
	}
	if v != 0 || len(parts) == 0 {
		parts = append(parts, fmt.Sprintf("%#x", v))
	}
	return strings.Join(parts, "|")
}

func enumString(v uint64, names []string) string {
	if v < uint64(len(names)) {
		return names[v]
	}
	return strconv.FormatUint(v, 10)
}

func sigName(sig int) string {
	if sig == 0 {
		return "0"
	}
	if n := unix.SignalName(unix.Signal(sig)); n != "" {
		return n
	}
	if sig >= 34 && sig <= 64 {
		return "SIGRTMIN+" + strconv.Itoa(sig-34)
	}
	return strconv.Itoa(sig)
}

var protNames = []flagName{{unix.PROT_READ, "PROT_READ"}, {unix.PROT_WRITE, "PROT_WRITE"}, {unix.PROT_EXEC, "PROT_EXEC"}}

var mapNames = []flagName{
	{unix.MAP_SHARED, "MAP_SHARED"}, {unix.MAP_PRIVATE, "MAP_PRIVATE"}, {unix.MAP_FIXED, "MAP_FIXED"},
	{unix.MAP_ANONYMOUS, "MAP_ANONYMOUS"}, {unix.MAP_GROWSDOWN, "MAP_GROWSDOWN"},
	{unix.MAP_DENYWRITE, "MAP_DENYWRITE"}, {unix.MAP_EXECUTABLE, "MAP_EXECUTABLE"},
	{unix.MAP_LOCKED, "MAP_LOCKED"}, {unix.MAP_NORESERVE, "MAP_NORESERVE"},
	{unix.MAP_POPULATE, "MAP_POPULATE"}, {unix.MAP_NONBLOCK, "MAP_NONBLOCK"},
	{unix.MAP_STACK, "MAP_STACK"}, {unix.MAP_HUGETLB, "MAP_HUGETLB"},
	{unix.MAP_FIXED_NOREPLACE, "MAP_FIXED_NOREPLACE"},
}

var openNames = []flagName{
	{unix.O_CREAT, "O_CREAT"}, {unix.O_EXCL, "O_EXCL"}, {unix.O_NOCTTY, "O_NOCTTY"},
	{unix.O_TRUNC, "O_TRUNC"}, {unix.O_APPEND, "O_APPEND"}, {unix.O_NONBLOCK, "O_NONBLOCK"},
	{unix.O_DSYNC, "O_DSYNC"}, {unix.O_DIRECT, "O_DIRECT"}, {unix.O_LARGEFILE, "O_LARGEFILE"},
	{unix.O_DIRECTORY, "O_DIRECTORY"}, {unix.O_NOFOLLOW, "O_NOFOLLOW"}, {unix.O_NOATIME, "O_NOATIME"},
	{unix.O_CLOEXEC, "O_CLOEXEC"}, {unix.O_PATH, "O_PATH"}, {unix.O_TMPFILE &^ unix.O_DIRECTORY, "O_TMPFILE"},
	{unix.O_SYNC &^ unix.O_DSYNC, "__O_SYNC"},
}

var modeTypeNames = map[uint64]string{
	unix.S_IFREG: "S_IFREG", unix.S_IFDIR: "S_IFDIR", unix.S_IFCHR: "S_IFCHR", unix.S_IFBLK: "S_IFBLK",
	unix.S_IFIFO: "S_IFIFO", unix.S_IFLNK: "S_IFLNK", unix.S_IFSOCK: "S_IFSOCK",
}

var atNames = []flagName{
	{unix.AT_SYMLINK_NOFOLLOW, "AT_SYMLINK_NOFOLLOW"}, {unix.AT_REMOVEDIR, "AT_REMOVEDIR"},
	{unix.AT_SYMLINK_FOLLOW, "AT_SYMLINK_FOLLOW"}, {unix.AT_NO_AUTOMOUNT, "AT_NO_AUTOMOUNT"},
	{unix.AT_EMPTY_PATH, "AT_EMPTY_PATH"}, {unix.AT_STATX_FORCE_SYNC, "AT_STATX_FORCE_SYNC"},
	{unix.AT_STATX_DONT_SYNC, "AT_STATX_DONT_SYNC"}, {unix.AT_RECURSIVE, "AT_RECURSIVE"},
}

var statxNames = []flagName{
	{unix.STATX_BASIC_STATS, "STATX_BASIC_STATS"}, {unix.STATX_TYPE, "STATX_TYPE"}, {unix.STATX_MODE, "STATX_MODE"},
	{unix.STATX_NLINK, "STATX_NLINK"}, {unix.STATX_UID, "STATX_UID"}, {unix.STATX_GID, "STATX_GID"},
	{unix.STATX_ATIME, "STATX_ATIME"}, {unix.STATX_MTIME, "STATX_MTIME"}, {unix.STATX_CTIME, "STATX_CTIME"},
	{unix.STATX_INO, "STATX_INO"}, {unix.STATX_SIZE, "STATX_SIZE"}, {unix.STATX_BLOCKS, "STATX_BLOCKS"},
	{unix.STATX_BTIME, "STATX_BTIME"}, {unix.STATX_MNT_ID, "STATX_MNT_ID"},
}

var cloneNames = []flagName{
	{unix.CLONE_VM, "CLONE_VM"}, {unix.CLONE_FS, "CLONE_FS"}, {unix.CLONE_FILES, "CLONE_FILES"},
	{unix.CLONE_SIGHAND, "CLONE_SIGHAND"}, {unix.CLONE_PIDFD, "CLONE_PIDFD"},
	{unix.CLONE_PTRACE, "CLONE_PTRACE"}, {unix.CLONE_VFORK, "CLONE_VFORK"},
	{unix.CLONE_PARENT, "CLONE_PARENT"}, {unix.CLONE_THREAD, "CLONE_THREAD"},
	{unix.CLONE_NEWNS, "CLONE_NEWNS"}, {unix.CLONE_SYSVSEM, "CLONE_SYSVSEM"},
	{unix.CLONE_SETTLS, "CLONE_SETTLS"}, {unix.CLONE_PARENT_SETTID, "CLONE_PARENT_SETTID"},
	{unix.CLONE_CHILD_CLEARTID, "CLONE_CHILD_CLEARTID"}, {unix.CLONE_DETACHED, "CLONE_DETACHED"},
	{unix.CLONE_UNTRACED, "CLONE_UNTRACED"}, {unix.CLONE_CHILD_SETTID, "CLONE_CHILD_SETTID"},
	{unix.CLONE_NEWCGROUP, "CLONE_NEWCGROUP"}, {unix.CLONE_NEWUTS, "CLONE_NEWUTS"},
	{unix.CLONE_NEWIPC, "CLONE_NEWIPC"}, {unix.CLONE_NEWUSER, "CLONE_NEWUSER"},
	{unix.CLONE_NEWPID, "CLONE_NEWPID"}, {unix.CLONE_NEWNET, "CLONE_NEWNET"}, {unix.CLONE_IO, "CLONE_IO"},
}

var archPrctlNames = map[uint64]string{
	ARCH_SET_GS: "ARCH_SET_GS", ARCH_SET_FS: "ARCH_SET_FS",
	ARCH_GET_FS: "ARCH_GET_FS", ARCH_GET_GS: "ARCH_GET_GS",
	0x1011: "ARCH_GET_CPUID", 0x1012: "ARCH_SET_CPUID",
}

var madviseNames = map[uint64]string{
	unix.MADV_NORMAL: "MADV_NORMAL", unix.MADV_RANDOM: "MADV_RANDOM", unix.MADV_SEQUENTIAL: "MADV_SEQUENTIAL",
	unix.MADV_WILLNEED: "MADV_WILLNEED", unix.MADV_DONTNEED: "MADV_DONTNEED", unix.MADV_FREE: "MADV_FREE",
	unix.MADV_REMOVE: "MADV_REMOVE", unix.MADV_DONTFORK: "MADV_DONTFORK", unix.MADV_DOFORK: "MADV_DOFORK",
	unix.MADV_HUGEPAGE: "MADV_HUGEPAGE", unix.MADV_NOHUGEPAGE: "MADV_NOHUGEPAGE",
	unix.MADV_DONTDUMP: "MADV_DONTDUMP", unix.MADV_DODUMP: "MADV_DODUMP", unix.MADV_COLLAPSE: "MADV_COLLAPSE",
}

var fcntlNames = map[uint64]string{
	unix.F_DUPFD: "F_DUPFD", unix.F_GETFD: "F_GETFD", unix.F_SETFD: "F_SETFD", unix.F_GETFL: "F_GETFL",
	unix.F_SETFL: "F_SETFL", unix.F_DUPFD_CLOEXEC: "F_DUPFD_CLOEXEC",
	unix.F_SETPIPE_SZ: "F_SETPIPE_SZ", unix.F_GETPIPE_SZ: "F_GETPIPE_SZ",
	unix.F_GETLK: "F_GETLK", unix.F_SETLK: "F_SETLK", unix.F_SETLKW: "F_SETLKW",
	unix.F_OFD_GETLK: "F_OFD_GETLK", unix.F_OFD_SETLK: "F_OFD_SETLK", unix.F_OFD_SETLKW: "F_OFD_SETLKW",
	unix.F_GETOWN: "F_GETOWN", unix.F_SETOWN: "F_SETOWN", unix.F_ADD_SEALS: "F_ADD_SEALS", unix.F_GET_SEALS: "F_GET_SEALS",
}

func futexOpString(v uint64) string {
	names := []string{"FUTEX_WAIT", "FUTEX_WAKE", "FUTEX_FD", "FUTEX_REQUEUE", "FUTEX_CMP_REQUEUE",
		"FUTEX_WAKE_OP", "FUTEX_LOCK_PI", "FUTEX_UNLOCK_PI", "FUTEX_TRYLOCK_PI", "FUTEX_WAIT_BITSET",
		"FUTEX_WAKE_BITSET", "FUTEX_WAIT_REQUEUE_PI", "FUTEX_CMP_REQUEUE_PI", "FUTEX_LOCK_PI2"}
	s := enumString(v&0x7f, names)
	if v&FUTEX_PRIVATE_FLAG != 0 {
		s += "_PRIVATE"
	}
	if v&FUTEX_CLOCK_REALTIME != 0 {
		s += "|FUTEX_CLOCK_REALTIME"
	}
	return s
}
