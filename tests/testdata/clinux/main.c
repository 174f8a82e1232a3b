/* clinux: the kernel behaviour C test suites check, one group per argument
 * (proc, signals, sched), printed so that a native run and a run under
 * rumpgo must print the same lines. With "user" after the group the
 * program first gives up root for uid/gid 1000, as an unprivileged test
 * harness runs. Values that differ between machines (memory size, the
 * kernel release) are compared with each other, never printed. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/epoll.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/sysmacros.h>
#include <pty.h>
#include <termios.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <net/if.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/timex.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int user; /* running as uid 1000 */

static const char *en(int e) {
	static char buf[32];
	switch (e) {
	case 0: return "0";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case ESRCH: return "ESRCH";
	case EINTR: return "EINTR";
	case EBADF: return "EBADF";
	case EAGAIN: return "EAGAIN";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EINVAL: return "EINVAL";
	case ENOSYS: return "ENOSYS";
	case ECHILD: return "ECHILD";
	case EROFS: return "EROFS";
	case ESPIPE: return "ESPIPE";
	case EEXIST: return "EEXIST";
	case EFBIG: return "EFBIG";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ENOTDIR: return "ENOTDIR";
	case EISDIR: return "EISDIR";
	case ENXIO: return "ENXIO";
	case ETXTBSY: return "ETXTBSY";
	case EMFILE: return "EMFILE";
	case ENFILE: return "ENFILE";
	case ENOTSOCK: return "ENOTSOCK";
	case EISCONN: return "EISCONN";
	case ENOTCONN: return "ENOTCONN";
	case EAFNOSUPPORT: return "EAFNOSUPPORT";
	case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
	case EDEADLK: return "EDEADLK";
	case ENOMEM: return "ENOMEM";
	case ENOTTY: return "ENOTTY";
	case ESOCKTNOSUPPORT: return "ESOCKTNOSUPPORT";
	case EPROTOTYPE: return "EPROTOTYPE";
	case EDESTADDRREQ: return "EDESTADDRREQ";
	case ENOPROTOOPT: return "ENOPROTOOPT";
	case EBUSY: return "EBUSY";
	case E2BIG: return "E2BIG";
	case ENAMETOOLONG: return "ENAMETOOLONG";
	case ELOOP: return "ELOOP";
	case EXDEV: return "EXDEV";
	case ENOTEMPTY: return "ENOTEMPTY";
	case EMSGSIZE: return "EMSGSIZE";
	case ETIMEDOUT: return "ETIMEDOUT";
	case ENOSPC: return "ENOSPC";
	case EIO: return "EIO";
	case ENOEXEC: return "ENOEXEC";
	case EADDRINUSE: return "EADDRINUSE";
	case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
	case ECONNREFUSED: return "ECONNREFUSED";
	case EPIPE: return "EPIPE";
	case ERANGE: return "ERANGE";
	case EOVERFLOW: return "EOVERFLOW";
	case ENODEV: return "ENODEV";
	case EALREADY: return "EALREADY";
	case EINPROGRESS: return "EINPROGRESS";
	case ECONNRESET: return "ECONNRESET";
	case EMLINK: return "EMLINK";
	case ESTALE: return "ESTALE";
	case EDOM: return "EDOM";
	case ENOLCK: return "ENOLCK";
	case EIDRM: return "EIDRM";
	case ENOMSG: return "ENOMSG";
	}
	snprintf(buf, sizeof buf, "errno %d", e);
	return buf;
}

/* ret prints a call's result the way the tests compare it: 0 or the errno. */
static void ret(const char *what, long r) { printf("%s: %s\n", what, r < 0 ? en(errno) : "0"); }

static int readfile(const char *path, char *buf, size_t n) {
	int fd = open(path, O_RDONLY);
	if (fd < 0) return -errno;
	ssize_t got = read(fd, buf, n - 1);
	int e = errno;
	close(fd);
	if (got < 0) return -e;
	buf[got] = 0;
	return (int)got;
}

static int writefile(const char *path, const char *s) {
	int fd = open(path, O_WRONLY);
	if (fd < 0) return -errno;
	ssize_t n = write(fd, s, strlen(s));
	int e = errno;
	close(fd);
	return n < 0 ? -e : 0;
}

/* statfield returns field n (1-based, man 5 proc) of a stat file, or NULL. */
static char *statfield(const char *path, int n, char *buf, size_t size) {
	if (readfile(path, buf, size) < 0) return NULL;
	if (n == 1) {
		buf[strcspn(buf, " ")] = 0;
		return buf;
	}
	char *p = strrchr(buf, ')');
	if (!p) return NULL;
	p += 2; /* field 3 */
	for (int i = 3; i < n; i++) {
		p = strchr(p, ' ');
		if (!p) return NULL;
		p++;
	}
	char *end = strchr(p, ' ');
	if (end) *end = 0;
	return p;
}

static char state(pid_t pid) {
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	char *s = statfield(path, 3, buf, sizeof buf);
	return s ? s[0] : '-';
}

/* waitstate polls pid's state for up to 2 s until it is want. */
static char waitstate(pid_t pid, char want) {
	char s = 0;
	for (int i = 0; i < 2000; i++) {
		s = state(pid);
		if (s == want) break;
		usleep(1000);
	}
	return s;
}

/* statusstate is the state /proc/PID/status shows, once it is want. */
static char statusstate(pid_t pid, char want) {
	char path[64], buf[4096];
	snprintf(path, sizeof path, "/proc/%d/status", pid);
	char s = 0;
	for (int i = 0; i < 2000; i++) {
		if (readfile(path, buf, sizeof buf) < 0) return '-';
		char *p = strstr(buf, "\nState:\t");
		s = p ? p[8] : '?';
		if (s == want) break;
		usleep(1000);
	}
	return s;
}

/* spin uses ms of processor time (a loaded machine gives less than the
 * wall clock's). */
