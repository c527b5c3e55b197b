/*
 * static_local_carries_on: count() keeps its state in a static local; the
 * fix changes count() and adds a static local to banner(), which renumbers
 * GCC's suffixes (GCC 12 numbers from the end of the file: calls.0 becomes
 * calls.1).  The patched count() must still use the original's variable:
 * the numbers carry on.
 */
#include <stdio.h>
#include <unistd.h>

__attribute__((noinline)) void count(void)
{
	static int calls;

	calls++;
	printf("calls %d\n", calls);
	fflush(stdout);
}

__attribute__((noinline)) void banner(void)
{
	puts("start");
}

int main(void)
{
	banner();
	for (;;) {
		count();
		usleep(50000);
	}
}
