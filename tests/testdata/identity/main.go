// Command identity prints what identity, limit, scheduling and prctl calls
// answer, through raw system calls on one locked thread (credentials, nice
// values and names are per thread on Linux). Its first argument picks the
// checks:
//
//	diff  results that do not depend on the host: the differential test
//	      runs it natively and under rumpgo with the host's uid and gid
//	root  rumpgo's default identity (root with every capability)
//	user  rumpgo --user 1000:1000
package main

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

const bad = 8 // an unmapped address: EFAULT

func sys(trap uintptr, a ...uintptr) (int64, syscall.Errno) {
	var v [6]uintptr
	copy(v[:], a)
	r, _, e := syscall.RawSyscall6(trap, v[0], v[1], v[2], v[3], v[4], v[5])
	return int64(r), e
}

func res(r int64, e syscall.Errno) string {
	if e != 0 {
		return unix.ErrnoName(e)
	}
	return fmt.Sprint(r)
}

// show prints label and a call's result: show("getuid")(sys(unix.SYS_GETUID)).
func show(label string) func(int64, syscall.Errno) {
	return func(r int64, e syscall.Errno) { fmt.Printf("%s: %s\n", label, res(r, e)) }
}

func ptr[T any](p *T) uintptr { return uintptr(unsafe.Pointer(p)) }

const inf = ^uint64(0)

func getrlimit(r int) (unix.Rlimit, syscall.Errno) {
	var l unix.Rlimit
	_, e := sys(unix.SYS_PRLIMIT64, 0, uintptr(r), 0, ptr(&l))
	return l, e
}

func setrlimit(r int, cur, max uint64) syscall.Errno {
	l := unix.Rlimit{Cur: cur, Max: max}
	_, e := sys(unix.SYS_SETRLIMIT, uintptr(r), ptr(&l))
	return e
}

func errName(e syscall.Errno) string {
	if e == 0 {
		return "ok"
	}
	return unix.ErrnoName(e)
}

func main() {
	runtime.LockOSThread()
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: identity diff|root|user")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "diff":
		ids()
		limits()
		nofile()
		addressSpace()
		prctl()
		sched()
		info()
	case "root":
		root()
	case "user":
		user()
	}
}

func ids() {
	for _, c := range []struct {
		name string
		nr   uintptr
	}{{"getuid", unix.SYS_GETUID}, {"geteuid", unix.SYS_GETEUID}, {"getgid", unix.SYS_GETGID}, {"getegid", unix.SYS_GETEGID}} {
		show(c.name)(sys(c.nr))
	}
	var r, e, s uint32
	_, en := sys(unix.SYS_GETRESUID, ptr(&r), ptr(&e), ptr(&s))
	fmt.Println("getresuid:", r, e, s, errName(en))
	_, en = sys(unix.SYS_GETRESGID, ptr(&r), ptr(&e), ptr(&s))
	fmt.Println("getresgid:", r, e, s, errName(en))
	show("getresuid bad")(sys(unix.SYS_GETRESUID, bad, ptr(&e), ptr(&s)))
	uid, _ := sys(unix.SYS_GETUID)
	gid, _ := sys(unix.SYS_GETGID)
	show("setuid self")(sys(unix.SYS_SETUID, uintptr(uid)))
	show("setgid self")(sys(unix.SYS_SETGID, uintptr(gid)))
	show("setuid -1")(sys(unix.SYS_SETUID, uintptr(^uint32(0))))
	show("setreuid -1 -1")(sys(unix.SYS_SETREUID, uintptr(^uint32(0)), uintptr(^uint32(0))))
	show("setresuid -1 -1 -1")(sys(unix.SYS_SETRESUID, uintptr(^uint32(0)), uintptr(^uint32(0)), uintptr(^uint32(0))))
	show("setresgid self")(sys(unix.SYS_SETRESGID, uintptr(gid), uintptr(gid), uintptr(gid)))
	show("setfsuid -1")(sys(unix.SYS_SETFSUID, uintptr(^uint32(0))))
	show("setfsgid -1")(sys(unix.SYS_SETFSGID, uintptr(^uint32(0))))
	show("getgroups -1")(sys(unix.SYS_GETGROUPS, uintptr(^uint(0)), 0))
	g := []uint32{uint32(gid)}
	show("setgroups [gid]")(sys(unix.SYS_SETGROUPS, 1, ptr(&g[0])))
	if n, e := sys(unix.SYS_GETGROUPS, 0, 0); e == 0 && n == 1 {
		var out [1]uint32
		_, e := sys(unix.SYS_GETGROUPS, 1, ptr(&out[0]))
		fmt.Println("getgroups:", out[0] == uint32(gid), errName(e))
		show("getgroups bad")(sys(unix.SYS_GETGROUPS, 1, bad))
	}
	hdr := struct{ version, pid uint32 }{0, 0}
	show("capget probe")(sys(unix.SYS_CAPGET, ptr(&hdr), 0))
	fmt.Printf("capget version: %#x\n", hdr.version)
	show("capget bad")(sys(unix.SYS_CAPGET, bad, 0))
	old, _ := sys(unix.SYS_UMASK, 0o027)
	m, _ := sys(unix.SYS_UMASK, uintptr(old))
	fmt.Printf("umask round trip: %#o\n", m)
}

