# The original program for linker/test-busy.sh: one function per case of
# what mkpatch reads from the decoded code (linker/busy.c).
	.text
	.globl main
	.type main,@function
main:
	pushq %rbx
	call loophead
	call step
	call victim
	call jumper
	call coldback
	call short2
	call tail2
	call nf
	call ft
	call short_pad
	call short_pad2
	call padjumper
	xorl %eax,%eax
	popq %rbx
	ret
	.size main,.-main

# `while (!go);` as GCC -O2 makes it: the entry is the loop head.
	.p2align 4
	.type loophead,@function
loophead:
	movl go(%rip),%eax
	testl %eax,%eax
	je loophead
	ret
	.size loophead,.-loophead

# A function with a cold part (GCC's NAME.cold in .text.unlikely) that calls
# out and jumps back into the hot part, past its first 5 bytes.
	.p2align 4
	.type step,@function
step:
	testl %edi,%edi
	js step.cold
	movl %edi,%eax
.Lstep_back:
	ret
	.size step,.-step
	.section .text.unlikely,"ax",@progbits
	.type step.cold,@function
step.cold:
	call rare
	movl $-1,%eax
	jmp .Lstep_back
	.size step.cold,.-step.cold
	.text

	.p2align 4
	.type rare,@function
rare:
	ret
	.size rare,.-rare

# Another function branches to victim+2, inside the bytes its jump overwrites.
	.p2align 4
	.type victim,@function
victim:
	xorl %eax,%eax
.Lvictim_2:
	incl %eax
	incl %eax
	ret
	.size victim,.-victim
	.p2align 4
	.type jumper,@function
jumper:
	testl %edi,%edi
	jne .Lvictim_2
	ret
	.size jumper,.-jumper

# Its own cold part jumps back to coldback+3.
	.p2align 4
	.type coldback,@function
coldback:
	testl %edi,%edi
	nop
.Lcoldback_3:
	js coldback.cold
	movl %edi,%eax
	ret
	.size coldback,.-coldback
	.section .text.unlikely
	.type coldback.cold,@function
coldback.cold:
	xorl %edi,%edi
	jmp .Lcoldback_3
	.size coldback.cold,.-coldback.cold
	.text

# A 2-byte tail call (GCC -O2's `f: jmp g`) with alignment padding after it.
	.p2align 4
	.type tail2,@function
tail2:
	jmp loophead
	.size tail2,.-tail2

# A 1-byte function followed by code that is no filler (no symbol names it).
	.p2align 4
	.type nf,@function
nf:
	ret
	.size nf,.-nf
	xorq %rax,%rax
	ret

# A 1-byte function that runs on into the padding after it.
	.p2align 4
	.type ft,@function
ft:
	cld
	.size ft,.-ft
	.p2align 4
	.type after_ft,@function
after_ft:
	ret
	.size after_ft,.-after_ft

# A 2-byte tail call with the next function right after it.
	.p2align 4
	.type near_short2,@function
near_short2:
	ret
	.size near_short2,.-near_short2
	.type short2,@function
short2:
	jmp near_short2
	.size short2,.-short2
	.type after_short2,@function
after_short2:
	ret
	.size after_short2,.-after_short2

# A 2-byte tail call with the next function right after it and alignment
# filler before it: its jump goes into the filler (LC_BUSY_PADJUMP).
	.p2align 4
	.type before_sp,@function
before_sp:
	ret
	.size before_sp,.-before_sp
	.p2align 4
	.type short_pad,@function
short_pad:
	jmp before_sp
	.size short_pad,.-short_pad
	.type after_sp,@function
after_sp:
	ret
	.size after_sp,.-after_sp

# The same, but a branch lands in the filler where its jump would go.
	.p2align 4
	.type before_sp2,@function
before_sp2:
	ret
	.size before_sp2,.-before_sp2
	.fill 10,1,0x90
.Lpad2:
	.fill 5,1,0x90
	.type short_pad2,@function
short_pad2:
	jmp before_sp2
	.size short_pad2,.-short_pad2
	.type padjumper,@function
padjumper:
	jmp .Lpad2
	.size padjumper,.-padjumper

	.bss
	.type go,@object
	.size go,4
go:	.zero 4
	.section .note.GNU-stack,"",@progbits
