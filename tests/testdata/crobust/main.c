/* crobust: one mode per defect of issue 22 — calls that once crashed or hung
 * rumpgo. Each mode prints what Linux answers, so tests/robust_test.go can
 * run it natively and under rumpgo and compare the output and exit status.
 * Modes that could block forever on a wrong answer arm an alarm first: a
 * hang then shows as "alarm" (exit 3) instead of a stuck test.
 *
 *	crobust MODE
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <linux/errqueue.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <stddef.h>
#include <limits.h>
#include <unistd.h>

static void onalarm(int sig) {
	(void)sig;
	static const char msg[] = "alarm: a call blocked where Linux returns\n";
	write(1, msg, sizeof msg - 1);
	_exit(3);
}

/* guard arms a watchdog of secs seconds that ends the program. */
static void guard(int secs) {
	signal(SIGALRM, onalarm);
	alarm(secs);
}

static const char *ename(int e) {
	switch (e) {
	case 0: return "ok";
	case EAGAIN: return "EAGAIN";
	case EPIPE: return "EPIPE";
	case ENOENT: return "ENOENT";
	case ECHILD: return "ECHILD";
	case EINVAL: return "EINVAL";
	case EPERM: return "EPERM";
	case EFAULT: return "EFAULT";
	case ENOSYS: return "ENOSYS";
	case EINTR: return "EINTR";
	case ESRCH: return "ESRCH";
	case EOWNERDEAD: return "EOWNERDEAD";
	case ENOTDIR: return "ENOTDIR";
	case EACCES: return "EACCES";
	case ENOPROTOOPT: return "ENOPROTOOPT";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EBADF: return "EBADF";
	case E2BIG: return "E2BIG";
	case ENOTCONN: return "ENOTCONN";
	case ECONNREFUSED: return "ECONNREFUSED";
	}
	static char buf[32];
	snprintf(buf, sizeof buf, "errno%d", e);
	return buf;
}

/* say prints a call's result: its value when it succeeded, else its errno. */
static void say(const char *what, long r) {
	if (r < 0)
		printf("%s: %s\n", what, ename(errno));
	else
		printf("%s: %ld\n", what, r);
	fflush(stdout);
}

/* icmp6-pktinfo: a ping to ::1 on an ICMPv6 datagram socket that asked
 * for IPv4 and IPv6 packet info. Linux gives only the IPv6 messages for an
 * IPv6 packet; rumpgo once built IP_PKTINFO from the 16-byte address and
 * panicked. */
static int icmp6_pktinfo(void) {
	guard(5);
	int s = socket(AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6);
	if (s < 0) {
		say("socket", s);
		return 1;
	}
	int one = 1;
	say("IP_PKTINFO", setsockopt(s, SOL_IP, IP_PKTINFO, &one, sizeof one));
	say("IPV6_RECVPKTINFO", setsockopt(s, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one));
	say("IPV6_RECVHOPLIMIT", setsockopt(s, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof one));
	say("IP_RECVTTL", setsockopt(s, SOL_IP, IP_RECVTTL, &one, sizeof one));
	struct sockaddr_in6 to = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	struct icmp6_hdr req = {.icmp6_type = ICMP6_ECHO_REQUEST};
	req.icmp6_seq = htons(1);
	say("sendto", sendto(s, &req, sizeof req, 0, (struct sockaddr *)&to, sizeof to));
	char buf[256], cbuf[512];
	struct iovec iov = {buf, sizeof buf};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
	long n = recvmsg(s, &m, 0);
	say("recvmsg", n);
	if (n > 0)
		printf("type %d\n", (unsigned char)buf[0]);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo *pi = (void *)CMSG_DATA(c);
			printf("cmsg IPV6_PKTINFO loopback %d\n", IN6_IS_ADDR_LOOPBACK(&pi->ipi6_addr));
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT) {
			printf("cmsg IPV6_HOPLIMIT %d\n", *(int *)CMSG_DATA(c));
		} else {
			printf("cmsg level %d type %d\n", c->cmsg_level, c->cmsg_type);
		}
	}
	close(s);
	/* The same on an ICMP (v4) ping socket to 127.0.0.1: netstack leaves
	 * the local address of a ping packet empty. */
	s = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
	say("IP_PKTINFO v4", setsockopt(s, SOL_IP, IP_PKTINFO, &one, sizeof one));
	struct sockaddr_in to4 = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	unsigned char echo[8] = {8}; /* ICMP_ECHO */
	say("sendto v4", sendto(s, echo, sizeof echo, 0, (struct sockaddr *)&to4, sizeof to4));
	m.msg_controllen = sizeof cbuf;
	n = recvmsg(s, &m, 0);
	say("recvmsg v4", n);
	if (n > 0)
		printf("type %d\n", (unsigned char)buf[0]);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo *pi = (void *)CMSG_DATA(c);
			printf("cmsg IP_PKTINFO addr %#x\n", ntohl(pi->ipi_addr.s_addr));
		} else
			printf("cmsg level %d type %d\n", c->cmsg_level, c->cmsg_type);
	}
	return 0;
}

/* deleted-dir: descriptors of a directory whose parent was removed,
 * reached through /proc/self/fd and the calls that need a parent. rumpgo
 * once dereferenced a nil parent naming it. */
static int deleted_dir(void) {
	char base[] = "/tmp/crobust.XXXXXX";
	if (!mkdtemp(base)) {
		perror("mkdtemp");
		return 1;
	}
	char d[64], e[80], f[96], link[64], got[256];
	snprintf(d, sizeof d, "%s/d", base);
	snprintf(e, sizeof e, "%s/d/e", base);
	snprintf(f, sizeof f, "%s/d/e/f", base);
	mkdir(d, 0755);
	mkdir(e, 0755);
	int fd = open(e, O_RDONLY | O_DIRECTORY);
	int ffd = open(f, O_RDWR | O_CREAT, 0644);
	unlink(f);
	say("rmdir e", rmdir(e));
	say("rmdir d", rmdir(d));
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	long n = readlink(link, got, sizeof got - 1);
	if (n >= 0) {
		got[n] = 0;
		printf("readlink dir: deleted %d\n", strstr(got, " (deleted)") != NULL);
	} else
		say("readlink dir", n);
	snprintf(link, sizeof link, "/proc/self/fd/%d", ffd);
	n = readlink(link, got, sizeof got - 1);
	if (n >= 0) {
		got[n] = 0;
		printf("readlink file: deleted %d\n", strstr(got, " (deleted)") != NULL);
	} else
		say("readlink file", n);
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	struct stat st;
	say("stat link", stat(link, &st));
	say("openat ..", openat(fd, "..", O_RDONLY) >= 0 ? 0 : -1);
	say("openat new", openat(fd, "x", O_RDWR | O_CREAT, 0644));
	say("mkdirat", mkdirat(fd, "y", 0755));
	say("chdir link", chdir(link));
	say("fchdir", fchdir(fd));
	say("getcwd", syscall(SYS_getcwd, got, sizeof got) < 0 ? -1 : 0);
	n = readlink("/proc/self/cwd", got, sizeof got - 1);
	if (n >= 0) {
		got[n] = 0;
		printf("readlink cwd: deleted %d\n", strstr(got, " (deleted)") != NULL);
	} else
		say("readlink cwd", n);
	say("open .", open(".", O_RDONLY) >= 0 ? 0 : -1);
	say("open ..", open("..", O_RDONLY) >= 0 ? 0 : -1);
	say("mkdir z", mkdir("z", 0755));
	say("rename", rename(base, "/tmp/crobust-never"));
	chdir("/");
	say("rmdir base", rmdir(base));
	return 0;
}

