/* csignals checks what a C program sees of Linux signals: the siginfo and
 * ucontext a handler gets for each fault, registers and FPU state restored
 * by rt_sigreturn, masks, the alternate stack, SA_* flags, waiting for
 * signals, signalfd and the errors of bad arguments. It prints one line per
 * fact, the same natively and under rumpgo. Built with gcc -static. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

static sigjmp_buf jb;

/* show prints a call's result and, when it failed, its errno: a helper so
 * that errno is read after the call (argument order is unspecified). */
static void show(const char *what, long r) {
	printf("  %s: %ld %s\n", what, r, r < 0 ? strerror(errno) : "ok");
}
static volatile int count;

static void on(int sig, void (*fn)(int, siginfo_t *, void *), int flags) {
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = fn;
	sa.sa_flags = SA_SIGINFO | flags;
	if (sigaction(sig, &sa, NULL) != 0) {
		perror("sigaction");
		exit(1);
	}
}

static char *expect_addr;

static void fault_handler(int sig, siginfo_t *si, void *p) {
	ucontext_t *uc = p;
	mcontext_t *mc = &uc->uc_mcontext;
	printf("  %s code=%d addr_ok=%d trapno=%lld err=%lld fpregs=%d", strsignal(sig), si->si_code,
	       (char *)si->si_addr == expect_addr, mc->gregs[REG_TRAPNO], mc->gregs[REG_ERR], mc->fpregs != NULL);
	if (mc->gregs[REG_TRAPNO] == 14)
		printf(" cr2_ok=%d", (char *)mc->gregs[REG_CR2] == expect_addr);
	printf("\n");
	siglongjmp(jb, 1);
}

extern char ud2_at[], ud2_after[];

static void ill_handler(int sig, siginfo_t *si, void *p) {
	ucontext_t *uc = p;
	printf("  SIGILL code=%d at_ud2=%d rip_is_ud2=%d\n", si->si_code, si->si_addr == (void *)ud2_at,
	       uc->uc_mcontext.gregs[REG_RIP] == (long long)ud2_at);
	uc->uc_mcontext.gregs[REG_RIP] += 2; /* step over ud2 */
}

static void trap_handler(int sig, siginfo_t *si, void *p) {
	count++;
	printf("  SIGTRAP code=%d\n", si->si_code);
}

static void faults(void) {
	printf("faults:\n");
	on(SIGSEGV, fault_handler, SA_NODEFER);
	on(SIGBUS, fault_handler, SA_NODEFER);
	on(SIGFPE, fault_handler, SA_NODEFER);
	expect_addr = (char *)0x1000;
	if (sigsetjmp(jb, 1) == 0)
		printf("%d\n", *(volatile int *)0x1000);
	char *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	expect_addr = ro;
	if (sigsetjmp(jb, 1) == 0)
		*(volatile char *)ro = 1;
	char *none = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	expect_addr = none;
	if (sigsetjmp(jb, 1) == 0)
		printf("%d\n", *(volatile char *)none);
	/* Mappings taken away after the guest has used them: a stale
	 * translation would let these accesses through. */
	char *rw = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	rw[0] = 1;
	mprotect(rw, 4096, PROT_READ);
	expect_addr = rw;
	if (sigsetjmp(jb, 1) == 0)
		*(volatile char *)rw = 2;
	munmap(rw, 4096);
	if (sigsetjmp(jb, 1) == 0)
		printf("%d\n", *(volatile char *)rw);
	expect_addr = NULL; /* SIGFPE's si_addr is the instruction: just not checked */
	if (sigsetjmp(jb, 1) == 0) {
		volatile int zero = 0;
		printf("%d\n", 7 / zero);
	}
	/* A privileged instruction at CPL 3 is #GP: SIGSEGV, SI_KERNEL. */
	if (sigsetjmp(jb, 1) == 0)
		__asm__ volatile("hlt");
	/* A non-canonical address is #GP too. */
	if (sigsetjmp(jb, 1) == 0)
		printf("%d\n", *(volatile int *)0x8000000000000000ul);
	on(SIGILL, ill_handler, 0);
	__asm__ volatile(".globl ud2_at, ud2_after\nud2_at: ud2\nud2_after:");
	printf("  resumed after ud2\n");
	on(SIGTRAP, trap_handler, 0);
	__asm__ volatile("int3");
	printf("  resumed after int3: %d\n", count);
}

