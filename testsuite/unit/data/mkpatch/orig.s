# The original program.  main calls the unit-static helper, twice (another
# unit) and puts; it reads stdout through the GOT and stderr directly (a COPY
# relocation into .bss).  .data is a multiple of 8 bytes: see README.
	.text
	.type helper,@function
helper:
	movl counter(%rip),%eax
	ret
	.size helper,.-helper
	.globl main
	.type main,@function
main:
	pushq %rbx
	call helper
	call twice
	movq stdout@GOTPCREL(%rip),%rax
	movq stderr(%rip),%rax
	leaq .LC0(%rip),%rdi
	call puts@PLT
	xorl %eax,%eax
	popq %rbx
	ret
	.size main,.-main
	.type tiny,@function
tiny:
	ret
	.size tiny,.-tiny
	.section .rodata
.LC0:	.string "hello"
	.data
	.type counter,@object
	.size counter,4
counter:	.long 1
	.long 0
	.section .tbss,"awT",@nobits
	.p2align 2
	.type tls_counter,@object
	.size tls_counter,4
tls_counter:	.zero 4
	.section .note.GNU-stack,"",@progbits