func limits() {
	// Each resource: set what it is, raise the soft limit to the hard one,
	// soft above hard, and (where harmless) a zero soft limit; then restore.
	for _, r := range []int{unix.RLIMIT_CPU, unix.RLIMIT_FSIZE, unix.RLIMIT_DATA, unix.RLIMIT_STACK,
		unix.RLIMIT_CORE, unix.RLIMIT_RSS, unix.RLIMIT_NPROC, unix.RLIMIT_NOFILE, unix.RLIMIT_MEMLOCK,
		unix.RLIMIT_AS, unix.RLIMIT_LOCKS, unix.RLIMIT_SIGPENDING, unix.RLIMIT_MSGQUEUE, unix.RLIMIT_NICE,
		unix.RLIMIT_RTPRIO, unix.RLIMIT_RTTIME} {
		g, e := getrlimit(r)
		var out []string
		out = append(out, errName(e))
		check := func(cur, max uint64) {
			e := setrlimit(r, cur, max)
			if e == 0 {
				if now, _ := getrlimit(r); now.Cur != cur || now.Max != max {
					out = append(out, "mismatch")
					return
				}
			}
			out = append(out, errName(e))
		}
		check(g.Cur, g.Max)
		check(g.Max, g.Max)
		if g.Max != 0 {
			check(g.Max, g.Max-1)
		}
		switch r {
		case unix.RLIMIT_CORE, unix.RLIMIT_MEMLOCK, unix.RLIMIT_LOCKS, unix.RLIMIT_MSGQUEUE, unix.RLIMIT_NICE, unix.RLIMIT_RTPRIO:
			check(0, g.Max)
		}
		out = append(out, errName(setrlimit(r, g.Cur, g.Max)))
		fmt.Printf("rlimit %d: %s\n", r, strings.Join(out, " "))
	}
	var l unix.Rlimit
	show("getrlimit bad resource")(sys(unix.SYS_GETRLIMIT, 16, ptr(&l)))
	show("getrlimit bad pointer")(sys(unix.SYS_GETRLIMIT, unix.RLIMIT_NOFILE, bad))
	show("setrlimit bad pointer")(sys(unix.SYS_SETRLIMIT, unix.RLIMIT_NOFILE, bad))
	show("setrlimit bad pointer and resource")(sys(unix.SYS_SETRLIMIT, 99, bad))
	show("prlimit64 bad resource")(sys(unix.SYS_PRLIMIT64, 0, 99, 0, ptr(&l)))
	show("prlimit64 no such pid")(sys(unix.SYS_PRLIMIT64, 99999999, unix.RLIMIT_NOFILE, 0, ptr(&l)))
	pid, _ := sys(unix.SYS_GETPID)
	show("prlimit64 own pid")(sys(unix.SYS_PRLIMIT64, uintptr(pid), unix.RLIMIT_NOFILE, 0, ptr(&l)))
	show("prlimit64 old only bad")(sys(unix.SYS_PRLIMIT64, 0, unix.RLIMIT_NOFILE, 0, bad))
	show("prlimit64 nothing")(sys(unix.SYS_PRLIMIT64, 0, unix.RLIMIT_NOFILE, 0, 0))
	nofile, _ := getrlimit(unix.RLIMIT_NOFILE)
	show("setrlimit nofile above nr_open")(0, setrlimit(unix.RLIMIT_NOFILE, 1<<30, 1<<30))
	setrlimit(unix.RLIMIT_NOFILE, nofile.Cur, nofile.Max)
}

