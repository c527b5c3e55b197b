	.text
# libcare:fn-begin banner
	.section	.rodata.str1.1,"aMS",@progbits,1
.LC0:
	.string	"start"
	.text
	.p2align 4
	.globl	banner
	.type	banner, @function
banner:
.LFB11:
	.cfi_startproc
	leaq	.LC0(%rip), %rdi
	jmp	puts@PLT
	.cfi_endproc
.LFE11:
	.size	banner, .-banner
# libcare:fn-end banner
# libcare:fn-begin ping
	.p2align 4
	.globl	ping
	.type	ping, @function
ping:
.LFB12:
	.cfi_startproc
	movl	count.1(%rip), %eax
	addl	$1, %eax
	movl	%eax, count.1(%rip)
	ret
	.cfi_endproc
.LFE12:
	.size	ping, .-ping
# libcare:fn-end ping
# libcare:fn-begin pong
	.p2align 4
	.globl	pong
	.type	pong, @function
pong:
.LFB13:
	.cfi_startproc
	movl	count.0(%rip), %eax
	addl	$1, %eax
	movl	%eax, count.0(%rip)
	ret
	.cfi_endproc
.LFE13:
	.size	pong, .-pong
# libcare:fn-end pong
# libcare:fn-begin main
	.section	.rodata.str1.1
.LC1:
	.string	"ping %d pong %d\n"
	.section	.text.startup,"ax",@progbits
	.p2align 4
	.globl	main
	.type	main, @function
main:
.LFB14:
	.cfi_startproc
	pushq	%r12
	.cfi_def_cfa_offset 16
	.cfi_offset 12, -16
	leaq	.LC1(%rip), %r12
	pushq	%rbp
	.cfi_def_cfa_offset 24
	.cfi_offset 6, -24
	pushq	%rbx
	.cfi_def_cfa_offset 32
	.cfi_offset 3, -32
	call	banner@PLT
	movq	stdout@GOTPCREL(%rip), %rbp
	movq	0(%rbp), %rdi
	call	fflush@PLT
	.p2align 4,,10
	.p2align 3
.L6:
	call	ping@PLT
	movl	%eax, %ebx
	call	pong@PLT
	movl	%ebx, %esi
	movq	%r12, %rdi
	movl	%eax, %edx
	xorl	%eax, %eax
	call	printf@PLT
	movq	0(%rbp), %rdi
	call	fflush@PLT
	movl	$50000, %edi
	call	usleep@PLT
	jmp	.L6
	.cfi_endproc
.LFE14:
	.size	main, .-main
# libcare:fn-end main
	.data
	.align 4
	.type	count.0, @object
	.size	count.0, 4
count.0:
	.long	1000
	.local	count.1
	.comm	count.1,4,4
	.ident	"GCC: (Debian 12.2.0-14+deb12u1) 12.2.0"
# libcare:var pong::count i32
# libcare:var ping::count i32
#=#=#
	.text
# libcare:fn-begin banner
	.section	.rodata.str1.1,"aMS",@progbits,1
.LC0:
	.string	"start"
	.text
	.p2align 4
	.globl	banner
	.type	banner, @function
banner:
.LFB11:
	.cfi_startproc
	movl	count.2(%rip), %eax
	leal	1(%rax), %edx
	movl	%edx, count.2(%rip)
	testl	%eax, %eax
	je	.L4
	ret
	.p2align 4,,10
	.p2align 3
.L4:
	leaq	.LC0(%rip), %rdi
	jmp	puts@PLT
	.cfi_endproc
.LFE11:
	.size	banner, .-banner
# libcare:fn-end banner
# libcare:fn-begin ping
	.p2align 4
	.globl	ping
	.type	ping, @function
ping:
.LFB12:
	.cfi_startproc
	movl	count.1(%rip), %edx
	leal	10(%rdx), %eax
	movl	%eax, count.1(%rip)
	movl	$-10, %eax
	subl	%edx, %eax
	ret
	.cfi_endproc
.LFE12:
	.size	ping, .-ping
# libcare:fn-end ping
# libcare:fn-begin pong
	.p2align 4
	.globl	pong
	.type	pong, @function
pong:
.LFB13:
	.cfi_startproc
	movl	count.0(%rip), %eax
	addl	$1, %eax
	movl	%eax, count.0(%rip)
	ret
	.cfi_endproc
.LFE13:
	.size	pong, .-pong
# libcare:fn-end pong
# libcare:fn-begin main
	.section	.rodata.str1.1
.LC1:
	.string	"ping %d pong %d\n"
	.section	.text.startup,"ax",@progbits
	.p2align 4
	.globl	main
	.type	main, @function
main:
.LFB14:
	.cfi_startproc
	pushq	%r12
	.cfi_def_cfa_offset 16
	.cfi_offset 12, -16
	leaq	.LC1(%rip), %r12
	pushq	%rbp
	.cfi_def_cfa_offset 24
	.cfi_offset 6, -24
	pushq	%rbx
	.cfi_def_cfa_offset 32
	.cfi_offset 3, -32
	call	banner@PLT
	movq	stdout@GOTPCREL(%rip), %rbp
	movq	0(%rbp), %rdi
	call	fflush@PLT
	.p2align 4,,10
	.p2align 3
.L8:
	call	ping@PLT
	movl	%eax, %ebx
	call	pong@PLT
	movl	%ebx, %esi
	movq	%r12, %rdi
	movl	%eax, %edx
	xorl	%eax, %eax
	call	printf@PLT
	movq	0(%rbp), %rdi
	call	fflush@PLT
	movl	$50000, %edi
	call	usleep@PLT
	jmp	.L8
	.cfi_endproc
.LFE14:
	.size	main, .-main
# libcare:fn-end main
	.data
	.align 4
	.type	count.0, @object
	.size	count.0, 4
count.0:
	.long	1000
	.local	count.1
	.comm	count.1,4,4
	.local	count.2
	.comm	count.2,4,4
	.ident	"GCC: (Debian 12.2.0-14+deb12u1) 12.2.0"
# libcare:var pong::count i32
# libcare:var ping::count i32
# libcare:var banner::count i32
