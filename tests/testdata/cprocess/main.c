/* cprocess: fork, execve and wait as C programs use them, natively and
 * under rumpgo: a child's writes stay its own, exit codes and signals reach
 * waitpid, pipes see EOF when the child ends, execve runs ELFs and #!
 * scripts with their argv and envp, and bad execve calls get Linux's
 * errnos. Output must match natively.
 *
 *   cprocess            the tests
 *   cprocess child ...  what the exec'd children run
 *   cprocess bomb N     fork until it fails; print how it failed */
#define _GNU_SOURCE
#include <sched.h>
#include <errno.h>
#include <semaphore.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int counter = 1;

static void status(const char *what, int st) {
	if (WIFEXITED(st))
		printf("%s: exited %d\n", what, WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		printf("%s: killed by %s\n", what, strsignal(WTERMSIG(st)));
	else
		printf("%s: status %#x\n", what, st);
}

static int chdir_tmp(void *arg) {
	(void)arg;
	return chdir("/tmp") == 0 ? 0 : 1;
}

static int bomb(int max) {
	int n = 0;
	setpgid(0, 0); /* so kill(0) below reaches only this program's processes */
	for (; n < max; n++) {
		pid_t p = fork();
		if (p < 0) {
			printf("fork failed after %s children: %s\n", n > 0 ? "some" : "no", strerror(errno));
			break;
		}
		if (p == 0) {
			pause();
			_exit(0);
		}
	}
	signal(SIGTERM, SIG_IGN);
	kill(0, SIGTERM); /* the children */
	while (wait(NULL) > 0)
		;
	printf("reaped them all\n");
	return 0;
}

int main(int argc, char **argv) {
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc > 1 && strcmp(argv[1], "child") == 0) {
		printf("child: argc=%d", argc);
		for (int i = 2; i < argc; i++)
			printf(" [%s]", strncmp(argv[i], "/tmp/cprocess-script-", 21) ? argv[i] : "the script");
		printf(" FOO=%s cloexec-fd=%s\n", getenv("FOO") ? getenv("FOO") : "(unset)",
		       fcntl(5, F_GETFD) < 0 ? "closed" : "open");
		return 7;
	}
	if (argc > 2 && strcmp(argv[1], "bomb") == 0)
		return bomb(atoi(argv[2]));

	/* A forked child's memory is its own. */
	char *heap = malloc(64);
	strcpy(heap, "parent heap");
	char *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	strcpy(shared, "parent page");
	pid_t p = fork();
	if (p == 0) {
		counter = 42;
		strcpy(heap, "child heap");
		strcpy(shared, "child page");
		printf("child: counter=%d heap=%s page=%s ppid-is-parent=%d\n", counter, heap, shared, getppid() != getpid());
		_exit(3);
	}
	int st;
	printf("waitpid returned the child: %d\n", waitpid(p, &st, 0) == p);
	status("fork child", st);
	printf("parent: counter=%d heap=%s page=%s\n", counter, heap, shared);

	/* MAP_SHARED|MAP_ANONYMOUS memory stays shared across fork, and a
	 * process-shared semaphore in it (a futex without FUTEX_PRIVATE_FLAG)
	 * hands a turn from child to parent. */
	struct shared {
		sem_t ready;
		int value;
	} *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	sem_init(&sh->ready, 1, 0);
	sh->value = 1;
	p = fork();
	if (p == 0) {
		usleep(20000); /* let the parent block in sem_wait first */
		sh->value = 42;
		sem_post(&sh->ready);
		_exit(0);
	}
	sem_wait(&sh->ready);
	printf("shared mapping: the parent sees the child's write: %d\n", sh->value);
	waitpid(p, &st, 0);

	/* CLONE_FS: a child's chdir moves its parent too. */
	{
		static char stack[64 << 10];
		char before[256], after[256];
		getcwd(before, sizeof before);
		p = clone(chdir_tmp, stack + sizeof stack, CLONE_VM | CLONE_VFORK | CLONE_FS | SIGCHLD, NULL);
		waitpid(p, &st, 0);
		getcwd(after, sizeof after);
		printf("CLONE_FS child's chdir moved the parent: %d\n", strcmp(after, "/tmp") == 0);
		chdir(before);
	}

	/* Interval timers are per process, and a child starts without them. */
	alarm(100);
	p = fork();
	if (p == 0) {
		printf("child's alarm: %u\n", alarm(0));
		_exit(0);
	}
	waitpid(p, &st, 0);
	printf("parent's alarm still set: %d\n", alarm(0) > 90);

	/* System V shared memory: a private segment a forked child writes,
	 * then a keyed one, its errors, and removal. */
	{
		int id = shmget(IPC_PRIVATE, 10000, IPC_CREAT | 0600);
		char *m = shmat(id, NULL, 0);
		strcpy(m, "before");
		p = fork();
		if (p == 0) {
			char *c = shmat(id, NULL, 0);
			strcpy(c, "written by the child");
			shmdt(c);
			_exit(0);
		}
		waitpid(p, &st, 0);
		struct shmid_ds ds;
		shmctl(id, IPC_STAT, &ds);
		printf("shm: parent reads \"%s\"; size %zu, attached %lu, mode %o\n", m, ds.shm_segsz,
		       (unsigned long)ds.shm_nattch, ds.shm_perm.mode & 0777);
		printf("shmdt of a non-segment address: %s\n", shmdt(m + 4096) < 0 ? strerror(errno) : "ok");
		shmdt(m);
		shmctl(id, IPC_RMID, NULL);
		key_t key = 0x52500000 | (getpid() & 0xffff);
		int k1 = shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600);
		int k2 = shmget(key, 4096, 0);
		errno = 0;
		printf("shm key: same id %d, IPC_EXCL again: %s, ", k1 == k2, shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600) < 0 ? strerror(errno) : "ok");
		errno = 0;
		printf("bigger than it: %s, ", shmget(key, 8192, 0) < 0 ? strerror(errno) : "ok");
		shmctl(k1, IPC_RMID, NULL);
		errno = 0;
		printf("after IPC_RMID: %s\n", shmget(key, 4096, 0) < 0 ? strerror(errno) : "ok");
	}

	/* System V semaphores: a child blocks in semop until its parent
	 * posts, IPC_NOWAIT, SETVAL/GETALL, SEM_UNDO undone at exit, and a
	 * waiter woken by IPC_RMID. */
	{
		int sid = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
		p = fork();
		if (p == 0) {
			struct sembuf down = {0, -1, 0};
			int r = semop(sid, &down, 1);
			printf("sem: the child got the semaphore: %d\n", r == 0);
			_exit(0);
		}
		usleep(20000);
		printf("sem: one waiting for an increase: %d\n", semctl(sid, 0, GETNCNT));
		struct sembuf up = {0, 1, 0};
		semop(sid, &up, 1);
		waitpid(p, &st, 0);
		struct sembuf try = {0, -1, IPC_NOWAIT};
		errno = 0;
		printf("sem: IPC_NOWAIT on zero: %s\n", semop(sid, &try, 1) < 0 ? strerror(errno) : "ok");
		semctl(sid, 1, SETVAL, 5);
		p = fork();
		if (p == 0) {
			struct sembuf take = {1, -3, SEM_UNDO};
			semop(sid, &take, 1);
			printf("sem: the child took 3, leaving %d\n", semctl(sid, 1, GETVAL));
			_exit(0);
		}
		waitpid(p, &st, 0);
		unsigned short all[2];
		semctl(sid, 0, GETALL, all);
		printf("sem: after the child's exit (SEM_UNDO): %u %u, last pid is the child's: %d\n", all[0], all[1],
		       semctl(sid, 1, GETPID) == p);
		p = fork();
		if (p == 0) {
			struct sembuf z = {1, 0, 0}; /* wait for zero: never, until removal */
			errno = 0;
			int r = semop(sid, &z, 1);
			printf("sem: a waiter after IPC_RMID: %d %s\n", r, strerror(errno));
			_exit(0);
		}
		/* Remove it only once the child waits (a busy host may run the
		 * child late): a waiter gets EIDRM, a latecomer EINVAL. */
		for (int i = 0; i < 5000 && semctl(sid, 1, GETZCNT) < 1; i++)
			usleep(1000);
		semctl(sid, 0, IPC_RMID);
		waitpid(p, &st, 0);
	}

	/* System V message queues: a child blocks in msgrcv until its parent
	 * sends, selection by type, E2BIG/MSG_NOERROR, ENOMSG, IPC_STAT, and
	 * a receiver woken by IPC_RMID. */
	{
		struct {
			long mtype;
			char mtext[64];
		} msg;
		int qid = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
		p = fork();
		if (p == 0) {
			ssize_t n = msgrcv(qid, &msg, sizeof msg.mtext, 2, 0);
			printf("msg: the child got type %ld \"%.*s\"\n", msg.mtype, (int)n, msg.mtext);
			_exit(0);
		}
		usleep(20000);
		msg.mtype = 1;
		strcpy(msg.mtext, "first");
		msgsnd(qid, &msg, 5, 0);
		msg.mtype = 2;
		strcpy(msg.mtext, "second, for the child");
		msgsnd(qid, &msg, strlen(msg.mtext), 0);
		waitpid(p, &st, 0);
		struct msqid_ds ds;
		msgctl(qid, IPC_STAT, &ds);
		printf("msg: %lu left, %lu bytes\n", (unsigned long)ds.msg_qnum, (unsigned long)ds.__msg_cbytes);
		errno = 0;
		printf("msg: too small a buffer: %s; ", msgrcv(qid, &msg, 2, 0, 0) < 0 ? strerror(errno) : "ok");
		ssize_t n = msgrcv(qid, &msg, 2, 0, MSG_NOERROR);
		printf("MSG_NOERROR: %zd bytes \"%.2s\"; ", n, msg.mtext);
		errno = 0;
		printf("empty with IPC_NOWAIT: %s\n", msgrcv(qid, &msg, 64, 0, IPC_NOWAIT) < 0 ? strerror(errno) : "ok");
		p = fork();
		if (p == 0) {
			errno = 0;
			ssize_t r = msgrcv(qid, &msg, 64, 0, 0);
			/* Linux promises EIDRM to a receiver waiting when the queue
			 * goes and EINVAL to one that comes after; which this child is
			 * depends on scheduling (nothing counts a queue's waiters). */
			printf("msg: a receiver after IPC_RMID: %zd, EIDRM or EINVAL: %d\n", r, errno == EIDRM || errno == EINVAL);
			if (errno != EIDRM && errno != EINVAL)
				fprintf(stderr, "msg receiver: %s\n", strerror(errno));
			_exit(0);
		}
		usleep(20000);
		msgctl(qid, IPC_RMID, NULL);
		waitpid(p, &st, 0);
	}

	/* execve of an ELF with argv and envp; close-on-exec closes fd 5. */
	int fd = open("/proc/self/exe", O_RDONLY);
	dup2(fd, 5);
	fcntl(5, F_SETFD, FD_CLOEXEC);
	p = fork();
	if (p == 0) {
		char *args[] = {argv[0], "child", "one", "two words", NULL};
		char *env[] = {"FOO=bar", NULL};
		execve("/proc/self/exe", args, env);
		printf("execve failed: %s\n", strerror(errno));
		_exit(99);
	}
	waitpid(p, &st, 0);
	status("exec child", st);

	/* vfork and exec, as posix_spawn does. */
	p = vfork();
	if (p == 0) {
		char *args[] = {argv[0], "child", "vforked", NULL};
		execve("/proc/self/exe", args, (char *[]){NULL});
		_exit(98);
	}
	waitpid(p, &st, 0);
	status("vfork child", st);

	/* A pipe sees EOF once the child that held its write end exits. */
	int fds[2];
	pipe(fds);
	p = fork();
	if (p == 0) {
		close(fds[0]);
		write(fds[1], "through the pipe\n", 17);
		_exit(0);
	}
	close(fds[1]);
	char buf[64];
	int n, total = 0;
	while ((n = read(fds[0], buf, sizeof buf)) > 0) {
		fwrite(buf, 1, n, stdout);
		total += n;
	}
	close(fds[0]);
	waitpid(p, &st, 0);
	printf("pipe: EOF after %d bytes\n", total);

	/* A signal kills a child; wait reports it. */
	p = fork();
	if (p == 0) {
		pause();
		_exit(0);
	}
	kill(p, SIGTERM);
	waitpid(p, &st, 0);
	status("killed child", st);

	/* waitid with WNOWAIT leaves the zombie for wait4. */
	p = fork();
	if (p == 0)
		_exit(5);
	siginfo_t si = {0};
	waitid(P_PID, p, &si, WEXITED | WNOWAIT);
	printf("waitid: signo=%d code=%d status=%d pid-matches=%d\n", si.si_signo, si.si_code, si.si_status, si.si_pid == p);
	printf("wait4 after WNOWAIT: %d\n", wait4(p, &st, 0, NULL) == p);
	status("waitid child", st);

	/* Process groups. */
	p = fork();
	if (p == 0) {
		setpgid(0, 0);
		printf("child leads its group: %d\n", getpgid(0) == getpid());
		_exit(0);
	}
	waitpid(p, &st, 0);
	printf("parent's group unchanged: %d\n", getpgrp() == getpgid(0));
	p = fork();
	if (p == 0) {
		pid_t sid = setsid();
		printf("child's setsid: new session %d, leads its group %d, again: %s\n", sid == getpid(),
		       getpgrp() == getpid(), setsid() < 0 ? strerror(errno) : "ok");
		_exit(0);
	}
	waitpid(p, &st, 0);

	/* SIGCHLD arrives when a child ends. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	p = fork();
	if (p == 0)
		_exit(0);
	int sig = 0;
	sigwait(&set, &sig);
	printf("got %s\n", strsignal(sig));
	waitpid(p, &st, 0);

	/* Job control: SIGSTOP stops a child (its parent hears of it through
	 * waitpid WUNTRACED and SIGCHLD with CLD_STOPPED), SIGCONT continues
	 * it (WCONTINUED, CLD_CONTINUED); a stopped child makes no progress. */
	{
		int pfd[2];
		pipe(pfd);
		p = fork();
		if (p == 0) {
			close(pfd[0]);
			for (unsigned i = 0;; i++) {
				write(pfd[1], "t", 1);
				usleep(2000);
			}
		}
		close(pfd[1]);
		char c;
		read(pfd[0], &c, 1); /* it runs */
		kill(p, SIGSTOP);
		waitpid(p, &st, WUNTRACED);
		printf("stopped: %d by %s\n", WIFSTOPPED(st), strsignal(WSTOPSIG(st)));
		siginfo_t si;
		sigtimedwait(&set, &si, &(struct timespec){5, 0});
		printf("SIGCHLD code for the stop: %s\n", si.si_code == CLD_STOPPED ? "CLD_STOPPED" : "other");
		fcntl(pfd[0], F_SETFL, O_NONBLOCK);
		while (read(pfd[0], &c, 1) == 1) /* drain what it wrote before stopping */
			;
		usleep(50000);
		printf("no progress while stopped: %d\n", read(pfd[0], &c, 1) < 0 && errno == EAGAIN);
		printf("WNOHANG sees nothing more: %d\n", waitpid(p, &st, WNOHANG | WUNTRACED) == 0);
		kill(p, SIGCONT);
		waitpid(p, &st, WCONTINUED);
		printf("continued: %d\n", WIFCONTINUED(st));
		sigtimedwait(&set, &si, &(struct timespec){5, 0});
		printf("SIGCHLD code for the continue: %s\n", si.si_code == CLD_CONTINUED ? "CLD_CONTINUED" : "other");
		fcntl(pfd[0], F_SETFL, 0);
		printf("progress again: %d\n", read(pfd[0], &c, 1) == 1);
		kill(p, SIGKILL);
		waitpid(p, &st, 0);
		status("job-control child", st);
		close(pfd[0]);
	}

	/* A #! script: the interpreter gets the script's path and arguments. */
	char script[] = "/tmp/cprocess-script-XXXXXX";
	int sfd = mkstemp(script);
	dprintf(sfd, "#!%s child\n", "/proc/self/exe");
	close(sfd);
	chmod(script, 0755);
	/* The interpreter line names /proc/self/exe: ours, since the child
	 * below execs the script directly. */
	p = fork();
	if (p == 0) {
		char *args[] = {script, "arg1", NULL};
		execve(script, args, (char *[]){"FOO=script", NULL});
		printf("script execve failed: %s\n", strerror(errno));
		_exit(97);
	}
	waitpid(p, &st, 0);
	status("script child", st);

	/* execve's errors. */
	char *none[] = {"x", NULL};
	errno = 0;
	execve("/nonexistent/prog", none, NULL);
	printf("execve missing: %s\n", strerror(errno));
	int tfd = open(script, O_WRONLY | O_TRUNC);
	write(tfd, "just text\n", 10);
	close(tfd);
	errno = 0;
	execve(script, none, NULL);
	printf("execve text without #!: %s\n", strerror(errno));
	chmod(script, 0644);
	errno = 0;
	execve(script, none, NULL);
	printf("execve not executable: %s\n", strerror(errno));
	/* An ELF for another machine (aarch64). */
	unsigned char hdr[64] = {0x7f, 'E', 'L', 'F', 2, 1, 1};
	hdr[16] = 2;   /* ET_EXEC */
	hdr[18] = 183; /* EM_AARCH64 */
	hdr[20] = 1;   /* EV_CURRENT */
	tfd = open(script, O_WRONLY | O_TRUNC);
	write(tfd, hdr, sizeof hdr);
	close(tfd);
	chmod(script, 0755);
	errno = 0;
	execve(script, none, NULL);
	printf("execve foreign ELF: %s\n", strerror(errno));
	errno = 0;
	execve("/tmp", none, NULL);
	printf("execve a directory: %s\n", strerror(errno));
	errno = 0;
	syscall(SYS_execve, "/proc/self/exe", (char **)16, NULL);
	printf("execve bad argv pointer: %s\n", strerror(errno));
	static char big[200000];
	memset(big, 'x', sizeof big - 1);
	char *toolong[] = {"x", big, NULL};
	errno = 0;
	execve("/proc/self/exe", toolong, NULL);
	printf("execve huge argument: %s\n", strerror(errno));
	unlink(script);

	/* SA_NOCLDWAIT: children leave no zombie to wait for. */
	struct sigaction sa = {0};
	sa.sa_handler = SIG_DFL;
	sa.sa_flags = SA_NOCLDWAIT;
	sigaction(SIGCHLD, &sa, NULL);
	p = fork();
	if (p == 0)
		_exit(1);
	errno = 0;
	printf("wait under SA_NOCLDWAIT: %d", (int)wait(&st));
	printf(" %s\n", strerror(errno));

	errno = 0;
	printf("wait without children: %d", (int)wait(&st));
	printf(" %s\n", strerror(errno));
	return 0;
}