func nofile() {
	g, _ := getrlimit(unix.RLIMIT_NOFILE)
	setrlimit(unix.RLIMIT_NOFILE, 8, g.Max)
	// Which fds are free differs (Go keeps cgroup files open natively), so
	// print only the last fd dup gave and how it then failed.
	var opened []int64
	var last syscall.Errno
	for i := 0; i < 10; i++ {
		fd, e := sys(unix.SYS_DUP, 0)
		if e != 0 {
			last = e
			break
		}
		opened = append(opened, fd)
	}
	fmt.Println("dup under nofile 8: last", opened[len(opened)-1], "then", errName(last))
	show("fcntl F_DUPFD 8")(sys(unix.SYS_FCNTL, 0, unix.F_DUPFD, 8))
	show("fcntl F_DUPFD 7")(sys(unix.SYS_FCNTL, 0, unix.F_DUPFD, 7))
	show("dup2 to 8")(sys(unix.SYS_DUP2, 0, 8))
	show("dup3 to 9")(sys(unix.SYS_DUP3, 0, 9, 0))
	// Lowering the limit below open descriptors leaves them open.
	show("setrlimit nofile 2")(0, setrlimit(unix.RLIMIT_NOFILE, 2, g.Max))
	show("fcntl F_GETFD 7")(sys(unix.SYS_FCNTL, 7, unix.F_GETFD))
	show("dup under nofile 2")(sys(unix.SYS_DUP, 0))
	for _, fd := range opened {
		sys(unix.SYS_CLOSE, uintptr(fd))
	}
	setrlimit(unix.RLIMIT_NOFILE, g.Cur, g.Max)
	fd, e := sys(unix.SYS_DUP, 0)
	fmt.Println("dup after restore:", errName(e))
	sys(unix.SYS_CLOSE, uintptr(fd))
}

func mmap(length uintptr, prot int) (int64, syscall.Errno) {
	return sys(unix.SYS_MMAP, 0, length, uintptr(prot), unix.MAP_PRIVATE|unix.MAP_ANONYMOUS, ^uintptr(0), 0)
}

