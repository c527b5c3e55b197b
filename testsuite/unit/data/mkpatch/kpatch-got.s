# A GOT relocation in patch code (the plugin must rewrite these): refused.
	.section .kpatch.text,"",@progbits
	.type main.kpatch,@function
main.kpatch:
	movq environ.kpatch_ext@GOTPCREL(%rip),%rax
	ret
	.size main.kpatch,.-main.kpatch
	.section .kpatch.info,"",@progbits
	.quad main
	.quad main.kpatch
	.long 0, 0
	.long .Lkpname.0
	.long 0
	.section .kpatch.strtab,"",@progbits
.Lkpname.0: .string "main"
	.weak environ.kpatch_ext