/* splice-pipes: splice from one pipe into another that has room for
 * only part of what is asked, then go on making calls. rumpgo once held a
 * lock after such a splice and every later call hung. */
static int splice_pipes(void) {
	guard(5);
	int a[2], b[2];
	pipe(a);
	pipe(b);
	say("setpipe a", fcntl(a[1], F_SETPIPE_SZ, 65536));
	say("setpipe b", fcntl(b[1], F_SETPIPE_SZ, 4096));
	static char buf[65536];
	memset(buf, 'x', sizeof buf);
	say("write a", write(a[1], buf, 8192));
	say("splice", splice(a[0], NULL, b[1], NULL, 8192, SPLICE_F_NONBLOCK));
	say("splice again", splice(a[0], NULL, b[1], NULL, 8192, SPLICE_F_NONBLOCK));
	say("read b", read(b[0], buf, sizeof buf));
	say("splice rest", splice(a[0], NULL, b[1], NULL, 8192, 0));
	say("read b", read(b[0], buf, sizeof buf));
	say("getpid", getpid() > 0 ? 0 : -1);
	/* Both ends blocking and half the room: splice moves what fits. */
	say("write a", write(a[1], buf, 4096));
	say("write b", write(b[1], buf, 100));
	say("splice partial", splice(a[0], NULL, b[1], NULL, 4096, SPLICE_F_NONBLOCK));
	say("read b", read(b[0], buf, sizeof buf));
	say("splice into itself", splice(a[0], NULL, a[1], NULL, 10, SPLICE_F_NONBLOCK));
	/* A file into a pipe with room for part of it. */
	char tmpl[] = "/tmp/crobust-splice.XXXXXX";
	int f = mkstemp(tmpl);
	unlink(tmpl);
	write(f, buf, 16384);
	lseek(f, 0, SEEK_SET);
	say("splice file", splice(f, NULL, b[1], NULL, 16384, 0));
	say("splice file full", splice(f, NULL, b[1], NULL, 16384, SPLICE_F_NONBLOCK));
	say("read b", read(b[0], buf, sizeof buf));
	say("offset", lseek(f, 0, SEEK_CUR));
	close(f);
	say("close", close(a[0]) | close(a[1]) | close(b[0]) | close(b[1]));
	return 0;
}

/* altstack-overflow: a SIGSEGV handler on a small alternate stack that
 * recurses off its bottom. Linux cannot deliver the next SIGSEGV and kills
 * the process with it; rumpgo once spun forever. */
static volatile int depth;
static int recurse(int n) {
	volatile char pad[512];
	pad[0] = (char)n;
	depth++;
	return recurse(n + 1) + pad[0];
}
static void onsegv(int sig) {
	(void)sig;
	recurse(0);
}
static void altstack_child(int nodefer, int mapped_below) {
	long page = sysconf(_SC_PAGESIZE);
	char *m = mmap(NULL, 33 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!mapped_below)
		mprotect(m, 17 * page, PROT_NONE); /* a guard right below the stack */
	else
		mprotect(m, page, PROT_NONE); /* 16 mapped pages below it, then the guard */
	stack_t ss = {.ss_sp = m + 17 * page, .ss_size = 16 * page};
	sigaltstack(&ss, NULL);
	struct sigaction sa = {.sa_handler = onsegv, .sa_flags = SA_ONSTACK | (nodefer ? SA_NODEFER : 0)};
	sigaction(SIGSEGV, &sa, NULL);
	*(volatile int *)8 = 1;
	_exit(0);
}
/* The walk off the bottom that gVisor's sigaltstack test makes: the
 * upper half of a heap buffer is the alternate stack of a SIGUSR1 handler
 * that recurses down through the lower half and on through whatever is
 * mapped below, until a write faults. SIGSEGV is not handled: killed. */
