// A static x86-64 program with no libc and no SSE: it writes a line and its
// argument count to stdout and exits with status argc + 40. It exercises the
// loader, the initial stack and the syscall path without the instructions an
// emulating host cannot run.
	.globl _start
	.text
_start:
	mov	(%rsp), %r12		# argc
	mov	$1, %eax		# write(1, msg, len)
	mov	$1, %edi
	lea	msg(%rip), %rsi
	mov	$len, %edx
	syscall
	lea	'0'(%r12), %rax		# one digit of argc, then a newline
	mov	%al, digit(%rip)
	mov	$1, %eax
	mov	$1, %edi
	lea	digit(%rip), %rsi
	mov	$2, %edx
	syscall
	lea	40(%r12), %rdi		# exit_group(argc + 40)
	mov	$231, %eax
	syscall
	hlt

	.data
msg:	.ascii "hello from asm, argc="
	len = . - msg
digit:	.ascii "?\n"
