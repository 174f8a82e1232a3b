/* packprobe: a program of a whole root file system (tests/pack_test.go).
 * Its library libA comes through DT_RUNPATH $ORIGIN/../lib; it dlopens a
 * module by path whose own library libC only the tree's ld.so.conf
 * directories hold (so ld.so finds it through the tree's ld.so.cache);
 * it prints what each returns, its argv, and whether the FIFO the image
 * could not hold is there. */
#include <dlfcn.h>
#include <stdio.h>
#include <sys/stat.h>

int a(void);

int main(int argc, char **argv) {
	for (int i = 0; i < argc; i++)
		printf("argv[%d]=%s\n", i, argv[i]);
	printf("a()=%d\n", a());
	void *h = dlopen("/opt/app/plugins/plug.so", RTLD_NOW);
	if (!h) {
		printf("dlopen: %s\n", dlerror());
		return 1;
	}
	int (*plug)(void) = (int (*)(void))dlsym(h, "plug");
	printf("plug()=%d\n", plug ? plug() : -1);
	struct stat st;
	printf("/run/fifo: %s\n", stat("/run/fifo", &st) == 0 ? "present" : "absent");
	return 0;
}