static void walk_off(int sig) {
	volatile char buf[2048];
	buf[0] = (char)sig;
	walk_off(sig + buf[0] * 0);
}
static void altstack_heap_child(void) {
	size_t sz = 2 * SIGSTKSZ;
	char *mem = malloc(sz);
	stack_t ss = {.ss_sp = mem + sz / 2, .ss_size = sz / 2};
	sigaltstack(&ss, NULL);
	struct sigaction sa = {.sa_handler = walk_off, .sa_flags = SA_ONSTACK};
	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
	_exit(0);
}
static int altstack_overflow(void) {
	guard(20);
	pid_t c = fork();
	if (c == 0)
		altstack_heap_child();
	int st;
	waitpid(c, &st, 0);
	printf("heap altstack: signaled %d sig %d\n", WIFSIGNALED(st), WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	fflush(stdout);
	/* SA_NODEFER and a guard right below would recurse forever on Linux
	 * too (each fault below the stack starts again at its top): not run. */
	for (int v = 0; v < 4; v += 2) {
		pid_t c = fork();
		if (c == 0)
			altstack_child(v & 1, v >> 1);
		int st;
		waitpid(c, &st, 0);
		printf("nodefer %d mapped below %d: signaled %d sig %d\n", v & 1, v >> 1, WIFSIGNALED(st), WIFSIGNALED(st) ? WTERMSIG(st) : 0);
		fflush(stdout);
	}
	return 0;
}

/* pipe-close-reader: close a pipe's read end while another thread is
 * blocked reading it. The read still holds the open file, so on Linux the
 * write succeeds and the reader returns the byte; rumpgo once answered the
 * writer EPIPE and left the reader blocked. */
static int pfd[2];
static void *reader(void *arg) {
	(void)arg;
	char c;
	return (void *)read(pfd[0], &c, 1);
}
static int pipe_close_reader(void) {
	guard(5);
	signal(SIGPIPE, SIG_IGN);
	pipe(pfd);
	pthread_t t;
	pthread_create(&t, NULL, reader, NULL);
	usleep(200000);
	say("close read end", close(pfd[0]));
	say("write", write(pfd[1], "x", 1));
	void *n;
	pthread_join(t, &n);
	printf("reader: %ld\n", (long)n);
	say("write after", write(pfd[1], "x", 1));
	return 0;
}

/* tgkill-signalfd: a signal sent with tgkill to a thread blocked reading
 * a signalfd wakes it. */
static pid_t sfd_tid;
static volatile int sfd_ready;
static void *sfdreader(void *arg) {
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	/* arg: a descriptor the main thread made, or -1: make one here. */
	int fd = (int)(long)arg;
	if (fd < 0)
		fd = signalfd(-1, &set, 0);
	sfd_tid = gettid();
	sfd_ready = 1;
	struct signalfd_siginfo si;
	long n = read(fd, &si, sizeof si);
	static char line[80];
	snprintf(line, sizeof line, "signalfd read: %ld signo %u code %d\n", n, si.ssi_signo, si.ssi_code);
	return line;
}
static int tgkill_signalfd(void) {
	guard(5);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	for (int i = 0; i < 2; i++) {
		long fd = i == 0 ? -1 : signalfd(-1, &set, 0);
		sfd_ready = 0;
		pthread_t t;
		pthread_create(&t, NULL, sfdreader, (void *)fd);
		while (!sfd_ready)
			usleep(1000);
		usleep(100000);
		say(i == 0 ? "tgkill (reader's signalfd)" : "tgkill (main's signalfd)", syscall(SYS_tgkill, getpid(), sfd_tid, SIGUSR1));
		void *line;
		pthread_join(t, &line);
		fputs(line, stdout);
	}
	return 0;
}

/* unix-sndtimeo: SO_SNDTIMEO bounds a send to a full AF_UNIX datagram or
 * seqpacket socket (EAGAIN after the timeout). */
static int unix_sndtimeo(void) {
	guard(10);
	int types[] = {SOCK_DGRAM, SOCK_SEQPACKET};
	const char *names[] = {"dgram", "seqpacket"};
	for (int i = 0; i < 2; i++) {
		int sv[2];
		socketpair(AF_UNIX, types[i], 0, sv);
		struct timeval tv = {0, 100000};
		setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		static char buf[4096];
		long r;
		int sent = 0;
		while ((r = send(sv[0], buf, sizeof buf, 0)) > 0)
			sent++;
		printf("%s: sent some %d, then %s\n", names[i], sent > 0, ename(errno));
		/* sendto with an address on a connected pair: the same. */
		close(sv[0]);
		close(sv[1]);
	}
	return 0;
}

/* unix-zero-dgram: a zero-length datagram from an unbound AF_UNIX socket
 * is delivered as one (recv returns 0). */
static int unix_zero_dgram(void) {
	guard(5);
	int r = socket(AF_UNIX, SOCK_DGRAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path + 1, sizeof sa.sun_path - 1, "crobust-%d", getpid());
	socklen_t len = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(sa.sun_path + 1);
	say("bind", bind(r, (struct sockaddr *)&sa, len));
	int s = socket(AF_UNIX, SOCK_DGRAM, 0);
	say("sendto empty", sendto(s, "", 0, 0, (struct sockaddr *)&sa, len));
	say("sendto one", sendto(s, "a", 1, 0, (struct sockaddr *)&sa, len));
	char buf[8];
	struct sockaddr_un from;
	socklen_t fl = sizeof from;
	say("recvfrom", recvfrom(r, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl));
	printf("from len %u\n", fl);
	say("recv", recv(r, buf, sizeof buf, 0));
	int sv[2];
	socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
	say("pair send empty", send(sv[0], "", 0, 0));
	say("pair recv", recv(sv[1], buf, sizeof buf, 0));
	say("pair write empty", write(sv[0], "", 0));
	say("pair read", read(sv[1], buf, sizeof buf));
	struct iovec none = {buf, 0};
	struct msghdr m0 = {.msg_iov = &none, .msg_iovlen = 1};
	say("pair sendmsg empty", sendmsg(sv[0], &m0, 0));
	m0.msg_iovlen = 0;
	say("pair sendmsg no iov", sendmsg(sv[0], &m0, 0));
	say("pair recv", recv(sv[1], buf, sizeof buf, 0));
	say("pair recv", recv(sv[1], buf, sizeof buf, 0));
	/* An unbound socket connected to the bound one. */
	int c = socket(AF_UNIX, SOCK_DGRAM, 0);
	say("connect", connect(c, (struct sockaddr *)&sa, len));
	say("connected write empty", write(c, "", 0));
	say("recv", recv(r, buf, sizeof buf, 0));
	socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv);
	say("seqpacket send empty", send(sv[0], "", 0, 0));
	say("seqpacket send one", send(sv[0], "b", 1, 0));
	say("seqpacket recv", recv(sv[1], buf, sizeof buf, 0));
	say("seqpacket recv", recv(sv[1], buf, sizeof buf, 0));
	return 0;
}

/* errqueue: reading an empty error queue never blocks (EAGAIN). */
static int errqueue(void) {
	guard(5);
	char buf[64];
	struct iovec iov = {buf, sizeof buf};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	int u = socket(AF_INET6, SOCK_DGRAM, 0);
	say("udp recvmsg errqueue", recvmsg(u, &m, MSG_ERRQUEUE));
	int u4 = socket(AF_INET, SOCK_DGRAM, 0);
	say("udp4 recvmsg errqueue", recvmsg(u4, &m, MSG_ERRQUEUE));
	int t = socket(AF_INET6, SOCK_STREAM, 0);
	say("tcp recv errqueue", recv(t, buf, sizeof buf, MSG_ERRQUEUE));
	say("tcp recvfrom errqueue", recvfrom(t, buf, sizeof buf, MSG_ERRQUEUE, NULL, NULL));
	/* A connected pair over ::1. */
	int l = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	socklen_t sl = sizeof sa;
	bind(l, (struct sockaddr *)&sa, sl);
	listen(l, 1);
	getsockname(l, (struct sockaddr *)&sa, &sl);
	say("connect", connect(t, (struct sockaddr *)&sa, sl));
	say("connected recv errqueue", recv(t, buf, sizeof buf, MSG_ERRQUEUE));
	return 0;
}

/* waitid-nochild: waitid for a stop with no child at all is ECHILD. */
static int waitid_nochild(void) {
	guard(5);
	siginfo_t si;
	say("waitid P_ALL WSTOPPED", waitid(P_ALL, 0, &si, WSTOPPED));
	say("waitid P_ALL WCONTINUED", waitid(P_ALL, 0, &si, WCONTINUED));
	say("waitid P_PID WSTOPPED", waitid(P_PID, 12345, &si, WSTOPPED));
	say("waitid P_PGID WSTOPPED|WEXITED", waitid(P_PGID, 0, &si, WSTOPPED | WEXITED));
	say("waitid WSTOPPED|WNOHANG", waitid(P_ALL, 0, &si, WSTOPPED | WNOHANG));
	int st;
	say("waitpid WUNTRACED", waitpid(-1, &st, WUNTRACED));
	/* With a child that has exited, a WSTOPPED-only wait has nothing to
	 * wait for once the child is gone: it must not hang on the zombie. */
	pid_t c = fork();
	if (c == 0)
		_exit(0);
	usleep(100000);
	say("waitid zombie WSTOPPED|WNOHANG", waitid(P_ALL, 0, &si, WSTOPPED | WNOHANG));
	say("waitid zombie WSTOPPED", waitid(P_ALL, 0, &si, WSTOPPED));
	say("waitid zombie WEXITED", waitid(P_ALL, 0, &si, WEXITED) == 0 ? si.si_status : -1);
	say("waitid after WSTOPPED", waitid(P_ALL, 0, &si, WSTOPPED));
	return 0;
}

