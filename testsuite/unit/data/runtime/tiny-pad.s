# A 3-byte function patched through the filler before it (LC_BUSY_PADJUMP,
# .kpatch.busy): pad case (pad at 0x1134, record 0).
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
	.section .kpatch.busy,"",@progbits
	.quad 0x1134
	.long 5, 0, 2, 0
