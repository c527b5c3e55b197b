	.text
# libcare:fn-begin report
	.section	.rodata.str1.1,"aMS",@progbits,1
.LC0:
	.string	"n %d\n"
	.text
	.p2align 4
	.globl	report
	.type	report, @function
report:
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
	.size	report, .-report
# libcare:fn-end report
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
	call	report@PLT
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
# libcare:fn-begin colour
	.p2align 4
	.type	colour, @function
colour:
.LFB12:
	.cfi_startproc
	movslq	%edi, %rax
	movl	%edi, %edx
	imulq	$1431655766, %rax, %rax
	sarl	$31, %edx
	shrq	$32, %rax
	subl	%edx, %eax
	leal	(%rax,%rax,2), %eax
	subl	%eax, %edi
	movq	colours@GOTPCREL(%rip), %rax
	movslq	%edi, %rdi
	movq	(%rax,%rdi,8), %rax
	ret
	.cfi_endproc
.LFE12:
	.size	colour, .-colour
# libcare:fn-end colour
# libcare:fn-begin weight
	.p2align 4
	.globl	weight
	.type	weight, @function
weight:
.LFB11:
	.cfi_startproc
	movslq	%edi, %rdx
	movl	%edi, %ecx
	movq	scale(%rip), %rax
	imulq	$274877907, %rdx, %rdx
	sarl	$31, %ecx
	sarq	$38, %rdx
	subl	%ecx, %edx
	movl	%edi, %ecx
	imull	$1000, %edx, %edx
	subl	%edx, %ecx
	cmpl	$999, %ecx
	jne	.L4
	addq	$1, %rax
	movq	%rax, scale(%rip)
.L4:
	andl	$7, %edi
	leaq	squares(%rip), %rdx
	imull	(%rdx,%rdi,4), %eax
	movq	base_value@GOTPCREL(%rip), %rdx
	addl	(%rdx), %eax
	ret
	.cfi_endproc
.LFE11:
	.size	weight, .-weight
# libcare:fn-end weight
# libcare:fn-begin report
	.section	.rodata.str1.8,"aMS",@progbits,1
	.align 8
.LC0:
	.string	"n %d total %d odd %d weight %d colour %s\n"
	.text
	.p2align 4
	.globl	report
	.type	report, @function
report:
.LFB13:
	.cfi_startproc
	pushq	%r12
	.cfi_def_cfa_offset 16
	.cfi_offset 12, -16
	movq	total_calls@GOTPCREL(%rip), %r12
	pushq	%rbp
	.cfi_def_cfa_offset 24
	.cfi_offset 6, -24
	pushq	%rbx
	.cfi_def_cfa_offset 32
	.cfi_offset 3, -32
	movl	%edi, %ebx
	addl	$1, (%r12)
	andl	$1, %edi
	je	.L6
	addl	$1, odd_calls(%rip)
.L6:
	movl	%ebx, %edi
	call	colour
	movl	%ebx, %edi
	movq	%rax, %rbp
	call	weight@PLT
	movl	(%r12), %edx
	movq	%rbp, %r9
	movl	%ebx, %esi
	movl	odd_calls(%rip), %ecx
	movl	%eax, %r8d
	leaq	.LC0(%rip), %rdi
	xorl	%eax, %eax
	call	printf@PLT
	movq	stdout@GOTPCREL(%rip), %rax
	popq	%rbx
	.cfi_def_cfa_offset 24
	popq	%rbp
	.cfi_def_cfa_offset 16
	popq	%r12
	.cfi_def_cfa_offset 8
	movq	(%rax), %rdi
	jmp	fflush@PLT
	.cfi_endproc
.LFE13:
	.size	report, .-report
# libcare:fn-end report
# libcare:fn-begin main
	.section	.text.startup,"ax",@progbits
	.p2align 4
	.globl	main
	.type	main, @function
main:
.LFB14:
	.cfi_startproc
	pushq	%rbx
	.cfi_def_cfa_offset 16
	.cfi_offset 3, -16
	xorl	%ebx, %ebx
	.p2align 4,,10
	.p2align 3
.L12:
	movl	%ebx, %edi
	addl	$1, %ebx
	call	report@PLT
	movl	$50000, %edi
	call	usleep@PLT
	jmp	.L12
	.cfi_endproc
.LFE14:
	.size	main, .-main
# libcare:fn-end main
	.globl	colours
	.section	.rodata.str1.1,"aMS",@progbits,1
.LC1:
	.string	"red"
.LC2:
	.string	"green"
.LC3:
	.string	"blue"
	.section	.data.rel.ro.local,"aw"
	.align 16
	.type	colours, @object
	.size	colours, 24
colours:
	.quad	.LC1
	.quad	.LC2
	.quad	.LC3
	.section	.rodata
	.align 32
	.type	squares, @object
	.size	squares, 32
squares:
	.long	0
	.long	1
	.long	4
	.long	9
	.long	16
	.long	25
	.long	36
	.long	49
	.data
	.align 8
	.type	scale, @object
	.size	scale, 8
scale:
	.quad	3
	.globl	base_value
	.align 4
	.type	base_value, @object
	.size	base_value, 4
base_value:
	.long	1000
	.local	odd_calls
	.comm	odd_calls,4,4
	.globl	total_calls
	.bss
	.align 4
	.type	total_calls, @object
	.size	total_calls, 4
total_calls:
	.zero	4
	.ident	"GCC: (Debian 12.2.0-14+deb12u1) 12.2.0"
# libcare:var colours *char[3]
# libcare:var squares i32[8]
# libcare:var scale i64
# libcare:var base_value i32
# libcare:var odd_calls i32
# libcare:var total_calls i32
