# A position-independent payload (no 32-bit absolute relocations): the
# region may go anywhere within reach of the target.
	.section .kpatch.text,"",@progbits
	.type main.kpatch,@function
main.kpatch:
	call puts
	leaq .LC0(%rip), %rdi
	ret
	.size main.kpatch, .-main.kpatch
	.section .kpatch.data,"",@progbits
.LC0:	.string "hi"
	.section .kpatch.info,"",@progbits
	.quad __libcare_target + 0x1139
	.quad main.kpatch
	.long 0x20, 0x10
	.long 0
	.long 0
	.section .kpatch.strtab,"",@progbits
	.string "main"