/* wuntraced: waitpid(WUNTRACED) reports a child's stop. */
static int wuntraced(void) {
	guard(5);
	pid_t c = fork();
	if (c == 0) {
		raise(SIGSTOP);
		_exit(7);
	}
	int st = 0;
	long r = waitpid(c, &st, WUNTRACED);
	printf("waitpid WUNTRACED: %s stopped %d sig %d\n", r == c ? "child" : ename(errno), WIFSTOPPED(st), WIFSTOPPED(st) ? WSTOPSIG(st) : 0);
	kill(c, SIGCONT);
	r = waitpid(c, &st, 0);
	printf("waitpid: %s exited %d status %d\n", r == c ? "child" : ename(errno), WIFEXITED(st), WEXITSTATUS(st));
	/* Again with no status pointer, with rusage, and from waitid. */
	c = fork();
	if (c == 0) {
		raise(SIGSTOP);
		for (;;)
			pause();
	}
	say("waitpid WUNTRACED NULL status", waitpid(c, NULL, WUNTRACED) == c ? 0 : -1);
	kill(c, SIGCONT);
	say("waitpid WCONTINUED NULL status", waitpid(c, NULL, WCONTINUED) == c ? 0 : -1);
	kill(c, SIGTERM);
	struct rusage ru;
	say("wait4", wait4(c, &st, 0, &ru) == c ? WTERMSIG(st) : -1);
	c = fork();
	if (c == 0) {
		raise(SIGSTOP);
		_exit(9);
	}
	siginfo_t si = {0};
	say("waitid WSTOPPED", waitid(P_PID, c, &si, WSTOPPED));
	printf("si_code %d si_status %d\n", si.si_code, si.si_status);
	kill(c, SIGKILL);
	say("waitid WEXITED", waitid(P_PID, c, &si, WEXITED));
	printf("si_code %d si_status %d\n", si.si_code, si.si_status);
	/* A bad status pointer: EFAULT, and the stop (or continue) is
	 * consumed all the same, as Linux's kernel_wait4 copies the status
	 * out after do_wait took it; a bad rusage likewise. */
	c = fork();
	if (c == 0) {
		raise(SIGSTOP);
		for (;;) /* alive until killed: a zombie has no continue to report */
			pause();
	}
	say("waitid WSTOPPED|WNOWAIT", waitid(P_PID, c, &si, WSTOPPED | WNOWAIT));
	say("wait4 WUNTRACED bad status", syscall(SYS_wait4, c, (int *)1, WUNTRACED, NULL));
	say("wait4 WUNTRACED|WNOHANG after", waitpid(c, &st, WUNTRACED | WNOHANG));
	kill(c, SIGCONT);
	say("waitid WCONTINUED|WNOWAIT", waitid(P_PID, c, &si, WCONTINUED | WNOWAIT));
	say("wait4 WCONTINUED bad rusage", syscall(SYS_wait4, c, NULL, WCONTINUED, (struct rusage *)1));
	say("wait4 WCONTINUED|WNOHANG after", waitpid(c, &st, WCONTINUED | WNOHANG));
	kill(c, SIGKILL);
	say("waitid WEXITED|WNOWAIT", waitid(P_PID, c, &si, WEXITED | WNOWAIT));
	say("wait4 exit bad status", syscall(SYS_wait4, c, (int *)1, 0, NULL));
	say("wait4 after the reap", waitpid(c, &st, WNOHANG));
	return 0;
}

/* rlimit-cpu: a process past RLIMIT_CPU's soft limit gets SIGXCPU
 * (default action: killed). */
static int rlimit_cpu(void) {
	struct rlimit rl = {1, 3};
	say("setrlimit", setrlimit(RLIMIT_CPU, &rl));
	/* Wall time, against a hang: 3 s of CPU take 15 s when five jobs
	 * share each CPU (a busy machine, tests/load.sh). */
	guard(60);
	for (volatile unsigned long i = 0;; i++)
		;
	return 0;
}

/* rlimit-cpu-handled: SIGXCPU caught at the soft limit, the soft limit
 * moved a second on, then SIGKILL at the hard limit. */
static void onxcpu(int sig) {
	(void)sig;
	struct rlimit rl;
	getrlimit(RLIMIT_CPU, &rl);
	char line[64];
	int n = snprintf(line, sizeof line, "SIGXCPU, soft limit now %ld\n", (long)rl.rlim_cur);
	write(1, line, n);
}
static int rlimit_cpu_handled(void) {
	signal(SIGXCPU, onxcpu);
	struct rlimit rl = {1, 2};
	say("setrlimit", setrlimit(RLIMIT_CPU, &rl));
	guard(60); /* as in rlimit_cpu */
	for (volatile unsigned long i = 0;; i++)
		;
	return 0;
}

/* robust: a robust mutex whose owner thread ended holding it: the next
 * locker gets EOWNERDEAD, natively because the kernel walked the dead
 * thread's robust list. The same across processes (a shared mutex). */
static pthread_mutex_t *rm;
static void *holder(void *arg) {
	(void)arg;
	printf("holder lock: %s\n", ename(pthread_mutex_lock(rm)));
	fflush(stdout);
	return NULL; /* ends holding it */
}
static int robust(void) {
	guard(5);
	rm = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pthread_mutexattr_t at;
	pthread_mutexattr_init(&at);
	pthread_mutexattr_setrobust(&at, PTHREAD_MUTEX_ROBUST);
	pthread_mutexattr_setpshared(&at, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init(rm, &at);
	pthread_t t;
	pthread_create(&t, NULL, holder, NULL);
	pthread_join(t, NULL);
	printf("lock: %s\n", ename(pthread_mutex_lock(rm)));
	printf("consistent: %s\n", ename(pthread_mutex_consistent(rm)));
	printf("unlock: %s\n", ename(pthread_mutex_unlock(rm)));
	/* A child process dies holding it while the parent waits on it. */
	pid_t c = fork();
	if (c == 0) {
		pthread_mutex_lock(rm);
		usleep(200000);
		_exit(0);
	}
	usleep(50000);
	printf("lock after child: %s\n", ename(pthread_mutex_lock(rm)));
	pthread_mutex_consistent(rm);
	pthread_mutex_unlock(rm);
	waitpid(c, NULL, 0);
	return 0;
}

/* kill-perm: after setresuid to another user, a child cannot signal its
 * root parent (EPERM). */
static int kill_perm(void) {
	guard(5);
	pid_t c = fork();
	if (c == 0) {
		if (setresuid(1000, 1000, 1000) != 0) {
			say("setresuid", -1);
			_exit(1);
		}
		say("kill parent 0", kill(getppid(), 0));
		say("kill parent SIGKILL", kill(getppid(), SIGKILL));
		say("kill self 0", kill(getpid(), 0));
		_exit(0);
	}
	int st;
	waitpid(c, &st, 0);
	printf("child exited %d\n", WEXITSTATUS(st));
	return 0;
}

/* mxcsr: a forked child inherits the parent's MXCSR (rounding mode). */
static unsigned getmxcsr(void) {
	unsigned v;
	__asm__ volatile("stmxcsr %0" : "=m"(v));
	return v;
}
static int mxcsr(void) {
	unsigned v = (getmxcsr() & ~0x6000u) | 0x6000u | 0x8040u; /* round to zero, FTZ, DAZ */
	__asm__ volatile("ldmxcsr %0" ::"m"(v));
	printf("parent mxcsr %#x\n", getmxcsr() & ~0x3fu);
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		printf("child mxcsr %#x\n", getmxcsr() & ~0x3fu);
		fflush(stdout);
		_exit(0);
	}
	waitpid(c, NULL, 0);
	return 0;
}

