/*
 * ctime reads the clocks the way C programs do, through static glibc, which
 * finds the vDSO through AT_SYSINFO_EHDR and calls clock_gettime,
 * gettimeofday, time and getcpu there. The output is the same natively and
 * under rumpgo; tests/vdso_test.go builds it with gcc -static.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <sys/auxv.h>
#include <sys/time.h>
#include <time.h>

static int before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec <= b->tv_nsec);
}

int main(void)
{
	struct timespec first, prev, now;
	struct timeval tv;
	int back = 0;

	clock_gettime(CLOCK_MONOTONIC, &first);
	prev = first;
	for (int i = 0; i < 100000; i++) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		back += !before(&prev, &now);
		prev = now;
	}
	gettimeofday(&tv, NULL);
	time_t t = time(NULL);
	printf("vdso mapped: %d\n", getauxval(AT_SYSINFO_EHDR) != 0);
	printf("monotonic went back %d times\n", back);
	printf("gettimeofday and time agree: %d\n", t >= tv.tv_sec && t - tv.tv_sec <= 1 && tv.tv_usec < 1000000);
	printf("sched_getcpu works: %d\n", sched_getcpu() >= 0);
	return 0;
}
