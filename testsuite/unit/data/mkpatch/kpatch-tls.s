# Thread-local access in patch code (R_X86_64_TPOFF32): the plugin does not
# handle TLS yet (tls_counter is defined in orig.s), so mkpatch refuses it,
# naming the type and the function.
	.section .kpatch.text,"",@progbits
	.type main.kpatch,@function
main.kpatch:
	movl %fs:tls_counter@tpoff,%eax
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