/* passcred: SCM_CREDENTIALS carry the sender's pid, uid and gid. */
static int passcred(void) {
	guard(5);
	int types[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET};
	for (int i = 0; i < 3; i++) {
		int sv[2];
		socketpair(AF_UNIX, types[i], 0, sv);
		int one = 1;
		setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
		send(sv[0], "x", 1, 0);
		char buf[8], cbuf[256];
		struct iovec iov = {buf, sizeof buf};
		struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
		long n = recvmsg(sv[1], &m, 0);
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		if (n == 1 && c && c->cmsg_type == SCM_CREDENTIALS) {
			struct ucred *u = (void *)CMSG_DATA(c);
			printf("type %d: pid ok %d uid %u gid %u\n", types[i], u->pid == getpid(), u->uid, u->gid);
		} else
			printf("type %d: no credentials (n %ld)\n", types[i], n);
		close(sv[0]);
		close(sv[1]);
	}
	return 0;
}

/* readv-max: readv and writev with lengths at and past the limits. */
static int readv_max(void) {
	guard(5);
	int p[2];
	pipe(p);
	write(p[1], "hello", 5);
	char buf[16];
	struct iovec iov[2] = {{buf, 3}, {buf + 3, SSIZE_MAX - 3}};
	say("readv SSIZE_MAX", readv(p[0], iov, 2));
	iov[1].iov_len = SSIZE_MAX;
	say("readv overflow", readv(p[0], iov, 2));
	/* Not the stack: rumpgo's sits higher than Linux's, and 2 GiB above
	 * it would pass the top of user space (EFAULT) there only. */
	static char low[16];
	struct iovec one = {low, 0x7ffff000};
	write(p[1], "ab", 2);
	say("readv MAX_RW_COUNT", readv(p[0], &one, 1));
	struct iovec w = {"xyz", 3};
	struct iovec big[2] = {{"xyz", 3}, {NULL, SSIZE_MAX}};
	say("writev overflow", writev(p[1], big, 2));
	say("writev", writev(p[1], &w, 1));
	say("read", read(p[0], buf, sizeof buf));
	/* process_vm_readv of ourselves: a local copy. */
	char src[8] = "abcdefg", dst[8] = {0};
	struct iovec l = {dst, 8}, r = {src, 8};
	say("process_vm_readv", syscall(SYS_process_vm_readv, getpid(), &l, 1, &r, 1, 0));
	printf("copied %s\n", dst);
	struct iovec l2 = {src, 4}, r2 = {dst, 4};
	memcpy(src, "WXYZ", 4);
	say("process_vm_writev", syscall(SYS_process_vm_writev, getpid(), &l2, 1, &r2, 1, 0));
	printf("written %.4s\n", dst);
	say("process_vm_readv flags", syscall(SYS_process_vm_readv, getpid(), &l, 1, &r, 1, 1));
	struct iovec bad = {(void *)8, 8};
	say("process_vm_readv bad remote", syscall(SYS_process_vm_readv, getpid(), &l, 1, &bad, 1, 0));
	say("process_vm_readv bad local", syscall(SYS_process_vm_readv, getpid(), &bad, 1, &r, 1, 0));
	say("process_vm_readv no pid", syscall(SYS_process_vm_readv, 999999, &l, 1, &r, 1, 0));
	say("process_vm_readv bad iov", syscall(SYS_process_vm_readv, getpid(), (void *)8, 1, &r, 1, 0));
	return 0;
}

/* clone3: a process started with clone3, and its argument checks. */
struct clone_args_v2 {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};
static int clone3_mode(void) {
	guard(5);
	static unsigned char big[4200];
	struct clone_args_v2 *ca = (void *)big;
	ca->exit_signal = SIGCHLD;
	long r = syscall(SYS_clone3, ca, 64);
	if (r == 0)
		_exit(5);
	int st = 0;
	if (r > 0)
		waitpid(r, &st, 0);
	printf("clone3 fork: %s, child exited %d\n", r > 0 ? "ok" : ename(errno), WEXITSTATUS(st));
	say("clone3 size 63", syscall(SYS_clone3, ca, 63));
	say("clone3 size 4097", syscall(SYS_clone3, ca, 4097));
	big[100] = 1;
	say("clone3 unknown field set", syscall(SYS_clone3, ca, 128));
	big[100] = 0;
	ca->set_tid_size = 1;
	say("clone3 set_tid_size without set_tid", syscall(SYS_clone3, ca, 88));
	ca->set_tid_size = 0;
	ca->exit_signal = 0x100;
	say("clone3 bad exit_signal", syscall(SYS_clone3, ca, 88));
	ca->exit_signal = SIGCHLD;
	ca->flags = CLONE_THREAD | CLONE_NEWNS | CLONE_VM | CLONE_SIGHAND;
	say("clone3 thread in a new namespace", syscall(SYS_clone3, ca, 88));
	say("unshare 1", syscall(SYS_unshare, 1));
	say("unshare 0", syscall(SYS_unshare, 0));
	say("unshare CLONE_FILES", syscall(SYS_unshare, CLONE_FILES));
	say("unshare CLONE_FS|CLONE_SYSVSEM", syscall(SYS_unshare, CLONE_FS | CLONE_SYSVSEM));
	return 0;
}

/* noperm: calls rumpgo answers as Linux does a process without the
 * privilege (run under rumpgo only: natively root may). */
static int noperm(void) {
	guard(5);
	say("ptrace TRACEME", syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0));
	say("unshare CLONE_NEWUSER", syscall(SYS_unshare, CLONE_NEWUSER));
	say("unshare CLONE_NEWNS", syscall(SYS_unshare, CLONE_NEWNS));
	struct clone_args_v2 ca = {.exit_signal = SIGCHLD, .flags = CLONE_NEWPID};
	say("clone3 CLONE_NEWPID", syscall(SYS_clone3, &ca, sizeof ca));
	pid_t tid = 12345;
	ca.flags = 0;
	ca.set_tid = (uint64_t)&tid;
	ca.set_tid_size = 1;
	say("clone3 set_tid", syscall(SYS_clone3, &ca, sizeof ca));
	say("fork with CLONE_NEWNET", syscall(SYS_clone, CLONE_NEWNET | SIGCHLD, 0, 0, 0, 0));
	return 0;
}

/* threads: many threads with the default 8 MiB stacks. */
static void *idle(void *arg) {
	pause();
	return arg;
}
static int threads(void) {
	guard(10);
	int ok = 0;
	for (int i = 0; i < 200; i++) {
		pthread_t t;
		int e = pthread_create(&t, NULL, idle, NULL);
		if (e) {
			printf("pthread_create %d: %s\n", i, ename(e));
			break;
		}
		ok++;
	}
	printf("created %d\n", ok);
	return 0;
}

/* sendfile-count: a count past SSIZE_MAX is EINVAL, checked with the
 * input before the output's mode (guestfuzz seed 114 sent 2^64-4096 bytes
 * of a sparse memfd into itself and the monitor grew without end). */
static int sendfile_count(void) {
	guard(20);
	int fd = memfd_create("sendfile", 0);
	say("write", write(fd, "abcdefgh", 8));
	say("ftruncate 1 TiB", ftruncate(fd, 1LL << 40));
	say("lseek", lseek(fd, 0, SEEK_SET));
	say("sendfile into itself, count -4096", sendfile(fd, fd, NULL, (size_t)-4096));
	int ro = open("/dev/null", O_RDONLY);
	say("sendfile to a read-only fd, count -4096", sendfile(ro, fd, NULL, (size_t)-4096));
	say("sendfile to a read-only fd, count 8", sendfile(ro, fd, NULL, 8));
	off_t off = 0;
	say("sendfile at an offset, count -1", sendfile(fd, fd, &off, (size_t)-1));
	int p[2];
	pipe(p);
	say("sendfile from a pipe, count -1", sendfile(fd, p[0], NULL, (size_t)-1));
	return 0;
}