static void spin(long ms) {
	struct timespec a, b;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
	do clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
	while ((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 < ms);
}

static volatile char vfork_seen;

static void onsig(int sig) { (void)sig; }

static void *sleeper(void *arg) {
	int *fds = arg;
	char c;
	pthread_setname_np(pthread_self(), "sleeper");
	fds[2] = syscall(SYS_gettid);
	read(fds[0], &c, 1);
	return NULL;
}

static void proc_states(void) {
	printf("self: %c %c\n", state(getpid()), statusstate(getpid(), 'R'));
	pid_t c = fork();
	if (c == 0) {
		for (;;) pause();
	}
	printf("sleeping child: %c %c\n", waitstate(c, 'S'), statusstate(c, 'S'));
	kill(c, SIGSTOP);
	int st;
	waitpid(c, &st, WUNTRACED);
	printf("stopped child: %c %c (WIFSTOPPED %d)\n", waitstate(c, 'T'), statusstate(c, 'T'), WIFSTOPPED(st));
	kill(c, SIGCONT);
	printf("continued child: %c\n", waitstate(c, 'S'));
	kill(c, SIGKILL);
	siginfo_t si;
	waitid(P_PID, c, &si, WEXITED | WNOWAIT);
	printf("zombie child: %c %c\n", waitstate(c, 'Z'), statusstate(c, 'Z'));
	ret("kill(zombie, 0)", kill(c, 0));
	ret("kill(zombie, SIGTERM)", kill(c, SIGTERM));
	char path[64], buf[256];
	snprintf(path, sizeof path, "/proc/%d/cmdline", c);
	printf("zombie cmdline: %d\n", readfile(path, buf, sizeof buf));
	waitpid(c, &st, 0);
	printf("reaped child: %c\n", state(c));
	ret("kill(reaped, 0)", kill(c, 0));

	/* A vfork parent waits uninterruptibly (killable): D. */
	vfork_seen = 0;
	pid_t parent = getpid();
	c = vfork();
	if (c == 0) {
		usleep(20000);
		vfork_seen = state(parent);
		_exit(0);
	}
	waitpid(c, &st, 0);
	printf("vfork parent: %c\n", vfork_seen);

	/* A thread blocked in read: S, under /proc/PID/task/TID and
	 * /proc/TID, which readdir of /proc does not list. */
	int fds[3];
	pipe(fds);
	fds[2] = 0;
	pthread_t th;
	pthread_create(&th, NULL, sleeper, fds);
	while (!fds[2]) usleep(1000);
	int tid = fds[2];
	snprintf(path, sizeof path, "/proc/%d/task/%d/stat", getpid(), tid);
	char big[1024];
	waitstate(tid, 'S');
	char *f = statfield(path, 1, big, sizeof big);
	printf("task stat pid: %s\n", f && atoi(f) == tid ? "tid" : "wrong");
	printf("task state: %c\n", statfield(path, 3, big, sizeof big) ? *statfield(path, 3, big, sizeof big) : '-');
	snprintf(path, sizeof path, "/proc/%d/stat", tid);
	f = statfield(path, 1, big, sizeof big);
	printf("/proc/TID/stat pid: %s\n", f && atoi(f) == tid ? "tid" : "wrong");
	snprintf(path, sizeof path, "/proc/%d/status", tid);
	printf("/proc/TID/status: %s\n", readfile(path, big, sizeof big) > 0 && strstr(big, "Name:\tsleeper") ? "sleeper" : "missing");
	snprintf(path, sizeof path, "/proc/%d/task/%d/comm", getpid(), tid);
	printf("task comm: %s", readfile(path, big, sizeof big) > 0 ? big : "missing\n");
	snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
	printf("self/task/TID/stat: %s\n", readfile(path, big, sizeof big) > 0 ? "ok" : en(errno));
	write(fds[1], "x", 1);
	pthread_join(th, NULL);
}

static void proc_times(void) {
	spin(300);
	char buf[1024];
	char *u = statfield("/proc/self/stat", 14, buf, sizeof buf);
	long ut = u ? atol(u) : -1;
	char *s = statfield("/proc/self/stat", 15, buf, sizeof buf);
	long stt = s ? atol(s) : -1;
	printf("stat utime+stime >= 20 ticks: %d\n", ut >= 0 && stt >= 0 && ut + stt >= 20);
	struct tms t;
	times(&t);
	printf("times utime+stime >= 20: %d\n", t.tms_utime + t.tms_stime >= 20);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("getrusage self >= 0.2 s: %d\n", ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6 >= 0.2);
	getrusage(RUSAGE_CHILDREN, &ru);
	long before = ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec;
	pid_t c = fork();
	if (c == 0) {
		spin(300);
		_exit(0);
	}
	int st;
	struct rusage cru;
	memset(&cru, 0, sizeof cru);
	wait4(c, &st, 0, &cru);
	printf("wait4 rusage >= 0.2 s: %d\n", cru.ru_utime.tv_sec + cru.ru_stime.tv_sec + (cru.ru_utime.tv_usec + cru.ru_stime.tv_usec) / 1e6 >= 0.2);
	getrusage(RUSAGE_CHILDREN, &ru);
	long after = ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec;
	printf("getrusage children grew >= 0.2 s: %d\n", after - before >= 200000);
	times(&t);
	printf("times cutime+cstime >= 20: %d\n", t.tms_cutime + t.tms_cstime >= 20);
}

/* capable reports whether cap is in the effective set. */
static int capable(int cap) {
	struct { uint32_t version; int pid; } h = {0x20080522 /* _LINUX_CAPABILITY_VERSION_3 */, 0};
	struct { uint32_t eff, prm, inh; } d[2];
	if (syscall(SYS_capget, &h, d) < 0) return -1;
	return (int)(d[cap / 32].eff >> (cap % 32) & 1);
}

#define CAP_SYS_RESOURCE 24

static void proc_files(void) {
	char buf[8192];
	/* oom_score_adj: accepted and reported; below the minimum only with
	 * CAP_SYS_RESOURCE. */
	readfile("/proc/self/oom_score_adj", buf, sizeof buf);
	printf("oom_score_adj: %s", buf);
	printf("write oom_score_adj 100: %s\n", en(-writefile("/proc/self/oom_score_adj", "100")));
	readfile("/proc/self/oom_score_adj", buf, sizeof buf);
	printf("oom_score_adj: %s", buf);
	int e = writefile("/proc/self/oom_score_adj", "1001");
	printf("write oom_score_adj 1001: %s\n", en(-e));
	/* Below the minimum takes CAP_SYS_RESOURCE, which a container's
	 * root may lack. */
	e = writefile("/proc/self/oom_score_adj", "-1000");
	printf("write oom_score_adj -1000 as CAP_SYS_RESOURCE says: %d\n", e == 0 ? capable(CAP_SYS_RESOURCE) : e == -EACCES && !capable(CAP_SYS_RESOURCE));
	writefile("/proc/self/oom_score_adj", "100");
	readfile("/proc/self/oom_score_adj", buf, sizeof buf);
	printf("oom_score_adj: %s", buf);
	readfile("/proc/self/oom_adj", buf, sizeof buf);
	printf("oom_adj: %s", buf);
	pid_t c = fork();
	if (c == 0) {
		readfile("/proc/self/oom_score_adj", buf, sizeof buf);
		printf("child inherits oom_score_adj: %s", buf);
		fflush(stdout);
		_exit(0);
	}
	waitpid(c, NULL, 0);

	/* sysctls a program reads, and who may write them. */
	const char *sysctls[] = {"kernel/core_pattern", "kernel/core_uses_pid", "kernel/tainted", "kernel/pid_max",
		"kernel/threads-max", "kernel/osrelease", "kernel/ostype", "kernel/hostname", "kernel/randomize_va_space",
		"kernel/shmmax", "kernel/shmall", "kernel/shmmni", "kernel/msgmax", "kernel/msgmnb", "kernel/msgmni", "kernel/sem",
		"kernel/perf_event_paranoid", "kernel/yama/ptrace_scope", "kernel/keys/maxkeys",
		"vm/overcommit_memory", "vm/overcommit_ratio", "vm/max_map_count", "vm/mmap_min_addr", "vm/swappiness",
		"fs/pipe-max-size", "fs/pipe-user-pages-soft", "fs/nr_open", "fs/file-max", "fs/inotify/max_user_watches",
		"fs/mqueue/msg_max", "fs/protected_symlinks", "fs/protected_hardlinks", "fs/suid_dumpable",
		"net/core/somaxconn", NULL};
	for (const char **s = sysctls; *s; s++) {
		char path[128];
		snprintf(path, sizeof path, "/proc/sys/%s", *s);
		int n = readfile(path, buf, sizeof buf);
		int w = open(path, O_WRONLY);
		printf("%s: read %s, open for write %s\n", *s, n > 0 ? "ok" : en(-n), w < 0 ? en(errno) : "ok");
		if (w >= 0) close(w);
	}

	/* One release: uname and /proc/sys/kernel/osrelease and /proc/version. */
	struct utsname u;
	uname(&u);
	readfile("/proc/sys/kernel/osrelease", buf, sizeof buf);
	buf[strcspn(buf, "\n")] = 0;
	printf("osrelease is uname's: %d\n", strcmp(buf, u.release) == 0);
	readfile("/proc/version", buf, sizeof buf);
	char want[128];
	snprintf(want, sizeof want, "Linux version %s ", u.release);
	printf("/proc/version has it: %d\n", strncmp(buf, want, strlen(want)) == 0);
	int maj = 0, min = 0;
	sscanf(u.release, "%d.%d", &maj, &min);
	printf("release >= 5.10: %d\n", maj > 5 || (maj == 5 && min >= 10));

	/* sysinfo's RAM is meminfo's. */
	struct sysinfo si;
	sysinfo(&si);
	readfile("/proc/meminfo", buf, sizeof buf);
	unsigned long memtotal = 0;
	sscanf(strstr(buf, "MemTotal:") + 9, "%lu", &memtotal);
	printf("sysinfo totalram is MemTotal: %d\n", (unsigned long long)si.totalram * si.mem_unit / 1024 == memtotal);
	printf("sysinfo freeram <= totalram: %d\n", si.freeram <= si.totalram);

	/* A virtual machine's guest: cpuinfo says hypervisor. */
	int fd = open("/proc/cpuinfo", O_RDONLY);
	static char cpu[1 << 20];
	ssize_t n = read(fd, cpu, sizeof cpu - 1), m;
	while (n >= 0 && (m = read(fd, cpu + n, sizeof cpu - 1 - n)) > 0) n += m;
	close(fd);
	cpu[n > 0 ? n : 0] = 0;
	char *flags = strstr(cpu, "\nflags\t");
	char *eol = flags ? strchr(flags + 1, '\n') : NULL;
	if (eol) *eol = 0;
	printf("cpuinfo flags: %s\n", flags ? "yes" : "no");
	printf("cpuinfo hypervisor: %d\n", flags && strstr(flags, " hypervisor") != NULL);

	/* status lines programs parse. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGUSR2, SIG_IGN);
	signal(SIGHUP, onsig);
	raise(SIGUSR1);
	buf[0] = '\n';
	readfile("/proc/self/status", buf + 1, sizeof buf - 1);
	const char *keys[] = {"Name", "Umask", "State", "Tgid", "Pid", "PPid", "Uid", "Gid", "FDSize", "Groups", "VmPeak",
		"VmSize", "VmLck", "VmPin", "VmHWM", "VmRSS", "RssAnon", "RssFile", "RssShmem", "VmData", "VmStk", "VmExe",
		"VmLib", "VmPTE", "VmSwap", "Threads", "SigQ", "SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt", "CapInh",
		"CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp", "Cpus_allowed", "Cpus_allowed_list",
		"voluntary_ctxt_switches", "nonvoluntary_ctxt_switches", NULL};
	for (const char **k = keys; *k; k++) {
		char key[64];
		snprintf(key, sizeof key, "\n%s:\t", *k);
		char *p = strstr(buf, key);
		printf("status %s: %s\n", *k, p ? "yes" : "no");
	}
	const char *show[] = {"SigPnd", "ShdPnd", "SigBlk", "SigIgn", "VmSwap", "VmLck", NULL};
	for (const char **k = show; *k; k++) {
		char key[64];
		snprintf(key, sizeof key, "\n%s:\t", *k);
		char *p = strstr(buf, key);
		if (!p) continue;
		p += strlen(key);
		printf("status %s = %.*s\n", *k, (int)strcspn(p, "\n"), p);
	}
	char *p = strstr(buf, "\nSigCgt:\t");
	if (p) {
		unsigned long long cgt = strtoull(p + 9, NULL, 16);
		printf("SigCgt has SIGHUP: %d\n", (int)(cgt >> (SIGHUP - 1) & 1));
	}
	signal(SIGUSR1, SIG_IGN);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	signal(SIGHUP, SIG_DFL);

	/* mlock shows in VmLck. */
	char *lk = mmap(NULL, 8 << 12, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int r = mlock(lk, 4 << 12);
	printf("mlock 16 KiB: %s\n", r < 0 ? en(errno) : "0");
	readfile("/proc/self/status", buf, sizeof buf);
	p = strstr(buf, "\nVmLck:\t");
	printf("VmLck after mlock: %s\n", p ? (strtol(p + 8, NULL, 10) == 16 ? "16 kB" : "wrong") : "missing");
	munlock(lk, 4 << 12);

	/* pagemap: present pages have bit 63, absent ones not; an
	 * unprivileged reader sees no frame numbers. */
	fd = open("/proc/self/pagemap", O_RDONLY);
	printf("open pagemap: %s\n", fd < 0 ? en(errno) : "ok");
	if (fd >= 0) {
		lk[0] = 1;
		uint64_t ent[2] = {0, 0};
		ssize_t got = pread(fd, ent, sizeof ent, (uintptr_t)lk / 4096 * 8);
		printf("pagemap read: %zd present %d %d swapped %d frame shown %d\n", got, (int)(ent[0] >> 63),
			(int)(ent[1] >> 63), (int)(ent[0] >> 62 & 1), (ent[0] & ((1ull << 55) - 1)) != 0);
		got = pread(fd, ent, 4, 0);
		printf("pagemap unaligned read: %s\n", got < 0 ? en(errno) : "ok");
		close(fd);
	}
	munmap(lk, 8 << 12);
}

static volatile int xfsz_count;
static void count_xfsz(int sig) { (void)sig; xfsz_count++; }

/* sys: calls that answered ENOSYS. Nothing here may change the host when
 * run natively as root: the clock and host name are set only with
 * arguments Linux refuses before its permission check, or as the user. */
static void sys_calls(void) {
	/* personality: query, Linux's own personas, uname under PER_LINUX32. */
	int old = personality(0xffffffff);
	printf("personality query: %#x\n", old);
	printf("personality ADDR_NO_RANDOMIZE: %#x\n", personality(PER_LINUX | ADDR_NO_RANDOMIZE));
	printf("personality now: %#x\n", personality(0xffffffff));
	personality(PER_LINUX32);
	struct utsname u;
	uname(&u);
	printf("PER_LINUX32 machine: %s\n", u.machine);
	pid_t c = fork();
	if (c == 0) {
		printf("child personality: %#x\n", personality(0xffffffff));
		fflush(stdout);
		_exit(0);
	}
	waitpid(c, NULL, 0);
	personality(PER_LINUX);
	uname(&u);
	printf("PER_LINUX machine: %s\n", u.machine);

	/* Setting the clock: invalid arguments first, then the permission. */
	struct timespec ts = {.tv_sec = 1, .tv_nsec = 2000000000};
	ret("clock_settime bad nsec", clock_settime(CLOCK_REALTIME, &ts));
	ts.tv_nsec = 0;
	ret("clock_settime CLOCK_MONOTONIC", clock_settime(CLOCK_MONOTONIC, &ts));
	ret("clock_settime bad clock", clock_settime(12345, &ts));
	ret("clock_settime EFAULT", syscall(SYS_clock_settime, CLOCK_REALTIME, (void *)8));
	struct timeval tv = {.tv_sec = 1, .tv_usec = 1000000};
	ret("settimeofday bad usec", settimeofday(&tv, NULL));
	struct timezone tz = {.tz_minuteswest = 100000};
	ret("settimeofday bad tz", settimeofday(NULL, &tz));
	struct timex tx = {.modes = 0};
	int st = adjtimex(&tx);
	printf("adjtimex query: %s\n", st >= 0 ? "ok" : en(errno));
	if (user) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ret("clock_settime as user", clock_settime(CLOCK_REALTIME, &ts));
		gettimeofday(&tv, NULL);
		ret("settimeofday as user", settimeofday(&tv, NULL));
		tx.modes = ADJ_FREQUENCY;
		ret("adjtimex change as user", adjtimex(&tx));
		ret("sethostname as user", sethostname("x", 1));
		ret("setdomainname as user", setdomainname("x", 1));
	}
	static const char longname[80] = "x";
	ret("sethostname too long", sethostname(longname, 65));

	/* userfaultfd: refused as on a Debian system without privilege. */
	ret("userfaultfd bad flags", syscall(SYS_userfaultfd, 0x100));

	/* Hints about file pages, and their checks. */
	char path[] = "/tmp/clinux.XXXXXX";
	int fd = mkstemp(path);
	unlink(path);
	write(fd, "hello", 5);
	int p[2];
	pipe(p);
	ret("readahead file", readahead(fd, 0, 4096));
	ret("readahead pipe", readahead(p[0], 0, 4096));
	ret("readahead bad fd", readahead(999, 0, 4096));
	ret("sync_file_range file", sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE));
	ret("sync_file_range bad flags", sync_file_range(fd, 0, 0, 8));
	ret("sync_file_range negative", sync_file_range(fd, -1, 0, 0));
	ret("sync_file_range pipe", sync_file_range(p[0], 0, 0, SYNC_FILE_RANGE_WRITE));
	errno = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	printf("fadvise file: %s\n", en(errno));
	errno = posix_fadvise(p[0], 0, 0, POSIX_FADV_DONTNEED);
	printf("fadvise pipe: %s\n", en(errno));
	errno = posix_fadvise(fd, 0, 0, 99);
	printf("fadvise bad advice: %s\n", en(errno));
	ret("fsync pipe", fsync(p[0]));
	ret("fdatasync pipe", fdatasync(p[1]));
	close(p[0]);
	close(p[1]);
	close(fd);

	/* fchmodat2 with AT_SYMLINK_NOFOLLOW. */
	char dir[] = "/tmp/clinuxd.XXXXXX";
	mkdtemp(dir);
	char f[64], l[64];
	snprintf(f, sizeof f, "%s/f", dir);
	snprintf(l, sizeof l, "%s/l", dir);
	close(open(f, O_CREAT | O_WRONLY, 0644));
	symlink("f", l);
	ret("fchmodat2 file", syscall(452, AT_FDCWD, f, 0600, 0));
	ret("fchmodat2 nofollow symlink", syscall(452, AT_FDCWD, l, 0600, AT_SYMLINK_NOFOLLOW));
	ret("fchmodat2 bad flags", syscall(452, AT_FDCWD, f, 0600, 0x1));
	struct stat sb;
	stat(f, &sb);
	printf("mode: %o\n", sb.st_mode & 0777);
	unlink(l);
	unlink(f);
	rmdir(dir);
	ret("waitpid(INT_MIN)", waitpid(-2147483647 - 1, NULL, 0));

	/* An existing name is EEXIST before the parent's permission. */
	ret("mkdir /tmp", mkdir("/tmp", 0777));
	ret("mkdir /proc (a mount point)", mkdir("/proc", 0777));
	if (user) ret("mkdir in / as user", mkdir("/clinux-nonexistent", 0777));

	/* MAP_SHARED_VALIDATE refuses flags Linux does not know there. */
	char mp[] = "/tmp/clinuxm.XXXXXX";
	int mf = mkstemp(mp);
	unlink(mp);
	ftruncate(mf, 4096);
	struct { const char *name; int flags; } maps[] = {
		{"plain", 0}, {"MAP_SYNC", 0x80000}, {"unknown 0x200000", 0x200000},
		{"MAP_POPULATE", MAP_POPULATE}, {"huge size bits", 2 << 26}, {NULL, 0}};
	for (int i = 0; maps[i].name; i++) {
		void *m = mmap(NULL, 4096, PROT_READ, MAP_SHARED_VALIDATE | maps[i].flags, mf, 0);
		printf("MAP_SHARED_VALIDATE %s: %s\n", maps[i].name, m == MAP_FAILED ? en(errno) : "0");
		if (m != MAP_FAILED) munmap(m, 4096);
	}
	close(mf);

	/* RLIMIT_FSIZE: writes cut at the limit, then EFBIG and SIGXFSZ;
	 * truncate growing past it too. */
	struct sigaction xa = {0};
	xa.sa_handler = count_xfsz;
	sigaction(SIGXFSZ, &xa, NULL);
	struct rlimit oldlim;
	getrlimit(RLIMIT_FSIZE, &oldlim);
	struct rlimit lim = {100, oldlim.rlim_max};
	char fp[] = "/tmp/clinuxf.XXXXXX";
	int ff = mkstemp(fp);
	unlink(fp);
	/* Nothing is printed while the limit holds: stdout may be a file. */
	setrlimit(RLIMIT_FSIZE, &lim);
	static char big[200];
	long r[6];
	int er[6];
	r[0] = write(ff, big, 200), er[0] = errno;
	r[1] = write(ff, big, 1), er[1] = errno;
	r[2] = pwrite(ff, big, 10, 150), er[2] = errno;
	r[3] = pwrite(ff, big, 10, 95), er[3] = errno;
	r[4] = ftruncate(ff, 200), er[4] = errno;
	r[5] = ftruncate(ff, 50), er[5] = errno;
	setrlimit(RLIMIT_FSIZE, &oldlim);
	const char *names[] = {"write 200 past a 100 limit", "write at the limit", "pwrite past it", "pwrite across it",
		"ftruncate to 200", "ftruncate to 50"};
	for (int i = 0; i < 6; i++) printf("%s: %ld %s\n", names[i], r[i], r[i] < 0 ? en(er[i]) : "");
	printf("SIGXFSZ: %d\n", xfsz_count);
	signal(SIGXFSZ, SIG_DFL);
	close(ff);
}

static void sleeper_child(void) {
	for (;;) pause();
}

static int cpus_in(cpu_set_t *set) { return CPU_COUNT(set); }

/* others: the scheduling and signal calls aimed at another process of
 * the machine, and (as root) at another user's. */
static void report_on(pid_t c, const char *who) {
	char what[128];
	struct sched_param sp = {0};
#define R(name, call) (snprintf(what, sizeof what, "%s %s", name, who), ret(what, call))
	R("sched_getparam", sched_getparam(c, &sp));
	R("sched_getscheduler", sched_getscheduler(c));
	R("sched_setscheduler BATCH", sched_setscheduler(c, SCHED_BATCH, &sp));
	printf("policy %s: %d\n", who, sched_getscheduler(c));
	R("sched_setparam", sched_setparam(c, &sp));
	sp.sched_priority = 5;
	R("sched_setscheduler OTHER prio 5", sched_setscheduler(c, SCHED_OTHER, &sp));
	R("setpriority 5", setpriority(PRIO_PROCESS, c, 5));
	errno = 0;
	int p = getpriority(PRIO_PROCESS, c);
	printf("getpriority %s: %d %s\n", who, p, en(errno));
	R("setpriority 2 (lower)", setpriority(PRIO_PROCESS, c, 2));
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	R("sched_setaffinity cpu0", sched_setaffinity(c, sizeof set, &set));
	CPU_ZERO(&set);
	R("sched_getaffinity", sched_getaffinity(c, sizeof set, &set));
	if (cpus_in(&set) == sysconf(_SC_NPROCESSORS_ONLN))
		printf("affinity cpus %s: all\n", who);
	else
		printf("affinity cpus %s: %d\n", who, cpus_in(&set));
	siginfo_t si;
	memset(&si, 0, sizeof si);
	si.si_code = SI_QUEUE;
	R("rt_sigqueueinfo SI_QUEUE", syscall(SYS_rt_sigqueueinfo, c, SIGCONT, &si));
	si.si_code = SI_USER;
	R("rt_sigqueueinfo SI_USER", syscall(SYS_rt_sigqueueinfo, c, SIGCONT, &si));
	R("kill 0", kill(c, 0));
	R("kill SIGCONT", kill(c, SIGCONT));
	struct timespec ts;
	R("sched_rr_get_interval", sched_rr_get_interval(c, &ts));
#undef R
}

static void others(void) {
	/* A process group of its own: PRIO_PGRP must reach no host process. */
	setpgid(0, 0);
	pid_t c = fork();
	if (c == 0) sleeper_child();
	waitstate(c, 'S');
	report_on(c, "child");
	ret("setpriority pgrp", setpriority(PRIO_PGRP, 0, 6));
	errno = 0;
	printf("getpriority pgrp: %d %s\n", getpriority(PRIO_PGRP, 0), en(errno));
	ret("getpriority no such pgrp", getpriority(PRIO_PGRP, 999999));
	kill(c, SIGKILL);
	waitpid(c, NULL, 0);
	ret("sched_getparam reaped", sched_getparam(c, &(struct sched_param){0}));
	if (user) return;
	/* Another user's process, seen by an unprivileged one. */
	pid_t a = fork();
	if (a == 0) {
		setresgid(2000, 2000, 2000);
		setresuid(2000, 2000, 2000);
		sleeper_child();
	}
	waitstate(a, 'S');
	pid_t b = fork();
	if (b == 0) {
		setgroups(0, NULL);
		setresgid(1000, 1000, 1000);
		setresuid(1000, 1000, 1000);
		report_on(a, "other user's");
		ret("kill SIGTERM other user's", kill(a, SIGTERM));
		fflush(stdout);
		_exit(0);
	}
	waitpid(b, NULL, 0);
	kill(a, SIGKILL);
	waitpid(a, NULL, 0);
}

static volatile int resethand_siginfo = -1, resethand_dfl = -1;

