# lib_greet replaced in the shared library.  In a -shared link ld exports
# every undefined weak symbol to .dynsym, which would move everything after
# it; `.hidden` keeps printf.kpatch_ext out of .dynsym (it becomes a local
# undefined symbol of .symtab).  test-mkpatch.sh also links this file without
# the .hidden line to check the refusal.
	.section .kpatch.text,"",@progbits
	.type lib_greet.kpatch,@function
lib_greet.kpatch:
	addl $1, calls(%rip)
	movl calls(%rip), %edx
	movq %rdi, %rsi
	leaq .LCkp0(%rip), %rdi
	xorl %eax, %eax
	jmp printf.kpatch_ext@PLT
	.size lib_greet.kpatch,.-lib_greet.kpatch
	.section .kpatch.data,"",@progbits
.LCkp0:	.string "hi %s (%d)\n"
	.section .kpatch.info,"",@progbits
	.quad lib_greet
	.quad lib_greet.kpatch
	.long 0, 0
	.long .Lkpname.0
	.long 0
	.section .kpatch.strtab,"",@progbits
.Lkpname.0:	.string "lib_greet"
	.weak printf.kpatch_ext
	.hidden printf.kpatch_ext