/* sockopts: socket options Linux accepts that rumpgo answered
 * ENOPROTOOPT or EOPNOTSUPP, and the wrong errnos of a level the socket
 * does not have: each option's get, set to 1 and get again. Then what
 * the options do: IP_RECVERR's error queue, SO_TIMESTAMP(NS), TCP_INQ,
 * IP_RECVORIGDSTADDR. Needs 127.0.0.1 (natively: a netns). */
struct sopt { int level, name; const char *s; };
#define SOPT(l, n) {l, n, #n}
static const struct sopt sopts[] = {
	SOPT(SOL_SOCKET, SO_DEBUG), SOPT(SOL_SOCKET, SO_BSDCOMPAT), SOPT(SOL_SOCKET, SO_NO_CHECK),
	SOPT(SOL_SOCKET, SO_PRIORITY), SOPT(SOL_SOCKET, SO_MARK), SOPT(SOL_SOCKET, SO_TIMESTAMP),
	SOPT(SOL_SOCKET, SO_TIMESTAMPNS),
	SOPT(IPPROTO_TCP, TCP_NODELAY), SOPT(IPPROTO_TCP, TCP_INQ), SOPT(IPPROTO_TCP, TCP_THIN_DUPACK),
	SOPT(IPPROTO_TCP, TCP_FASTOPEN), SOPT(IPPROTO_TCP, TCP_FASTOPEN_CONNECT),
	SOPT(IPPROTO_IP, IP_TTL), SOPT(IPPROTO_IP, IP_PKTINFO), SOPT(IPPROTO_IP, IP_RECVERR),
	SOPT(IPPROTO_IP, IP_RECVORIGDSTADDR), SOPT(IPPROTO_IP, IP_MTU), SOPT(IPPROTO_IP, IP_MULTICAST_TTL),
	SOPT(IPPROTO_IPV6, IPV6_V6ONLY), SOPT(IPPROTO_IPV6, IPV6_RECVERR), SOPT(IPPROTO_IPV6, IPV6_RECVORIGDSTADDR),
	SOPT(IPPROTO_IPV6, IPV6_MTU), SOPT(IPPROTO_UDP, UDP_CORK),
};
static void sockopt_table(void) {
	static const struct { const char *k; int fam, type; } kinds[] = {
		{"tcp4", AF_INET, SOCK_STREAM}, {"udp4", AF_INET, SOCK_DGRAM},
		{"tcp6", AF_INET6, SOCK_STREAM}, {"udp6", AF_INET6, SOCK_DGRAM},
	};
	for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++)
		for (size_t i = 0; i < sizeof sopts / sizeof *sopts; i++) {
			if (sopts[i].level == IPPROTO_UDP && sopts[i].name == UDP_CORK && kinds[k].type == SOCK_DGRAM)
				continue; /* corks for real: not rumpgo's */
			int s = socket(kinds[k].fam, kinds[k].type, 0);
			int v = 0, one = 1;
			socklen_t l = sizeof v;
			int g = getsockopt(s, sopts[i].level, sopts[i].name, &v, &l) < 0 ? errno : 0;
			int st = setsockopt(s, sopts[i].level, sopts[i].name, &one, sizeof one) < 0 ? errno : 0;
			int v2 = 0;
			l = sizeof v2;
			int g2 = getsockopt(s, sopts[i].level, sopts[i].name, &v2, &l) < 0 ? errno : 0;
			/* The first value is a default only where it is Linux's own
			 * (not a sysctl's): TTL and the buffer-like ones are left out. */
			int shown = sopts[i].name == IP_TTL && sopts[i].level == IPPROTO_IP ? 0 : v;
			printf("%s %s: get %s %d, set 1 %s, get %s %d\n", kinds[k].k, sopts[i].s, ename(g), g ? 0 : shown,
			       ename(st), ename(g2), g2 ? 0 : v2);
			close(s);
		}
}
static struct sockaddr_in lo4(int port) {
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}
static int sockopts(void) {
	guard(20);
	sockopt_table();

	/* IP_RECVERR: a datagram to a closed port comes back on the error
	 * queue as ECONNREFUSED from ICMP port unreachable. */
	int closed = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = lo4(0);
	bind(closed, (struct sockaddr *)&a, sizeof a);
	socklen_t al = sizeof a;
	getsockname(closed, (struct sockaddr *)&a, &al);
	close(closed); /* a port nobody has */
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	int one = 1;
	say("setsockopt IP_RECVERR", setsockopt(u, IPPROTO_IP, IP_RECVERR, &one, sizeof one));
	say("connect to a closed port", connect(u, (struct sockaddr *)&a, sizeof a));
	say("send", send(u, "ping", 4, 0));
	struct pollfd pf = {.fd = u, .events = 0};
	int pr = poll(&pf, 1, 5000);
	printf("poll: %d, POLLERR %d\n", pr, !!(pf.revents & POLLERR));
	char data[64], ctl[256];
	struct sockaddr_in from;
	struct iovec iov = {data, sizeof data};
	struct msghdr m = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1,
			   .msg_control = ctl, .msg_controllen = sizeof ctl};
	ssize_t n = recvmsg(u, &m, MSG_ERRQUEUE);
	say("recvmsg MSG_ERRQUEUE", n);
	if (n >= 0) {
		printf("payload %.*s, MSG_ERRQUEUE %d, from port ok %d\n", (int)n, data, !!(m.msg_flags & MSG_ERRQUEUE),
		       from.sin_port == a.sin_port);
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
			struct sock_extended_err *ee = (void *)CMSG_DATA(c);
			printf("cmsg level %d type %d: errno %s origin %d type %d code %d\n", c->cmsg_level, c->cmsg_type,
			       ename(ee->ee_errno), ee->ee_origin, ee->ee_type, ee->ee_code);
		}
	}
	say("recvmsg MSG_ERRQUEUE again", recvmsg(u, &m, MSG_ERRQUEUE | MSG_DONTWAIT));
	close(u);

	/* SO_TIMESTAMP and SO_TIMESTAMPNS: the receive time with a datagram. */
	for (int ns = 0; ns < 2; ns++) {
		int r = socket(AF_INET, SOCK_DGRAM, 0), w = socket(AF_INET, SOCK_DGRAM, 0);
		struct sockaddr_in b = lo4(0);
		bind(r, (struct sockaddr *)&b, sizeof b);
		al = sizeof b;
		getsockname(r, (struct sockaddr *)&b, &al);
		setsockopt(r, SOL_SOCKET, ns ? SO_TIMESTAMPNS : SO_TIMESTAMP, &one, sizeof one);
		struct timespec t0, t1;
		clock_gettime(CLOCK_REALTIME, &t0);
		sendto(w, "x", 1, 0, (struct sockaddr *)&b, sizeof b);
		struct msghdr mm = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
		n = recvmsg(r, &mm, 0);
		clock_gettime(CLOCK_REALTIME, &t1);
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mm); c; c = CMSG_NXTHDR(&mm, c)) {
			long long at;
			if (ns) {
				struct timespec ts;
				memcpy(&ts, CMSG_DATA(c), sizeof ts);
				at = ts.tv_sec * 1000000000LL + ts.tv_nsec;
			} else {
				struct timeval tv;
				memcpy(&tv, CMSG_DATA(c), sizeof tv);
				at = tv.tv_sec * 1000000000LL + tv.tv_usec * 1000LL;
			}
			long long lo = t0.tv_sec * 1000000000LL + t0.tv_nsec - 1000, hi = t1.tv_sec * 1000000000LL + t1.tv_nsec;
			printf("%s: cmsg level %d type %d len %d, within the call %d\n", ns ? "SO_TIMESTAMPNS" : "SO_TIMESTAMP",
			       c->cmsg_level, c->cmsg_type, (int)(c->cmsg_len - CMSG_LEN(0)), at >= lo && at <= hi);
		}
		close(r);
		close(w);
	}

	/* IP_RECVORIGDSTADDR: the datagram's destination. */
	{
		int r = socket(AF_INET, SOCK_DGRAM, 0), w = socket(AF_INET, SOCK_DGRAM, 0);
		struct sockaddr_in b = lo4(0);
		bind(r, (struct sockaddr *)&b, sizeof b);
		al = sizeof b;
		getsockname(r, (struct sockaddr *)&b, &al);
		setsockopt(r, IPPROTO_IP, IP_RECVORIGDSTADDR, &one, sizeof one);
		sendto(w, "x", 1, 0, (struct sockaddr *)&b, sizeof b);
		struct msghdr mm = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
		n = recvmsg(r, &mm, 0);
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mm); c; c = CMSG_NXTHDR(&mm, c)) {
			struct sockaddr_in d;
			memcpy(&d, CMSG_DATA(c), sizeof d);
			printf("IP_ORIGDSTADDR: cmsg level %d type %d, family %d, the bound address %d\n", c->cmsg_level,
			       c->cmsg_type, d.sin_family, d.sin_port == b.sin_port && d.sin_addr.s_addr == b.sin_addr.s_addr);
		}
		close(r);
		close(w);
	}

	/* TCP_INQ: what is left to read, with each read. */
	{
		int ls = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in b = lo4(0);
		bind(ls, (struct sockaddr *)&b, sizeof b);
		al = sizeof b;
		getsockname(ls, (struct sockaddr *)&b, &al);
		listen(ls, 1);
		int c = socket(AF_INET, SOCK_STREAM, 0);
		connect(c, (struct sockaddr *)&b, sizeof b);
		int s = accept(ls, 0, 0);
		setsockopt(s, IPPROTO_TCP, TCP_INQ, &one, sizeof one);
		write(c, "0123456789", 10);
		struct pollfd p2 = {.fd = s, .events = POLLIN};
		poll(&p2, 1, 5000);
		usleep(100000); /* all ten bytes in */
		struct iovec iv = {data, 4};
		struct msghdr mm = {.msg_iov = &iv, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
		n = recvmsg(s, &mm, 0);
		say("recvmsg 4 of 10", n);
		for (struct cmsghdr *h = CMSG_FIRSTHDR(&mm); h; h = CMSG_NXTHDR(&mm, h)) {
			int left;
			memcpy(&left, CMSG_DATA(h), sizeof left);
			printf("TCP_CM_INQ: cmsg level %d type %d, %d left\n", h->cmsg_level, h->cmsg_type, left);
		}
		close(s);
		close(c);
		close(ls);
	}
	return 0;
}

