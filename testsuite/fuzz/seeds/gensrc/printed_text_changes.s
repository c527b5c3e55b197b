	.text
# libcare:fn-begin greet
	.section	.rodata.str1.8,"aMS",@progbits,1
	.align 8
.LC0:
	.string	"Hello from the original, line %d\n"
	.text
	.p2align 4
	.globl	greet
	.type	greet, @function
greet:
.LFB11:
	.cfi_startproc
	subq	$8, %rsp
	.cfi_def_cfa_offset 16
	movl	%edi, %esi
	leaq	.LC0(%rip), %rdi
	xorl	%eax, %eax
	call	printf@PLT
	movq	stdout@GOTPCREL(%rip), %rax
	movq	(%rax), %rdi
	addq	$8, %rsp
	.cfi_def_cfa_offset 8
	jmp	fflush@PLT
	.cfi_endproc
.LFE11:
	.size	greet, .-greet
# libcare:fn-end greet
# libcare:fn-begin main
	.section	.text.startup,"ax",@progbits
	.p2align 4
	.globl	main
	.type	main, @function
main:
.LFB12:
	.cfi_startproc
	pushq	%rbx
	.cfi_def_cfa_offset 16
	.cfi_offset 3, -16
	xorl	%ebx, %ebx
	.p2align 4,,10
	.p2align 3
.L5:
	movl	%ebx, %edi
	addl	$1, %ebx
	call	greet@PLT
	movl	$50000, %edi
	call	usleep@PLT
	jmp	.L5
	.cfi_endproc
.LFE12:
	.size	main, .-main
# libcare:fn-end main
	.ident	"GCC: (Debian 12.2.0-14+deb12u1) 12.2.0"
#=#=#
	.text
# libcare:fn-begin greet
	.section	.rodata.str1.8,"aMS",@progbits,1
	.align 8
.LC0:
	.string	"Hello from the PATCHED code, line %d\n"
	.text
	.p2align 4
	.globl	greet
	.type	greet, @function
greet:
.LFB11:
	.cfi_startproc
	subq	$8, %rsp
	.cfi_def_cfa_offset 16
	movl	%edi, %esi
	leaq	.LC0(%rip), %rdi
	xorl	%eax, %eax
	call	printf@PLT
	movq	stdout@GOTPCREL(%rip), %rax
	movq	(%rax), %rdi
	addq	$8, %rsp
	.cfi_def_cfa_offset 8
	jmp	fflush@PLT
	.cfi_endproc
.LFE11:
	.size	greet, .-greet
# libcare:fn-end greet
# libcare:fn-begin main
	.section	.text.startup,"ax",@progbits
	.p2align 4
	.globl	main
	.type	main, @function
main:
.LFB12:
	.cfi_startproc
	pushq	%rbx
	.cfi_def_cfa_offset 16
	.cfi_offset 3, -16
	xorl	%ebx, %ebx
	.p2align 4,,10
	.p2align 3
.L5:
	movl	%ebx, %edi
	addl	$1, %ebx
	call	greet@PLT
	movl	$50000, %edi
	call	usleep@PLT
	jmp	.L5
	.cfi_endproc
.LFE12:
	.size	main, .-main
# libcare:fn-end main
	.ident	"GCC: (Debian 12.2.0-14+deb12u1) 12.2.0"
