/*
 * inline_asm_pushsection: label() keeps its message in inline assembly,
 * in a section of its own (.pushsection .rodata.scen_msgs ... .popsection),
 * reached through a numeric label (leaq 1f(%rip)); a second block adds a
 * note (.pushsection .note.scen, like <sys/sdt.h> probes).  The fix changes
 * the message: the patched copy carries its own message in .kpatch.data,
 * the note stays the original's.
 */
#include <stdio.h>
#include <unistd.h>

__attribute__((noinline)) const char *label(void)
{
	const char *p;
	asm("leaq 1f(%%rip), %0\n"
	    "\t.pushsection .rodata.scen_msgs,\"a\",@progbits\n"
	    "1:\t.asciz \"old label\"\n"
	    "\t.popsection" : "=r"(p));
	asm volatile(".pushsection .note.scen,\"a\",@note; .balign 4; .long 4, 4, 1; "
		     ".asciz \"scn\"; .long 0; .popsection");
	return p;
}

int main(void)
{
	for (int n = 0;; n++) {
		printf("%d %s\n", n, label());
		fflush(stdout);
		usleep(30000);
	}
}
