// The vDSO rumpgo maps into every guest: clock_gettime, gettimeofday, time
// and getcpu answered from memory, so reading the time costs no VM exit.
//
// The monitor keeps a data page ("vvar", laid out in vdso.go) current; it
// sits one page below this image, which the linker script names vvar_page,
// and every access is RIP-relative, so the image needs no relocations.
// Readers use the page's sequence count as a seqlock: an odd count or a
// count that changed while the clock was read means a write was in
// progress, and the read is retried. A clock the page does not serve (the
// CPU-time clocks, unknown ids, or any clock before the monitor first
// publishes) falls back to the real system call, as Linux's vDSO does.
//
// RDTSC is deliberately not used: on PVM hosts it traps and leaves the vCPU
// in the instruction emulator until its next exit (see vdso.go).
//
// Assembled and linked by `go generate` (vdso.go) into vdso.so;
// vdso_test.go rebuilds it and compares.

	.set VVAR_SEQ, 0          # uint32 sequence count, odd while written
	.set VVAR_SERVED, 8       # uint64 bit n set: clock id n is served here
	.set VVAR_CLOCKS, 16      # [16]{sec, nsec int64}, indexed by clock id
	.set MAX_CLOCK, 15

	.set CLOCK_REALTIME, 0
	.set __NR_gettimeofday, 96
	.set __NR_time, 201
	.set __NR_clock_gettime, 228

	.hidden vvar_page

// READ_CLOCK id, fallback: load clock \id (a register holding it, < 16)
// into %rax (seconds) and %rdx (nanoseconds), jumping to \fallback when the
// page does not serve it. Clobbers %rcx, %r8, %r9.
//
// While a write is in progress it waits, as Linux's vDSO does, rather than
// ask the kernel: the kernel's answer would be newer than the write's, and
// the next read of the page would then go back in time.
.macro READ_CLOCK id, fallback
	lea vvar_page(%rip), %r8
	mov \id, %r9
	shl $4, %r9
	lea VVAR_CLOCKS(%r8,%r9), %r9
1:	mov VVAR_SEQ(%r8), %ecx
	test $1, %ecx
	jnz 2f
	mov VVAR_SERVED(%r8), %rax
	bt \id, %rax
	jnc \fallback
	mov (%r9), %rax
	mov 8(%r9), %rdx
	// x86 does not reorder loads with loads: the second read of the
	// count happens after the clock's, so an equal count means no write
	// overlapped them.
	cmp VVAR_SEQ(%r8), %ecx
	je 3f
2:	pause
	jmp 1b
3:
.endm

	.text

// int __vdso_clock_gettime(clockid_t id, struct timespec *ts)
	.globl __vdso_clock_gettime
	.type __vdso_clock_gettime, @function
	.balign 16
__vdso_clock_gettime:
	.cfi_startproc
	cmp $MAX_CLOCK, %edi
	ja 9f                     # unsigned: negative ids (other processes' CPU clocks) too
	mov %edi, %r11d
	READ_CLOCK %r11, 9f
	mov %rax, (%rsi)
	mov %rdx, 8(%rsi)
	xor %eax, %eax
	ret
9:	mov $__NR_clock_gettime, %eax
	syscall
	ret
	.cfi_endproc
	.size __vdso_clock_gettime, . - __vdso_clock_gettime

// int __vdso_gettimeofday(struct timeval *tv, struct timezone *tz)
	.globl __vdso_gettimeofday
	.type __vdso_gettimeofday, @function
	.balign 16
__vdso_gettimeofday:
	.cfi_startproc
	test %rdi, %rdi
	jz 5f
	xor %r11d, %r11d          # CLOCK_REALTIME
	READ_CLOCK %r11, 9f
	mov %rax, (%rdi)
	mov %rdx, %rax
	xor %edx, %edx
	mov $1000, %ecx
	div %rcx                  # microseconds
	mov %rax, 8(%rdi)
5:	test %rsi, %rsi
	jz 6f
	movq $0, (%rsi)           # UTC, no DST: what the system call reports
6:	xor %eax, %eax
	ret
9:	mov $__NR_gettimeofday, %eax
	syscall
	ret
	.cfi_endproc
	.size __vdso_gettimeofday, . - __vdso_gettimeofday

// time_t __vdso_time(time_t *t)
	.globl __vdso_time
	.type __vdso_time, @function
	.balign 16
__vdso_time:
	.cfi_startproc
	xor %r11d, %r11d          # CLOCK_REALTIME
	READ_CLOCK %r11, 9f
	test %rdi, %rdi
	jz 6f
	mov %rax, (%rdi)
6:	ret
9:	mov $__NR_time, %eax
	syscall
	ret
	.cfi_endproc
	.size __vdso_time, . - __vdso_time

// long __vdso_getcpu(unsigned *cpu, unsigned *node, void *cache)
//
// Always CPU 0, node 0: guest code cannot learn its vCPU without RDTSCP or
// RDPID (which trap or fault here), and the host's LSL segment would name a
// host CPU. getcpu's answer is only ever a hint that may be stale at once.
	.globl __vdso_getcpu
	.type __vdso_getcpu, @function
	.balign 16
__vdso_getcpu:
	.cfi_startproc
	test %rdi, %rdi
	jz 1f
	movl $0, (%rdi)
1:	test %rsi, %rsi
	jz 2f
	movl $0, (%rsi)
2:	xor %eax, %eax
	ret
	.cfi_endproc
	.size __vdso_getcpu, . - __vdso_getcpu

// The unprefixed names Linux's vDSO also exports, as weak aliases.
	.weak clock_gettime, gettimeofday, time, getcpu
	.type clock_gettime, @function
	.type gettimeofday, @function
	.type time, @function
	.type getcpu, @function
	.set clock_gettime, __vdso_clock_gettime
	.set gettimeofday, __vdso_gettimeofday
	.set time, __vdso_time
	.set getcpu, __vdso_getcpu

// The note Linux's vDSO carries: the kernel version, which old glibc reads
// instead of calling uname. 6.1.0 is the release uname reports
// (syscalls.Release).
	.section .note.Linux, "a", @note
	.balign 4
	.long 6                   # namesz: "Linux\0"
	.long 4                   # descsz
	.long 0                   # type
	.asciz "Linux"
	.balign 4
	.long (6 << 16) | (1 << 8) | 0  # LINUX_VERSION_CODE
	.balign 4

	.section .note.GNU-stack, "", @progbits
