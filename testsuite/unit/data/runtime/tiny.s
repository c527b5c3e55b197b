# A payload that replaces a 3-byte function: too small for a 5-byte jump.
	.section .kpatch.text,"",@progbits
	.type tiny.kpatch,@function
tiny.kpatch:
	ret
	.size tiny.kpatch, .-tiny.kpatch
	.section .kpatch.info,"",@progbits
	.quad __libcare_target + 0x1139
	.quad tiny.kpatch
	.long 3, 1
	.long 0
	.long 0
	.section .kpatch.strtab,"",@progbits
	.string "tiny"
