# A TLS relocation against an import that is not thread-local: refused.
	.section .kpatch.text,"",@progbits
	.type f.kpatch,@function
f.kpatch:
	ret
	.size f.kpatch, .-f.kpatch
	.section .kpatch.data,"",@progbits
slot:	.quad 0
	.reloc slot, R_X86_64_DTPMOD64, plain_var
	.section .kpatch.info,"",@progbits
	.quad __libcare_target + 0x1139
	.quad f.kpatch
	.long 16, 1
	.long 0
	.long 0
	.section .kpatch.strtab,"",@progbits
	.string "f"
