/*
 * cclocks reads the clocks alternately through the vDSO (glibc's
 * clock_gettime, which calls it) and through the system call, on several
 * threads at once, and counts every step back: a read that started after
 * another read of the same clock ended, on any thread, must not be earlier
 * (Linux promises it for CLOCK_MONOTONIC and BOOTTIME, and for REALTIME and
 * TAI while nobody sets the clock). One more thread writes a file and
 * stats it: its mtime counts as a reading of CLOCK_REALTIME, so a file just
 * written is never in the clocks' future. Then clock_nanosleep and a POSIX
 * timer at an absolute time on REALTIME, MONOTONIC, BOOTTIME and TAI must
 * not end before the clock, read through the vDSO, reaches that time. The
 * output is the same natively
 * and under rumpgo (tests/vdso_test.go, TestVdsoClocksAgree).
 *
 *   cclocks [READS [THREADS [EVERY]]]
 *
 * READS in all (default 1000000) on THREADS threads (default 4); each
 * thread reads the clocks in turn, and every EVERY-th round (default 2:
 * every other) through the system call, the others through the vDSO.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static const struct {
	clockid_t id;
	const char *name;
} clocks[] = {
	{CLOCK_MONOTONIC, "CLOCK_MONOTONIC"},
	{CLOCK_REALTIME, "CLOCK_REALTIME"},
	{CLOCK_TAI, "CLOCK_TAI"},
	{CLOCK_BOOTTIME, "CLOCK_BOOTTIME"},
	{CLOCK_MONOTONIC_RAW, "CLOCK_MONOTONIC_RAW"},
	{CLOCK_MONOTONIC_COARSE, "CLOCK_MONOTONIC_COARSE"},
};
#define NCLOCKS ((int)(sizeof clocks / sizeof clocks[0]))
#define REALTIME 1 /* index of CLOCK_REALTIME in clocks */

static _Atomic long long latest[NCLOCKS]; /* the latest time a finished read saw */
static _Atomic long back[NCLOCKS];        /* steps back */
static _Atomic long long worst[NCLOCKS];  /* the largest, ns */
static _Atomic int readers_done;
static long per_thread, every;

static long long ns(const struct timespec *ts) { return ts->tv_sec * 1000000000LL + ts->tv_nsec; }

/* saw records that a read of clock c that started when latest was floor
 * returned v; a floor of -1 checks nothing. */
static void saw(int c, long long floor, long long v)
{
	if (floor >= 0 && v < floor) {
		atomic_fetch_add(&back[c], 1);
		long long w = atomic_load(&worst[c]);
		while (floor - v > w && !atomic_compare_exchange_weak(&worst[c], &w, floor - v))
			;
	}
	long long old = atomic_load(&latest[c]);
	while (v > old && !atomic_compare_exchange_weak(&latest[c], &old, v))
		;
}

static void *reader(void *arg)
{
	long t = (long)arg;
	for (long i = 0; i < per_thread; i++) {
		int c = (int)((i + t) % NCLOCKS);
		/* Each clock alternates between the two paths, and threads
		 * are out of phase: one thread's syscall lands between
		 * another's vDSO reads. */
		int sys = (i / NCLOCKS + t) % every == 0;
		long long floor = atomic_load(&latest[c]);
		struct timespec ts;
		int r = sys ? (int)syscall(SYS_clock_gettime, clocks[c].id, &ts) : clock_gettime(clocks[c].id, &ts);
		if (r != 0) {
			perror("clock_gettime");
			exit(1);
		}
		saw(c, floor, ns(&ts));
	}
	atomic_fetch_add(&readers_done, 1);
	return NULL;
}

/* writer writes a file and stats it until the readers are done (at least
 * 100 times): each mtime is a time of the write, so every CLOCK_REALTIME
 * read that starts after the stat must be no earlier. (The mtime itself may
 * be earlier than reads before it: Linux stamps files with the coarse
 * clock, which lags by up to a tick.) */
