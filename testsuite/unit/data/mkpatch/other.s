# Another unit: `twice` is defined in the binary, so a reference to it from
# patch code resolves against the original object, not by name.
	.text
	.globl twice
	.type twice,@function
twice:
	leal (%rdi,%rdi),%eax
	ret
	.size twice,.-twice
	.section .note.GNU-stack,"",@progbits
