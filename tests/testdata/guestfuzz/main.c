// guestfuzz issues random system calls with random arguments for a while
// and prints how many it made. It is the guest half of the hardening test
// (tests/hardening_test.go, TestGuestFuzz): rumpgo must survive every call,
// the guest must end cleanly, and no host file outside its volume may
// change.
//
//	guestfuzz SEED SECONDS BASE [-v]
//
// -v prints each call (number and arguments) before making it.
// BASE is a host directory whose BASE/vol is mounted read-write at the same
// path in the guest; BASE/sentinel (not mounted) must stay as it is. Paths
// given to the calls come from a pool aimed at both (.., symlinks planted by
// the test, /proc/self/root, /proc/self/fd, long names), at /tmp, /dev and
// /proc.
//
// Numbers 0..450 are drawn except those that would end or replace the
// fuzzer rather than test rumpgo: exit, exit_group, rt_sigreturn, the
// fork/clone/exec family, the kill family (kill, tkill, tgkill,
// rt_*sigqueueinfo, pidfd_send_signal), ptrace and process_vm_writev/readv
// (they can write anywhere in the fuzzer), arch_prctl (FS is glibc's TLS),
// seccomp, the calls that change the signal state the watchdog needs
// (rt_sigaction, rt_sigprocmask, rt_sigsuspend, setitimer, alarm,
// timer_create) and those that block with a signal mask of their own
// (ppoll, pselect6, epoll_pwait, epoll_pwait2, io_pgetevents), close_range
// (it would close the report descriptor) and fallocate (it would fill the
// host disk through the volume). A 20 ms SIGALRM interrupts every other call
// that blocks. Memory-management calls (mmap, munmap, mprotect, mremap,
// madvise, brk, ...) get addresses inside a region of their own, so they
// cannot unmap the fuzzer; every other pointer argument is NULL, unmapped,
// a kernel or non-canonical address, read-only text, a path, or a place in
// a scratch area followed by a guard page.
//
// One step in 32 is a scenario instead: a short sequence aimed at the paths
// of issue 22's crashes and hangs — ping sockets asking for packet info,
// descriptors of removed directories through /proc/self/fd, splice
// between small pipes, error-queue reads, waitid for stops, AF_UNIX
// datagrams with send timeouts and empty messages, process_vm_readv into
// the scratch area, unshare and clone3 with random flags, a robust list —
// with random lengths and flags where they cannot hurt the fuzzer.
#define _GNU_SOURCE
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define NR_MAX 450
#define REPORT_FD 900
#define SCRATCH (256 << 10)
#define MMREG (16 << 20)

static void onsignal(int sig) { (void)sig; }

static uint64_t rng;
static uint64_t next(void) {
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}
static uint64_t below(uint64_t n) { return n ? next() % n : 0; }

static char *scratch;   // SCRATCH bytes, then a PROT_NONE guard page
static char *mmreg;     // MMREG bytes for the memory-management calls
static uintptr_t brk0;  // the initial break: never given a lower one
static const char *base;

static void out(const char *s) {
	size_t n = strlen(s);
	while (n > 0) {
		ssize_t w = write(REPORT_FD, s, n);
		if (w < 0)
			continue; // EINTR, or EAGAIN if a call made it non-blocking
		s += w;
		n -= (size_t)w;
	}
}

static char *utoa(uint64_t v, char *buf) {
	char tmp[24];
	int i = 0;
	do {
		tmp[i++] = '0' + v % 10;
		v /= 10;
	} while (v);
	while (i)
		*buf++ = tmp[--i];
	*buf = 0;
	return buf;
}

static int excluded(long nr) {
	switch (nr) {
	case SYS_exit: case SYS_exit_group: case SYS_rt_sigreturn:
	case SYS_clone: case SYS_fork: case SYS_vfork: case SYS_clone3:
	case SYS_execve: case SYS_execveat:
	case SYS_kill: case SYS_tkill: case SYS_tgkill: case SYS_rt_sigqueueinfo:
	case SYS_rt_tgsigqueueinfo: case SYS_pidfd_send_signal:
	case SYS_ptrace: case SYS_process_vm_readv: case SYS_process_vm_writev:
	case SYS_arch_prctl: case SYS_seccomp:
	case SYS_rt_sigaction: case SYS_rt_sigprocmask: case SYS_rt_sigsuspend:
	case SYS_setitimer: case SYS_alarm: case SYS_timer_create:
	case SYS_ppoll: case SYS_pselect6: case SYS_epoll_pwait: case SYS_epoll_pwait2:
	case SYS_io_pgetevents: case SYS_close_range: case SYS_fallocate:
		return 1;
	}
	return 0;
}