static void resethand_handler(int sig, siginfo_t *si, void *uc) {
	(void)si, (void)uc;
	struct sigaction now;
	sigaction(sig, NULL, &now);
	resethand_siginfo = (now.sa_flags & SA_SIGINFO) != 0;
	resethand_dfl = now.sa_handler == SIG_DFL;
}

static sigjmp_buf segv_jump;
static volatile int segv_code = -1;

static void segv_handler(int sig, siginfo_t *si, void *uc) {
	(void)sig, (void)uc;
	segv_code = si->si_code;
	siglongjmp(segv_jump, 1);
}

static void usr1_handler(int sig) { (void)sig; }

/* corefile finds the core a child pid left in dir, as core_pattern names
 * it ("core", with core_uses_pid "core.PID"), checks it is an ELF core
 * and removes it. */
static int corefile(const char *dir, pid_t pid) {
	char path[128];
	int found = 0;
	for (int i = 0; i < 2; i++) {
		if (i == 0) snprintf(path, sizeof path, "%s/core", dir);
		else snprintf(path, sizeof path, "%s/core.%d", dir, pid);
		int fd = open(path, O_RDONLY);
		if (fd < 0) continue;
		unsigned char h[18] = {0};
		found = read(fd, h, sizeof h) == sizeof h && memcmp(h, "\177ELF", 4) == 0 && h[16] == 4 /* ET_CORE */;
		close(fd);
		unlink(path);
	}
	return found;
}

/* signals: core dumps and the wait status, SA_RESETHAND, a frame that
 * cannot be written, RLIMIT_SIGPENDING. */
static void signals_group(void) {
	/* abort with RLIMIT_CORE 0: no core, no bit. */
	pid_t c = fork();
	if (c == 0) {
		struct rlimit rl = {0, 0};
		setrlimit(RLIMIT_CORE, &rl);
		abort();
	}
	int st;
	waitpid(c, &st, 0);
	printf("abort, no core limit: signaled %d sig %d core %d\n", WIFSIGNALED(st), WTERMSIG(st), WCOREDUMP(st));
	/* With a limit: the core file core_pattern names, and the bit. */
	char dir[] = "/tmp/clinuxcore.XXXXXX";
	mkdtemp(dir);
	chmod(dir, 0777);
	char pattern[256] = "";
	readfile("/proc/sys/kernel/core_pattern", pattern, sizeof pattern);
	int piped = pattern[0] == '|';
	c = fork();
	if (c == 0) {
		struct rlimit rl = {64 << 20, 64 << 20};
		setrlimit(RLIMIT_CORE, &rl);
		chdir(dir);
		abort();
	}
	waitpid(c, &st, 0);
	int file = corefile(dir, c);
	printf("abort, core limit: signaled %d sig %d core %d, core file as core_pattern says: %d\n", WIFSIGNALED(st),
		WTERMSIG(st), WCOREDUMP(st), piped || file);
	c = fork();
	if (c == 0) {
		struct rlimit rl = {64 << 20, 64 << 20};
		setrlimit(RLIMIT_CORE, &rl);
		chdir(dir);
		prctl(PR_SET_DUMPABLE, 0);
		abort();
	}
	waitpid(c, &st, 0);
	printf("abort, not dumpable: core %d file %d\n", WCOREDUMP(st), corefile(dir, c));
	c = fork();
	if (c == 0) {
		struct rlimit rl = {64 << 20, 64 << 20};
		setrlimit(RLIMIT_CORE, &rl);
		chdir(dir);
		raise(SIGTERM);
		_exit(1);
	}
	waitpid(c, &st, 0);
	printf("SIGTERM, core limit: sig %d core %d file %d\n", WTERMSIG(st), WCOREDUMP(st), corefile(dir, c));
	siginfo_t si;
	c = fork();
	if (c == 0) {
		struct rlimit rl = {64 << 20, 64 << 20};
		setrlimit(RLIMIT_CORE, &rl);
		chdir(dir);
		*(volatile int *)8 = 1;
		_exit(1);
	}
	waitid(P_PID, c, &si, WEXITED);
	printf("SIGSEGV waitid: code %s status %d\n", si.si_code == CLD_DUMPED ? "CLD_DUMPED" : si.si_code == CLD_KILLED ? "CLD_KILLED" : "?", si.si_status);
	corefile(dir, c);
	rmdir(dir);

	/* SA_RESETHAND resets the handler only. */
	struct sigaction sa = {0};
	sa.sa_sigaction = resethand_handler;
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
	sigaction(SIGUSR2, &sa, NULL);
	raise(SIGUSR2);
	printf("SA_RESETHAND in handler: SA_SIGINFO %d SIG_DFL %d\n", resethand_siginfo, resethand_dfl);
	struct sigaction after;
	sigaction(SIGUSR2, NULL, &after);
	printf("SA_RESETHAND after: SA_SIGINFO %d SA_RESETHAND %d SIG_DFL %d\n", (after.sa_flags & SA_SIGINFO) != 0,
		(after.sa_flags & SA_RESETHAND) != 0, after.sa_handler == SIG_DFL);

	/* A frame that cannot be written: SIGSEGV, which its own handler
	 * catches. */
	void *bad = mmap(NULL, 1 << 16, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	stack_t ss = {.ss_sp = bad, .ss_size = 1 << 16};
	sigaltstack(&ss, NULL);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = usr1_handler;
	sa.sa_flags = SA_ONSTACK;
	sigaction(SIGUSR1, &sa, NULL);
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = segv_handler;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, NULL);
	if (sigsetjmp(segv_jump, 1) == 0) raise(SIGUSR1);
	printf("SIGUSR1 frame on a PROT_NONE stack: SIGSEGV code %d\n", segv_code);
	c = fork();
	if (c == 0) {
		sa.sa_flags = SA_SIGINFO | SA_ONSTACK; /* SIGSEGV's own frame fails too */
		sigaction(SIGSEGV, &sa, NULL);
		raise(SIGUSR1);
		_exit(0);
	}
	waitpid(c, &st, 0);
	printf("and SIGSEGV's own frame too: signaled %d sig %d\n", WIFSIGNALED(st), WTERMSIG(st));
	ss.ss_flags = SS_DISABLE;
	sigaltstack(&ss, NULL);
	signal(SIGSEGV, SIG_DFL);
	signal(SIGUSR1, SIG_DFL);

	/* RLIMIT_SIGPENDING bounds sigqueue, and kill only marks a signal
	 * pending. The count is the user's: root's other processes on the
	 * host would share it. */
	if (!user) return;
	struct rlimit rl = {3, 3};
	setrlimit(RLIMIT_SIGPENDING, &rl);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (int i = 0; i < 5; i++) {
		char what[64];
		snprintf(what, sizeof what, "sigqueue %d", i);
		ret(what, sigqueue(getpid(), SIGRTMIN, (union sigval){.sival_int = i}));
	}
	ret("kill past the limit", kill(getpid(), SIGRTMIN));
	int n = 0;
	struct timespec zero = {0, 0};
	while (sigtimedwait(&set, NULL, &zero) == SIGRTMIN) n++;
	printf("queued: %d\n", n);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

/* files: open(O_TMPFILE) — an unnamed file in a directory, named later
 * by linkat through /proc/self/fd or AT_EMPTY_PATH, never when opened
 * O_EXCL — and its argument checks. */
static void tmpfile_in(const char *dir, const char *label) {
	printf("-- O_TMPFILE in %s\n", label);
	int fd = open(dir, O_TMPFILE | O_RDWR, 0640);
	ret("open O_TMPFILE", fd);
	if (fd < 0) return;
	ret("write", write(fd, "hello", 5));
	struct stat st;
	fstat(fd, &st);
	printf("nlink %d mode %o regular %d\n", (int)st.st_nlink, st.st_mode & 07777, S_ISREG(st.st_mode));
	char link[64], target[256];
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, target, sizeof target - 1);
	target[n < 0 ? 0 : n] = 0;
	char want[256];
	snprintf(want, sizeof want, "%s%s#", dir, dir[strlen(dir) - 1] == '/' ? "" : "/");
	printf("fd link names DIR/#INO (deleted): %d\n",
		strncmp(target, want, strlen(want)) == 0 && strstr(target, " (deleted)") != NULL);
	char name[256], name2[256];
	snprintf(name, sizeof name, "%s/named", dir);
	snprintf(name2, sizeof name2, "%s/named2", dir);
	ret("linkat /proc/self/fd", linkat(AT_FDCWD, link, AT_FDCWD, name, AT_SYMLINK_FOLLOW));
	fstat(fd, &st);
	printf("nlink after link %d\n", (int)st.st_nlink);
	char buf[16] = {0};
	int r = open(name, O_RDONLY);
	read(r, buf, sizeof buf - 1);
	close(r);
	printf("read by name: %s\n", buf);
	ret("linkat AT_EMPTY_PATH", linkat(fd, "", AT_FDCWD, name2, AT_EMPTY_PATH));
	fstat(fd, &st);
	printf("nlink after second link %d\n", (int)st.st_nlink);
	unlink(name);
	unlink(name2);
	ret("linkat once its names went", linkat(AT_FDCWD, link, AT_FDCWD, name, AT_SYMLINK_FOLLOW));
	close(fd);

	fd = open(dir, O_TMPFILE | O_WRONLY | O_EXCL, 0600);
	ret("open O_TMPFILE|O_EXCL", fd);
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ret("linkat of an O_EXCL tmpfile", linkat(AT_FDCWD, link, AT_FDCWD, name, AT_SYMLINK_FOLLOW));
	ret("AT_EMPTY_PATH of an O_EXCL tmpfile", linkat(fd, "", AT_FDCWD, name, AT_EMPTY_PATH));
	close(fd);
	ret("the name is absent", access(name, F_OK));
}

/* textbusy: ETXTBSY both ways — a running program's file cannot be
 * opened for writing or truncated, a file open for writing cannot run. */
static void textbusy(const char *dir) {
	char self[256];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	self[n > 0 ? n : 0] = 0;
	ret("open /proc/self/exe for writing", open("/proc/self/exe", O_WRONLY));
	ret("open the running program O_RDWR", open(self, O_RDWR));
	ret("truncate the running program", truncate(self, 0));
	ret("open it O_RDONLY|O_TRUNC", open(self, O_RDONLY | O_TRUNC));
	/* A copy, open for writing while it is executed (root: the user may
	 * not read the test's program where the tests build it). */
	if (user) return;
	ret("open it for reading", n = open(self, O_RDONLY));
	char copy[128];
	snprintf(copy, sizeof copy, "%s/prog", dir);
	int w = open(copy, O_CREAT | O_WRONLY | O_TRUNC, 0755);
	char buf[65536];
	ssize_t r;
	while ((r = read(n, buf, sizeof buf)) > 0) write(w, buf, r);
	close(n);
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		execl(copy, copy, "sleep", NULL);
		_exit(errno);
	}
	int st;
	waitpid(c, &st, 0);
	printf("exec of a file open for writing: %s\n", en(WEXITSTATUS(st)));
	int w2 = dup(w);
	close(w);
	c = fork();
	if (c == 0) {
		execl(copy, copy, "sleep", NULL);
		_exit(errno);
	}
	waitpid(c, &st, 0);
	printf("  with a dup still open: %s\n", en(WEXITSTATUS(st)));
	close(w2);
	int p[2];
	pipe(p);
	c = fork();
	if (c == 0) {
		dup2(p[1], 1);
		execl(copy, copy, "sleep", NULL);
		_exit(errno);
	}
	close(p[1]);
	char ready;
	read(p[0], &ready, 1); /* it runs */
	ret("open the copy for writing while it runs", open(copy, O_WRONLY));
	ret("unlink it while it runs", unlink(copy));
	kill(c, SIGKILL);
	waitpid(c, &st, 0);
	close(p[0]);
}

static void files_group(const char *extra) {
	/* extra: a directory of another file system (an image's root). */
	if (extra) tmpfile_in(extra, "the directory given");
	char dir[] = "/tmp/clinuxt.XXXXXX";
	mkdtemp(dir);
	tmpfile_in(dir, "a directory of /tmp");
	ret("O_TMPFILE|O_RDONLY", open(dir, O_TMPFILE | O_RDONLY, 0600));
	ret("O_TMPFILE|O_CREAT", open(dir, O_TMPFILE | O_CREAT | O_RDWR, 0600));
	char f[64];
	snprintf(f, sizeof f, "%s/f", dir);
	close(open(f, O_CREAT | O_WRONLY, 0600));
	ret("O_TMPFILE on a file", open(f, O_TMPFILE | O_RDWR, 0600));
	snprintf(f, sizeof f, "%s/missing", dir);
	ret("O_TMPFILE on a missing name", open(f, O_TMPFILE | O_RDWR, 0600));
	ret("O_TMPFILE in /proc", open("/proc", O_TMPFILE | O_RDWR, 0600));
	if (user) {
		chmod(dir, 0555);
		ret("O_TMPFILE in an unwritable directory", open(dir, O_TMPFILE | O_RDWR, 0600));
		chmod(dir, 0755);
	}
	int fd = open(dir, O_TMPFILE | O_RDWR, 0600);
	char link[64], name[64];
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	snprintf(name, sizeof name, "%s/f", dir);
	ret("linkat over an existing name", linkat(AT_FDCWD, link, AT_FDCWD, name, AT_SYMLINK_FOLLOW));
	close(fd);
	unlink(name);
	textbusy(dir);
	rmdir(dir);
	ret("the directory is empty and gone", access(dir, F_OK));
}

/* errnos: the ERRORS sections of the man pages, in Linux's order of
 * checks, for the calls C test suites probe with bad arguments. */
