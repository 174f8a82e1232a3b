// gdbc is the C guest of the gdb stub's tests (tests/gdb_test.go): with
// no argument it adds 1 to a global and exits 3; "threads" starts three
// spinning threads and calls ready() once they run; "spin" spins in spin()
// for a debugger to attach to; "crash" writes through NULL; "signal"
// sends itself SIGUSR1, which its handler reports, and exits 4; "watch"
// writes and reads watched (hardware watchpoints) from main, then has a
// thread write it, and exits 5.
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int counter = 41;
volatile int running = 1;
int started;

int add(int a, int b) {
  int s = a + b;
  s += counter - 41;
  return s;
}

void *worker(void *arg) {
  __atomic_fetch_add(&started, 1, __ATOMIC_SEQ_CST);
  while (running) {
  }
  return arg;
}

__attribute__((noinline)) void ready(void) { puts("ready"); fflush(stdout); }

__attribute__((noinline)) long spin(long n) {
  for (;;) {
    n = n * 7 + 1;
    if (n == 0) return n;
  }
}

int watched;
long wide[2];

__attribute__((noinline)) void writes(void) {
  for (int i = 1; i <= 3; i++) {
    watched = i * 10;
  }
  wide[1] = 7;
}

__attribute__((noinline)) int reads(void) { return watched + 1; }

void *writer(void *arg) {
  watched = 99;
  return arg;
}

static void onusr1(int sig) {
  (void)sig;
  puts("handled");
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "signal") == 0) {
    signal(SIGUSR1, onusr1);
    kill(getpid(), SIGUSR1);
    fflush(stdout);
    return 4;
  }
  if (argc > 1 && strcmp(argv[1], "watch") == 0) {
    writes();
    int r = reads();
    pthread_t t;
    pthread_create(&t, 0, writer, 0);
    pthread_join(t, 0);
    printf("watched %d %d\n", watched, r);
    return 5;
  }
  if (argc > 1 && strcmp(argv[1], "threads") == 0) {
    pthread_t t[3];
    for (int i = 0; i < 3; i++) pthread_create(&t[i], 0, worker, 0);
    while (__atomic_load_n(&started, __ATOMIC_SEQ_CST) < 3) {
    }
    ready();
    running = 0;
    for (int i = 0; i < 3; i++) pthread_join(t[i], 0);
    return 0;
  }
  if (argc > 1 && strcmp(argv[1], "spin") == 0) {
    ready();
    return (int)spin(argc);
  }
  if (argc > 1 && strcmp(argv[1], "crash") == 0) {
    *(volatile int *)0 = 1;
  }
  counter = add(counter, 1);
  printf("counter %d\n", counter);
  return 3;
}
