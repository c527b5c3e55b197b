/*
 * computed_goto_table_changes: run() is a tiny threaded interpreter: its
 * dispatch tables (static void *const ops[] = { &&op_add, ... }) hold the
 * addresses of labels inside run() itself.  The fix changes what one
 * opcode does: the patched run() must dispatch through tables that point
 * into the patched code, not the original's (which point into the old
 * body).  GCC merges the two equal tables (`.set wops.N, ops.M`).
 */
#include <stdio.h>
#include <unistd.h>

enum { ADD, MUL, END };

__attribute__((noinline)) int run(const unsigned char *code, int x)
{
	static void *const ops[] = { &&op_add, &&op_mul, &&op_end };
	static void *const more[] = { &&op_add, &&op_mul, &&op_end };
	goto *ops[*code];
op_add:
	x += 3;
	code++;
	goto *more[*code];
op_mul:
	x *= 2;
	code++;
	goto *ops[*code];
op_end:
	return x;
}

int main(void)
{
	static const unsigned char prog[] = { ADD, MUL, ADD, END };
	for (int n = 0;; n++) {
		printf("%d run=%d\n", n, run(prog, 1));
		fflush(stdout);
		usleep(30000);
	}
}