static void errnos_group(void) {
	int p[2];
	pipe(p);
	char path[] = "/tmp/clinuxe.XXXXXX";
	int f = mkstemp(path);
	unlink(path);
	ftruncate(f, 8192);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	int ds = socket(AF_UNIX, SOCK_DGRAM, 0);
	struct sockaddr_un sun;
	socklen_t sl = sizeof sun;
	int v;
	socklen_t vl = sizeof v;

	/* accept */
	ret("accept bad fd", accept(999, NULL, NULL));
	ret("accept not a socket", accept(f, NULL, NULL));
	ret("accept not listening", accept(s, NULL, NULL));
	ret("accept datagram", accept(ds, NULL, NULL));
	ret("accept4 bad flags", accept4(s, NULL, NULL, 0x1));
	int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_un la = {.sun_family = AF_UNIX};
	snprintf(la.sun_path + 1, sizeof la.sun_path - 1, "clinux-errnos-%d", getpid());
	bind(ls, (struct sockaddr *)&la, sizeof la);
	listen(ls, 1);
	ret("accept nothing pending (nonblocking)", accept(ls, NULL, NULL));
	sl = (socklen_t)-1;
	ret("accept negative addrlen", accept(ls, (struct sockaddr *)&sun, &sl));
	ret("accept bad addrlen pointer", accept(ls, (struct sockaddr *)&sun, (socklen_t *)8));

	/* epoll_ctl */
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN};
	ret("epoll_ctl bad epfd", epoll_ctl(999, EPOLL_CTL_ADD, p[0], &ev));
	ret("epoll_ctl epfd not epoll", epoll_ctl(p[0], EPOLL_CTL_ADD, p[1], &ev));
	ret("epoll_ctl bad fd", epoll_ctl(ep, EPOLL_CTL_ADD, 999, &ev));
	ret("epoll_ctl regular file", epoll_ctl(ep, EPOLL_CTL_ADD, f, &ev));
	ret("epoll_ctl itself", epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev));
	ret("epoll_ctl bad op", epoll_ctl(ep, 99, p[0], &ev));
	ret("epoll_ctl MOD absent", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev));
	ret("epoll_ctl DEL absent", epoll_ctl(ep, EPOLL_CTL_DEL, p[0], &ev));
	ret("epoll_ctl ADD", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
	ret("epoll_ctl ADD again", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
	ret("epoll_ctl bad event pointer", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], (void *)8));
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	ret("epoll_ctl MOD EPOLLEXCLUSIVE", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev));
	ret("epoll_ctl ADD EPOLLEXCLUSIVE|EPOLLONESHOT", (ev.events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT, epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &ev)));
	int ep2 = epoll_create1(0);
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	ret("epoll_ctl EPOLLEXCLUSIVE on an epoll fd", epoll_ctl(ep, EPOLL_CTL_ADD, ep2, &ev));
	ret("epoll_create size 0", epoll_create(0));
	ret("epoll_create1 bad flags", epoll_create1(1));
	struct epoll_event evs[1];
	ret("epoll_wait maxevents 0", epoll_wait(ep, evs, 0, 0));
	ret("epoll_wait not epoll", epoll_wait(p[0], evs, 1, 0));
	ret("epoll_wait bad events", (write(p[1], "x", 1), epoll_wait(ep, (void *)8, 1, 0)));
	close(ep2);
	close(ep);

	/* clock_nanosleep, nanosleep, timers */
	struct timespec ts = {0, 2000000000};
	errno = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
	printf("clock_nanosleep bad nsec: %s\n", en(errno));
	ts.tv_nsec = 0;
	errno = clock_nanosleep(12345, 0, &ts, NULL);
	printf("clock_nanosleep bad clock: %s\n", en(errno));
	errno = clock_nanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &ts, NULL);
	printf("clock_nanosleep thread CPU clock: %s\n", en(errno));
	errno = clock_nanosleep(CLOCK_MONOTONIC, 0, (void *)8, NULL);
	printf("clock_nanosleep bad pointer: %s\n", en(errno));
	ts.tv_sec = -1;
	errno = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
	printf("clock_nanosleep negative: %s\n", en(errno));
	errno = clock_nanosleep(CLOCK_MONOTONIC, 99, &(struct timespec){0, 0}, NULL);
	printf("clock_nanosleep unknown flags: %s\n", en(errno));
	ret("nanosleep negative", nanosleep(&ts, NULL));
	timer_t tm;
	ret("timer_create", timer_create(CLOCK_MONOTONIC, NULL, &tm));
	ret("timer_settime NULL value", syscall(SYS_timer_settime, tm, 0, NULL, NULL));
	struct itimerspec its = {.it_value = {0, 2000000000}};
	ret("timer_settime bad nsec", timer_settime(tm, 0, &its, NULL));
	its.it_value.tv_nsec = 0;
	its.it_interval.tv_nsec = -1;
	ret("timer_settime bad interval", timer_settime(tm, 0, &its, NULL));
	ret("timer_settime bad timer", syscall(SYS_timer_settime, 12345, 0, &its, NULL));
	ret("timer_gettime bad pointer", syscall(SYS_timer_gettime, tm, (void *)8));
	timer_delete(tm);
	ret("timer_create bad clock", timer_create(12345, NULL, &tm));

	/* getsockopt, setsockopt */
	ret("getsockopt bad fd", getsockopt(999, SOL_SOCKET, SO_TYPE, &v, &vl));
	ret("getsockopt not a socket", getsockopt(f, SOL_SOCKET, SO_TYPE, &v, &vl));
	ret("getsockopt unknown option", getsockopt(s, SOL_SOCKET, 12345, &v, &vl));
	ret("getsockopt unknown level", getsockopt(s, 12345, 1, &v, &vl));
	vl = (socklen_t)-1;
	ret("getsockopt negative optlen", getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &vl));
	ret("getsockopt bad optlen pointer", getsockopt(s, SOL_SOCKET, SO_TYPE, &v, (socklen_t *)8));
	vl = sizeof v;
	ret("getsockopt bad optval", getsockopt(s, SOL_SOCKET, SO_TYPE, (void *)8, &vl));
	vl = 2;
	ret("getsockopt short int", getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &vl));
	printf("  optlen now %d\n", (int)vl);
	ret("setsockopt short int", setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, 2));
	ret("setsockopt unknown option", setsockopt(s, SOL_SOCKET, 12345, &v, sizeof v));
	ret("setsockopt not a socket", setsockopt(f, SOL_SOCKET, SO_RCVBUF, &v, sizeof v));
	ret("setsockopt bad optval", setsockopt(s, SOL_SOCKET, SO_RCVBUF, (void *)8, sizeof v));

	/* getsockname, getpeername */
	sl = sizeof sun;
	ret("getsockname bad fd", getsockname(999, (struct sockaddr *)&sun, &sl));
	ret("getsockname not a socket", getsockname(f, (struct sockaddr *)&sun, &sl));
	ret("getsockname bad addr", getsockname(s, (struct sockaddr *)8, &sl));
	ret("getsockname bad len pointer", getsockname(s, (struct sockaddr *)&sun, (socklen_t *)8));
	sl = (socklen_t)-1;
	ret("getsockname negative len", getsockname(s, (struct sockaddr *)&sun, &sl));
	sl = sizeof sun;
	ret("getpeername not connected", getpeername(s, (struct sockaddr *)&sun, &sl));
	ret("getpeername not a socket", getpeername(f, (struct sockaddr *)&sun, &sl));

	/* socket, socketpair */
	ret("socket bad domain", socket(12345, SOCK_STREAM, 0));
	ret("socket bad type", socket(AF_INET, 12345, 0));
	ret("socket bad flags", socket(AF_INET, SOCK_STREAM | 0x100000, 0));
	ret("socket bad protocol", socket(AF_INET, SOCK_STREAM, 12345));
	ret("socket inet stream UDP", socket(AF_INET, SOCK_STREAM, IPPROTO_UDP));
	ret("socket inet dgram TCP", socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP));
	ret("socket unix bad protocol", socket(AF_UNIX, SOCK_STREAM, 1));
	ret("socket unix raw", socket(AF_UNIX, SOCK_RAW, 0));
	ret("socket AF_UNSPEC", socket(AF_UNSPEC, SOCK_STREAM, 0));
	int sp[2];
	ret("socketpair inet", socketpair(AF_INET, SOCK_STREAM, 0, sp));
	ret("socketpair inet6", socketpair(AF_INET6, SOCK_DGRAM, 0, sp));
	ret("socketpair bad domain", socketpair(12345, SOCK_STREAM, 0, sp));
	ret("socketpair unix bad protocol", socketpair(AF_UNIX, SOCK_STREAM, 1, sp));
	ret("socketpair unix bad type", socketpair(AF_UNIX, 12345, 0, sp));
	ret("socketpair bad pointer", socketpair(AF_UNIX, SOCK_STREAM, 0, (int *)8));
	ret("socketpair bad flags", socketpair(AF_UNIX, SOCK_STREAM | 0x100000, 0, sp));

	/* mmap, msync, munmap, mprotect */
	void *m;
	m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ret("mmap anonymous", m == MAP_FAILED ? -1 : 0);
	ret("mmap length 0", mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED ? -1 : 0);
	ret("mmap neither shared nor private", mmap(NULL, 4096, PROT_READ, MAP_ANONYMOUS, -1, 0) == MAP_FAILED ? -1 : 0);
	ret("mmap shared and private", mmap(NULL, 4096, PROT_READ, MAP_SHARED | MAP_PRIVATE, f, 0) == MAP_FAILED ? -1 : 0);
	ret("mmap bad fd", mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 999, 0) == MAP_FAILED ? -1 : 0);
	ret("mmap unaligned offset", mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, f, 100) == MAP_FAILED ? -1 : 0);
	ret("mmap a pipe", mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, p[0], 0) == MAP_FAILED ? -1 : 0);
	ret("mmap a directory", (v = open("/tmp", O_RDONLY), mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, v, 0) == MAP_FAILED ? -1 : 0));
	close(v);
	int wo = open("/proc/self/fd/0", O_RDONLY);
	close(wo);
	ret("mmap shared writable of a read-only fd", (v = open("/etc/passwd", O_RDONLY), mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, v, 0) == MAP_FAILED ? -1 : 0));
	ret("mmap private writable of a read-only fd", mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, v, 0) == MAP_FAILED ? -1 : 0);
	close(v);
	ret("mmap MAP_FIXED unaligned", mmap((void *)0x10001, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED ? -1 : 0);
	ret("mmap huge length", mmap(NULL, (size_t)-4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED ? -1 : 0);
	ret("mmap offset overflow", mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, f, (off_t)0x7ffffffffffff000) == MAP_FAILED ? -1 : 0);
	ret("mmap bad fd for anonymous (ignored)", mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, 999, 0) == MAP_FAILED ? -1 : 0);
	ret("msync unaligned", msync((char *)m + 1, 4096, MS_SYNC));
	ret("msync bad flags", msync(m, 4096, 0x100));
	ret("msync MS_SYNC|MS_ASYNC", msync(m, 4096, MS_SYNC | MS_ASYNC));
	ret("msync unmapped", msync((void *)0x10000, 4096, MS_SYNC));
	ret("msync ok", msync(m, 4096, MS_SYNC));
	ret("msync MS_INVALIDATE of a locked page", (mlock(m, 4096), msync(m, 4096, MS_INVALIDATE)));
	munlock(m, 4096);
	ret("munmap unaligned", munmap((char *)m + 1, 4096));
	ret("munmap length 0", munmap(m, 0));
	ret("mprotect unaligned", mprotect((char *)m + 1, 4096, PROT_READ));
	ret("mprotect bad prot", mprotect(m, 4096, 0x100));
	ret("mprotect unmapped", mprotect((void *)0x10000, 4096, PROT_READ));
	munmap(m, 4096);

	/* readlink */
	char buf[64];
	ret("readlink not a link", readlink("/tmp", buf, sizeof buf));
	ret("readlink bufsiz 0", readlink("/proc/self/exe", buf, 0));
	ret("readlink missing", readlink("/tmp/clinux-none", buf, sizeof buf));
	ret("readlink bad path pointer", syscall(SYS_readlink, (void *)8, buf, sizeof buf));
	ret("readlink bad buffer", readlink("/proc/self/exe", (char *)8, sizeof buf));
	ret("readlink not a directory", readlink("/etc/passwd/x", buf, sizeof buf));
	ret("readlink empty", readlink("", buf, sizeof buf));
	ret("readlinkat empty path on a file", readlinkat(f, "", buf, sizeof buf));
	ret("readlinkat bad dirfd", readlinkat(999, "x", buf, sizeof buf));
	ret("readlinkat empty path on a pipe", readlinkat(p[0], "", buf, sizeof buf));
	ret("readlinkat dirfd a file", readlinkat(f, "x", buf, sizeof buf));

	/* fsync, fdatasync */
	ret("fsync socket", fsync(s));
	ret("fdatasync socket", fdatasync(s));
	ret("fsync bad fd", fsync(999));
	ret("fsync file", fsync(f));
	ret("fsync directory", (v = open("/tmp", O_RDONLY), fsync(v)));
	close(v);
	ret("fsync /dev/null", (v = open("/dev/null", O_WRONLY), fsync(v)));
	close(v);

	/* execveat */
	char *argv[] = {"x", NULL};
	ret("execveat bad dirfd", syscall(SYS_execveat, 999, "x", argv, NULL, 0));
	ret("execveat bad flags", syscall(SYS_execveat, AT_FDCWD, "/bin/true", argv, NULL, 0x1));
	ret("execveat empty path without AT_EMPTY_PATH", syscall(SYS_execveat, f, "", argv, NULL, 0));
	ret("execveat AT_EMPTY_PATH of a non-executable", syscall(SYS_execveat, f, "", argv, NULL, AT_EMPTY_PATH));
	ret("execveat a directory", syscall(SYS_execveat, AT_FDCWD, "/tmp", argv, NULL, 0));
	ret("execveat dirfd a file", syscall(SYS_execveat, f, "x", argv, NULL, 0));
	ret("execveat missing", syscall(SYS_execveat, AT_FDCWD, "/tmp/clinux-none", argv, NULL, 0));
	ret("execveat bad path pointer", syscall(SYS_execveat, AT_FDCWD, (void *)8, argv, NULL, 0));
	ret("execveat bad argv", syscall(SYS_execveat, AT_FDCWD, "/proc/self/exe", (void *)8, NULL, 0));
	ret("execveat AT_SYMLINK_NOFOLLOW on a link", (symlink("/proc/self/exe", "/tmp/clinux-exe-link"),
		syscall(SYS_execveat, AT_FDCWD, "/tmp/clinux-exe-link", argv, NULL, AT_SYMLINK_NOFOLLOW)));
	unlink("/tmp/clinux-exe-link");

	/* pwritev2, preadv2 */
	struct iovec iov = {buf, 4};
	ret("pwritev2 bad flags", pwritev2(f, &iov, 1, 0, 0x10000));
	ret("pwritev2 bad flags and bad fd", pwritev2(999, &iov, 1, 0, 0x10000));
	ret("pwritev2 RWF_APPEND|RWF_NOAPPEND", pwritev2(f, &iov, 1, 0, RWF_APPEND | RWF_NOAPPEND));
	ret("pwritev2 pipe with offset", pwritev2(p[1], &iov, 1, 0, 0));
	ret("pwritev2 pipe at -1", pwritev2(p[1], &iov, 1, -1, 0));
	ret("pwritev2 negative offset", pwritev2(f, &iov, 1, -2, 0));
	ret("pwritev2 bad fd", pwritev2(999, &iov, 1, 0, 0));
	ret("pwritev2 read-only fd", (v = open("/etc/passwd", O_RDONLY), pwritev2(v, &iov, 1, 0, 0)));
	ret("preadv2 bad flags", preadv2(v, &iov, 1, 0, 0x10000));
	ret("preadv2 bad flags at -1", preadv2(v, &iov, 1, -1, 0x10000));
	close(v);
	ret("pwritev2 iovcnt -1", pwritev2(f, &iov, -1, 0, 0));
	ret("pwritev2 iovcnt too many", pwritev2(f, &iov, 1025, 0, 0));
	ret("pwritev2 bad iov pointer", pwritev2(f, (void *)8, 1, 0, 0));
	ret("pwritev2 RWF_APPEND", pwritev2(f, &iov, 1, 0, RWF_APPEND));
	ret("pwritev2 RWF_DSYNC|RWF_SYNC|RWF_HIPRI", pwritev2(f, &iov, 1, 0, RWF_DSYNC | RWF_SYNC | RWF_HIPRI));

	/* splice */
	int p2[2];
	pipe(p2);
	loff_t off = 0;
	ret("splice no pipe", splice(f, NULL, f, NULL, 4, 0));
	ret("splice bad flags", splice(p[0], NULL, p2[1], NULL, 4, 0x100));
	ret("splice length 0 of bad fds", splice(999, NULL, 998, NULL, 0, 0));
	ret("splice offset for a pipe before EBADF of modes", splice(p[1], &off, f, NULL, 4, 0));
	ret("splice bad fd", splice(999, NULL, p2[1], NULL, 4, 0));
	ret("splice offset on a pipe", splice(p[0], &off, p2[1], NULL, 4, 0));
	ret("splice same pipe", splice(p[0], NULL, p[1], NULL, 4, 0));
	ret("splice to a read end", splice(f, &off, p2[0], NULL, 4, 0));
	ret("splice from a write end", splice(p[1], NULL, f, &off, 4, 0));
	ret("splice to an O_APPEND file", (v = open("/dev/null", O_WRONLY | O_APPEND), splice(p[0], NULL, v, NULL, 1, 0)));
	close(v);
	ret("splice length 0", splice(f, &off, p2[1], NULL, 0, 0));
	ret("splice bad offset pointer", splice(f, (loff_t *)8, p2[1], NULL, 4, 0));
	off = -1;
	ret("splice negative offset", splice(f, &off, p2[1], NULL, 4, 0));
	ret("tee not pipes", tee(f, p2[1], 4, 0));
	ret("tee same pipe", tee(p2[0], p2[1], 4, 0));
	ret("tee bad flags", tee(p[0], p2[1], 4, 0x100));
	close(p2[0]);
	close(p2[1]);

	/* futex requeue */
	static int fa = 0, fb = 0;
	ret("FUTEX_CMP_REQUEUE same futex", syscall(SYS_futex, &fa, FUTEX_CMP_REQUEUE, 1, 1, &fa, 0));
	ret("FUTEX_CMP_REQUEUE value mismatch", syscall(SYS_futex, &fa, FUTEX_CMP_REQUEUE, 1, 1, &fb, 5));
	ret("FUTEX_CMP_REQUEUE negative wake", syscall(SYS_futex, &fa, FUTEX_CMP_REQUEUE, -1, 1, &fb, 0));
	ret("FUTEX_CMP_REQUEUE negative requeue", syscall(SYS_futex, &fa, FUTEX_CMP_REQUEUE, 1, -1, &fb, 0));
	ret("FUTEX_CMP_REQUEUE ok", syscall(SYS_futex, &fa, FUTEX_CMP_REQUEUE, 1, 1, &fb, 0));
	ret("FUTEX_REQUEUE ok", syscall(SYS_futex, &fa, FUTEX_REQUEUE, 1, 1, &fb, 0));
	ret("FUTEX_CMP_REQUEUE unaligned", syscall(SYS_futex, (char *)&fa + 1, FUTEX_CMP_REQUEUE, 1, 1, &fb, 0));
	ret("FUTEX_CMP_REQUEUE unaligned second", syscall(SYS_futex, &fa, FUTEX_CMP_REQUEUE, 1, 1, (char *)&fb + 1, 0));
	ret("FUTEX_CMP_REQUEUE bad first", syscall(SYS_futex, (void *)8, FUTEX_CMP_REQUEUE, 1, 1, &fb, 0));
	/* The PI operations are missing here (ENOSYS, as a kernel without
	 * CONFIG_FUTEX_PI): no rows. */
	ret("futex bad op", syscall(SYS_futex, &fa, 99, 0, NULL, NULL, 0));
	ret("FUTEX_WAIT mismatch", syscall(SYS_futex, &fa, FUTEX_WAIT, 1, NULL, NULL, 0));
	ret("FUTEX_WAIT bad timeout", syscall(SYS_futex, &fa, FUTEX_WAIT, 0, &(struct timespec){0, -1}, NULL, 0));
	ret("FUTEX_WAKE_OP bad op", syscall(SYS_futex, &fa, FUTEX_WAKE_OP, 1, 1, &fb, 0xf0000000));

	/* waitpid and waitid */
	ret("waitpid no children", waitpid(-1, NULL, WNOHANG));
	ret("waitpid bad options", waitpid(-1, NULL, 0x10000000));
	ret("waitid bad idtype", waitid(99, 0, NULL, WEXITED));
	ret("waitid no options", waitid(P_ALL, 0, NULL, 0));
	ret("wait4 bad options", syscall(SYS_wait4, -1, NULL, 0x10000000, NULL));
	close(s);
	close(ds);
	close(ls);
	close(p[0]);
	close(p[1]);
	close(f);
}

