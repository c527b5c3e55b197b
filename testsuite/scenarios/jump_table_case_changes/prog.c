/*
 * jump_table_case_changes: act() is a dense switch that GCC compiles to a
 * jump table (.rodata, the addresses or offsets of the case labels).  The
 * fix sends case 3 to case 5's code: the table's entry changes and case 3's
 * own block goes.  The patched act() must jump through its own table.
 */
#include <stdio.h>
#include <unistd.h>

__attribute__((noinline)) int act(int op, int x)
{
	switch (op) {
	case 0: return x + 1;
	case 1: return x * 3;
	case 2: return x - 7;
	case 3: return x * 5 + 1;
	case 4: return x ^ 5;
	case 5: return x << 2;
	case 6: return x / 2;
	case 7: return x % 7;
	default: return -1;
	}
}

int main(void)
{
	for (int n = 0;; n++) {
		printf("%d", n);
		for (int op = 0; op < 9; op++)
			printf(" %d", act(op, 10));
		printf("\n");
		fflush(stdout);
		usleep(30000);
	}
}
