// cfasync: fcntl's file owner and O_ASYNC signals, as nginx's master sets
// them on its channel to each worker (socketpair, FIOASYNC, F_SETOWN).
// Prints one line per call; the same binary runs natively and under
// rumpgo and the lines must match.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void show(const char *what, long r) {
	if (r < 0)
		printf("%s: -1 %s\n", what, strerrorname_np(errno));
	else
		printf("%s: %ld\n", what, r);
}

// owner prints F_GETOWN relative to the caller: "self", "-pgrp" or a value.
static void owner(const char *what, int fd) {
	int o = fcntl(fd, F_GETOWN);
	if (o == getpid())
		printf("%s: self\n", what);
	else if (o == -getpgrp())
		printf("%s: -pgrp\n", what);
	else
		show(what, o);
}

static int asyncfd;

// waitsig waits up to 1 s for sig (blocked) and prints what came.
static void waitsig(const char *what, int sig) {
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	siginfo_t si;
	struct timespec ts = {1, 0};
	int r = sigtimedwait(&s, &si, &ts);
	if (r < 0) {
		printf("%s: none (%s)\n", what, strerrorname_np(errno));
		return;
	}
	if (si.si_code == SI_KERNEL)
		printf("%s: SIG%s SI_KERNEL\n", what, sigabbrev_np(r));
	else
		printf("%s: SIG%s code %d band %#lx fd %s\n", what, sigabbrev_np(r), si.si_code, si.si_band,
		       si.si_fd == asyncfd ? "the file's" : "other");
}

int main(void) {
	setvbuf(stdout, NULL, _IONBF, 0);
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return 1;
	asyncfd = sv[0];
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGIO);
	sigaddset(&s, SIGUSR1);
	sigprocmask(SIG_BLOCK, &s, NULL);

	owner("F_GETOWN fresh", sv[0]);
	show("F_SETOWN getpid", fcntl(sv[0], F_SETOWN, getpid()));
	owner("F_GETOWN", sv[0]);
	struct f_owner_ex ex;
	show("F_GETOWN_EX", fcntl(sv[0], F_GETOWN_EX, &ex));
	printf("F_GETOWN_EX type %d pid %s\n", ex.type, ex.pid == getpid() ? "self" : "other");
	show("F_SETOWN -pgrp", fcntl(sv[0], F_SETOWN, -getpgrp()));
	owner("F_GETOWN", sv[0]);
	fcntl(sv[0], F_GETOWN_EX, &ex);
	printf("F_GETOWN_EX type %d\n", ex.type);
	show("F_SETOWN 0x7ffffff0 (nobody)", fcntl(sv[0], F_SETOWN, 0x7ffffff0));
	owner("F_GETOWN after ESRCH", sv[0]);
	show("F_SETOWN INT_MIN", fcntl(sv[0], F_SETOWN, INT_MIN));
	ex.type = 7;
	ex.pid = getpid();
	show("F_SETOWN_EX bad type", fcntl(sv[0], F_SETOWN_EX, &ex));
	ex.type = F_OWNER_TID;
	ex.pid = gettid();
	show("F_SETOWN_EX tid", fcntl(sv[0], F_SETOWN_EX, &ex));
	fcntl(sv[0], F_GETOWN_EX, &ex);
	printf("F_GETOWN_EX type %d pid %s\n", ex.type, ex.pid == gettid() ? "self" : "other");
	show("F_GETOWN_EX bad pointer", fcntl(sv[0], F_GETOWN_EX, (void *)8));
	show("F_GETSIG", fcntl(sv[0], F_GETSIG));
	show("F_SETSIG 65", fcntl(sv[0], F_SETSIG, 65));
	show("F_SETSIG -1", fcntl(sv[0], F_SETSIG, -1));
	show("F_SETSIG SIGUSR1", fcntl(sv[0], F_SETSIG, SIGUSR1));
	show("F_GETSIG", fcntl(sv[0], F_GETSIG));
	show("F_SETSIG 0", fcntl(sv[0], F_SETSIG, 0));
	show("F_GETOWN on a bad fd", fcntl(99, F_GETOWN));
	// The owner is the open file description's: a dup shares it.
	int d = dup(sv[0]);
	fcntl(sv[0], F_SETOWN, getpid());
	owner("F_GETOWN of a dup", d);
	close(d);

	// O_ASYNC by FIOASYNC, as nginx: data arriving sends SIGIO.
	int on = 1;
	show("FIOASYNC", ioctl(sv[0], FIOASYNC, &on));
	printf("O_ASYNC in F_GETFL: %d\n", (fcntl(sv[0], F_GETFL) & O_ASYNC) != 0);
	write(sv[1], "x", 1);
	waitsig("after a write to the peer", SIGIO);
	char c;
	read(sv[0], &c, 1);
	// F_SETSIG: the chosen signal, with si_fd and POLL_IN.
	fcntl(sv[0], F_SETSIG, SIGUSR1);
	write(sv[1], "y", 1);
	waitsig("F_SETSIG SIGUSR1, a write", SIGUSR1);
	read(sv[0], &c, 1);
	fcntl(sv[0], F_SETSIG, 0);
	// Cleared: nothing comes.
	on = 0;
	ioctl(sv[0], FIOASYNC, &on);
	write(sv[1], "z", 1);
	waitsig("O_ASYNC cleared, a write", SIGIO);
	read(sv[0], &c, 1);
	// By F_SETFL, to the owner; a child writes.
	fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_ASYNC);
	pid_t p = fork();
	if (p == 0) {
		write(sv[1], "w", 1);
		_exit(0);
	}
	waitpid(p, NULL, 0);
	waitsig("F_SETFL O_ASYNC, a child writes", SIGIO);
	read(sv[0], &c, 1);
	// No owner: no signal.
	fcntl(sv[0], F_SETOWN, 0);
	write(sv[1], "v", 1);
	waitsig("no owner, a write", SIGIO);
	return 0;
}