/* inotify: the events of the program's own changes, read through read,
 * poll and epoll, with names relative to the watched directory. */
static int wd_dir, wd_file, wd_sub;
static const char *wdname(int wd) {
	if (wd == wd_dir) return "dir";
	if (wd == wd_file) return "file";
	if (wd == wd_sub) return "sub";
	if (wd == -1) return "-1";
	return "?";
}
static void maskname(uint32_t m, char *out) {
	static const struct { uint32_t bit; const char *name; } bits[] = {
		{IN_ACCESS, "ACCESS"}, {IN_MODIFY, "MODIFY"}, {IN_ATTRIB, "ATTRIB"}, {IN_CLOSE_WRITE, "CLOSE_WRITE"},
		{IN_CLOSE_NOWRITE, "CLOSE_NOWRITE"}, {IN_OPEN, "OPEN"}, {IN_MOVED_FROM, "MOVED_FROM"},
		{IN_MOVED_TO, "MOVED_TO"}, {IN_CREATE, "CREATE"}, {IN_DELETE, "DELETE"}, {IN_DELETE_SELF, "DELETE_SELF"},
		{IN_MOVE_SELF, "MOVE_SELF"}, {IN_UNMOUNT, "UNMOUNT"}, {IN_Q_OVERFLOW, "Q_OVERFLOW"}, {IN_IGNORED, "IGNORED"},
		{IN_ISDIR, "ISDIR"}, {0, NULL}};
	out[0] = 0;
	for (int i = 0; bits[i].name; i++)
		if (m & bits[i].bit) {
			if (out[0]) strcat(out, "|");
			strcat(out, bits[i].name);
		}
}
static uint32_t last_cookie;
/* drain prints every queued event; cookies show as "cookie" (shared with
 * the previous one or not), never their value. */
static void drain(int fd, const char *what) {
	printf("%s:\n", what);
	char buf[4096] __attribute__((aligned(8)));
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0) {
			if (errno != EAGAIN) printf("  read: %s\n", en(errno));
			return;
		}
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;
			char m[256];
			maskname(ev->mask, m);
			printf("  %s %s%s%s", wdname(ev->wd), m, ev->len ? " " : "", ev->len ? ev->name : "");
			if (ev->cookie) {
				printf(" cookie%s", ev->cookie == last_cookie ? " (same)" : "");
				last_cookie = ev->cookie;
			}
			printf("\n");
			p += sizeof *ev + ev->len;
		}
	}
}

static void inotify_group(const char *base) {
	char dir[256];
	if (base) {
		snprintf(dir, sizeof dir, "%s/clinux-inotify", base);
		mkdir(dir, 0755);
	} else {
		strcpy(dir, "/tmp/clinuxi.XXXXXX");
		mkdtemp(dir);
	}
	char f[300], g[300], sub[300], h[300];
	snprintf(f, sizeof f, "%s/f", dir);
	snprintf(g, sizeof g, "%s/g", dir);
	snprintf(sub, sizeof sub, "%s/sub", dir);
	snprintf(h, sizeof h, "%s/sub/h", dir);

	ret("inotify_init1 bad flags", inotify_init1(0x1));
	int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	ret("inotify_init1", in);
	ret("add_watch no events", inotify_add_watch(in, dir, 0));
	ret("add_watch MASK_ADD|MASK_CREATE", inotify_add_watch(in, dir, IN_CREATE | IN_MASK_ADD | IN_MASK_CREATE));
	ret("add_watch bad fd", inotify_add_watch(999, dir, IN_CREATE));
	ret("add_watch not inotify", inotify_add_watch(0, dir, IN_CREATE));
	ret("add_watch missing", inotify_add_watch(in, "/tmp/clinux-missing", IN_CREATE));
	ret("rm_watch bad wd", inotify_rm_watch(in, 12345));
	ret("rm_watch not inotify", inotify_rm_watch(0, 1));
	char rb[8];
	ret("read nothing queued", read(in, rb, sizeof rb));

	wd_dir = inotify_add_watch(in, dir, IN_ALL_EVENTS & ~(IN_ACCESS | IN_OPEN | IN_CLOSE_NOWRITE));
	printf("wd_dir > 0: %d\n", wd_dir > 0);
	ret("add_watch MASK_CREATE again", inotify_add_watch(in, dir, IN_CREATE | IN_MASK_CREATE));
	printf("same watch, same wd: %d\n", inotify_add_watch(in, dir, IN_ALL_EVENTS & ~(IN_ACCESS | IN_OPEN | IN_CLOSE_NOWRITE)) == wd_dir);

	int fd = open(f, O_CREAT | O_WRONLY, 0644);
	write(fd, "hello", 5);
	write(fd, "hello", 5); /* merged with the unread MODIFY before */
	close(fd);
	drain(in, "create, write twice, close");
	ret("read into a small buffer", (close(open(g, O_CREAT | O_WRONLY, 0644)), read(in, rb, sizeof rb)));
	drain(in, "(the events of g)");

	wd_file = inotify_add_watch(in, f, IN_ALL_EVENTS);
	fd = open(f, O_RDONLY);
	read(fd, rb, 1);
	close(fd);
	drain(in, "open, read, close f (watched itself too)");
	chmod(f, 0600);
	truncate(f, 2);
	drain(in, "chmod, truncate");

	ret("rename f to moved", rename(f, g));
	drain(in, "rename f over g");
	mkdir(sub, 0755);
	wd_sub = inotify_add_watch(in, sub, IN_ALL_EVENTS & ~(IN_ACCESS | IN_OPEN | IN_CLOSE_NOWRITE));
	ret("rename into sub", rename(g, h));
	drain(in, "mkdir sub, rename g to sub/h");
	ret("link", link(h, f));
	unlink(h);
	drain(in, "link sub/h to f, unlink sub/h");
	unlink(f);
	drain(in, "unlink f (its last name)");
	rmdir(sub);
	drain(in, "rmdir sub");
	symlink("target", f);
	mknod(g, S_IFIFO | 0600, 0);
	unlink(f);
	unlink(g);
	drain(in, "symlink, mkfifo, unlinks");

	/* IN_ONESHOT and rm_watch end with IN_IGNORED. */
	close(open(f, O_CREAT | O_WRONLY, 0644));
	drain(in, "create f");
	wd_file = inotify_add_watch(in, f, IN_MODIFY | IN_ONESHOT);
	fd = open(f, O_WRONLY);
	write(fd, "a", 1);
	write(fd, "b", 1);
	close(fd);
	drain(in, "two writes under IN_ONESHOT");
	ret("rm_watch of the ended oneshot", inotify_rm_watch(in, wd_file));
	wd_file = inotify_add_watch(in, f, IN_MODIFY);
	ret("rm_watch", inotify_rm_watch(in, wd_file));
	drain(in, "after rm_watch");

	/* Readiness: poll and epoll see the queue; FIONREAD counts it. */
	struct pollfd pf = {.fd = in, .events = POLLIN};
	printf("poll empty: %d\n", poll(&pf, 1, 0));
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN}, out;
	epoll_ctl(ep, EPOLL_CTL_ADD, in, &ev);
	printf("epoll empty: %d\n", epoll_wait(ep, &out, 1, 0));
	unlink(f);
	printf("poll after unlink: %d revents %#x\n", poll(&pf, 1, 1000), pf.revents);
	printf("epoll after unlink: %d\n", epoll_wait(ep, &out, 1, 1000));
	int avail = -1;
	ioctl(in, FIONREAD, &avail);
	printf("FIONREAD: %d\n", avail);
	drain(in, "unlink f");

	/* A blocking read waits for the event another process makes. */
	int bin = inotify_init();
	inotify_add_watch(bin, dir, IN_CREATE);
	pid_t c = fork();
	if (c == 0) {
		usleep(50000);
		close(open(f, O_CREAT | O_WRONLY, 0644));
		_exit(0);
	}
	char bb[256];
	ssize_t n = read(bin, bb, sizeof bb);
	struct inotify_event *bev = (struct inotify_event *)bb;
	printf("blocking read: %zd bytes, %s\n", n, n > 0 && (bev->mask & IN_CREATE) ? bev->name : "?");
	waitpid(c, NULL, 0);
	close(bin);
	unlink(f);
	close(ep);
	close(in);
	rmdir(dir);
}

/* pidfds: pidfd_open, pidfd_send_signal, waitid(P_PIDFD), poll and epoll
 * on a pidfd, pidfd_getfd, clone(CLONE_PIDFD) and clone3's pidfd. */
static void *pidfd_thread(void *arg) {
	*(pid_t *)arg = gettid();
	pause();
	return NULL;
}

static void pidfd_group(void) {
	ret("pidfd_open bad flags", syscall(SYS_pidfd_open, getpid(), 0x1));
	ret("pidfd_open pid 0", syscall(SYS_pidfd_open, 0, 0));
	ret("pidfd_open pid -1", syscall(SYS_pidfd_open, -1, 0));
	ret("pidfd_open no such pid", syscall(SYS_pidfd_open, 4000000, 0));
	int self = syscall(SYS_pidfd_open, getpid(), 0);
	ret("pidfd_open self", self);
	char link[64], target[64];
	snprintf(link, sizeof link, "/proc/self/fd/%d", self);
	ssize_t n = readlink(link, target, sizeof target - 1);
	target[n < 0 ? 0 : n] = 0;
	printf("fd link: %s\n", target);
	ret("pidfd_send_signal 0 to self", syscall(SYS_pidfd_send_signal, self, 0, NULL, 0));
	ret("pidfd_send_signal bad flags", syscall(SYS_pidfd_send_signal, self, 0, NULL, 0x100));
	ret("pidfd_send_signal bad signal", syscall(SYS_pidfd_send_signal, self, 12345, NULL, 0));
	ret("pidfd_send_signal not a pidfd", syscall(SYS_pidfd_send_signal, 0, 0, NULL, 0));
	ret("pidfd_send_signal bad fd", syscall(SYS_pidfd_send_signal, 999, 0, NULL, 0));
	siginfo_t si = {0};
	ret("waitid P_PIDFD self", waitid(P_PIDFD, self, &si, WEXITED | WNOHANG));
	ret("waitid P_PIDFD not a pidfd", waitid(P_PIDFD, 0, &si, WEXITED | WNOHANG));
	ret("waitid P_PIDFD bad fd", waitid(P_PIDFD, 999, &si, WEXITED | WNOHANG));
	ret("read of a pidfd", read(self, link, 8));
	ret("pidfd_getfd bad flags", syscall(SYS_pidfd_getfd, self, 0, 1));
	int dupd = syscall(SYS_pidfd_getfd, self, 1, 0);
	ret("pidfd_getfd own stdout", dupd);
	printf("it is close-on-exec: %d\n", dupd >= 0 && (fcntl(dupd, F_GETFD) & FD_CLOEXEC) != 0);
	close(dupd);
	ret("pidfd_getfd a closed fd", syscall(SYS_pidfd_getfd, self, 999, 0));

	/* A thread's id: a process pidfd needs a thread-group leader. */
	pthread_t th;
	volatile pid_t tid = 0;
	pthread_create(&th, NULL, pidfd_thread, (void *)&tid);
	while (!tid) usleep(1000);
	ret("pidfd_open of a thread", syscall(SYS_pidfd_open, tid, 0));

	/* A child: poll says nothing until it ends; the signal ends it;
	 * then waitid through the pidfd reaps it. */
	pid_t c = fork();
	if (c == 0) {
		for (;;) pause();
	}
	int pfd = syscall(SYS_pidfd_open, c, PIDFD_NONBLOCK);
	ret("pidfd_open child", pfd);
	ret("waitid P_PIDFD nonblocking pidfd before it ends", waitid(P_PIDFD, pfd, &si, WEXITED));
	ret("waitid P_PIDFD WNOHANG before it ends", waitid(P_PIDFD, pfd, &si, WEXITED | WNOHANG));
	printf("  si_pid %d\n", si.si_pid);
	struct pollfd pf = {.fd = pfd, .events = POLLIN};
	printf("poll before: %d\n", poll(&pf, 1, 0));
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN}, out;
	ret("epoll_ctl pidfd", epoll_ctl(ep, EPOLL_CTL_ADD, pfd, &ev));
	ret("pidfd_send_signal SIGTERM", syscall(SYS_pidfd_send_signal, pfd, SIGTERM, NULL, 0));
	int pr = poll(&pf, 1, 5000);
	printf("poll after: %d revents %#x\n", pr, pf.revents);
	printf("epoll after: %d\n", epoll_wait(ep, &out, 1, 5000));
	ret("pidfd_send_signal 0 to the zombie", syscall(SYS_pidfd_send_signal, pfd, 0, NULL, 0));
	ret("waitid P_PIDFD (nonblocking pidfd)", waitid(P_PIDFD, pfd, &si, WEXITED));
	printf("  signo %d code %d status %d is child %d\n", si.si_signo, si.si_code, si.si_status, si.si_pid == c);
	ret("pidfd_send_signal after reaping", syscall(SYS_pidfd_send_signal, pfd, 0, NULL, 0));
	ret("waitid P_PIDFD after reaping", waitid(P_PIDFD, pfd, &si, WEXITED | WNOHANG));
	ret("pidfd_open reaped", syscall(SYS_pidfd_open, c, 0));
	close(ep);
	close(pfd);

	/* A blocking pidfd: waitid waits for the end. */
	c = fork();
	if (c == 0) {
		usleep(50000);
		_exit(7);
	}
	pfd = syscall(SYS_pidfd_open, c, 0);
	ret("waitid P_PIDFD blocking", waitid(P_PIDFD, pfd, &si, WEXITED));
	printf("  code %d status %d\n", si.si_code, si.si_status);
	close(pfd);

	/* clone(CLONE_PIDFD): the pidfd at parent_tid, close-on-exec. */
	int cpfd = -1;
	long r = syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, NULL, &cpfd, NULL, NULL);
	if (r == 0) _exit(3);
	printf("clone CLONE_PIDFD: %s, pidfd %s, cloexec %d\n", r > 0 ? "ok" : en(errno), cpfd >= 0 ? "set" : "unset",
		cpfd >= 0 && (fcntl(cpfd, F_GETFD) & FD_CLOEXEC) != 0);
	ret("waitid P_PIDFD of the clone", waitid(P_PIDFD, cpfd, &si, WEXITED));
	printf("  status %d\n", si.si_status);
	close(cpfd);
	ret("clone CLONE_PIDFD|CLONE_PARENT_SETTID", syscall(SYS_clone, CLONE_PIDFD | CLONE_PARENT_SETTID | SIGCHLD, NULL, &cpfd, NULL, NULL));
	struct clone_args { uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls; } ca = {0};
	int c3fd = -1;
	ca.flags = CLONE_PIDFD;
	ca.pidfd = (uintptr_t)&c3fd;
	ca.exit_signal = SIGCHLD;
	r = syscall(SYS_clone3, &ca, sizeof ca);
	if (r == 0) _exit(4);
	printf("clone3 pidfd: %s, pidfd %s\n", r > 0 ? "ok" : en(errno), c3fd >= 0 ? "set" : "unset");
	ret("waitid P_PIDFD of the clone3", waitid(P_PIDFD, c3fd, &si, WEXITED));
	printf("  status %d\n", si.si_status);
	close(c3fd);

	/* Another user's process, seen by an unprivileged one: EPERM. */
	if (!user) {
		pid_t a = fork();
		if (a == 0) {
			setresgid(2000, 2000, 2000);
			setresuid(2000, 2000, 2000);
			sleeper_child();
		}
		waitstate(a, 'S');
		pid_t b = fork();
		if (b == 0) {
			setgroups(0, NULL);
			setresgid(1000, 1000, 1000);
			setresuid(1000, 1000, 1000);
			int afd = syscall(SYS_pidfd_open, a, 0);
			ret("pidfd_open other user's", afd);
			ret("pidfd_send_signal other user's", syscall(SYS_pidfd_send_signal, afd, SIGTERM, NULL, 0));
			ret("pidfd_getfd other user's", syscall(SYS_pidfd_getfd, afd, 0, 0));
			fflush(stdout);
			_exit(0);
		}
		waitpid(b, NULL, 0);
		int afd = syscall(SYS_pidfd_open, a, 0);
		ret("pidfd_getfd as root", (dupd = syscall(SYS_pidfd_getfd, afd, 1, 0)));
		close(dupd);
		kill(a, SIGKILL);
		waitpid(a, NULL, 0);
		close(afd);
	}
	close(self);
}

