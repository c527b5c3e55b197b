	.text
# libcare:fn-begin name
	.section	.rodata.str1.1,"aMS",@progbits,1
.LC0:
	.string	"zero"
.LC1:
	.string	"one"
.LC2:
	.string	"two"
.LC3:
	.string	"three"
.LC4:
	.string	"four"
.LC5:
	.string	"five"
.LC6:
	.string	"six"
.LC7:
	.string	"seven"
.LC8:
	.string	"eight"
	.text
	.p2align 4
	.globl	name
	.type	name, @function
name:
.LFB11:
	.cfi_startproc
	movslq	%edi, %rax
	movl	%edi, %edx
	imulq	$954437177, %rax, %rax
	sarl	$31, %edx
	sarq	$33, %rax
	subl	%edx, %eax
	leal	(%rax,%rax,8), %eax
	subl	%eax, %edi
	cmpl	$7, %edi
	ja	.L2
	leaq	.L4(%rip), %rdx
	movslq	(%rdx,%rdi,4), %rax
	addq	%rdx, %rax
	jmp	*%rax
	.section	.rodata
	.align 4
	.align 4
.L4:
	.long	.L11-.L4
	.long	.L10-.L4
	.long	.L9-.L4
	.long	.L12-.L4
	.long	.L7-.L4
	.long	.L6-.L4
	.long	.L5-.L4
	.long	.L3-.L4
	.text
	.p2align 4,,10
	.p2align 3
.L12:
	leaq	.LC3(%rip), %rax
	ret
	.p2align 4,,10
	.p2align 3
.L10:
	leaq	.LC1(%rip), %rax
	ret
	.p2align 4,,10
	.p2align 3
.L9:
	addl	$2, seen(%rip)
	leaq	.LC2(%rip), %rax
	ret
	.p2align 4,,10
	.p2align 3
.L3:
	leaq	.LC7(%rip), %rax
	ret
	.p2align 4,,10
	.p2align 3
.L11:
	addl	$1, seen(%rip)
	leaq	.LC0(%rip), %rax
	ret
	.p2align 4,,10
	.p2align 3
.L7:
	subl	$1, seen(%rip)
	leaq	.LC4(%rip), %rax
	ret
	.p2align 4,,10
	.p2align 3
.L6:
	leaq	.LC5(%rip), %rax
	ret
	.p2align 4,,10
	.p2align 3
.L5:
	sall	seen(%rip)
	leaq	.LC6(%rip), %rax
	ret
.L2:
	movl	$0, seen(%rip)
	leaq	.LC8(%rip), %rax
	ret
	.cfi_endproc
.LFE11:
	.size	name, .-name
# libcare:fn-end name
# libcare:fn-begin main
	.section	.rodata.str1.1
.LC9:
	.string	"%d"
.LC10:
	.string	" %s"
	.section	.text.startup,"ax",@progbits
	.p2align 4
	.globl	main
	.type	main, @function
main:
.LFB12:
	.cfi_startproc
	pushq	%r14
	.cfi_def_cfa_offset 16
	.cfi_offset 14, -16
	leaq	.LC9(%rip), %r14
	pushq	%r13
	.cfi_def_cfa_offset 24
	.cfi_offset 13, -24
	movq	stdout@GOTPCREL(%rip), %r13
	pushq	%r12
	.cfi_def_cfa_offset 32
	.cfi_offset 12, -32
	xorl	%r12d, %r12d
	pushq	%rbp
	.cfi_def_cfa_offset 40
	.cfi_offset 6, -40
	leaq	.LC10(%rip), %rbp
	pushq	%rbx
	.cfi_def_cfa_offset 48
	.cfi_offset 3, -48
	.p2align 4,,10
	.p2align 3
.L16:
	movl	%r12d, %esi
	movq	%r14, %rdi
	xorl	%eax, %eax
	xorl	%ebx, %ebx
	call	printf@PLT
	.p2align 4,,10
	.p2align 3
.L15:
	movl	%ebx, %edi
	addl	$1, %ebx
	call	name@PLT
	movq	%rbp, %rdi
	movq	%rax, %rsi
	xorl	%eax, %eax
	call	printf@PLT
	cmpl	$9, %ebx
	jne	.L15
	movl	$10, %edi
	addl	$1, %r12d
	call	putchar@PLT
	movq	0(%r13), %rdi
	call	fflush@PLT
	movl	$30000, %edi
	call	usleep@PLT
	jmp	.L16
	.cfi_endproc
.LFE12:
	.size	main, .-main
# libcare:fn-end main
	.local	seen
	.comm	seen,4,4
	.ident	"GCC: (Debian 12.2.0-14+deb12u1) 12.2.0"
# libcare:var seen i32
#=#=#
	.text
