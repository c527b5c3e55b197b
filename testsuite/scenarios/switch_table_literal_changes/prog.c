/*
 * switch_table_literal_changes: at -O2 -fno-pie GCC turns name()'s switch
 * into CSWTCH.N, a table in .rodata of pointers to the string literals, and
 * the function's code is the same whatever the strings say.  The fix
 * changes one string ("six" -> "SIX"): only the data the table points to
 * differs, and the patched name() must print the new string.
 */
#include <stdio.h>
#include <unistd.h>

__attribute__((noinline)) const char *name(int i)
{
	switch (i % 9) {
	case 0: return "zero";
	case 1: return "one";
	case 2: return "two";
	case 3: return "three";
	case 4: return "four";
	case 5: return "five";
	case 6: return "six";
	case 7: return "seven";
	default: return "eight";
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