func addressSpace() {
	// No allocation between lowering a limit and restoring it: the Go
	// runtime would fail to map its heap.
	as, _ := getrlimit(unix.RLIMIT_AS)
	data, _ := getrlimit(unix.RLIMIT_DATA)
	brk0, _ := sys(unix.SYS_BRK, 0)
	var r [6]int64
	var e [6]syscall.Errno
	e[0] = setrlimit(unix.RLIMIT_AS, 1<<20, as.Max)
	r[1], e[1] = mmap(4096, unix.PROT_READ|unix.PROT_WRITE)
	r[2], e[2] = sys(unix.SYS_BRK, uintptr(brk0)+1<<20)
	setrlimit(unix.RLIMIT_AS, as.Cur, as.Max)
	setrlimit(unix.RLIMIT_DATA, 1<<20, data.Max)
	r[3], e[3] = mmap(4096, unix.PROT_READ|unix.PROT_WRITE)
	r[4], e[4] = mmap(4096, unix.PROT_READ)
	setrlimit(unix.RLIMIT_DATA, data.Cur, data.Max)
	r[5], e[5] = mmap(1<<41, unix.PROT_NONE)
	fmt.Println("setrlimit as 1MiB:", errName(e[0]))
	fmt.Println("mmap rw under as 1MiB:", errName(e[1]))
	fmt.Println("brk +1MiB under as 1MiB moved:", r[2] != brk0)
	fmt.Println("mmap rw under data 1MiB:", errName(e[3]))
	fmt.Println("mmap ro under data 1MiB:", errName(e[4]))
	fmt.Println("mmap 2TiB PROT_NONE unlimited:", errName(e[5]))
	for i, n := range map[int]uintptr{1: 4096, 3: 4096, 4: 4096, 5: 1 << 41} {
		if e[i] == 0 {
			sys(unix.SYS_MUNMAP, uintptr(r[i]), n)
		}
	}
	grown, _ := sys(unix.SYS_BRK, uintptr(brk0)+1<<20)
	fmt.Println("brk +1MiB unlimited moved:", grown != brk0)
	sys(unix.SYS_BRK, uintptr(brk0))
}