static void clobber_handler(int sig, siginfo_t *si, void *p) {
	ucontext_t *uc = p;
	/* The saved xmm0 is in the frame's FPU image. */
	printf("  saved xmm0 = %#x\n", uc->uc_mcontext.fpregs->_xmm[0].element[0]);
	__asm__ volatile("pcmpeqd %%xmm0, %%xmm0\n" ::: "xmm0");
	uc->uc_mcontext.gregs[REG_R12] = 0x1234; /* rt_sigreturn loads what the frame says */
}

static void fpu(void) {
	printf("fpu and registers:\n");
	on(SIGUSR1, clobber_handler, 0);
	uint32_t in[4] = {0xabcd0123, 1, 2, 3}, out[4];
	long r12;
	__asm__ volatile(
	    "movdqu (%[in]), %%xmm0\n"
	    "mov $0, %%r12\n"
	    "mov $39, %%eax\n" /* getpid */
	    "syscall\n"
	    "mov %%eax, %%edi\n"
	    "mov %[sig], %%esi\n"
	    "mov $62, %%eax\n" /* kill: the handler runs on this syscall's return */
	    "syscall\n"
	    "movdqu %%xmm0, (%[out])\n"
	    "mov %%r12, %[r12]\n"
	    : [r12] "=r"(r12)
	    : [in] "r"(in), [out] "r"(out), [sig] "i"(SIGUSR1)
	    : "xmm0", "r12", "rdi", "rax", "rcx", "rdx", "rsi", "r8", "r9", "r10", "r11", "memory");
	printf("  xmm0 kept: %d, r12 from frame: %#lx\n", memcmp(in, out, sizeof in) == 0, r12);
}

static char *alt;
#define ALTSIZE 65536

static void alt_handler(int sig, siginfo_t *si, void *p) {
	char here;
	stack_t cur;
	sigaltstack(NULL, &cur);
	sigset_t m;
	sigprocmask(SIG_BLOCK, NULL, &m);
	printf("  on altstack: %d, ss_flags=%d, %s blocked: %d, SIGUSR2 (sa_mask) blocked: %d\n",
	       &here >= alt && &here < alt + ALTSIZE, cur.ss_flags, strsignal(sig), sigismember(&m, sig),
	       sigismember(&m, SIGUSR2));
}

static void flags(void) {
	printf("flags:\n");
	alt = malloc(ALTSIZE);
	stack_t ss = {.ss_sp = alt, .ss_size = ALTSIZE};
	show("sigaltstack", sigaltstack(&ss, NULL));
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = alt_handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigaddset(&sa.sa_mask, SIGUSR2);
	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
	sigset_t m;
	sigprocmask(SIG_BLOCK, NULL, &m);
	printf("  mask restored: %d\n", sigismember(&m, SIGUSR1) == 0 && sigismember(&m, SIGUSR2) == 0);

	count = 0;
	on(SIGURG, trap_handler, SA_RESETHAND);
	raise(SIGURG);
	raise(SIGURG); /* back to SIG_DFL: ignored */
	struct sigaction old;
	sigaction(SIGURG, NULL, &old);
	printf("  SA_RESETHAND: handler ran %d time(s), now SIG_DFL: %d\n", count, old.sa_handler == SIG_DFL);
}

static void count_handler(int sig, siginfo_t *si, void *p) { count++; }

static int pipefd[2];
static void alarm_writer(int sig, siginfo_t *si, void *p) {
	if (++count == 2)
		write(pipefd[1], "x", 1);
}

