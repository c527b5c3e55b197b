/*
 * switch_jump_table_changes: name() is a dense switch that GCC compiles to
 * a jump table in .rodata holding the addresses (or offsets) of the
 * function's own labels.  The patched name() must jump through its own
 * table to its own labels.
 */
#include <stdio.h>
#include <unistd.h>

static int seen;

__attribute__((noinline)) const char *name(int n)
{
	switch (n % 9) {
	case 0: seen++; return "zero";
	case 1: return "one";
	case 2: seen += 2; return "two";
	case 3: return "three";
	case 4: seen--; return "four";
	case 5: return "five";
	case 6: seen *= 2; return "six";
	case 7: return "seven";
	default: seen = 0; return "eight";
	}
}

int main(void)
{
	for (int n = 0;; n++) {
		printf("%d", n);
		for (int k = 0; k < 9; k++)
			printf(" %s", name(k));
		printf("\n");
		fflush(stdout);
		usleep(30000);
	}
}
