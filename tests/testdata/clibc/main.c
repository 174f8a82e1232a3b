// A C program exercising what a C library asks of the kernel, for the
// differential tests in tests/c_test.go: the same source is built dynamic
// against glibc (PIE and not), static glibc, static-PIE and static musl,
// and each build must print the same natively and under rumpgo.
//
// Build flags select parts: WITH_LIB links libshared.so (TLS of the
// dynamic models), WITH_DL dlopens libplugin.so, NO_IFUNC leaves out the
// IFUNC (musl has none). Output is deterministic: threads report after
// they are joined.
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <fcntl.h>
#include <limits.h>
#ifdef WITH_DL
#include <dlfcn.h>
#endif

#ifdef WITH_LIB
extern __thread int shared_gd; // initial-exec from the program: the library is loaded at start
extern int shared_ctor_ran;
int shared_tls_sum(int add);
#endif

#ifdef WITH_DL
// ELF dlopen metadata (https://systemd.io/ELF_DLOPEN_METADATA/): it tells
// packers — rumpgo's library resolver among them — what the program
// dlopens, since no DT_NEEDED says so.
#define DLOPEN_JSON "[{\"soname\":[\"libplugin.so\"],\"priority\":\"required\"}]"
__attribute__((used, section(".note.dlopen"), aligned(4))) static const struct {
	uint32_t namesz, descsz, type;
	char name[4];
	char desc[(sizeof DLOPEN_JSON + 3) & ~3];
} dlopen_note = {4, (sizeof DLOPEN_JSON + 3) & ~3, 0x407c0c0a, "FDO", DLOPEN_JSON};
#endif

static __thread int tls_le = 7;                                        // local-exec
static __thread int tls_ie __attribute__((tls_model("initial-exec"))) = 11;
static __thread char tls_big[1 << 12];

#define NTHREADS 8

struct result {
	long sum;
	int le, ie, big;
#ifdef WITH_LIB
	int shared;
#endif
#ifdef WITH_DL
	int plugin;
#endif
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int arrived;
static long total;
#ifdef WITH_DL
static int (*plugin_entry)(int);
#endif

static void *worker(void *arg) {
	int id = (int)(intptr_t)arg;
	struct result *r = calloc(1, sizeof *r);
	// Everyone waits for everyone: the threads really run at once.
	pthread_mutex_lock(&mu);
	arrived++;
	pthread_cond_broadcast(&cv);
	while (arrived < NTHREADS)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	for (int i = 0; i <= 1000 * (id + 1); i++)
		r->sum += i;
	tls_le += id;
	tls_ie += 2 * id;
	memset(tls_big, id, sizeof tls_big);
	r->le = tls_le;
	r->ie = tls_ie;
	for (size_t i = 0; i < sizeof tls_big; i++)
		r->big += tls_big[i];
#ifdef WITH_LIB
	r->shared = shared_tls_sum(id);
#endif
#ifdef WITH_DL
	r->plugin = plugin_entry(id) + plugin_entry(id);
#endif
	pthread_mutex_lock(&mu);
	total += r->sum;
	pthread_mutex_unlock(&mu);
	return r;
}

static void threads(void) {
	pthread_t t[NTHREADS];
	for (int i = 0; i < NTHREADS; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i) != 0) {
			printf("pthread_create failed\n");
			exit(1);
		}
	for (int i = 0; i < NTHREADS; i++) {
		struct result *r;
		pthread_join(t[i], (void **)&r);
		printf("thread %d: sum %ld tls le %d ie %d big %d", i, r->sum, r->le, r->ie, r->big);
#ifdef WITH_LIB
		printf(" shared %d", r->shared);
#endif
#ifdef WITH_DL
		printf(" plugin %d", r->plugin);
#endif
		printf("\n");
		free(r);
	}
	printf("threads total %ld; main tls le %d ie %d\n", total, tls_le, tls_ie);
}

