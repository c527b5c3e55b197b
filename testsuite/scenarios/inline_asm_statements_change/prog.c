/*
 * inline_asm_statements_change: step() holds inline assembly with several
 * statements on one line, separated by ';' (as GCC writes them between
 * #APP and #NO_APP): a store through a register, a numeric label loop
 * (1: ... jnz 1b) and an .ifdef block.  The fix changes the C code around
 * it; the patched copy must assemble (each statement rewritten on its own,
 * nothing renamed inside a mnemonic) and behave the same.
 */
#include <stdio.h>
#include <unistd.h>

static int slot;

__attribute__((noinline)) int step(int x)
{
	int r;
	asm volatile("leaq %1, %%rbx; movl $7, (%%rbx)" : "=m"(slot) : "m"(slot) : "rbx");
	asm("movl %1, %0; movl $3, %%ecx; 1: addl $2, %0; decl %%ecx; jnz 1b; "
	    ".ifdef libcare_never_defined; ud2; .endif" : "=&r"(r) : "r"(x) : "ecx", "cc");
	return r + slot;
}

int main(void)
{
	for (int n = 0;; n++) {
		printf("%d step=%d\n", n, step(1));
		fflush(stdout);
		usleep(30000);
	}
}