static long writes;
static void *writer(void *arg)
{
	int nreaders = (int)(long)arg;
	char path[] = "/tmp/cclocksXXXXXX";
	int fd = mkstemp(path);
	if (fd < 0) {
		perror("mkstemp");
		exit(1);
	}
	unlink(path);
	while (atomic_load(&readers_done) < nreaders || writes < 100) {
		struct stat st;
		if (pwrite(fd, "x", 1, 0) != 1 || fstat(fd, &st) != 0) {
			perror("write/fstat");
			exit(1);
		}
		saw(REALTIME, -1, ns(&st.st_mtim));
		writes++;
	}
	close(fd);
	return NULL;
}

/* absolute checks that sleeping and a timer until 20 ms from now on clock
 * c end no earlier than that time, as the vDSO then reads it, and not
 * seconds late (a timer counting on another clock would). */
static int absolute(clockid_t c)
{
	struct timespec now, at;
	int ok = 1;
	for (int timer = 0; timer < 2; timer++) {
		clock_gettime(c, &at);
		at.tv_nsec += 20000000;
		at.tv_sec += at.tv_nsec / 1000000000;
		at.tv_nsec %= 1000000000;
		if (!timer) {
			int r;
			while ((r = clock_nanosleep(c, TIMER_ABSTIME, &at, NULL)) == EINTR)
				;
			ok &= r == 0;
		} else {
			sigset_t set;
			sigemptyset(&set);
			sigaddset(&set, SIGRTMIN);
			pthread_sigmask(SIG_BLOCK, &set, NULL);
			struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN};
			timer_t t;
			struct itimerspec its = {.it_value = at};
			struct timespec limit = {5, 0};
			ok &= timer_create(c, &ev, &t) == 0 && timer_settime(t, TIMER_ABSTIME, &its, NULL) == 0 &&
			      sigtimedwait(&set, NULL, &limit) == SIGRTMIN;
			timer_delete(t);
		}
		clock_gettime(c, &now);
		long long late = ns(&now) - ns(&at);
		if (late < 0 || late > 3000000000LL) {
			fprintf(stderr, "clock %d, %s: ended %lld ns after the time\n", (int)c, timer ? "timer" : "clock_nanosleep", late);
			ok = 0;
		}
	}
	return ok;
}

int main(int argc, char **argv)
{
	long reads = argc > 1 ? atol(argv[1]) : 1000000;
	int threads = argc > 2 ? atoi(argv[2]) : 4;
	every = argc > 3 ? atol(argv[3]) : 2;
	if (reads <= 0 || threads <= 0 || threads > 64 || every <= 0) {
		fprintf(stderr, "usage: cclocks [READS [THREADS [EVERY]]]\n");
		return 2;
	}
	per_thread = reads / threads;
	pthread_t th[65];
	for (long t = 0; t < threads; t++)
		if (pthread_create(&th[t], NULL, reader, (void *)t) != 0) {
			perror("pthread_create");
			return 1;
		}
	pthread_create(&th[threads], NULL, writer, (void *)(long)threads);
	for (int t = 0; t <= threads; t++)
		pthread_join(th[t], NULL);

	printf("%ld reads on %d threads, every %ld. round through the system call, the others through the vDSO\n", per_thread * threads, threads, every);
	for (int c = 0; c < NCLOCKS; c++) {
		printf("%s went back %ld times\n", clocks[c].name, atomic_load(&back[c]));
		if (atomic_load(&back[c]))
			fprintf(stderr, "%s: worst step back %lld ns\n", clocks[c].name, atomic_load(&worst[c]));
	}
	printf("file mtimes raised CLOCK_REALTIME's floor: %d\n", writes >= 100);
	for (int c = 0; c < 4; c++)
		printf("%s: clock_nanosleep and a timer at an absolute time end on time: %d\n", clocks[c].name, absolute(clocks[c].id));
	return 0;
}