static void memory(void) {
	// Small blocks come from brk, large ones from mmap; realloc of a
	// large block is mremap.
	char *small[1000];
	for (int i = 0; i < 1000; i++) {
		small[i] = malloc(16 + i);
		memset(small[i], i & 0xff, 16 + i);
	}
	long bad = 0;
	for (int i = 0; i < 1000; i++) {
		for (int j = 0; j < 16 + i; j++)
			bad += small[i][j] != (char)(i & 0xff);
		free(small[i]);
	}
	size_t n = 1 << 20;
	char *big = malloc(n);
	for (size_t i = 0; i < n; i++)
		big[i] = (char)(i * 7);
	for (int step = 0; step < 5; step++) {
		n *= 2;
		big = realloc(big, n);
		if (!big) {
			printf("realloc failed\n");
			exit(1);
		}
	}
	for (size_t i = 0; i < (1 << 20); i++)
		bad += big[i] != (char)(i * 7);
	free(big);
	void *brk0 = sbrk(0);
	printf("malloc: %ld bad bytes; brk %s\n", bad, brk0 != (void *)-1 ? "ok" : "failed");

	// mremap directly: grow in place or move, shrink, move to a fixed place.
	long pg = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (int i = 0; i < 3; i++)
		p[i * pg] = 'a' + i;
	char *q = mremap(p, 3 * pg, 64 * pg, MREMAP_MAYMOVE);
	q[63 * pg] = 'z';
	int ok = q != MAP_FAILED && q[0] == 'a' && q[pg] == 'b' && q[2 * pg] == 'c' && q[3 * pg] == 0;
	char *r = mremap(q, 64 * pg, 2 * pg, 0);
	ok = ok && r == q && r[pg] == 'b';
	char *target = mmap(NULL, 4 * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *s = mremap(r, 2 * pg, 4 * pg, MREMAP_MAYMOVE | MREMAP_FIXED, target);
	ok = ok && s == target && s[0] == 'a' && s[pg] == 'b' && s[3 * pg] == 0;
	errno = 0;
	void *e1 = mremap(s + 1, pg, 2 * pg, MREMAP_MAYMOVE);
	int einval = e1 == MAP_FAILED && errno == EINVAL;
	errno = 0;
	void *e2 = mremap(s, pg, 2 * pg, MREMAP_FIXED);
	einval = einval && e2 == MAP_FAILED && errno == EINVAL;
	printf("mremap: %s, bad arguments %s\n", ok ? "ok" : "WRONG", einval ? "EINVAL" : "WRONG");
	munmap(s, 4 * pg);
}

#ifndef NO_IFUNC
static int add_generic(int a, int b) { return a + b; }
static int add_fancy(int a, int b) { return b + a; }
// The resolver runs while ld.so (or, static, the startup code) relocates,
// before main: it may only look at the CPU.
static void *resolve_add(void) {
	__builtin_cpu_init();
	return __builtin_cpu_supports("sse2") ? (void *)add_fancy : (void *)add_generic;
}
int ifunc_add(int a, int b) __attribute__((ifunc("resolve_add")));
#endif

static void names(void) {
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res;
	int rc = getaddrinfo("localhost", "80", &hints, &res);
	if (rc != 0) {
		printf("getaddrinfo: %s\n", gai_strerror(rc));
		return;
	}
	// Each address once: with /etc/hosts' "::1 localhost" line (Debian's
	// default) glibc also answers an AF_INET query with 127.0.0.1 for it,
	// so how many times it comes depends on the host's file.
	char seen[8][64];
	int nseen = 0;
	for (struct addrinfo *a = res; a; a = a->ai_next) {
		char buf[64];
		struct sockaddr_in *sin = (struct sockaddr_in *)a->ai_addr;
		inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf);
		int dup = 0;
		for (int i = 0; i < nseen; i++)
			dup |= strcmp(seen[i], buf) == 0;
		if (dup)
			continue;
		if (nseen < 8)
			strcpy(seen[nseen++], buf);
		printf("getaddrinfo localhost: %s port %d\n", buf, ntohs(sin->sin_port));
	}
	freeaddrinfo(res);
	// (No lookup that reaches DNS: natively that would ask the host's
	// resolver, and the guest has none by default.)
}