// memory-management calls: their address arguments stay in mmreg.
static int mmcall(long nr) {
	switch (nr) {
	case SYS_mmap: case SYS_munmap: case SYS_mprotect: case SYS_mremap:
	case SYS_madvise: case SYS_msync: case SYS_mincore: case SYS_mlock:
	case SYS_munlock: case SYS_mlock2: case SYS_pkey_mprotect:
	case SYS_remap_file_pages: case SYS_shmat: case SYS_shmdt: case SYS_mbind:
	case SYS_process_madvise:
		return 1;
	}
	return 0;
}

static char paths[40][6000];
static int npaths;

static void addpath(const char *a, const char *b) {
	if (npaths >= 40)
		return;
	size_t la = strlen(a), lb = b ? strlen(b) : 0;
	if (la + lb >= sizeof paths[0])
		return;
	memcpy(paths[npaths], a, la);
	if (b)
		memcpy(paths[npaths] + la, b, lb);
	paths[npaths][la + lb] = 0;
	npaths++;
}

static void initpaths(void) {
	static const char *const guest[] = {
		"/", ".", "..", "", "/tmp", "/tmp/fz", "/tmp/fz/a", "/dev/null",
		"/dev/zero", "/dev/full", "/dev/urandom", "/dev/shm/fz", "/etc/passwd",
		"/proc/self/status", "/proc/self/fd/3", "/proc/self/cwd/..",
		"../../../../../../../../etc/shadow", "/proc/self/maps",
	};
	static const char *const host[] = {
		"/vol", "/vol/f1", "/vol/d1", "/vol/d1/f2", "/vol/out/keep",
		"/vol/abs/keep", "/vol/../sentinel/keep", "/vol/d1/../../sentinel",
		"/sentinel/keep", "/sentinel", "/vol/new", "/vol/d1/new",
	};
	for (size_t i = 0; i < sizeof guest / sizeof *guest; i++)
		addpath(guest[i], 0);
	for (size_t i = 0; i < sizeof host / sizeof *host; i++)
		addpath(base, host[i]);
	char tmp[6000];
	strcpy(tmp, "/proc/self/root");
	strcat(tmp, base);
	addpath(tmp, "/sentinel/keep");
	memset(tmp, 'n', 300); // a name past NAME_MAX
	tmp[300] = 0;
	addpath(base, "/vol/");
	strcat(paths[npaths - 1], tmp);
	for (int i = 0; i < 2500; i++) // a path past PATH_MAX
		memcpy(tmp + 2 * i, "a/", 2);
	tmp[5000] = 0;
	addpath("/tmp/", tmp);
}

// a place in scratch for a path: slot i of 4, rewritten for every call.
static uint64_t pathptr(int slot) {
	char *p = scratch + SCRATCH - (uint64_t)(slot + 1) * 6000 - 1;
	const char *s = paths[below(npaths)];
	strcpy(p, s);
	if (below(8) == 0) { // one more random component
		char *e = p + strlen(p);
		*e++ = '/';
		*e++ = 'a' + below(26);
		*e = 0;
	}
	return (uint64_t)p;
}

static uint64_t ptrarg(int slot) {
	switch (below(12)) {
	case 0: return 0;
	case 1: return 0x1000 + below(16) * 0x1000;            // unmapped, low
	case 2: return 0xffffffff81000000ull + below(0x10000); // the kernel's half
	case 3: return 0x8000000000000000ull + below(1 << 20); // non-canonical
	case 4: return (uint64_t)&onsignal;                         // read-only text
	case 5: return (uint64_t)(scratch + SCRATCH - below(64)); // straddles the guard page
	case 6: case 7: return pathptr(slot);
	default: return (uint64_t)(scratch + below(SCRATCH / 2)); // valid, writable
	}
}

