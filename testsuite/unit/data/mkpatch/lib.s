# A shared library: lib_greet counts its calls in a file static and prints.
	.text
	.globl lib_greet
	.type lib_greet,@function
lib_greet:
	addl $1, calls(%rip)
	movl calls(%rip), %edx
	movq %rdi, %rsi
	leaq .LC0(%rip), %rdi
	xorl %eax, %eax
	jmp printf@PLT
	.size lib_greet,.-lib_greet
	.section .rodata
.LC0:	.string "hello %s (%d)\n"
	.local calls
	.comm calls,4,4
	.section .note.GNU-stack,"",@progbits