/* events: epoll with more ready descriptors than maxevents (every one
 * reported, in turn), shutdown's events, EPERM for a regular file. */
static void epoll_rows(void) {
	int ep = epoll_create1(0);
	int p[8][2];
	for (int i = 0; i < 8; i++) {
		pipe(p[i]);
		write(p[i][1], "x", 1);
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
		epoll_ctl(ep, EPOLL_CTL_ADD, p[i][0], &ev);
	}
	/* Level-triggered, 3 at a time: the ready list rotates, so four
	 * calls see all eight. */
	int seen[8] = {0};
	for (int call = 0; call < 4; call++) {
		struct epoll_event out[3];
		int n = epoll_wait(ep, out, 3, 0);
		printf("epoll_wait %d: %d events\n", call, n);
		for (int i = 0; i < n; i++) seen[out[i].data.u32]++;
	}
	int all = 1;
	for (int i = 0; i < 8; i++) all &= seen[i] > 0;
	printf("every ready fd reported: %d\n", all);
	/* Edge-triggered: each reported once. */
	for (int i = 0; i < 8; i++) {
		struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u32 = i};
		epoll_ctl(ep, EPOLL_CTL_MOD, p[i][0], &ev);
	}
	int total = 0;
	for (int call = 0; call < 4; call++) {
		struct epoll_event out[3];
		total += epoll_wait(ep, out, 3, 0);
	}
	printf("edge-triggered, 4 calls of 3: %d events\n", total);
	/* EPOLLONESHOT: once, then disabled until MOD. */
	struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.u32 = 0};
	epoll_ctl(ep, EPOLL_CTL_MOD, p[0][0], &ev);
	for (int i = 1; i < 8; i++) epoll_ctl(ep, EPOLL_CTL_DEL, p[i][0], NULL);
	struct epoll_event out[8];
	printf("oneshot first: %d\n", epoll_wait(ep, out, 8, 0));
	printf("oneshot second: %d\n", epoll_wait(ep, out, 8, 0));
	for (int i = 0; i < 8; i++) close(p[i][0]), close(p[i][1]);
	close(ep);

	/* shutdown of a connected socket: events on both ends. */
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	ep = epoll_create1(0);
	ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
	ev.data.u32 = 1;
	epoll_ctl(ep, EPOLL_CTL_ADD, sv[1], &ev);
	epoll_wait(ep, out, 8, 0);
	ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
	epoll_ctl(ep, EPOLL_CTL_MOD, sv[1], &ev);
	shutdown(sv[0], SHUT_WR);
	int n = epoll_wait(ep, out, 8, 1000);
	printf("peer SHUT_WR: %d events %#x\n", n, n > 0 ? out[0].events : 0);
	shutdown(sv[1], SHUT_RDWR);
	ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLHUP;
	epoll_ctl(ep, EPOLL_CTL_MOD, sv[1], &ev);
	n = epoll_wait(ep, out, 8, 1000);
	printf("own SHUT_RDWR: %d events %#x\n", n, n > 0 ? out[0].events : 0);
	close(sv[0]);
	close(sv[1]);
	close(ep);
}

/* locks: F_GETLK's conflicting lock, EDEADLK, F_OFD_*, leases, owners,
 * memfd seals. */
static void lock_rows(void) {
	char path[] = "/tmp/clinuxl.XXXXXX";
	int fd = mkstemp(path);
	ftruncate(fd, 100);
	int sync1[2], sync2[2];
	pipe(sync1);
	pipe(sync2);
	pid_t c = fork();
	if (c == 0) {
		int cfd = open(path, O_RDWR);
		struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 10, .l_len = 10};
		fcntl(cfd, F_SETLK, &l);
		l.l_start = 40;
		l.l_len = 5;
		l.l_type = F_RDLCK;
		fcntl(cfd, F_SETLK, &l);
		write(sync1[1], "x", 1);
		char b;
		read(sync2[0], &b, 1);
		/* Wait for the parent's lock on 60..69 while the parent waits
		 * for ours: one of us gets EDEADLK. */
		l.l_type = F_WRLCK;
		l.l_start = 60;
		l.l_len = 10;
		int r = fcntl(cfd, F_SETLKW, &l);
		printf("child F_SETLKW: %s\n", r < 0 ? en(errno) : "0");
		fflush(stdout);
		_exit(0);
	}
	char b;
	read(sync1[0], &b, 1);
	struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
	ret("F_GETLK whole file", fcntl(fd, F_GETLK, &l));
	printf("  type %s start %ld len %ld pid is child %d\n", l.l_type == F_WRLCK ? "W" : l.l_type == F_RDLCK ? "R" : "U",
		(long)l.l_start, (long)l.l_len, l.l_pid == c);
	l = (struct flock){.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 30, .l_len = 0};
	ret("F_GETLK from 30", fcntl(fd, F_GETLK, &l));
	printf("  type %s start %ld len %ld\n", l.l_type == F_WRLCK ? "W" : l.l_type == F_RDLCK ? "R" : "U", (long)l.l_start, (long)l.l_len);
	l = (struct flock){.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 40, .l_len = 5};
	ret("F_GETLK read over a read lock", fcntl(fd, F_GETLK, &l));
	printf("  type %s\n", l.l_type == F_UNLCK ? "U" : "locked");
	l = (struct flock){.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 60, .l_len = 10};
	ret("F_SETLK 60..69", fcntl(fd, F_SETLK, &l));
	l = (struct flock){.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 10, .l_len = 10};
	write(sync2[1], "x", 1);
	usleep(100000); /* the child blocks on 60..69 first */
	int r = fcntl(fd, F_SETLKW, &l);
	printf("parent F_SETLKW: %s\n", r < 0 ? en(errno) : "0");
	l.l_type = F_UNLCK;
	l.l_start = 0;
	l.l_len = 0;
	fcntl(fd, F_SETLK, &l);
	waitpid(c, NULL, 0);
	close(fd);
	unlink(path);
}

/* fcntl: owners and signals for I/O, leases, memfd seals. */
static void fcntl_rows(void) {
	char path[] = "/tmp/clinuxo.XXXXXX";
	int fd = mkstemp(path);
	/* Owners and signals for I/O. */
	struct f_owner_ex ox = {.type = F_OWNER_PID, .pid = getpid()};
	ret("F_SETOWN_EX", fcntl(fd, F_SETOWN_EX, &ox));
	ox = (struct f_owner_ex){0};
	ret("F_GETOWN_EX", fcntl(fd, F_GETOWN_EX, &ox));
	printf("  type %d is self %d\n", ox.type, ox.pid == getpid());
	ox.type = 99;
	ret("F_SETOWN_EX bad type", fcntl(fd, F_SETOWN_EX, &ox));
	printf("F_GETOWN: is self %d\n", fcntl(fd, F_GETOWN) == getpid());
	ret("F_SETSIG SIGUSR1", fcntl(fd, F_SETSIG, SIGUSR1));
	printf("F_GETSIG: %d\n", (int)fcntl(fd, F_GETSIG));
	ret("F_SETSIG bad", fcntl(fd, F_SETSIG, 12345));

	/* Leases: a read lease on a file opened read-only, as its owner. */
	int rfd = open(path, O_RDONLY);
	ret("F_SETLEASE read on O_RDWR fd", fcntl(fd, F_SETLEASE, F_RDLCK));
	close(fd);
	ret("F_SETLEASE read", fcntl(rfd, F_SETLEASE, F_RDLCK));
	printf("F_GETLEASE: %s\n", fcntl(rfd, F_GETLEASE) == F_RDLCK ? "F_RDLCK" : "other");
	ret("F_SETLEASE unlock", fcntl(rfd, F_SETLEASE, F_UNLCK));
	printf("F_GETLEASE after: %s\n", fcntl(rfd, F_GETLEASE) == F_UNLCK ? "F_UNLCK" : "other");
	ret("F_SETLEASE bad", fcntl(rfd, F_SETLEASE, 99));
	close(rfd);
	unlink(path);

	/* memfd seals. */
	int m = memfd_create("clinux", MFD_ALLOW_SEALING);
	ftruncate(m, 4096);
	printf("F_GET_SEALS: %#x\n", (int)fcntl(m, F_GET_SEALS));
	ret("F_ADD_SEALS SHRINK|GROW", fcntl(m, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW));
	ret("ftruncate smaller", ftruncate(m, 100));
	ret("ftruncate larger", ftruncate(m, 8192));
	ret("write inside", pwrite(m, "x", 1, 0));
	ret("write past the end", pwrite(m, "x", 1, 4096));
	ret("F_ADD_SEALS WRITE", fcntl(m, F_ADD_SEALS, F_SEAL_WRITE));
	ret("write after F_SEAL_WRITE", pwrite(m, "x", 1, 0));
	ret("mmap shared writable after F_SEAL_WRITE", mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0) == MAP_FAILED ? -1 : 0);
	ret("F_ADD_SEALS SEAL", fcntl(m, F_ADD_SEALS, F_SEAL_SEAL));
	ret("F_ADD_SEALS after F_SEAL_SEAL", fcntl(m, F_ADD_SEALS, F_SEAL_GROW));
	printf("F_GET_SEALS: %#x\n", (int)fcntl(m, F_GET_SEALS));
	close(m);
	m = memfd_create("clinux", 0);
	printf("without MFD_ALLOW_SEALING: %#x\n", (int)fcntl(m, F_GET_SEALS));
	ret("F_ADD_SEALS without MFD_ALLOW_SEALING", fcntl(m, F_ADD_SEALS, F_SEAL_WRITE));
	close(m);
	int p[2];
	pipe(p);
	ret("F_GET_SEALS of a pipe", fcntl(p[0], F_GET_SEALS));
	close(p[0]);
	close(p[1]);
}

/* sockets: EISCONN, MSG_MORE, AF_UNIX names in the file system. */
static void socket_rows(void) {
	char dir[] = "/tmp/clinuxs.XXXXXX";
	mkdtemp(dir);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof a.sun_path, "%s/sock", dir);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	umask(022);
	ret("bind a path", bind(s, (struct sockaddr *)&a, sizeof a));
	struct stat st;
	ret("stat the socket file", stat(a.sun_path, &st));
	printf("  is a socket %d mode %o\n", S_ISSOCK(st.st_mode), st.st_mode & 0777);
	int s2 = socket(AF_UNIX, SOCK_STREAM, 0);
	ret("bind the same path", bind(s2, (struct sockaddr *)&a, sizeof a));
	listen(s, 4);
	int cl = socket(AF_UNIX, SOCK_STREAM, 0);
	ret("connect", connect(cl, (struct sockaddr *)&a, sizeof a));
	ret("connect again", connect(cl, (struct sockaddr *)&a, sizeof a));
	ret("open the socket file", open(a.sun_path, O_RDWR));
	ret("unlink the socket file", unlink(a.sun_path));
	int cl2 = socket(AF_UNIX, SOCK_STREAM, 0);
	ret("connect after unlink", connect(cl2, (struct sockaddr *)&a, sizeof a));
	ret("bind again after unlink", bind(s2, (struct sockaddr *)&a, sizeof a));
	close(s2);
	unlink(a.sun_path);
	if (user) {
		int s3 = socket(AF_UNIX, SOCK_STREAM, 0);
		struct sockaddr_un r = {.sun_family = AF_UNIX};
		strcpy(r.sun_path, "/clinux-sock");
		ret("bind in an unwritable directory", bind(s3, (struct sockaddr *)&r, sizeof r));
		close(s3);
	}
	/* Datagrams to a path; a file whose socket closed refuses. */
	snprintf(a.sun_path, sizeof a.sun_path, "%s/dgram", dir);
	int d1 = socket(AF_UNIX, SOCK_DGRAM, 0), d2 = socket(AF_UNIX, SOCK_DGRAM, 0);
	ret("bind dgram", bind(d1, (struct sockaddr *)&a, sizeof a));
	char rel[128];
	snprintf(rel, sizeof rel, "%s/../%s/dgram", dir, strrchr(dir, '/') + 1);
	struct sockaddr_un ra = {.sun_family = AF_UNIX};
	strcpy(ra.sun_path, rel);
	ret("sendto by another spelling", sendto(d2, "hi", 2, 0, (struct sockaddr *)&ra, sizeof ra));
	char db[8] = {0};
	printf("recv: %zd %s\n", recv(d1, db, sizeof db, MSG_DONTWAIT), db);
	close(d1);
	ret("sendto a closed socket's file", sendto(d2, "hi", 2, 0, (struct sockaddr *)&a, sizeof a));
	ret("connect a dgram to a closed socket's file", connect(d2, (struct sockaddr *)&a, sizeof a));
	int ss = socket(AF_UNIX, SOCK_STREAM, 0);
	ret("bind over the stale file", bind(ss, (struct sockaddr *)&a, sizeof a));
	unlink(a.sun_path);
	snprintf(a.sun_path, sizeof a.sun_path, "%s/plain", dir);
	close(open(a.sun_path, O_CREAT | O_WRONLY, 0666));
	ret("connect to a regular file", connect(ss, (struct sockaddr *)&a, sizeof a));
	unlink(a.sun_path);
	close(ss);
	close(d2);
	/* MSG_MORE on a stream socket pair: the bytes arrive once sent. */
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	ret("send MSG_MORE", send(sv[0], "ab", 2, MSG_MORE));
	ret("send", send(sv[0], "cd", 2, 0));
	char buf[8] = {0};
	usleep(10000);
	printf("recv: %zd\n", recv(sv[1], buf, sizeof buf, MSG_DONTWAIT));
	close(sv[0]);
	close(sv[1]);
	close(cl);
	close(cl2);
	close(s);
	rmdir(dir);
}