static uint64_t intarg(void) {
	switch (below(12)) {
	case 0: return below(64);                // descriptors, small flags
	case 1: return (uint64_t)-1;
	case 2: return next();
	case 3: return (uint32_t)next();
	case 4: return 0xffffffffull;           // every flag bit
	case 5: return 1ull << below(64);
	case 6: return 1ull << 31;               // huge lengths
	case 7: return 1ull << 40;
	case 8: return 0x7ffff000;
	case 9: return (uint64_t)-4096;
	case 10: return below(4096);
	default: return below(16);
	}
}

static uint64_t mmaddr(void) {
	uint64_t a = (uint64_t)mmreg + below(MMREG / 4096) * 4096;
	if (below(8) == 0)
		a += below(4096); // unaligned
	return a;
}

static uint64_t mmlen(uint64_t addr) {
	switch (below(4)) {
	case 0: return 0;
	case 1: return (1ull << 47) + below(1ull << 40); // past the address space
	default: return below((uint64_t)mmreg + MMREG - addr + 1);
	}
}



// scenario runs one structured sequence; it returns how many calls it made.
static int scenario(void) {
	char *b = scratch; // first half: buffers; pointers stay inside scratch
	int n = 0;
	switch (below(9)) {
	case 0: { // ping socket with packet info (posix/inet controlMessages)
		int v6 = below(2);
		int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
		int one = 1;
		setsockopt(fd, SOL_IP, IP_PKTINFO, &one, sizeof one);
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
		setsockopt(fd, SOL_IP, IP_RECVTTL, &one, sizeof one);
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof one);
		unsigned char echo[8] = {v6 ? 128 : 8};
		struct sockaddr_in6 to6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
		struct sockaddr_in to4 = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		sendto(fd, echo, sizeof echo, 0, v6 ? (void *)&to6 : (void *)&to4, v6 ? sizeof to6 : sizeof to4);
		struct iovec iov = {b, below(128)};
		struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = b + 4096, .msg_controllen = below(256)};
		recvmsg(fd, &m, (int)below(2) * MSG_DONTWAIT | (int)below(2) * MSG_ERRQUEUE);
		close(fd);
		n = 10;
		break;
	}
	case 1: { // a directory whose parent is gone, through /proc/self/fd
		char d[64], e[80], l[64];
		snprintf(d, sizeof d, "/tmp/fz-rm%u", (unsigned)below(1000));
		snprintf(e, sizeof e, "%s/e", d);
		mkdir(d, 0755);
		mkdir(e, 0755);
		int fd = open(e, O_RDONLY | O_DIRECTORY);
		int cwd = open(".", O_RDONLY | O_DIRECTORY);
		rmdir(e);
		if (below(2))
			rmdir(d);
		snprintf(l, sizeof l, "/proc/self/fd/%d", fd);
		readlink(l, b, 256);
		readlink("/proc/self/cwd", b, 256);
		struct stat st;
		stat(l, &st);
		if (chdir(l) == 0 || fchdir(fd) == 0) {
			syscall(SYS_getcwd, b, 256);
			readlink("/proc/self/cwd", b, 256);
			mkdir("x", 0755);
			open("..", O_RDONLY);
		}
		fchdir(cwd);
		close(fd);
		close(cwd);
		rmdir(d);
		n = 16;
		break;
	}
	case 2: { // splice between small pipes
		int a[2], c[2];
		if (pipe2(a, O_NONBLOCK) || pipe2(c, O_NONBLOCK))
			break;
		fcntl(a[1], F_SETPIPE_SZ, 4096 << below(4));
		fcntl(c[1], F_SETPIPE_SZ, 4096 << below(4));
		write(a[1], b, below(65536));
		write(c[1], b, below(8192));
		for (int i = 0; i < 4; i++) {
			int from = below(2) ? a[0] : c[0], to = below(2) ? c[1] : a[1];
			splice(from, 0, to, 0, below(1 << 17), (unsigned)below(16));
			tee(a[0], c[1], below(1 << 17), (unsigned)below(16));
		}
		close(a[0]);
		read(c[0], b, 4096);
		close(a[1]);
		close(c[0]);
		close(c[1]);
		n = 16;
		break;
	}
	case 3: { // error queues and waits with nothing to wait for
		int fd = socket(below(2) ? AF_INET : AF_INET6, below(2) ? SOCK_DGRAM : SOCK_STREAM, 0);
		struct iovec iov = {b, below(256)};
		struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = b + 4096, .msg_controllen = below(256)};
		recvmsg(fd, &m, MSG_ERRQUEUE | (int)below(2) * MSG_PEEK);
		recv(fd, b, below(256), MSG_ERRQUEUE);
		close(fd);
		siginfo_t si;
		waitid((idtype_t)below(3), below(4), &si, (below(2) ? WSTOPPED : 0) | (below(2) ? WCONTINUED : 0) | (below(2) ? WNOHANG : 0) | (below(4) == 0 ? WEXITED : 0));
		n = 5;
		break;
	}
	case 4: { // AF_UNIX datagrams: send timeouts, empty messages, credentials
		int sv[2];
		int types[] = {SOCK_DGRAM, SOCK_SEQPACKET, SOCK_STREAM};
		if (socketpair(AF_UNIX, types[below(3)], 0, sv))
			break;
		struct timeval tv = {0, below(20000)};
		setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		int one = 1;
		setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
		for (int i = 0; i < 12; i++)
			send(sv[0], b, below(2) ? 0 : below(70000), (int)below(2) * MSG_DONTWAIT);
		write(sv[0], b, 0);
		struct iovec iov = {b, below(256)};
		struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = b + 4096, .msg_controllen = below(256)};
		recvmsg(sv[1], &m, (int)below(2) * MSG_PEEK | MSG_DONTWAIT);
		close(sv[0]);
		recv(sv[1], b, below(256), MSG_DONTWAIT);
		close(sv[1]);
		n = 20;
		break;
	}
	case 5: { // process_vm_readv into scratch, from anywhere
		struct iovec l[2] = {{b, below(8192)}, {b + 8192, below(1 << 20) & ~0u}};
		l[1].iov_len = below(2) ? below(8192) : next();
		struct iovec r[2] = {{(void *)ptrarg(0), intarg()}, {(void *)ptrarg(1), intarg()}};
		syscall(SYS_process_vm_readv, below(4) ? getpid() : (pid_t)intarg(), l, 1 + below(2), r, 1 + below(2), below(8) ? 0 : intarg());
		readv(-1 + (int)below(4), l, 1 + below(2));
		n = 2;
		break;
	}
	case 6: { // unshare and clone3 with flags that never make a process
		syscall(SYS_unshare, (next() & ~(uint64_t)(CLONE_FILES | CLONE_FS | CLONE_SYSVSEM)) | (below(2) ? 0x10000000 /* CLONE_NEWUSER */ : 0));
		uint64_t ca[16] = {0};
		ca[0] = (next() | 0x00020000 /* CLONE_NEWNS */) & ~(uint64_t)(CLONE_VM | CLONE_VFORK);
		ca[4] = below(65);
		ca[8] = below(2) ? (uint64_t)b : 0;
		ca[9] = below(4);
		syscall(SYS_clone3, ca, 64 + below(4) * 8);
		n = 2;
		break;
	}
	case 7: { // a robust list with junk in it (walked when a thread ends)
		uint64_t *h = (uint64_t *)(b + 8192);
		h[0] = below(2) ? (uint64_t)h : (uint64_t)ptrarg(0);
		h[1] = intarg();
		h[2] = below(2) ? 0 : (uint64_t)ptrarg(1);
		syscall(SYS_set_robust_list, h, below(8) ? 24 : intarg());
		syscall(SYS_get_robust_list, 0, b + 16384, b + 16392);
		n = 2;
		break;
	}
	default: { // signalfd of the fuzzer's own signals, read with the watchdog on
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		int fd = syscall(SYS_signalfd4, -1, &set, 8, below(2) ? O_NONBLOCK : 0);
		read(fd, b, 128 * (1 + below(2)));
		close(fd);
		n = 3;
	}
	}
	return n;
}

