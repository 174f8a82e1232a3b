// cfaults is the guest of tests/faults_test.go: one way to misbehave per
// argv[1], each of which Linux answers with a signal (or, for the spins,
// only a timeout ends). rumpgo must end every one the way Linux does, with
// a one-line report and no panic of its own.
//
//	cfaults ok                exit 0 (the harness works)
//	cfaults stack-null        RSP = 16, then a fault, with a SIGSEGV handler
//	                          installed: no stack for the signal frame
//	cfaults stack-noncanon    RSP non-canonical, then a push (#SS), handler
//	                          installed
//	cfaults stack-noncanon-nohandler  the same without a handler
//	cfaults stack-kernel      RSP in the machine's window (0x7fffc0010000),
//	                          then a fault, handler installed
//	cfaults stack-mailbox     RSP at 0x7fffc0060100, then a fault, handler
//	                          installed
//	cfaults stack-text        RSP in the program's read-only text, handler
//	cfaults sigframe          RSP = 16, then kill(getpid(), SIGUSR1) with a
//	                          SIGUSR1 handler: the frame cannot be written
//	cfaults recurse           unbounded recursion, SIGSEGV handler without
//	                          an alternate stack
//	cfaults jump-kernel|jump-stub|jump-vector|jump-mmio
//	                          call into the window: its base, the syscall
//	                          entry (+0x3000), the #PF vector (+0x32e0),
//	                          the MMIO page (+0xfc000)
//	cfaults read-kernel|write-kernel|write-ist|read-mailbox|write-mailbox|
//	        read-mmio|write-mmio
//	                          touch the window: its base, the IST stacks
//	                          (+0x10000), the mailboxes (+0x60000), the
//	                          MMIO page (+0xfc000)
//	cfaults hlt|cli|sti|lgdt|lidt|ltr|lldt|wrmsr|rdmsr|in|out|out-syscall|
//	        out-exception|mov-cr0|mov-cr3|write-cr3|invlpg|wbinvd|swapgs|
//	        sysret|int-pf|int-df|int80|iopl-cli
//	                          one privileged instruction each (#GP)
//	cfaults int3|int-3|icebp|ud2|into|div0
//	                          SIGTRAP, SIGTRAP, SIGTRAP, SIGILL, SIGILL,
//	                          SIGFPE
//	cfaults wrgsbase          set the GS base (WRGSBASE) to a buffer of its
//	                          own, then make a system call: it works, and
//	                          the GS base is kept
//	cfaults wrgsbase-bad      the same with a GS base of 0x10
//	cfaults spin              a tight loop, no system calls
//	cfaults spin-masked       the same with every signal blocked
//
// Every mode prints "start MODE" on stderr first; a mode that returns
// prints "survived MODE" and exits 1.
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>

#define WINDOW 0x7fffc0000000UL // boot.KernelBase

static void handler(int sig) {
	// Reached only if the frame could be written: say so and leave.
	static const char msg[] = "handler ran\n";
	write(2, msg, sizeof msg - 1);
	_exit(3);
}

static void install(int sig) {
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	sigaction(sig, &sa, 0);
}

// with_stack sets RSP to sp and writes to address 8 (a fault).
static void with_stack(uintptr_t sp) {
	__asm__ volatile("mov %0, %%rsp\n\tmovq $0, 8" ::"r"(sp) : "memory");
}

#pragma GCC diagnostic ignored "-Winfinite-recursion"
static int depth(int n) {
	volatile char buf[1024];
	buf[0] = (char)n;
	return depth(n + 1) + buf[0];
}

static void call(uintptr_t target) {
	__asm__ volatile("call *%0" ::"r"(target) : "memory");
}

static volatile uint64_t sink;

