/* cthreads starts threads until it has N or pthread_create fails, then
 * releases and joins them all: under rumpgo it meets the machine's thread
 * limit and must get EAGAIN, not a crash. Built with gcc -static. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int release[2];

static void *wait_release(void *arg) {
	char c;
	read(release[0], &c, 1);
	return NULL;
}

int main(int argc, char **argv) {
	int want = argc > 1 ? atoi(argv[1]) : 300;
	pthread_t *t = calloc(want, sizeof *t);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 << 10);
	pipe(release);
	int n = 0, err = 0;
	for (; n < want; n++) {
		if ((err = pthread_create(&t[n], &attr, wait_release, NULL)) != 0)
			break;
	}
	if (err)
		printf("pthread_create failed after %d threads: %s\n", n, strerror(err));
	else
		printf("created %d threads\n", n);
	for (int i = 0; i < n; i++)
		write(release[1], "x", 1);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	printf("joined %d\n", n);
	return 0;
}
