// A library the program dlopens (libplugin.so): its TLS is allocated
// lazily by __tls_get_addr, after the threads exist.
#include <stdio.h>

static __thread int plugin_calls;

int plugin_entry(int x) {
	plugin_calls++;
	return x * 3 + plugin_calls;
}

const char *plugin_name(void) { return "plugin v1"; }