static void events_group(void) {
	epoll_rows();
	lock_rows();
	socket_rows();
}

/* pty: pseudo-terminals — ptmx and pts, the line discipline both ways,
 * termios, window sizes, controlling terminals and job control. */
static void showbytes(const char *what, const char *b, ssize_t n) {
	printf("%s: %zd \"", what, n);
	for (ssize_t i = 0; i < n; i++) {
		unsigned char c = b[i];
		if (c >= 0x20 && c < 0x7f && c != '\\') putchar(c);
		else printf("\\x%02x", c);
	}
	printf("\"\n");
}

/* drainfd reads what is there after a short wait. */
static void drainfd(int fd, const char *what) {
	char b[256];
	struct pollfd p = {fd, POLLIN, 0};
	ssize_t n = 0;
	if (poll(&p, 1, 1000) > 0 && (p.revents & POLLIN)) {
		usleep(20000);
		n = read(fd, b, sizeof b);
	}
	if (n < 0) printf("%s: %s\n", what, en(errno));
	else showbytes(what, b, n);
}

static volatile int pty_sig;
static void pty_onsig(int sig) { pty_sig = sig; }

/* ctty_child runs fn in a child that leads a new session with the slave
 * of m as its controlling terminal, and reports its exit. */
static void ctty_child(int m, const char *what, void (*fn)(int s)) {
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		setsid();
		int s = open(ptsname(m), O_RDWR); /* no O_NOCTTY: it becomes ours */
		if (s < 0) _exit(100 + errno);
		fn(s);
		fflush(stdout);
		_exit(0);
	}
	int st;
	waitpid(c, &st, 0);
	printf("%s: exit %d\n", what, WIFEXITED(st) ? WEXITSTATUS(st) : 1000 + WTERMSIG(st));
}

static void child_ids(int s) {
	pid_t sid = -1;
	ret("  TIOCGSID", ioctl(s, TIOCGSID, &sid));
	printf("  sid is me %d, pgrp is mine %d\n", sid == getpid(), tcgetpgrp(s) == getpgrp());
	int t = open("/dev/tty", O_RDWR);
	ret("  open /dev/tty", t);
	struct stat a, b;
	fstat(t, &a);
	fstat(s, &b);
	printf("  /dev/tty is (5, 0) %d, the slave (136, N) %d\n", a.st_rdev == makedev(5, 0), major(b.st_rdev) == 136);
	close(t);
	ret("  TIOCSCTTY again", ioctl(s, TIOCSCTTY, 0));
	int m2 = posix_openpt(O_RDWR | O_NOCTTY);
	unlockpt(m2);
	int s2 = open(ptsname(m2), O_RDWR | O_NOCTTY);
	ret("  TIOCSCTTY a second terminal", ioctl(s2, TIOCSCTTY, 0));
	ret("  TIOCGSID of another terminal", ioctl(s2, TIOCGSID, &sid));
	ret("  tcgetpgrp of another terminal", tcgetpgrp(s2));
	ret("  tcsetpgrp to no group", tcsetpgrp(s, 99999));
	ret("  tcsetpgrp to my group", tcsetpgrp(s, getpgrp()));
	close(s2);
	close(m2);
	pid_t c = fork();
	if (c == 0) {
		ret("  TIOCSCTTY as no leader", ioctl(s, TIOCSCTTY, 0));
		ret("  TIOCNOTTY as no leader", ioctl(s, TIOCNOTTY));
		ret("  open /dev/tty after TIOCNOTTY", open("/dev/tty", O_RDWR));
		fflush(stdout);
		_exit(0);
	}
	waitpid(c, NULL, 0);
}

static void child_intr(int s) {
	signal(SIGINT, pty_onsig);
	signal(SIGWINCH, pty_onsig);
	/* Tell the parent we are ready, then wait for ^C. */
	write(s, "R", 1);
	for (int i = 0; i < 2000 && pty_sig != SIGINT; i++) usleep(1000);
	printf("  signal %d\n", pty_sig);
	pty_sig = 0;
	struct winsize ws = {.ws_row = 30, .ws_col = 100};
	ioctl(s, TIOCSWINSZ, &ws);
	for (int i = 0; i < 2000 && pty_sig != SIGWINCH; i++) usleep(1000);
	printf("  after TIOCSWINSZ: signal %d\n", pty_sig);
	pty_sig = 0;
	ioctl(s, TIOCSWINSZ, &ws);
	usleep(20000);
	printf("  the same size again: signal %d\n", pty_sig);
}

static void child_jobs(int s) {
	/* A background group's read stops it with SIGTTIN. */
	pid_t c = fork();
	if (c == 0) {
		setpgid(0, 0);
		char b[4];
		read(s, b, sizeof b);
		_exit(0);
	}
	int st;
	waitpid(c, &st, WUNTRACED);
	printf("  background read: stopped %d by %d\n", WIFSTOPPED(st), WIFSTOPPED(st) ? WSTOPSIG(st) : 0);
	kill(c, SIGKILL);
	waitpid(c, NULL, 0);
	/* With SIGTTIN ignored, EIO. */
	fflush(stdout);
	c = fork();
	if (c == 0) {
		setpgid(0, 0);
		signal(SIGTTIN, SIG_IGN);
		char b[4];
		ret("  background read ignoring SIGTTIN", read(s, b, sizeof b));
		ret("  background write without TOSTOP", write(s, "w", 1));
		fflush(stdout);
		_exit(0);
	}
	waitpid(c, &st, 0);
	/* TOSTOP: a background write stops with SIGTTOU. */
	struct termios t;
	tcgetattr(s, &t);
	t.c_lflag |= TOSTOP;
	tcsetattr(s, TCSANOW, &t);
	c = fork();
	if (c == 0) {
		setpgid(0, 0);
		write(s, "x", 1);
		_exit(0);
	}
	waitpid(c, &st, WUNTRACED);
	printf("  background write with TOSTOP: stopped %d by %d\n", WIFSTOPPED(st), WIFSTOPPED(st) ? WSTOPSIG(st) : 0);
	kill(c, SIGKILL);
	waitpid(c, NULL, 0);
	fflush(stdout);
	c = fork();
	if (c == 0) {
		setpgid(0, 0);
		signal(SIGTTOU, SIG_IGN);
		ret("  background write with TOSTOP ignoring SIGTTOU", write(s, "y", 1));
		ret("  background tcsetattr ignoring SIGTTOU", tcsetattr(s, TCSANOW, &t));
		fflush(stdout);
		_exit(0);
	}
	waitpid(c, &st, 0);
	c = fork();
	if (c == 0) {
		setpgid(0, 0);
		tcsetattr(s, TCSANOW, &t);
		_exit(0);
	}
	waitpid(c, &st, WUNTRACED);
	printf("  background tcsetattr: stopped %d by %d\n", WIFSTOPPED(st), WIFSTOPPED(st) ? WSTOPSIG(st) : 0);
	kill(c, SIGKILL);
	waitpid(c, NULL, 0);
	t.c_lflag &= ~TOSTOP;
	tcsetattr(s, TCSANOW, &t);
}

static void child_hup(int s) {
	(void)s;
	signal(SIGHUP, pty_onsig);
	write(s, "R", 1);
	for (int i = 0; i < 2000 && pty_sig != SIGHUP; i++) usleep(1000);
	printf("  signal %d\n", pty_sig);
	char b[4];
	ret("  read after hangup", read(s, b, sizeof b));
	ret("  write after hangup", write(s, "x", 1));
	struct pollfd p = {s, POLLIN | POLLOUT, 0};
	poll(&p, 1, 0);
	printf("  poll: %#x\n", p.revents);
}

static void waitfor(int m) {
	char b;
	struct pollfd p = {m, POLLIN, 0};
	poll(&p, 1, 2000);
	read(m, &b, 1);
}

static void pty_group(void) {
	/* No controlling terminal in a new session: /dev/tty is ENXIO. */
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		setsid();
		ret("open /dev/tty without a terminal", open("/dev/tty", O_RDWR));
		ret("  and with O_CREAT", open("/dev/tty", O_RDWR | O_CREAT, 0666));
		fflush(stdout);
		_exit(0);
	}
	waitpid(c, NULL, 0);

	int m = posix_openpt(O_RDWR | O_NOCTTY);
	ret("posix_openpt", m);
	const char *name = ptsname(m);
	printf("ptsname: %.9s\n", name ? name : "(null)");
	ret("open the slave while locked", open(name, O_RDWR | O_NOCTTY));
	int locked = -1;
	ioctl(m, TIOCGPTLCK, &locked);
	printf("TIOCGPTLCK: %d\n", locked);
	ret("grantpt", grantpt(m));
	ret("unlockpt", unlockpt(m));
	int s = open(name, O_RDWR | O_NOCTTY);
	ret("open the slave", s);
	struct stat st;
	fstat(s, &st);
	printf("slave: chr %d major %d mode %o mine %d\n", S_ISCHR(st.st_mode), major(st.st_rdev), st.st_mode & 0777,
	       st.st_uid == geteuid());
	printf("isatty: master %d slave %d\n", isatty(m), isatty(s));
	char tn[64] = "";
	ret("ttyname_r", ttyname_r(s, tn, sizeof tn));
	printf("  is ptsname %d\n", strcmp(tn, name) == 0);
	struct termios t;
	ret("tcgetattr", tcgetattr(s, &t));
	printf("  iflag %#x oflag %#x cflag %#x lflag %#x speed %d\n", t.c_iflag, t.c_oflag, t.c_cflag, t.c_lflag,
	       (int)cfgetospeed(&t));
	printf("  cc");
	for (int i = 0; i < 17; i++) printf(" %d", t.c_cc[i]);
	printf("\n");
	struct termios mt;
	tcgetattr(m, &mt);
	printf("  the master's is the slave's %d\n", memcmp(&mt, &t, sizeof t) == 0);
	struct winsize ws;
	ret("TIOCGWINSZ", ioctl(s, TIOCGWINSZ, &ws));
	printf("  %dx%d\n", ws.ws_row, ws.ws_col);

	/* Canonical input with echo: CR becomes NL, erase, kill, EOF. */
	write(m, "hello\r", 6);
	char b[256];
	ssize_t n = read(s, b, sizeof b);
	showbytes("slave reads", b, n);
	drainfd(m, "echo");
	write(m, "abx\x7f" "c\n", 6);
	n = read(s, b, sizeof b);
	showbytes("after erase", b, n);
	drainfd(m, "echo");
	write(m, "gone\x15kept\n", 10);
	n = read(s, b, sizeof b);
	showbytes("after kill", b, n);
	drainfd(m, "echo");
	write(m, "one two\x17" "three\n", 14);
	n = read(s, b, sizeof b);
	showbytes("after werase", b, n);
	drainfd(m, "echo");
	write(m, "ab\x04", 3);
	n = read(s, b, sizeof b);
	showbytes("VEOF after text", b, n);
	write(m, "\x04", 1);
	n = read(s, b, sizeof b);
	showbytes("VEOF alone", b, n);
	drainfd(m, "echo");
	write(m, "l1\nl2\n", 6);
	usleep(10000);
	int avail = -1;
	ioctl(s, FIONREAD, &avail);
	printf("FIONREAD: %d\n", avail);
	n = read(s, b, 2);
	showbytes("a short read", b, n);
	n = read(s, b, sizeof b);
	showbytes("the rest of the line", b, n);
	n = read(s, b, sizeof b);
	showbytes("the next line", b, n);
	drainfd(m, "echo");
	write(m, "\x16\x03\n", 3);
	n = read(s, b, sizeof b);
	showbytes("VLNEXT ^C", b, n);
	drainfd(m, "echo");

	/* Output: NL becomes CR NL. */
	write(s, "a\nb", 3);
	drainfd(m, "master reads");
	ioctl(m, FIONREAD, &avail);
	printf("FIONREAD of the master: %d\n", avail);

	/* Raw: no echo, no mapping, VMIN/VTIME. */
	struct termios raw = t;
	cfmakeraw(&raw);
	ret("tcsetattr raw", tcsetattr(s, TCSANOW, &raw));
	write(m, "xy\r", 3);
	usleep(10000);
	n = read(s, b, sizeof b);
	showbytes("raw read", b, n);
	write(s, "p\nq", 3);
	drainfd(m, "raw output");
	raw.c_cc[VMIN] = 0;
	raw.c_cc[VTIME] = 0;
	tcsetattr(s, TCSANOW, &raw);
	n = read(s, b, sizeof b);
	showbytes("VMIN 0 VTIME 0 with nothing", b, n);
	raw.c_cc[VTIME] = 2;
	tcsetattr(s, TCSANOW, &raw);
	struct timespec a0, a1;
	clock_gettime(CLOCK_MONOTONIC, &a0);
	n = read(s, b, sizeof b);
	clock_gettime(CLOCK_MONOTONIC, &a1);
	long ms = (a1.tv_sec - a0.tv_sec) * 1000 + (a1.tv_nsec - a0.tv_nsec) / 1000000;
	showbytes("VTIME 2 with nothing", b, n);
	printf("  waited 150-600 ms %d\n", ms >= 150 && ms < 600);
	raw.c_cc[VMIN] = 3;
	raw.c_cc[VTIME] = 0;
	tcsetattr(s, TCSANOW, &raw);
	fcntl(s, F_SETFL, O_NONBLOCK);
	write(m, "12", 2);
	usleep(10000);
	n = read(s, b, sizeof b);
	showbytes("VMIN 3 non-blocking with 2", b, n);
	fcntl(s, F_SETFL, 0);
	write(m, "345", 3);
	n = read(s, b, sizeof b);
	showbytes("VMIN 3 with 3", b, n);
	ret("tcflush", tcflush(s, TCIOFLUSH));
	ret("tcflush bad", tcflush(s, 7));
	ret("tcdrain", tcdrain(s));
	ret("tcsetattr back", tcsetattr(s, TCSANOW, &t));

	/* Controlling terminals, signals, job control. */
	ret("tcgetpgrp of no controlling terminal", tcgetpgrp(s));
	ret("TIOCSCTTY as no leader", ioctl(s, TIOCSCTTY, 0));
	ctty_child(m, "as a session's terminal", child_ids);
	drainfd(m, "leftover");
	fflush(stdout);
	c = fork();
	if (c == 0) {
		setsid();
		int s2 = open(name, O_RDWR); /* becomes the controlling terminal */
		child_intr(s2);
		fflush(stdout);
		_exit(0);
	}
	waitfor(m);
	write(m, "\x03", 1);
	int wst;
	waitpid(c, &wst, 0);
	printf("ISIG child: exit %d\n", WIFEXITED(wst) ? WEXITSTATUS(wst) : -1);
	drainfd(m, "echo of ^C");
	ctty_child(m, "job control", child_jobs);
	drainfd(m, "leftover");

	/* The slave closes: the master reads EIO and polls POLLHUP. */
	close(s);
	struct pollfd p = {m, POLLIN, 0};
	poll(&p, 1, 1000);
	printf("master poll after the slave closed: %#x\n", p.revents);
	ret("master read after the slave closed", read(m, b, sizeof b));

	/* openpty, and the master closing: SIGHUP to the session's leader. */
	int m2, s2;
	ret("openpty", openpty(&m2, &s2, NULL, NULL, NULL));
	fflush(stdout);
	c = fork();
	if (c == 0) {
		setsid();
		int s3 = open(ptsname(m2), O_RDWR);
		close(m2); /* the parent's close is the last */
		close(s2);
		child_hup(s3);
		fflush(stdout);
		_exit(0);
	}
	waitfor(m2);
	close(s2);
	close(m2);
	waitpid(c, &wst, 0);
	printf("hangup child: exit %d\n", WIFEXITED(wst) ? WEXITSTATUS(wst) : 1000 + WTERMSIG(wst));
	char saved[64];
	snprintf(saved, sizeof saved, "%s", name);
	close(m);
	struct stat gone;
	ret("stat the slave after the master closed", stat(saved, &gone));
}

