	.text
# libcare:fn-begin tick_start
	.p2align 4
	.globl	tick_start
	.type	tick_start, @function
tick_start:
.LFB11:
	.cfi_startproc
	pushq	%rbx
	.cfi_def_cfa_offset 16
	.cfi_offset 3, -16
	movl	%edi, %ebx
	data16	leaq	ticks@tlsgd(%rip), %rdi
	.value	0x6666
	rex64
	call	__tls_get_addr@PLT
	movl	%ebx, (%rax)
	popq	%rbx
	.cfi_def_cfa_offset 8
	ret
	.cfi_endproc
.LFE11:
	.size	tick_start, .-tick_start
# libcare:fn-end tick_start
# libcare:fn-begin tick
	.section	.rodata.str1.1,"aMS",@progbits,1
.LC0:
	.string	"%s ticks %d\n"
	.text
	.p2align 4
	.globl	tick
	.type	tick, @function
tick:
.LFB12:
	.cfi_startproc
	pushq	%rbx
	.cfi_def_cfa_offset 16
	.cfi_offset 3, -16
	movq	%rdi, %rbx
	data16	leaq	ticks@tlsgd(%rip), %rdi
	.value	0x6666
	rex64
	call	__tls_get_addr@PLT
	movq	%rbx, %rsi
	leaq	.LC0(%rip), %rdi
	movl	(%rax), %ecx
	leal	1(%rcx), %edx
	movl	%edx, (%rax)
	xorl	%eax, %eax
	call	printf@PLT
	movq	stdout@GOTPCREL(%rip), %rax
	popq	%rbx
	.cfi_def_cfa_offset 8
	movq	(%rax), %rdi
	jmp	fflush@PLT
	.cfi_endproc
.LFE12:
	.size	tick, .-tick
# libcare:fn-end tick
	.globl	ticks
	.section	.tbss,"awT",@nobits
	.align 4
	.type	ticks, @object
	.size	ticks, 4
ticks:
	.zero	4
	.ident	"GCC: (Debian 12.2.0-14+deb12u1) 12.2.0"
# libcare:var ticks i32
#=#=#
	.text
# libcare:fn-begin tick_start
	.p2align 4
	.globl	tick_start
	.type	tick_start, @function
tick_start:
.LFB11:
	.cfi_startproc
	pushq	%rbx
	.cfi_def_cfa_offset 16
	.cfi_offset 3, -16
	movl	%edi, %ebx
	data16	leaq	ticks@tlsgd(%rip), %rdi
	.value	0x6666
	rex64
	call	__tls_get_addr@PLT
	movl	%ebx, (%rax)
	popq	%rbx
	.cfi_def_cfa_offset 8
	ret
	.cfi_endproc
.LFE11:
	.size	tick_start, .-tick_start
# libcare:fn-end tick_start
# libcare:fn-begin tick
	.section	.rodata.str1.1,"aMS",@progbits,1
.LC0:
	.string	"%s ticks %d patched\n"
	.text
	.p2align 4
	.globl	tick
	.type	tick, @function
tick:
.LFB12:
	.cfi_startproc
	pushq	%rbx
	.cfi_def_cfa_offset 16
	.cfi_offset 3, -16
	movq	%rdi, %rbx
	data16	leaq	ticks@tlsgd(%rip), %rdi
	.value	0x6666
	rex64
	call	__tls_get_addr@PLT
	movq	%rbx, %rsi
	leaq	.LC0(%rip), %rdi
	movl	(%rax), %ecx
	leal	1(%rcx), %edx
	movl	%edx, (%rax)
	xorl	%eax, %eax
	call	printf@PLT
	movq	stdout@GOTPCREL(%rip), %rax
	popq	%rbx
	.cfi_def_cfa_offset 8
	movq	(%rax), %rdi
	jmp	fflush@PLT
	.cfi_endproc
.LFE12:
	.size	tick, .-tick
# libcare:fn-end tick
	.globl	ticks
	.section	.tbss,"awT",@nobits
	.align 4
	.type	ticks, @object
	.size	ticks, 4
ticks:
	.zero	4
	.ident	"GCC: (Debian 12.2.0-14+deb12u1) 12.2.0"
# libcare:var ticks i32
