# What the plugin appends to orig.s in the patched build (the example of the
# shared design notes): main replaced by main.kpatch.  patched.s = orig.s +
# this file; the test concatenates them.  getpid.kpatch_ext is also .hidden
# (what a -shared link needs, see kpatch-lib.s): both forms must work.
	.section .kpatch.text,"",@progbits
	.type main.kpatch,@function
main.kpatch:
	call getpid.kpatch_ext@PLT
	call helper
	call twice.kpatch_ext
	movl counter(%rip),%eax
	movq .Lkpgot.stdout(%rip),%rax
	movq .Lkpgot.stderr(%rip),%rax
	leaq .LCkp0(%rip),%rdi
	call puts.kpatch_ext
	ret
	.size main.kpatch,.-main.kpatch
	.section .kpatch.data,"",@progbits
.LCkp0: .string "hi"
	.p2align 3
.Lkpgot.stdout: .quad stdout.kpatch_ext
.Lkpgot.stderr: .quad stderr.kpatch_ext
	.section .kpatch.info,"",@progbits
	.quad main
	.quad main.kpatch
	.long 0, 0
	.long .Lkpname.0
	.long 0
	.section .kpatch.strtab,"",@progbits
.Lkpname.0: .string "main"
	.weak getpid.kpatch_ext
	.hidden getpid.kpatch_ext
	.weak puts.kpatch_ext
	.weak stdout.kpatch_ext
	.weak stderr.kpatch_ext
	.weak twice.kpatch_ext