# libcare:fn-begin name
	.section	.rodata.str1.1,"aMS",@progbits,1
.LC0:
	.string	"ZERO"
.LC1:
	.string	"ONE"
.LC2:
	.string	"TWO"
.LC3:
	.string	"THREE"
.LC4:
	.string	"FOUR"
.LC5:
	.string	"FIVE"
.LC6:
	.string	"SIX"
.LC7:
	.string	"SEVEN"
.LC8:
	.string	"EIGHT"
	.text
	.p2align 4
	.globl	name
	.type	name, @function
name:
.LFB11:
	.cfi_startproc
	movslq	%edi, %rax
	movl	%edi, %edx
	imulq	$954437177, %rax, %rax
	sarl	$31, %edx
	sarq	$33, %rax
	subl	%edx, %eax
	leal	(%rax,%rax,8), %eax
	subl	%eax, %edi
	cmpl	$7, %edi
	ja	.L2
	leaq	.L4(%rip), %rdx
	movslq	(%rdx,%rdi,4), %rax
	addq	%rdx, %rax
	jmp	*%rax
	.section	.rodata
	.align 4
	.align 4
.L4:
	.long	.L11-.L4
	.long	.L10-.L4
	.long	.L9-.L4
	.long	.L12-.L4
	.long	.L7-.L4
	.long	.L6-.L4
	.long	.L5-.L4
	.long	.L3-.L4
	.text
	.p2align 4,,10
	.p2align 3
.L12:
	leaq	.LC3(%rip), %rax
	ret
	.p2align 4,,10
	.p2align 3
.L10:
	leaq	.LC1(%rip), %rax
	ret
	.p2align 4,,10
	.p2align 3
.L9:
	addl	$2, seen(%rip)
	leaq	.LC2(%rip), %rax
	ret
	.p2align 4,,10
	.p2align 3
.L3:
	addl	$7, seen(%rip)
	leaq	.LC7(%rip), %rax
	ret
	.p2align 4,,10
	.p2align 3
.L11:
	addl	$1, seen(%rip)
	leaq	.LC0(%rip), %rax
	ret
	.p2align 4,,10
	.p2align 3
.L7:
	subl	$1, seen(%rip)
	leaq	.LC4(%rip), %rax
	ret
	.p2align 4,,10
	.p2align 3
.L6:
	leaq	.LC5(%rip), %rax
	ret
	.p2align 4,,10
	.p2align 3
.L5:
	sall	seen(%rip)
	leaq	.LC6(%rip), %rax
	ret
.L2:
	movl	$0, seen(%rip)
	leaq	.LC8(%rip), %rax
	ret
	.cfi_endproc
.LFE11:
	.size	name, .-name
# libcare:fn-end name
# libcare:fn-begin main
	.section	.rodata.str1.1
.LC9:
	.string	"%d"
.LC10:
	.string	" %s"
	.section	.text.startup,"ax",@progbits
	.p2align 4
	.globl	main
	.type	main, @function
main:
.LFB12:
	.cfi_startproc
	pushq	%r14
	.cfi_def_cfa_offset 16
	.cfi_offset 14, -16
	leaq	.LC9(%rip), %r14
	pushq	%r13
	.cfi_def_cfa_offset 24
	.cfi_offset 13, -24
	movq	stdout@GOTPCREL(%rip), %r13
	pushq	%r12
	.cfi_def_cfa_offset 32
	.cfi_offset 12, -32
	xorl	%r12d, %r12d
	pushq	%rbp
	.cfi_def_cfa_offset 40
	.cfi_offset 6, -40
	leaq	.LC10(%rip), %rbp
	pushq	%rbx
	.cfi_def_cfa_offset 48
	.cfi_offset 3, -48
	.p2align 4,,10
	.p2align 3
.L16:
	movl	%r12d, %esi
	movq	%r14, %rdi
	xorl	%eax, %eax
	xorl	%ebx, %ebx
	call	printf@PLT
	.p2align 4,,10
	.p2align 3
.L15:
	movl	%ebx, %edi
	addl	$1, %ebx
	call	name@PLT
	movq	%rbp, %rdi
	movq	%rax, %rsi
	xorl	%eax, %eax
	call	printf@PLT
	cmpl	$9, %ebx
	jne	.L15
	movl	$10, %edi
	addl	$1, %r12d
	call	putchar@PLT
	movq	0(%r13), %rdi
	call	fflush@PLT
	movl	$30000, %edi
	call	usleep@PLT
	jmp	.L16
	.cfi_endproc
.LFE12:
	.size	main, .-main
# libcare:fn-end main
	.local	seen
	.comm	seen,4,4
	.ident	"GCC: (Debian 12.2.0-14+deb12u1) 12.2.0"
# libcare:var seen i32
