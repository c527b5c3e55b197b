# A payload with thread-local values (runtime/tls.c): the target's own
# variables (against __libcare_target, addend = offset in its block) and
# another object's (import ext_tv, STT_TLS).
	.section .kpatch.text,"",@progbits
	.type f.kpatch,@function
f.kpatch:
	movl %fs:0, %eax			# 0: 64 8b 04 25, disp32 at 4
	.reloc f.kpatch+4, R_X86_64_TPOFF32, __libcare_target+0x10
	ret
	.size f.kpatch, .-f.kpatch
	.section .kpatch.data,"",@progbits
ie:	.quad 0					# 0x00
	.reloc ie, R_X86_64_TPOFF64, __libcare_target+0x8
gd:	.quad 0, 0				# 0x08
	.reloc gd, R_X86_64_DTPMOD64, __libcare_target
	.reloc gd+8, R_X86_64_DTPOFF64, __libcare_target+0x8
ext:	.quad 0, 0				# 0x18
	.reloc ext, R_X86_64_DTPMOD64, ext_tv
	.reloc ext+8, R_X86_64_DTPOFF64, ext_tv+4
extie:	.quad 0					# 0x28
	.reloc extie, R_X86_64_TPOFF64, ext_tv
	.type ext_tv, @tls_object
	.globl ext_tv
	.section .kpatch.info,"",@progbits
	.quad __libcare_target + 0x1139
	.quad f.kpatch
	.long 16, 9
	.long 0
	.long 0
	.section .kpatch.strtab,"",@progbits
	.string "f"
