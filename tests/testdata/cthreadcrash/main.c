// A process with several threads in different states when one of them
// crashes, for tests/core_test.go: spinners run guest code, sleepers are
// blocked in nanosleep, waiters in a futex (pthread_cond_wait), and the
// main thread dies of a NULL write three calls deep once all are started.
// The core file must hold every thread with its registers.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define SPINNERS 2
#define SLEEPERS 2
#define WAITERS 2

static pthread_barrier_t ready;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
volatile unsigned long spins;

__attribute__((noinline)) void spinner_loop(void) {
	for (;;)
		spins++;
}

static void *spinner(void *arg) {
	pthread_barrier_wait(&ready);
	spinner_loop();
	return NULL;
}

__attribute__((noinline)) void sleeper_sleep(void) {
	for (;;) {
		struct timespec ts = {100, 0};
		nanosleep(&ts, NULL);
	}
}

static void *sleeper(void *arg) {
	pthread_barrier_wait(&ready);
	sleeper_sleep();
	return NULL;
}

__attribute__((noinline)) void waiter_wait(void) {
	pthread_mutex_lock(&mu);
	for (;;)
		pthread_cond_wait(&cond, &mu);
}

static void *waiter(void *arg) {
	pthread_barrier_wait(&ready);
	waiter_wait();
	return NULL;
}

__attribute__((noinline)) void threads_level3(int *p) { *p = 42; }
__attribute__((noinline)) void threads_level2(int *p) { threads_level3(p); sleep(0); }
__attribute__((noinline)) void threads_level1(void) { threads_level2(NULL); sleep(0); }

int main(void) {
	pthread_t t;
	pthread_barrier_init(&ready, NULL, SPINNERS + SLEEPERS + WAITERS + 1);
	for (int i = 0; i < SPINNERS; i++)
		pthread_create(&t, NULL, spinner, NULL);
	for (int i = 0; i < SLEEPERS; i++)
		pthread_create(&t, NULL, sleeper, NULL);
	for (int i = 0; i < WAITERS; i++)
		pthread_create(&t, NULL, waiter, NULL);
	pthread_barrier_wait(&ready);
	usleep(100 * 1000); // let every thread reach its loop
	printf("threads: %d\n", SPINNERS + SLEEPERS + WAITERS + 1);
	fflush(stdout);
	threads_level1();
	return 0;
}