/* fown: F_GETOWN, F_SETOWN(_EX), F_GETSIG, F_SETSIG and the socket owner
 * ioctls, which answered EINVAL; the SIGIO an O_ASYNC socket or pipe
 * sends its owner; and what an O_PATH descriptor refuses. */
static void esay(const char *w, long r) {
	if (r < 0)
		printf("%s: %s\n", w, strerrorname_np(errno));
	else
		printf("%s: %ld\n", w, r);
}
static volatile int sigio_n, sigusr_n, sigusr_code, sigusr_fd, sigusr_band;
static void onsigio(int sig) { (void)sig; sigio_n++; }
static void onsigusr(int sig, siginfo_t *si, void *uc) {
	(void)sig, (void)uc;
	sigusr_n++;
	sigusr_code = si->si_code, sigusr_fd = si->si_fd, sigusr_band = si->si_band;
}
static void sigio_case(const char *what, int rd, int wr) {
	pid_t me = getpid();
	sigio_n = 0;
	write(wr, "a", 1);
	printf("%s, no O_ASYNC: SIGIO %d\n", what, sigio_n);
	char b[8];
	read(rd, b, sizeof b);
	fcntl(rd, F_SETFL, fcntl(rd, F_GETFL) | O_ASYNC);
	write(wr, "a", 1);
	printf("%s, O_ASYNC, no owner: SIGIO %d\n", what, sigio_n);
	read(rd, b, sizeof b);
	fcntl(rd, F_SETOWN, me);
	write(wr, "a", 1);
	printf("%s, O_ASYNC, owner: SIGIO %d\n", what, sigio_n > 0);
	read(rd, b, sizeof b);
	fcntl(rd, F_SETSIG, SIGUSR1);
	sigusr_n = 0;
	write(wr, "a", 1);
	printf("%s, F_SETSIG SIGUSR1: got %d, si_code %d, si_fd is the fd %d, POLLIN in si_band %d\n", what, sigusr_n > 0,
	       sigusr_code, sigusr_fd == rd, !!(sigusr_band & POLLIN));
	read(rd, b, sizeof b);
	fcntl(rd, F_SETFL, fcntl(rd, F_GETFL) & ~O_ASYNC);
	sigusr_n = 0;
	write(wr, "a", 1);
	printf("%s, O_ASYNC off: got %d\n", what, sigusr_n);
	read(rd, b, sizeof b);
	fcntl(rd, F_SETSIG, 0);
}
static int fown(void) {
	guard(20);
	char path[64], path2[80], name[64];
	snprintf(name, sizeof name, "crobust-fown-%d", getpid());
	snprintf(path, sizeof path, "/tmp/%s", name);
	snprintf(path2, sizeof path2, "%s-link", path);
	signal(SIGIO, onsigio);
	struct sigaction sa = {.sa_sigaction = onsigusr, .sa_flags = SA_SIGINFO};
	sigaction(SIGUSR1, &sa, 0);
	{
		int sv[2], p[2];
		socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
		pipe(p);
		sigio_case("socket", sv[0], sv[1]);
		sigio_case("pipe", p[0], p[1]);
	}

	int sv[2]; socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	int p[2]; pipe(p);
	int f = open(path, O_CREAT|O_RDWR, 0600);
	int fds[] = {sv[0], p[0], f};
	const char *names[] = {"socket", "pipe", "file"};
	pid_t me = getpid();
	for (int i = 0; i < 3; i++) {
		int fd = fds[i];
		printf("-- %s\n", names[i]);
		esay("F_GETOWN", fcntl(fd, F_GETOWN));
		esay("F_SETOWN self", fcntl(fd, F_SETOWN, me));
		printf("F_GETOWN is self %d\n", fcntl(fd, F_GETOWN) == me);
		esay("F_SETOWN -pgrp", fcntl(fd, F_SETOWN, -getpgrp()));
		printf("F_GETOWN is -pgrp %d\n", fcntl(fd, F_GETOWN) == -getpgrp());
		esay("F_SETOWN 999999", fcntl(fd, F_SETOWN, 999999));
		esay("F_GETOWN after", fcntl(fd, F_GETOWN) == 999999 ? 1 : fcntl(fd, F_GETOWN));
		struct f_owner_ex ex = {F_OWNER_TID, gettid()};
		esay("F_SETOWN_EX tid", fcntl(fd, F_SETOWN_EX, &ex));
		struct f_owner_ex g = {0};
		esay("F_GETOWN_EX", fcntl(fd, F_GETOWN_EX, &g));
		printf("ex type %d is tid %d\n", g.type, g.pid == gettid());
		esay("F_GETOWN after EX tid", fcntl(fd, F_GETOWN) == gettid() ? 1 : fcntl(fd, F_GETOWN));
		ex.type = F_OWNER_PGRP; ex.pid = getpgrp();
		esay("F_SETOWN_EX pgrp", fcntl(fd, F_SETOWN_EX, &ex));
		esay("F_GETOWN after EX pgrp", fcntl(fd, F_GETOWN) == -getpgrp() ? 1 : fcntl(fd, F_GETOWN));
		fcntl(fd, F_GETOWN_EX, &g); printf("ex type %d is pgrp %d\n", g.type, g.pid == getpgrp());
		ex.type = 7; esay("F_SETOWN_EX bad type", fcntl(fd, F_SETOWN_EX, &ex));
		esay("F_SETOWN_EX bad ptr", fcntl(fd, F_SETOWN_EX, (void*)8));
		esay("F_GETOWN_EX bad ptr", fcntl(fd, F_GETOWN_EX, (void*)8));
		ex.type = F_OWNER_PID; ex.pid = 0; esay("F_SETOWN_EX pid 0", fcntl(fd, F_SETOWN_EX, &ex));
		esay("F_GETOWN after 0", fcntl(fd, F_GETOWN));
		esay("F_GETSIG", fcntl(fd, F_GETSIG));
		esay("F_SETSIG 99", fcntl(fd, F_SETSIG, 99));
		esay("F_SETSIG USR1", fcntl(fd, F_SETSIG, SIGUSR1));
		esay("F_GETSIG", fcntl(fd, F_GETSIG));
		int pid = me; esay("FIOSETOWN", ioctl(fd, FIOSETOWN, &pid)); int q = 0; esay("FIOGETOWN", ioctl(fd, FIOGETOWN, &q)); printf("fiogetown self %d\n", q == me);
		esay("SIOCGPGRP", ioctl(fd, SIOCGPGRP, &q)); printf("sioc is self %d\n", q == me);
	}
	int q = 0;
	printf("-- O_PATH\n");
	int op = open(path, O_PATH);
	char b[4];
	esay("read", read(op, b, 1));
	esay("write", write(op, b, 1));
	esay("fstat", ({struct stat st; fstat(op, &st);}));
	esay("fchmod", fchmod(op, 0600));
	esay("fchown", fchown(op, 0, 0));
	esay("ftruncate", ftruncate(op, 0));
	esay("fsync", fsync(op));
	esay("flock", flock(op, LOCK_SH));
	esay("mmap", (long)mmap(0, 4096, PROT_READ, MAP_SHARED, op, 0) == -1 ? -1 : 0);
	esay("fgetxattr", fgetxattr(op, "user.x", b, 4));
	esay("fsetxattr", fsetxattr(op, "user.x", b, 1, 0));
	esay("flistxattr", flistxattr(op, b, 4));
	esay("ioctl FIONREAD", ioctl(op, FIONREAD, &q));
	esay("lseek", lseek(op, 0, SEEK_SET));
	esay("F_GETFL has O_PATH", (fcntl(op, F_GETFL) & O_PATH) != 0);
	esay("F_SETFL O_NONBLOCK", fcntl(op, F_SETFL, O_NONBLOCK));
	esay("F_GETFL after", fcntl(op, F_GETFL) & ~O_LARGEFILE);
	esay("F_GETFD", fcntl(op, F_GETFD));
	esay("dup", dup(op) >= 0);
	esay("F_SETLK", ({struct flock fl = {F_RDLCK, SEEK_SET, 0, 0, 0}; fcntl(op, F_SETLK, &fl);}));
	esay("F_GETOWN", fcntl(op, F_GETOWN));
	esay("F_SETOWN", fcntl(op, F_SETOWN, me));
	esay("fchdir file", fchdir(op));
	int od = open("/tmp", O_PATH|O_DIRECTORY);
	esay("openat via O_PATH dir", openat(od, name, O_RDONLY) >= 0);
	esay("fstatat AT_EMPTY_PATH", ({struct stat st; fstatat(op, "", &st, AT_EMPTY_PATH);}));
	esay("getdents", ({char d[256]; syscall(217, od, d, sizeof d);}));
	esay("fchdir dir", fchdir(od));
	char link[64], tgt[256]; snprintf(link, sizeof link, "/proc/self/fd/%d", op);
	esay("open /proc/self/fd rdonly", open(link, O_RDONLY) >= 0);
	esay("readlink /proc/self/fd is the path", readlink(link, tgt, sizeof tgt) == (ssize_t)strlen(path));
	esay("linkat AT_EMPTY_PATH", linkat(op, "", AT_FDCWD, path2, AT_EMPTY_PATH));
	unlink(path2);
	esay("faccessat2 empty", syscall(439, op, "", R_OK, AT_EMPTY_PATH));
	esay("fchmodat empty", syscall(452, op, "", 0600, AT_EMPTY_PATH));
	esay("utimensat NULL path", syscall(280, op, 0, 0, 0));
	esay("fstatfs", ({struct statfs { long x[20]; } s; syscall(138, op, &s);}));
	esay("sendfile from O_PATH", syscall(40, 1, op, 0, 1));
	esay("close", close(op));
	unlink(path);
		return 0;
}

