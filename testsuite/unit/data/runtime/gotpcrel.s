# A payload with a GOT relocation, which the runtime does not apply.
	.section .kpatch.text,"",@progbits
	.type g.kpatch,@function
g.kpatch:
	movq stdout@GOTPCREL(%rip), %rax
	ret
	.size g.kpatch, .-g.kpatch
	.section .kpatch.info,"",@progbits
	.quad __libcare_target + 0x1139
	.quad g.kpatch
	.long 16, 8
	.long 0
	.long 0
	.section .kpatch.strtab,"",@progbits
	.string "g"