func prctl() {
	var name [16]byte
	show("PR_GET_NAME")(sys(unix.SYS_PRCTL, unix.PR_GET_NAME, ptr(&name[0])))
	fmt.Printf("name: %q\n", name)
	long := []byte("rumpgo-test-name-long\x00")
	show("PR_SET_NAME")(sys(unix.SYS_PRCTL, unix.PR_SET_NAME, ptr(&long[0])))
	sys(unix.SYS_PRCTL, unix.PR_GET_NAME, ptr(&name[0]))
	fmt.Printf("name: %q\n", name)
	short := []byte("ab\x00")
	sys(unix.SYS_PRCTL, unix.PR_SET_NAME, ptr(&short[0]))
	sys(unix.SYS_PRCTL, unix.PR_GET_NAME, ptr(&name[0]))
	fmt.Printf("name: %q\n", name)
	show("PR_SET_NAME bad")(sys(unix.SYS_PRCTL, unix.PR_SET_NAME, bad))
	show("PR_GET_NAME bad")(sys(unix.SYS_PRCTL, unix.PR_GET_NAME, bad))

	var sig int32 = -1
	show("PR_GET_PDEATHSIG")(sys(unix.SYS_PRCTL, unix.PR_GET_PDEATHSIG, ptr(&sig)))
	fmt.Println("pdeathsig:", sig)
	show("PR_SET_PDEATHSIG 9")(sys(unix.SYS_PRCTL, unix.PR_SET_PDEATHSIG, 9))
	sys(unix.SYS_PRCTL, unix.PR_GET_PDEATHSIG, ptr(&sig))
	fmt.Println("pdeathsig:", sig)
	show("PR_SET_PDEATHSIG 65")(sys(unix.SYS_PRCTL, unix.PR_SET_PDEATHSIG, 65))
	show("PR_GET_PDEATHSIG bad")(sys(unix.SYS_PRCTL, unix.PR_GET_PDEATHSIG, bad))
	sys(unix.SYS_PRCTL, unix.PR_SET_PDEATHSIG, 0)

	show("PR_GET_DUMPABLE")(sys(unix.SYS_PRCTL, unix.PR_GET_DUMPABLE))
	show("PR_SET_DUMPABLE 2")(sys(unix.SYS_PRCTL, unix.PR_SET_DUMPABLE, 2))
	show("PR_SET_DUMPABLE 0")(sys(unix.SYS_PRCTL, unix.PR_SET_DUMPABLE, 0))
	show("PR_GET_DUMPABLE")(sys(unix.SYS_PRCTL, unix.PR_GET_DUMPABLE))
	sys(unix.SYS_PRCTL, unix.PR_SET_DUMPABLE, 1)

	show("PR_GET_KEEPCAPS")(sys(unix.SYS_PRCTL, unix.PR_GET_KEEPCAPS))
	show("PR_SET_KEEPCAPS 2")(sys(unix.SYS_PRCTL, unix.PR_SET_KEEPCAPS, 2))
	show("PR_SET_KEEPCAPS 1")(sys(unix.SYS_PRCTL, unix.PR_SET_KEEPCAPS, 1))
	show("PR_GET_KEEPCAPS")(sys(unix.SYS_PRCTL, unix.PR_GET_KEEPCAPS))
	sys(unix.SYS_PRCTL, unix.PR_SET_KEEPCAPS, 0)
	show("PR_CAPBSET_READ 41")(sys(unix.SYS_PRCTL, unix.PR_CAPBSET_READ, 41))

	show("PR_SET_TIMERSLACK")(sys(unix.SYS_PRCTL, unix.PR_SET_TIMERSLACK, 12345))
	show("PR_GET_TIMERSLACK")(sys(unix.SYS_PRCTL, unix.PR_GET_TIMERSLACK))

	show("PR_GET_NO_NEW_PRIVS")(sys(unix.SYS_PRCTL, unix.PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0))
	show("PR_GET_NO_NEW_PRIVS arg")(sys(unix.SYS_PRCTL, unix.PR_GET_NO_NEW_PRIVS, 1, 0, 0, 0))
	show("PR_SET_NO_NEW_PRIVS 0")(sys(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0))
	show("PR_SET_NO_NEW_PRIVS 1")(sys(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
	show("PR_GET_NO_NEW_PRIVS")(sys(unix.SYS_PRCTL, unix.PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0))
	show("prctl unknown")(sys(unix.SYS_PRCTL, 12345678))
}

func sched() {
	for _, p := range []int{0, 1, 2, 3, 5, 6, 8, -1} { // 7 is SCHED_EXT since Linux 6.12
		max, e1 := sys(unix.SYS_SCHED_GET_PRIORITY_MAX, uintptr(p))
		min, e2 := sys(unix.SYS_SCHED_GET_PRIORITY_MIN, uintptr(p))
		fmt.Printf("priority range %d: %s..%s\n", p, res(min, e1), res(max, e2))
	}
	show("sched_getscheduler")(sys(unix.SYS_SCHED_GETSCHEDULER, 0))
	show("sched_getscheduler -1")(sys(unix.SYS_SCHED_GETSCHEDULER, ^uintptr(0)))
	show("sched_getscheduler no such pid")(sys(unix.SYS_SCHED_GETSCHEDULER, 99999999))
	var prio int32 = -1
	show("sched_getparam")(sys(unix.SYS_SCHED_GETPARAM, 0, ptr(&prio)))
	fmt.Println("priority:", prio)
	show("sched_getparam NULL")(sys(unix.SYS_SCHED_GETPARAM, 0, 0))
	show("sched_getparam bad")(sys(unix.SYS_SCHED_GETPARAM, 0, bad))
	one, zero := int32(1), int32(0)
	show("sched_setscheduler OTHER 1")(sys(unix.SYS_SCHED_SETSCHEDULER, 0, 0, ptr(&one)))
	show("sched_setscheduler 99")(sys(unix.SYS_SCHED_SETSCHEDULER, 0, 99, ptr(&zero)))
	show("sched_setscheduler DEADLINE")(sys(unix.SYS_SCHED_SETSCHEDULER, 0, 6, ptr(&zero)))
	show("sched_setscheduler bad")(sys(unix.SYS_SCHED_SETSCHEDULER, 0, 0, bad))
	show("sched_setscheduler NULL")(sys(unix.SYS_SCHED_SETSCHEDULER, 0, 0, 0))
	show("sched_setscheduler BATCH")(sys(unix.SYS_SCHED_SETSCHEDULER, 0, 3, ptr(&zero)))
	show("sched_getscheduler")(sys(unix.SYS_SCHED_GETSCHEDULER, 0))
	show("sched_setparam 1")(sys(unix.SYS_SCHED_SETPARAM, 0, ptr(&one)))
	show("sched_setscheduler OTHER")(sys(unix.SYS_SCHED_SETSCHEDULER, 0, 0, ptr(&zero)))
	show("sched_rr_get_interval bad")(sys(unix.SYS_SCHED_RR_GET_INTERVAL, 0, bad))
	show("sched_rr_get_interval -1")(sys(unix.SYS_SCHED_RR_GET_INTERVAL, ^uintptr(0), 0))

	show("getpriority")(sys(unix.SYS_GETPRIORITY, unix.PRIO_PROCESS, 0))
	show("getpriority bad which")(sys(unix.SYS_GETPRIORITY, 5, 0))
	show("getpriority no such pid")(sys(unix.SYS_GETPRIORITY, unix.PRIO_PROCESS, 99999999))
	show("setpriority 5")(sys(unix.SYS_SETPRIORITY, unix.PRIO_PROCESS, 0, 5))
	show("getpriority")(sys(unix.SYS_GETPRIORITY, unix.PRIO_PROCESS, 0))
	show("setpriority 100")(sys(unix.SYS_SETPRIORITY, unix.PRIO_PROCESS, 0, 100))
	show("getpriority")(sys(unix.SYS_GETPRIORITY, unix.PRIO_PROCESS, 0))
	show("setpriority 0")(sys(unix.SYS_SETPRIORITY, unix.PRIO_PROCESS, 0, 0)) // EACCES unless privileged

	n := runtime.NumCPU()
	all := make([]uint64, 16)
	for i := 0; i < n; i++ {
		all[i/64] |= 1 << (i % 64)
	}
	none := make([]uint64, 16)
	high := make([]uint64, 16)
	high[15] = 1 << 63
	show("sched_setaffinity none")(sys(unix.SYS_SCHED_SETAFFINITY, 0, 128, ptr(&none[0])))
	show("sched_setaffinity beyond")(sys(unix.SYS_SCHED_SETAFFINITY, 0, 128, ptr(&high[0])))
	show("sched_setaffinity bad")(sys(unix.SYS_SCHED_SETAFFINITY, 0, 8, bad))
	show("sched_setaffinity all")(sys(unix.SYS_SCHED_SETAFFINITY, 0, 128, ptr(&all[0])))
	var cpu, node uint32 = 1 << 30, 1 << 30
	show("getcpu")(sys(unix.SYS_GETCPU, ptr(&cpu), ptr(&node), 0))
	fmt.Println("cpu < NumCPU:", int(cpu) < n, "node:", node)
	show("getcpu NULL")(sys(unix.SYS_GETCPU, 0, 0, 0))
	show("getcpu bad")(sys(unix.SYS_GETCPU, bad, 0, 0))
}

func info() {
	var si unix.Sysinfo_t
	show("sysinfo")(sys(unix.SYS_SYSINFO, ptr(&si)))
	fmt.Println("sysinfo: mem_unit", si.Unit, "procs>0", si.Procs > 0, "free<=total", si.Freeram <= si.Totalram, "total>0", si.Totalram > 0)
	show("sysinfo bad")(sys(unix.SYS_SYSINFO, bad))
	var ru unix.Rusage
	show("getrusage self")(sys(unix.SYS_GETRUSAGE, 0, ptr(&ru)))
	fmt.Println("maxrss>0:", ru.Maxrss > 0)
	show("getrusage thread")(sys(unix.SYS_GETRUSAGE, 1, ptr(&ru)))
	show("getrusage children")(sys(unix.SYS_GETRUSAGE, ^uintptr(0), ptr(&ru)))
	fmt.Println("children utime:", ru.Utime.Sec, ru.Utime.Usec)
	show("getrusage bad who")(sys(unix.SYS_GETRUSAGE, 5, ptr(&ru)))
	show("getrusage bad")(sys(unix.SYS_GETRUSAGE, 0, bad))
	var tms unix.Tms
	_, e := sys(unix.SYS_TIMES, ptr(&tms))
	fmt.Println("times:", errName(e), "cutime", tms.Cutime)
	_, e = sys(unix.SYS_TIMES, 0)
	fmt.Println("times NULL:", errName(e))
	show("times bad")(sys(unix.SYS_TIMES, bad))
}

func root() {
	fmt.Println("uid", res(sys(unix.SYS_GETUID)), "gid", res(sys(unix.SYS_GETGID)))
	var groups [4]uint32
	n, _ := sys(unix.SYS_GETGROUPS, 4, ptr(&groups[0]))
	fmt.Println("groups:", groups[:n])
	caps()
	show("PR_CAPBSET_READ 24")(sys(unix.SYS_PRCTL, unix.PR_CAPBSET_READ, 24))
	show("PR_GET_DUMPABLE")(sys(unix.SYS_PRCTL, unix.PR_GET_DUMPABLE))
	g, _ := getrlimit(unix.RLIMIT_NOFILE)
	fmt.Println("nofile:", g.Cur, g.Max)
	s, _ := getrlimit(unix.RLIMIT_STACK)
	fmt.Println("stack:", s.Cur, s.Max == inf)
	fmt.Println("raise nofile hard:", errName(setrlimit(unix.RLIMIT_NOFILE, g.Max, g.Max*2)))
	ten := int32(10)
	show("sched_setscheduler FIFO 10")(sys(unix.SYS_SCHED_SETSCHEDULER, 0, 1, ptr(&ten)))
	show("sched_getscheduler")(sys(unix.SYS_SCHED_GETSCHEDULER, 0))
	var prio int32
	sys(unix.SYS_SCHED_GETPARAM, 0, ptr(&prio))
	fmt.Println("priority:", prio)
	var ts unix.Timespec
	sys(unix.SYS_SCHED_RR_GET_INTERVAL, 0, ptr(&ts))
	fmt.Println("FIFO interval:", ts.Sec, ts.Nsec)
	show("sched_setscheduler RR 10")(sys(unix.SYS_SCHED_SETSCHEDULER, 0, 2, ptr(&ten)))
	sys(unix.SYS_SCHED_RR_GET_INTERVAL, 0, ptr(&ts))
	fmt.Println("RR interval:", ts.Sec, ts.Nsec)
	zero := int32(0)
	show("sched_setscheduler OTHER")(sys(unix.SYS_SCHED_SETSCHEDULER, 0, 0, ptr(&zero)))
	show("setpriority -5")(sys(unix.SYS_SETPRIORITY, unix.PRIO_PROCESS, 0, ^uintptr(4)))
	show("getpriority")(sys(unix.SYS_GETPRIORITY, unix.PRIO_PROCESS, 0))
	show("umask")(sys(unix.SYS_UMASK, 0o022))

	// Keep root as the saved uid, drop the rest, and come back.
	show("setresuid 1000 1000 0")(sys(unix.SYS_SETRESUID, 1000, 1000, 0))
	fmt.Println("euid", res(sys(unix.SYS_GETEUID)))
	caps()
	show("setuid 0")(sys(unix.SYS_SETUID, 0))
	fmt.Println("euid", res(sys(unix.SYS_GETEUID)))
	caps()
	// Now for good.
	show("setgroups")(sys(unix.SYS_SETGROUPS, 0, 0))
	show("setgid 1000")(sys(unix.SYS_SETGID, 1000))
	show("setuid 1000")(sys(unix.SYS_SETUID, 1000))
	var r, e, s2 uint32
	sys(unix.SYS_GETRESUID, ptr(&r), ptr(&e), ptr(&s2))
	fmt.Println("resuid:", r, e, s2)
	sys(unix.SYS_GETRESGID, ptr(&r), ptr(&e), ptr(&s2))
	fmt.Println("resgid:", r, e, s2)
	caps()
	show("setuid 0")(sys(unix.SYS_SETUID, 0))
	show("PR_GET_DUMPABLE")(sys(unix.SYS_PRCTL, unix.PR_GET_DUMPABLE))
	g, _ = getrlimit(unix.RLIMIT_NOFILE)
	fmt.Println("raise nofile hard:", errName(setrlimit(unix.RLIMIT_NOFILE, g.Max, g.Max+1)))
}

func caps() {
	hdr := struct{ version, pid uint32 }{0x20080522, 0}
	var data [2]struct{ eff, prm, inh uint32 }
	_, e := sys(unix.SYS_CAPGET, ptr(&hdr), ptr(&data[0]))
	fmt.Printf("caps: %s eff %#x%08x prm %#x%08x\n", errName(e), data[1].eff, data[0].eff, data[1].prm, data[0].prm)
}

func user() {
	fmt.Println("uid", res(sys(unix.SYS_GETUID)), "euid", res(sys(unix.SYS_GETEUID)), "gid", res(sys(unix.SYS_GETGID)), "egid", res(sys(unix.SYS_GETEGID)))
	var groups [4]uint32
	n, _ := sys(unix.SYS_GETGROUPS, 4, ptr(&groups[0]))
	fmt.Println("groups:", groups[:n])
	caps()
	show("setuid 0")(sys(unix.SYS_SETUID, 0))
	show("setuid 1000")(sys(unix.SYS_SETUID, 1000))
	show("setgid 0")(sys(unix.SYS_SETGID, 0))
	show("setgroups")(sys(unix.SYS_SETGROUPS, 0, 0))
	show("setreuid -1 0")(sys(unix.SYS_SETREUID, ^uintptr(0), 0))
	show("setresuid 1000 1000 1000")(sys(unix.SYS_SETRESUID, 1000, 1000, 1000))
	show("setresgid 0 -1 -1")(sys(unix.SYS_SETRESGID, 0, ^uintptr(0), ^uintptr(0)))
	show("setfsuid 0")(sys(unix.SYS_SETFSUID, 0))
	show("setfsuid -1")(sys(unix.SYS_SETFSUID, ^uintptr(0)))
	g, _ := getrlimit(unix.RLIMIT_NOFILE)
	fmt.Println("raise nofile hard:", errName(setrlimit(unix.RLIMIT_NOFILE, g.Max, g.Max+1)))
	fmt.Println("lower nofile hard:", errName(setrlimit(unix.RLIMIT_NOFILE, g.Cur, g.Max-1)))
	fmt.Println("raise it back:", errName(setrlimit(unix.RLIMIT_NOFILE, g.Cur, g.Max)))
	show("setpriority -1")(sys(unix.SYS_SETPRIORITY, unix.PRIO_PROCESS, 0, ^uintptr(0)))
	show("setpriority 5")(sys(unix.SYS_SETPRIORITY, unix.PRIO_PROCESS, 0, 5))
	show("setpriority 0")(sys(unix.SYS_SETPRIORITY, unix.PRIO_PROCESS, 0, 0))
	ten, zero := int32(10), int32(0)
	show("sched_setscheduler FIFO 10")(sys(unix.SYS_SCHED_SETSCHEDULER, 0, 1, ptr(&ten)))
	show("sched_setscheduler IDLE")(sys(unix.SYS_SCHED_SETSCHEDULER, 0, 5, ptr(&zero)))
	show("sched_setscheduler OTHER")(sys(unix.SYS_SCHED_SETSCHEDULER, 0, 0, ptr(&zero)))
	show("PR_CAPBSET_DROP")(sys(unix.SYS_PRCTL, unix.PR_CAPBSET_DROP, 1))
	hdr := struct{ version, pid uint32 }{0x20080522, 0}
	data := [2]struct{ eff, prm, inh uint32 }{{1, 1, 0}}
	show("capset raise")(sys(unix.SYS_CAPSET, ptr(&hdr), ptr(&data[0])))
}