int main(int argc, char **argv) {
	if (argc < 2) {
		fprintf(stderr, "usage: crobust MODE\n");
		return 2;
	}
	static const struct {
		const char *name;
		int (*fn)(void);
	} modes[] = {
		{"icmp6-pktinfo", icmp6_pktinfo},
		{"deleted-dir", deleted_dir},
		{"splice-pipes", splice_pipes},
		{"sockopts", sockopts},
		{"fown", fown},
		{"sendfile-count", sendfile_count},
		{"altstack-overflow", altstack_overflow},
		{"pipe-close-reader", pipe_close_reader},
		{"tgkill-signalfd", tgkill_signalfd},
		{"unix-sndtimeo", unix_sndtimeo},
		{"unix-zero-dgram", unix_zero_dgram},
		{"errqueue", errqueue},
		{"waitid-nochild", waitid_nochild},
		{"wuntraced", wuntraced},
		{"rlimit-cpu", rlimit_cpu},
		{"rlimit-cpu-handled", rlimit_cpu_handled},
		{"robust", robust},
		{"kill-perm", kill_perm},
		{"mxcsr", mxcsr},
		{"passcred", passcred},
		{"readv-max", readv_max},
		{"threads", threads},
		{"clone3", clone3_mode},
		{"noperm", noperm},
	};
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
		if (strcmp(argv[1], modes[i].name) == 0)
			return modes[i].fn();
	fprintf(stderr, "crobust: unknown mode %s\n", argv[1]);
	return 2;
}
