// A shared library of the test's own (libshared.so): TLS in the models a
// library uses (global-dynamic, local-dynamic), a constructor, and data
// the program reads through the GOT.
#include <stdio.h>
#include <string.h>

__thread int shared_gd = 100;                                          // global-dynamic
static __thread int shared_ld __attribute__((tls_model("local-dynamic"))) = 200;
static __thread char shared_buf[64] __attribute__((tls_model("local-dynamic")));
int shared_ctor_ran;

__attribute__((constructor)) static void shared_init(void) { shared_ctor_ran = 1; }

int shared_tls_sum(int add) {
	shared_gd += add;
	shared_ld += 2 * add;
	snprintf(shared_buf, sizeof shared_buf, "buf%d", add);
	return shared_gd + shared_ld + (int)strlen(shared_buf);
}