int main(int argc, char **argv) {
	if (argc < 4) {
		static const char usage[] = "usage: guestfuzz SEED SECONDS BASE\n";
		write(2, usage, sizeof usage - 1);
		return 2;
	}
	rng = strtoull(argv[1], 0, 0) * 0x9e3779b97f4a7c15ull + 1;
	int seconds = atoi(argv[2]);
	base = argv[3];
	int verbose = argc > 4 && strcmp(argv[4], "-v") == 0;
	dup2(1, REPORT_FD);

	// Every catchable signal interrupts and is otherwise ignored: SIGPIPE,
	// SIGXFSZ, SIGIO from O_ASYNC, F_SETSIG's choices; SIGALRM is the
	// watchdog that ends any call that blocks.
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = onsignal;
	for (int s = 1; s < 65; s++)
		if (s != SIGKILL && s != SIGSTOP)
			sigaction(s, &sa, 0);
	struct itimerval it = {{0, 20000}, {0, 20000}};
	setitimer(ITIMER_REAL, &it, 0);

	scratch = mmap(0, SCRATCH + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mmreg = mmap(0, MMREG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (scratch == MAP_FAILED || mmreg == MAP_FAILED) {
		out("guestfuzz: mmap failed\n");
		return 1;
	}
	mprotect(scratch + SCRATCH, 4096, PROT_NONE);
	brk0 = (uintptr_t)sbrk(0);
	initpaths();

	// fd-making calls are drawn more often, so later calls find descriptors.
	static const long makers[] = {
		SYS_open, SYS_openat, SYS_socket, SYS_socketpair, SYS_pipe2,
		SYS_eventfd2, SYS_epoll_create1, SYS_memfd_create, SYS_timerfd_create,
		SYS_signalfd4, SYS_dup, SYS_inotify_init1, SYS_creat, SYS_mkdir,
		SYS_symlink, SYS_openat2, SYS_accept4, SYS_bind, SYS_listen, SYS_connect,
	};
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	uint64_t calls = 0, errors = 0;
	static unsigned char seen[NR_MAX + 1];
	for (;;) {
		if ((calls & 255) == 0) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			if ((now.tv_sec - t0.tv_sec) * 1000000000ll + (now.tv_nsec - t0.tv_nsec) >= seconds * 1000000000ll)
				break;
		}
		if (below(32) == 0) {
			calls += scenario();
			continue;
		}
		long nr = below(4) == 0 ? makers[below(sizeof makers / sizeof *makers)] : (long)below(NR_MAX + 1);
		if (excluded(nr))
			continue;
		uint64_t a[6];
		for (int i = 0; i < 6; i++)
			a[i] = below(2) ? ptrarg(i & 3) : intarg();
		if (mmcall(nr)) {
			a[0] = mmaddr();
			a[1] = mmlen(a[0]);
			if (nr == SYS_mremap) {
				a[2] = below(2) ? a[1] : mmlen(a[0]);
				a[4] = mmaddr(); // MREMAP_FIXED's new address
			}
		}
		if (nr == SYS_brk && a[0] < brk0)
			a[0] = below(2) ? 0 : brk0 + below(64 << 20);
		if ((nr == SYS_setrlimit || nr == SYS_prlimit64) && (uint32_t)(nr == SYS_setrlimit ? a[0] : a[1]) == RLIMIT_CPU)
			continue; // SIGXCPU's successor is SIGKILL (the resource is an unsigned int: 1<<40 is RLIMIT_CPU too)
		if (nr == SYS_prctl && a[0] == 22 /* PR_SET_SECCOMP */)
			continue;
		if (nr == SYS_futex && ((a[1] & 0x7f) == 6 || (a[1] & 0x7f) == 11 || (a[1] & 0x7f) == 13))
			continue; // the PI locks restart after a signal, as on Linux: forever
		if (verbose) { // each call before it is made: which one hangs
			char line[256], *p = line;
			p = utoa((uint64_t)nr, p);
			for (int i = 0; i < 6; i++) {
				*p++ = ' ';
				p = utoa(a[i], p);
			}
			*p++ = '\n';
			*p = 0;
			out(line);
		}
		long r = syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
		calls++;
		seen[nr] = 1;
		if (r == -1)
			errors++;
	}
	int distinct = 0;
	for (int i = 0; i <= NR_MAX; i++)
		distinct += seen[i];
	char line[256], *p = line;
	p = stpcpy(p, "\nguestfuzz: survived ");
	p = utoa(calls, p);
	p = stpcpy(p, " syscalls (");
	p = utoa(errors, p);
	p = stpcpy(p, " failed, ");
	p = utoa((uint64_t)distinct, p);
	p = stpcpy(p, " distinct numbers) in ");
	p = utoa((uint64_t)seconds, p);
	p = stpcpy(p, " s, seed ");
	p = stpcpy(p, argv[1]);
	p = stpcpy(p, "\n");
	out(line);
	syscall(SYS_exit_group, 0);
	return 0;
}
