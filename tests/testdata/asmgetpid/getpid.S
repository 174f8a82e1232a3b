# Calls getpid 100000 times and exits 0: the syscall round trip, measured by
# timing the whole run (tests/bench.sh). No libc, no SSE.
	.globl _start
	.text
_start:
	mov	$100000, %r12
1:	mov	$39, %eax
	syscall
	dec	%r12
	jnz	1b
	xor	%edi, %edi
	mov	$231, %eax
	syscall
