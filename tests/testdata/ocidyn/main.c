/* ocidyn is the dynamic C program of the OCI runtime's tests (tests/oci):
 * linked against the image's own libc and started by its own ld.so, it
 * prints its arguments, user, a file of the image and an environment
 * variable, then runs its first argument as a child (posix_spawnp through
 * PATH) and reports how that ended. Its exit status is the child's. */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv) {
	printf("ocidyn:");
	for (int i = 1; i < argc; i++)
		printf(" %s", argv[i]);
	printf("\nuid %d gid %d\n", (int)getuid(), (int)getgid());
	const char *e = getenv("PROBE_X");
	printf("PROBE_X=%s\n", e ? e : "(unset)");
	FILE *f = fopen("/etc/motd", "r");
	if (f) {
		char line[128];
		if (fgets(line, sizeof line, f))
			printf("motd: %s", line);
		fclose(f);
	} else {
		perror("/etc/motd");
	}
	fflush(stdout);
	if (argc < 2)
		return 0;
	pid_t pid;
	int err = posix_spawnp(&pid, argv[1], NULL, NULL, argv + 1, environ);
	if (err) {
		printf("spawn %s: error %d\n", argv[1], err);
		return 127;
	}
	int st;
	if (waitpid(pid, &st, 0) < 0) {
		perror("waitpid");
		return 1;
	}
	if (WIFEXITED(st)) {
		printf("child exited %d\n", WEXITSTATUS(st));
		return WEXITSTATUS(st);
	}
	printf("child killed by %d\n", WTERMSIG(st));
	return 128 + WTERMSIG(st);
}