static void waiting(void) {
	printf("waiting:\n");
	sigset_t block, empty, pend;
	sigemptyset(&block);
	sigemptyset(&empty);
	sigaddset(&block, SIGUSR1);
	on(SIGUSR1, count_handler, 0);
	count = 0;
	sigprocmask(SIG_BLOCK, &block, NULL);
	raise(SIGUSR1);
	sigpending(&pend);
	printf("  pending while blocked: %d, handled: %d\n", sigismember(&pend, SIGUSR1), count);
	sigprocmask(SIG_UNBLOCK, &block, NULL);
	printf("  handled once unblocked: %d\n", count);

	on(SIGALRM, count_handler, 0);
	sigaddset(&block, SIGALRM);
	sigprocmask(SIG_BLOCK, &block, NULL);
	struct itimerval it = {.it_value = {.tv_usec = 10000}};
	setitimer(ITIMER_REAL, &it, NULL);
	count = 0;
	show("sigsuspend", sigsuspend(&empty));
	sigset_t now;
	sigprocmask(SIG_BLOCK, NULL, &now);
	printf("  handled %d, mask back: %d\n", count, sigismember(&now, SIGALRM));

	raise(SIGUSR1);
	siginfo_t si;
	struct timespec zero = {0, 0};
	int r = sigtimedwait(&block, &si, &zero);
	printf("  sigtimedwait: %d code=%d handled=%d\n", r, si.si_code, count);
	show("sigtimedwait with nothing pending", sigtimedwait(&block, &si, &zero));
	struct timespec bad = {0, 2000000000};
	show("sigtimedwait bad timeout", sigtimedwait(&block, &si, &bad));

	sigset_t sfdmask;
	sigemptyset(&sfdmask);
	sigaddset(&sfdmask, SIGUSR2);
	sigprocmask(SIG_BLOCK, &sfdmask, NULL);
	int sfd = signalfd(-1, &sfdmask, SFD_NONBLOCK | SFD_CLOEXEC);
	struct signalfd_siginfo ssi;
	show("signalfd empty read", read(sfd, &ssi, sizeof ssi));
	kill(getpid(), SIGUSR2);
	struct pollfd pfd = {.fd = sfd, .events = POLLIN};
	show("signalfd poll", poll(&pfd, 1, 1000));
	printf("  revents=%#x\n", pfd.revents);
	ssize_t n = read(sfd, &ssi, sizeof ssi);
	printf("  signalfd read: %zd signo=%u code=%d pid_ok=%d\n", n, ssi.ssi_signo, ssi.ssi_code, ssi.ssi_pid == (uint32_t)getpid());
	close(sfd);
	sigprocmask(SIG_UNBLOCK, &block, NULL);

	/* A read on an empty pipe: interrupted without SA_RESTART, continued
	 * with it (the second alarm's handler writes the byte it waits for). */
	char c;
	pipe(pipefd);
	for (int restart = 0; restart < 2; restart++) {
		count = 0;
		on(SIGALRM, alarm_writer, restart ? SA_RESTART : 0);
		struct itimerval iv = {.it_value = {.tv_usec = 10000}, .it_interval = {.tv_usec = 10000}};
		setitimer(ITIMER_REAL, &iv, NULL);
		show(restart ? "read with SA_RESTART" : "read without SA_RESTART", read(pipefd[0], &c, 1));
		while (count < 2) /* let the second alarm write its byte */
			usleep(1000);
		struct itimerval off = {0};
		setitimer(ITIMER_REAL, &off, NULL);
		if (!restart)
			read(pipefd[0], &c, 1);
	}
}

static void bad_input(void) {
	printf("bad input:\n");
	struct sigaction sa = {0};
	sa.sa_handler = SIG_IGN;
	int sigs[] = {0, 65, SIGKILL, SIGSTOP, -1};
	for (int i = 0; i < 5; i++) {
		char what[32];
		snprintf(what, sizeof what, "sigaction(%d)", sigs[i]);
		show(what, sigaction(sigs[i], &sa, NULL));
	}
	show("rt_sigaction bad pointer", syscall(SYS_rt_sigaction, SIGUSR1, (void *)8, NULL, 8));
	show("rt_sigaction bad sigsetsize", syscall(SYS_rt_sigaction, SIGUSR1, NULL, NULL, 16));
	show("rt_sigprocmask bad how", syscall(SYS_rt_sigprocmask, 99, &sa.sa_mask, NULL, 8));
	show("rt_sigprocmask bad set", syscall(SYS_rt_sigprocmask, SIG_BLOCK, (void *)8, NULL, 8));
	show("rt_sigsuspend bad size", syscall(SYS_rt_sigsuspend, &sa.sa_mask, 4));
	stack_t tiny = {.ss_sp = alt, .ss_size = 64};
	show("sigaltstack too small", sigaltstack(&tiny, NULL));
	stack_t badflags = {.ss_sp = alt, .ss_size = ALTSIZE, .ss_flags = 77};
	show("sigaltstack bad flags", sigaltstack(&badflags, NULL));
	show("kill(65)", kill(getpid(), 65));
	show("kill(other pid)", kill(123456, 0));
	show("tgkill(bad tid)", syscall(SYS_tgkill, getpid(), 1 << 22, SIGUSR1));
	show("tgkill(0 tid)", syscall(SYS_tgkill, getpid(), 0, SIGUSR1));
	struct timespec bad = {0, -1};
	show("nanosleep(bad)", nanosleep(&bad, NULL));
	show("nanosleep(bad pointer)", syscall(SYS_nanosleep, (void *)8, NULL));
	show("timer_delete(bad)", syscall(SYS_timer_delete, 4711));
}

int main(void) {
	setvbuf(stdout, NULL, _IONBF, 0);
	faults();
	fpu();
	flags();
	waiting();
	bad_input();
	/* Last: a fatal default action. */
	signal(SIGSEGV, SIG_DFL);
	printf("dying of SIGSEGV\n");
	*(volatile int *)8 = 1;
	return 0;
}
