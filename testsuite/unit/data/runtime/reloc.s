# A payload exercising every relocation type the runtime applies.  Each
# instruction starts at a multiple of 16 in .kpatch.text so that the test
# knows where its field is.
	.section .kpatch.text,"",@progbits
	.type foo.kpatch,@function
foo.kpatch:
	call near_func				# 0:   e8, PLT32, in reach
	.balign 16, 0x90
	call far_func				# 16:  e8, PLT32, far: stub
	.balign 16, 0x90
	jmp far_func				# 32:  e9, PLT32, far: same stub
	.balign 16, 0x90
	call *far_ptr(%rip)			# 48:  ff 15, PC32, far: slot
	.balign 16, 0x90
	movl $abs32, %edi			# 64:  bf, R_X86_64_32
	.balign 16, 0x90
	movq $abs32s, %rax			# 80:  48 c7 c0, R_X86_64_32S
	.balign 16, 0x90
	leaq __libcare_target+0x2000(%rip), %rax	# 96: PC32 to the target
	.balign 16, 0x90
	movabsq $__libcare_target+0x3000, %rax	# 112: R_X86_64_64
	.balign 16, 0x90
	leaq .Ldata(%rip), %rax			# 128: PC32 into .kpatch.data
	.balign 16, 0x90
	leaq near_data(%rip), %rax		# 144: PC32 to an import (no stub)
	.balign 16, 0x90
	call "memcpy@GLIBC_2.14"		# 160: versioned import
	.balign 16, 0x90
	ret					# 176
	.size foo.kpatch, .-foo.kpatch
	.balign 16, 0x90
	.type bar.kpatch,@function
bar.kpatch:					# 192
	call foo.kpatch
	ret
	.size bar.kpatch, .-bar.kpatch

	.section .kpatch.data,"",@progbits
	.quad far_func - .			# 0: PC64
.Ldata:
	.quad __libcare_target + 0x1139		# 8: R_X86_64_64
	.quad weak_missing			# 16: weak import, unresolved = 0
	.weak weak_missing

	.section .kpatch.info,"",@progbits
	.quad __libcare_target + 0x1139
	.quad foo.kpatch
	.long 0x40, 0xb1
	.long 0
	.long 0
	.quad __libcare_target + 0x1200
	.quad bar.kpatch
	.long 0x30, 0x6
	.long 4
	.long 0

	.section .kpatch.strtab,"",@progbits
	.string "foo"
	.string "bar"