static void kernel(const char *argv0) {
	// The calls libc makes that Go does not, each checked for its result.
	char exe[PATH_MAX], real[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0)
		exe[n] = 0;
	printf("readlink /proc/self/exe: %s\n", n > 0 && realpath(argv0, real) && strcmp(exe, real) == 0 ? "the program" : exe);

	// The raw call: musl 1.2.3 has no statx wrapper. struct statx puts
	// stx_mask at 0, stx_mode at 0x1c and stx_size at 0x28.
	unsigned char stx[256];
	int rc = syscall(SYS_statx, AT_FDCWD, "/proc/self/exe", 0, 0x200 /* STATX_SIZE */ | 0x2 /* STATX_MODE */, stx);
	uint16_t mode;
	uint64_t size;
	memcpy(&mode, stx + 0x1c, 2);
	memcpy(&size, stx + 0x28, 8);
	printf("statx: rc %d size>0 %d regular %d\n", rc, rc == 0 && size > 0, rc == 0 && S_ISREG(mode));

	char buf[16];
	ssize_t g = getrandom(buf, sizeof buf, GRND_NONBLOCK);
	printf("getrandom GRND_NONBLOCK: %zd\n", g);

	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	rc = sched_setaffinity(0, sizeof set, &set);
	CPU_ZERO(&set);
	int rc2 = sched_getaffinity(0, sizeof set, &set);
	printf("sched_setaffinity: %d; then only CPU 0: %d\n", rc, rc2 == 0 && CPU_ISSET(0, &set) && CPU_COUNT(&set) == 1);

	struct rlimit rl;
	rc = prlimit(0, RLIMIT_NOFILE, NULL, &rl);
	struct rlimit nl = {64, rl.rlim_max};
	rc2 = prlimit(0, RLIMIT_NOFILE, &nl, NULL);
	getrlimit(RLIMIT_NOFILE, &rl);
	printf("prlimit64: %d %d nofile now %ld\n", rc, rc2, (long)rl.rlim_cur);

	long q = syscall(SYS_membarrier, 0 /* QUERY */, 0, 0);
	long reg = syscall(SYS_membarrier, 16 /* REGISTER_PRIVATE_EXPEDITED */, 0, 0);
	long pe = syscall(SYS_membarrier, 8 /* PRIVATE_EXPEDITED */, 0, 0);
	long bad = syscall(SYS_membarrier, 1 << 20, 0, 0);
	printf("membarrier: query has GLOBAL and PRIVATE_EXPEDITED %d, register %ld, barrier %ld, unknown %s\n",
	       q > 0 && (q & 1) && (q & 8), reg, pe, bad == -1 && errno == EINVAL ? "EINVAL" : "WRONG");
}

#ifdef WITH_DL
static void plugin(void) {
	// Found through the program's DT_RUNPATH ($ORIGIN), as dlopen does.
	void *h = dlopen("libplugin.so", RTLD_NOW);
	if (!h) {
		printf("dlopen: %s\n", dlerror());
		exit(1);
	}
	plugin_entry = (int (*)(int))dlsym(h, "plugin_entry");
	const char *(*name)(void) = (const char *(*)(void))dlsym(h, "plugin_name");
	printf("dlopen: %s, entry(5) = %d\n", name(), plugin_entry(5));
	void *none = dlopen("libnot-there.so", RTLD_NOW);
	printf("dlopen of a missing library: %s\n", none ? "opened?" : "fails");
}
#endif

int main(int argc, char **argv) {
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("printf: %d %5.2f %s %x %-4s| %lld\n", 42, 3.14159, "str", 255, "ab", (long long)1 << 40);
#ifdef WITH_LIB
	printf("library: constructor ran %d, initial-exec tls %d\n", shared_ctor_ran, shared_gd);
#endif
#ifndef NO_IFUNC
	printf("ifunc: %d\n", ifunc_add(2, 3));
#endif
#ifdef WITH_DL
	plugin();
#endif
	memory();
	threads();
	names();
	kernel(argv[0]);
	return argc > 1 ? atoi(argv[1]) : 0;
}