int main(int argc, char **argv) {
	if (argc < 2)
		return 2;
	const char *m = argv[1];
	fprintf(stderr, "start %s\n", m);
	static struct { uint16_t limit; uint64_t base; } __attribute__((packed)) desc = {0xfff, 0};

	if (!strcmp(m, "ok")) {
		return 0;
	} else if (!strcmp(m, "stack-null")) {
		install(SIGSEGV);
		with_stack(16);
	} else if (!strcmp(m, "stack-noncanon")) {
		install(SIGSEGV);
		install(SIGBUS);
		__asm__ volatile("mov %0, %%rsp\n\tpush %%rax" ::"r"(0x8000000000001000UL) : "memory");
	} else if (!strcmp(m, "stack-noncanon-nohandler")) {
		__asm__ volatile("mov %0, %%rsp\n\tpush %%rax" ::"r"(0x8000000000001000UL) : "memory");
	} else if (!strcmp(m, "stack-kernel")) {
		install(SIGSEGV);
		with_stack(WINDOW + 0x10000 + 256);
	} else if (!strcmp(m, "stack-mailbox")) {
		install(SIGSEGV);
		with_stack(WINDOW + 0x60000 + 4096);
	} else if (!strcmp(m, "stack-text")) {
		install(SIGSEGV);
		with_stack((uintptr_t)&main + 4096);
	} else if (!strcmp(m, "sigframe")) {
		install(SIGUSR1);
		long pid = getpid();
		__asm__ volatile("mov %0, %%rsp\n\t"
		                 "syscall\n\t"
		                 "ud2"
		                 :: "r"(16UL), "a"((long)SYS_kill), "D"(pid), "S"((long)SIGUSR1)
		                 : "rcx", "r11", "memory");
	} else if (!strcmp(m, "recurse")) {
		install(SIGSEGV);
		depth(0);
	} else if (!strcmp(m, "jump-kernel")) {
		call(WINDOW);
	} else if (!strcmp(m, "jump-stub")) {
		// The syscall entry with the registers of a harmless call: on
		// Linux nothing is there.
		__asm__ volatile("lea 1f(%%rip), %%rcx\n\t"
		                 "call *%1\n"
		                 "1:\tadd $8, %%rsp"
		                 :: "a"((long)SYS_getpid), "r"(WINDOW + 0x3000)
		                 : "rcx", "r11", "memory");
	} else if (!strcmp(m, "jump-vector")) {
		call(WINDOW + 0x3000 + 0x200 + 16 * 14);
	} else if (!strcmp(m, "jump-mmio")) {
		call(WINDOW + 0xfc000);
	} else if (!strcmp(m, "read-kernel")) {
		sink = *(volatile uint64_t *)WINDOW;
	} else if (!strcmp(m, "write-kernel")) {
		*(volatile uint64_t *)(WINDOW + 0x1000) = 0; // the GDT
	} else if (!strcmp(m, "write-ist")) {
		*(volatile uint64_t *)(WINDOW + 0x10000) = 0;
	} else if (!strcmp(m, "read-mailbox")) {
		sink = *(volatile uint64_t *)(WINDOW + 0x60000);
	} else if (!strcmp(m, "write-mailbox")) {
		*(volatile uint64_t *)(WINDOW + 0x60000 + 0x20) = 1; // SLOW
	} else if (!strcmp(m, "read-mmio")) {
		sink = *(volatile uint64_t *)(WINDOW + 0xfc000);
	} else if (!strcmp(m, "write-mmio")) {
		// What the stub's slow path does, with getpid's number in RAX.
		__asm__ volatile("lea 1f(%%rip), %%rcx\n\t"
		                 "movb %%al, (%1)\n"
		                 "1:"
		                 :: "a"((long)SYS_getpid), "r"(WINDOW + 0xfc000)
		                 : "rcx", "memory");
	} else if (!strcmp(m, "hlt")) {
		__asm__ volatile("hlt");
	} else if (!strcmp(m, "cli")) {
		__asm__ volatile("cli");
	} else if (!strcmp(m, "sti")) {
		__asm__ volatile("sti");
	} else if (!strcmp(m, "lgdt")) {
		__asm__ volatile("lgdt %0" ::"m"(desc));
	} else if (!strcmp(m, "lidt")) {
		__asm__ volatile("lidt %0" ::"m"(desc));
	} else if (!strcmp(m, "ltr")) {
		__asm__ volatile("ltr %w0" ::"r"(0x40));
	} else if (!strcmp(m, "lldt")) {
		__asm__ volatile("lldt %w0" ::"r"(0));
	} else if (!strcmp(m, "wrmsr")) {
		// LSTAR: where SYSCALL goes.
		__asm__ volatile("wrmsr" ::"c"(0xc0000082), "a"(0), "d"(0));
	} else if (!strcmp(m, "rdmsr")) {
		uint32_t lo, hi;
		__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0xc0000082));
		sink = lo | (uint64_t)hi << 32;
	} else if (!strcmp(m, "in")) {
		uint8_t v;
		__asm__ volatile("inb $0x60, %0" : "=a"(v));
		sink = v;
	} else if (!strcmp(m, "out")) {
		__asm__ volatile("outb %%al, $0x80" ::"a"(0));
	} else if (!strcmp(m, "out-syscall")) {
		__asm__ volatile("outb %%al, $0x2e" ::"a"(0)); // 0x20 + 14: the #PF exit port
	} else if (!strcmp(m, "out-exception")) {
		__asm__ volatile("mov $0x2d, %%dx\n\toutb %%al, %%dx" ::"a"(0) : "rdx"); // 0x20 + 13
	} else if (!strcmp(m, "mov-cr0")) {
		uint64_t v;
		__asm__ volatile("mov %%cr0, %0" : "=r"(v));
		sink = v;
	} else if (!strcmp(m, "mov-cr3")) {
		uint64_t v;
		__asm__ volatile("mov %%cr3, %0" : "=r"(v));
		sink = v;
	} else if (!strcmp(m, "write-cr3")) {
		__asm__ volatile("mov %0, %%cr3" ::"r"(0UL));
	} else if (!strcmp(m, "invlpg")) {
		__asm__ volatile("invlpg (%0)" ::"r"(&sink) : "memory");
	} else if (!strcmp(m, "wbinvd")) {
		__asm__ volatile("wbinvd");
	} else if (!strcmp(m, "swapgs")) {
		__asm__ volatile("swapgs");
	} else if (!strcmp(m, "sysret")) {
		__asm__ volatile("lea 1f(%%rip), %%rcx\n\tsysretq\n1:" ::: "rcx", "r11");
	} else if (!strcmp(m, "int-pf")) {
		__asm__ volatile("int $0x0e");
	} else if (!strcmp(m, "int-df")) {
		__asm__ volatile("int $0x08");
	} else if (!strcmp(m, "int80")) {
		// Linux answers int $0x80 as a 32-bit system call: exit(0) would
		// then end the program; rumpgo has no 32-bit ABI. Use a number
		// that both refuse: the result is what counts, not a crash.
		long r;
		__asm__ volatile("int $0x80" : "=a"(r) : "a"(-1L) : "memory");
		fprintf(stderr, "int80 returned %ld\n", r);
		return 4;
	} else if (!strcmp(m, "iopl-cli")) {
		// Ask for IOPL 3 through POPF (ignored at CPL 3), then CLI.
		__asm__ volatile("pushf\n\torq $0x3000, (%%rsp)\n\tpopf\n\tcli" ::: "memory", "cc");
	} else if (!strcmp(m, "int3")) {
		__asm__ volatile("int3");
	} else if (!strcmp(m, "icebp")) {
		__asm__ volatile(".byte 0xf1");
	} else if (!strcmp(m, "ud2")) {
		__asm__ volatile("ud2");
	} else if (!strcmp(m, "int-3")) {
		__asm__ volatile("int $3"); // CD 03, not the one-byte int3
	} else if (!strcmp(m, "into")) {
		__asm__ volatile(".byte 0xce"); // invalid in 64-bit mode
	} else if (!strcmp(m, "div0")) {
		__asm__ volatile("xor %%ecx, %%ecx\n\tmov $1, %%eax\n\tcltd\n\tidivl %%ecx" ::: "rax", "rcx", "rdx");
	} else if (!strcmp(m, "wrgsbase")) {
		// A GS base of the program's own (WRGSBASE is a user
		// instruction where the kernel enables FSGSBASE), then a system
		// call: Linux's entry does not depend on it.
		// HWCAP2_FSGSBASE says whether the kernel allows it; CPUID
		// alone does not, but a program may not ask.
		if (!(getauxval(AT_HWCAP2) & 2))
			fprintf(stderr, "no HWCAP2_FSGSBASE\n");
		static char area[4096];
		__asm__ volatile("wrgsbase %0" ::"r"(area) : "memory");
		long pid = syscall(SYS_getpid);
		uint64_t gs;
		__asm__ volatile("rdgsbase %0" : "=r"(gs));
		fprintf(stderr, "getpid %s, gs base %s\n", pid > 0 ? "ok" : "failed", gs == (uint64_t)area ? "kept" : "changed");
		return 0;
	} else if (!strcmp(m, "wrgsbase-bad")) {
		if (!(getauxval(AT_HWCAP2) & 2))
			fprintf(stderr, "no HWCAP2_FSGSBASE\n");
		__asm__ volatile("wrgsbase %0" ::"r"(0x10UL) : "memory");
		long pid = syscall(SYS_getpid);
		fprintf(stderr, "getpid %s\n", pid > 0 ? "ok" : "failed");
		return 0;
	} else if (!strcmp(m, "spin")) {
		for (;;)
			__asm__ volatile("" ::: "memory");
	} else if (!strcmp(m, "spin-masked")) {
		sigset_t all;
		sigfillset(&all);
		sigprocmask(SIG_BLOCK, &all, 0);
		for (;;)
			__asm__ volatile("" ::: "memory");
	} else {
		fprintf(stderr, "cfaults: unknown mode %s\n", m);
		return 2;
	}
	fprintf(stderr, "survived %s\n", m);
	return 1;
}
