/* cmincore: mincore(2) on touched, untouched, unmapped and misaligned
 * ranges, natively and under rumpgo. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

static void show(const char *what, int r) { printf("%s: %d %s\n", what, r, r < 0 ? strerror(errno) : "ok"); }

int main(void) {
	char *p = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	p[0] = 1;
	unsigned char vec[4];
	show("mincore", mincore(p, 4 * 4096, vec));
	printf("first page resident: %d\n", vec[0] & 1);
	show("misaligned", mincore(p + 1, 4096, vec));
	munmap(p + 2 * 4096, 4096);
	show("hole in range", mincore(p, 4 * 4096, vec));
	show("bad vector", mincore(p, 4096, (unsigned char *)8));
	show("zero length", mincore(p, 0, vec));
	return 0;
}