/* memory: madvise's advice as Linux takes it (the values it accepts, the
 * per-mapping checks, MADV_DONTFORK/WIPEONFORK in a fork's child,
 * MADV_POPULATE_*), /dev/zero mapped shared and private, and a
 * MAP_GROWSDOWN mapping growing down to a fault below it. */
static sigjmp_buf mem_jump;
static void mem_segv(int sig) { (void)sig; siglongjmp(mem_jump, 1); }

static void memory_group(void) {
	char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct { const char *name; int advice; } adv[] = {
		{"MADV_NORMAL", MADV_NORMAL}, {"MADV_RANDOM", MADV_RANDOM}, {"MADV_SEQUENTIAL", MADV_SEQUENTIAL},
		{"MADV_WILLNEED", MADV_WILLNEED}, {"MADV_DONTNEED", MADV_DONTNEED}, {"MADV_FREE", MADV_FREE},
		{"MADV_REMOVE", MADV_REMOVE}, {"MADV_DONTFORK", MADV_DONTFORK}, {"MADV_DOFORK", MADV_DOFORK},
		{"MADV_MERGEABLE", MADV_MERGEABLE}, {"MADV_UNMERGEABLE", MADV_UNMERGEABLE}, {"MADV_HUGEPAGE", MADV_HUGEPAGE},
		{"MADV_NOHUGEPAGE", MADV_NOHUGEPAGE}, {"MADV_DONTDUMP", MADV_DONTDUMP}, {"MADV_DODUMP", MADV_DODUMP},
		{"MADV_WIPEONFORK", MADV_WIPEONFORK}, {"MADV_KEEPONFORK", MADV_KEEPONFORK}, {"MADV_COLD", MADV_COLD},
		{"MADV_PAGEOUT", MADV_PAGEOUT}, {"MADV_POPULATE_READ", MADV_POPULATE_READ},
		{"MADV_POPULATE_WRITE", MADV_POPULATE_WRITE}, {"99", 99}, {"-1", -1}, {NULL, 0}};
	for (int i = 0; adv[i].name; i++) {
		char what[64];
		snprintf(what, sizeof what, "madvise %s", adv[i].name);
		ret(what, madvise(m, 8192, adv[i].advice));
	}
	ret("madvise unaligned", madvise(m + 1, 4096, MADV_NORMAL));
	char *ro = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *no = mmap(NULL, 8192, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *sh = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char *holed = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(holed + 4096, 4096);
	ret("MADV_POPULATE_READ read-only", madvise(ro, 8192, MADV_POPULATE_READ));
	ret("MADV_POPULATE_WRITE read-only", madvise(ro, 8192, MADV_POPULATE_WRITE));
	ret("MADV_POPULATE_READ PROT_NONE", madvise(no, 8192, MADV_POPULATE_READ));
	ret("MADV_POPULATE_READ over a hole", madvise(holed, 3 * 4096, MADV_POPULATE_READ));
	ret("MADV_NORMAL over a hole", madvise(holed, 3 * 4096, MADV_NORMAL));
	ret("MADV_DONTNEED over a hole", madvise(holed, 3 * 4096, MADV_DONTNEED));
	ret("MADV_REMOVE private", madvise(m, 8192, MADV_REMOVE));
	ret("MADV_WIPEONFORK shared", madvise(sh, 8192, MADV_WIPEONFORK));
	ret("MADV_DONTFORK shared", madvise(sh, 4096, MADV_DONTFORK));
	/* The fork advice in a child. */
	m[0] = 'a';
	m[4096] = 'b';
	ret("MADV_WIPEONFORK the first page", madvise(m, 4096, MADV_WIPEONFORK));
	char *df = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	df[0] = 'd';
	ret("MADV_DONTFORK", madvise(df, 4096, MADV_DONTFORK));
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		unsigned char v;
		printf("  child: wiped %d, kept %d, the MADV_DONTFORK page mapped %d\n", m[0], m[4096], mincore(df, 4096, &v) == 0);
		fflush(stdout);
		_exit(0);
	}
	waitpid(c, NULL, 0);
	printf("  parent: %d %d %d\n", m[0], m[4096], df[0]);
	ret("MADV_KEEPONFORK", madvise(m, 4096, MADV_KEEPONFORK));
	ret("MADV_DOFORK", madvise(df, 4096, MADV_DOFORK));
	fflush(stdout);
	c = fork();
	if (c == 0) {
		printf("  child after KEEPONFORK and DOFORK: %d %d\n", m[0], df[0]);
		fflush(stdout);
		_exit(0);
	}
	waitpid(c, NULL, 0);

	/* /dev/zero: shared anonymous memory, or private. */
	int z = open("/dev/zero", O_RDWR);
	char *zs = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, z, 0);
	char *zp = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, z, 0);
	printf("mmap /dev/zero: shared %d private %d\n", zs != MAP_FAILED, zp != MAP_FAILED);
	c = fork();
	if (c == 0) {
		zs[0] = 'x';
		zp[0] = 'y';
		_exit(0);
	}
	waitpid(c, NULL, 0);
	printf("  the child's writes: shared seen %d, private not %d\n", zs[0] == 'x', zp[0] == 0);
	ret("MADV_WIPEONFORK /dev/zero shared", madvise(zs, 4096, MADV_WIPEONFORK));
	int zr = open("/dev/zero", O_RDONLY);
	ret("mmap /dev/zero read-only fd shared writable",
	    mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, zr, 0) == MAP_FAILED ? -1 : 0);
	close(z);
	close(zr);

	/* MAP_GROWSDOWN: a fault below grows it, within 8 MiB and not into
	 * the guard gap above the mapping below. */
	signal(SIGSEGV, mem_segv);
	char *hole = mmap(NULL, 64 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(hole, 64 << 20);
	mmap(hole, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	char *g = mmap(hole + (16 << 20), 4096, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN | MAP_FIXED, -1, 0);
	printf("MAP_GROWSDOWN mapped %d\n", g == hole + (16 << 20));
	long offs[] = {-4096, -40960, -(1 << 20), -(9 << 20), -(16 << 20) + 4096 * 100, 0};
	for (int i = 0; offs[i]; i++) {
		if (sigsetjmp(mem_jump, 1) == 0) {
			g[offs[i]] = 1;
			printf("  touch %ld: ok\n", offs[i]);
		} else {
			printf("  touch %ld: SIGSEGV\n", offs[i]);
		}
	}
	unsigned char v;
	ret("  mincore of the grown part", mincore(g - 5 * 4096, 4096, &v));
	signal(SIGSEGV, SIG_DFL);
}

/* calls: vmsplice both ways and its checks; clock_getres of CPU clocks
 * (pthread_getcpuclockid, clock_getcpuclockid, a tick-resolution PROF
 * clock, a pid that names nothing); interface requests on an AF_UNIX
 * socket (if_nametoindex opens one); binding a privileged port (EACCES
 * without CAP_NET_BIND_SERVICE; allowed, whatever holds it, for root). */
static void calls_group(void) {
	int p[2];
	pipe(p);
	char a[] = "abc", b[] = "defgh", in[16] = {0};
	struct iovec to[2] = {{a, 3}, {b, 5}};
	printf("vmsplice into the pipe: %ld\n", (long)vmsplice(p[1], to, 2, 0));
	struct iovec from[2] = {{in, 2}, {in + 8, 4}};
	long n = vmsplice(p[0], from, 2, 0);
	printf("vmsplice out of it: %ld %.2s %.4s\n", n, in, in + 8);
	n = read(p[0], in, sizeof in);
	printf("left in the pipe: %ld %.*s\n", n, (int)(n > 0 ? n : 0), in);
	errno = 0;
	printf("vmsplice bad flags: %s\n", vmsplice(p[1], to, 2, 0x100) < 0 ? en(errno) : "0");
	printf("vmsplice nothing: %ld\n", (long)vmsplice(p[1], to, 0, 0));
	int f = open("/proc/self/stat", O_RDONLY);
	printf("vmsplice of a file: %s\n", vmsplice(f, from, 2, 0) < 0 ? en(errno) : "0");
	close(f);
	printf("vmsplice bad fd: %s\n", vmsplice(99, from, 2, 0) < 0 ? en(errno) : "0");
	printf("vmsplice empty, nonblocking: %s\n", vmsplice(p[0], from, 2, SPLICE_F_NONBLOCK) < 0 ? en(errno) : "0");
	fcntl(p[1], F_SETPIPE_SZ, 4096);
	static char page[8192] __attribute__((aligned(4096))); /* a page a slot: an unaligned buffer takes a slot for its head */
	struct iovec big = {page, sizeof page};
	printf("vmsplice past the room: %ld\n", (long)vmsplice(p[1], &big, 1, 0));
	printf("vmsplice full, nonblocking: %s\n", vmsplice(p[1], &big, 1, SPLICE_F_NONBLOCK) < 0 ? en(errno) : "0");
	close(p[0]);
	signal(SIGPIPE, SIG_IGN);
	printf("vmsplice no reader: %s\n", vmsplice(p[1], to, 2, 0) < 0 ? en(errno) : "0");
	signal(SIGPIPE, SIG_DFL);
	close(p[1]);

	clockid_t cid;
	struct timespec ts;
	pthread_getcpuclockid(pthread_self(), &cid);
	int r = clock_getres(cid, &ts);
	printf("getres thread clock: %s %ld\n", r ? en(errno) : "0", ts.tv_nsec);
	clock_getcpuclockid(getpid(), &cid);
	r = clock_getres(cid, &ts);
	printf("getres process clock: %s %ld\n", r ? en(errno) : "0", ts.tv_nsec);
	r = clock_getres(((~0) << 3) | 0, &ts); /* CPUCLOCK_PROF of the caller */
	printf("getres PROF clock: %s %s\n", r ? en(errno) : "0", ts.tv_nsec > 1 ? "a tick" : "1 ns");
	printf("getres NULL: %s\n", clock_getres(cid, NULL) ? en(errno) : "0");
	printf("getres type 3: %s\n", clock_getres(((~0) << 3) | 3, &ts) ? en(errno) : "0");
	printf("getres no such pid: %s\n", clock_getres(((~4000000) << 3) | 2, &ts) ? en(errno) : "0");
	printf("gettime thread clock: %s\n", clock_gettime(((~0) << 3) | 6, &ts) ? en(errno) : "0");

	int us = socket(AF_UNIX, SOCK_DGRAM, 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	strcpy(ifr.ifr_name, "lo");
	r = ioctl(us, SIOCGIFINDEX, &ifr);
	printf("AF_UNIX SIOCGIFINDEX lo: %s %d\n", r ? en(errno) : "0", ifr.ifr_ifindex);
	memset(ifr.ifr_name, 0, sizeof ifr.ifr_name);
	r = ioctl(us, SIOCGIFNAME, &ifr);
	printf("AF_UNIX SIOCGIFNAME 1: %s %s\n", r ? en(errno) : "0", ifr.ifr_name);
	strcpy(ifr.ifr_name, "nosuch0");
	printf("AF_UNIX SIOCGIFINDEX nosuch0: %s\n", ioctl(us, SIOCGIFINDEX, &ifr) ? en(errno) : "0");
	printf("AF_UNIX FIONBIO stays a socket's: %s\n", ioctl(us, 0x5401 /* TCGETS */, &ifr) ? en(errno) : "0");
	close(us);
	char name[IF_NAMESIZE];
	printf("if_nametoindex lo: %u, if_indextoname 1: %s\n", if_nametoindex("lo"), if_indextoname(1, name) ? name : en(errno));

	struct {
		const char *what;
		int dom, type, proto;
		int port;
	} binds[] = {
		{"tcp6 port 1023", AF_INET6, SOCK_STREAM, 0, 1023},
		{"udp6 port 1", AF_INET6, SOCK_DGRAM, 0, 1},
		{"tcp4 port 1023", AF_INET, SOCK_STREAM, 0, 1023},
		{"udp4 port 1023", AF_INET, SOCK_DGRAM, 0, 1023},
		{"tcp6 port 0", AF_INET6, SOCK_STREAM, 0, 0},
	};
	for (size_t i = 0; i < sizeof binds / sizeof binds[0]; i++) {
		int s = socket(binds[i].dom, binds[i].type, binds[i].proto);
		struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons(binds[i].port)};
		struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons(binds[i].port)};
		int r = binds[i].dom == AF_INET6 ? bind(s, (struct sockaddr *)&a6, sizeof a6)
						 : bind(s, (struct sockaddr *)&a4, sizeof a4);
		/* Root's bind may meet a port in use (natively the host's). */
		printf("bind %s: %s\n", binds[i].what, r == 0 || errno != EACCES ? "allowed" : en(errno));
		close(s);
	}
}

static void dropRoot(void) {
	if (setgroups(0, NULL) || setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000)) {
		perror("dropping root");
		exit(2);
	}
	/* setuid clears dumpable, which makes /proc/self root's. */
	prctl(PR_SET_DUMPABLE, 1);
	user = 1;
}

int main(int argc, char **argv) {
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) {
		fprintf(stderr, "usage: clinux proc|signals|sched [user]\n");
		return 2;
	}
	if (argc > 2 && strcmp(argv[2], "user") == 0) dropRoot();
	if (strcmp(argv[1], "proc") == 0) {
		proc_states();
		proc_times();
		proc_files();
	} else if (strcmp(argv[1], "sys") == 0) {
		sys_calls();
	} else if (strcmp(argv[1], "calls") == 0) {
		calls_group();
	} else if (strcmp(argv[1], "others") == 0) {
		others();
	} else if (strcmp(argv[1], "files") == 0) {
		files_group(argc > 2 + user ? argv[2 + user] : NULL);
	} else if (strcmp(argv[1], "errnos") == 0) {
		errnos_group();
	} else if (strcmp(argv[1], "inotify") == 0) {
		inotify_group(argc > 2 + user ? argv[2 + user] : NULL);
	} else if (strcmp(argv[1], "pidfd") == 0) {
		pidfd_group();
	} else if (strcmp(argv[1], "events") == 0) {
		events_group();
	} else if (strcmp(argv[1], "memory") == 0) {
		memory_group();
	} else if (strcmp(argv[1], "sleep") == 0) {
		write(1, "r", 1); /* running: for textbusy */
		sleep(30);
	} else if (strcmp(argv[1], "pty") == 0) {
		/* In a child, which leads no session whoever started us. */
		fflush(stdout);
		pid_t c = fork();
		if (c == 0) {
			pty_group();
			fflush(stdout);
			_exit(0);
		}
		int st;
		waitpid(c, &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st)) printf("pty group: status %#x\n", st);
	} else if (strcmp(argv[1], "signals") == 0) {
		signals_group();
	} else {
		fprintf(stderr, "clinux: no group %s\n", argv[1]);
		return 2;
	}
	return 0;
}
