/*
 * new_globals_statics_and_tables: the fix adds a global and a static
 * function, zero-initialised and initialised variables (global and static),
 * string literals and read-only tables; the patched report() uses them all.
 */
#include <stdio.h>
#include <unistd.h>

__attribute__((noinline)) void report(int n)
{
	printf("n %d\n", n);
	fflush(stdout);
}

int main(void)
{
	for (int n = 0;; n++) {
		report(n);
		usleep(50000);
	}
}
