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
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
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
		if ((nr == SYS_setrlimit || nr == SYS_prlimit64) && (nr == SYS_setrlimit ? a[0] : a[1]) == RLIMIT_CPU)
			continue; // SIGXCPU's successor is SIGKILL
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
