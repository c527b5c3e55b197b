/*
 * lib.c of tls_library_initial_exec: the thread's count in a __thread
 * variable of the library (initial-exec model).
 */
#include <stdio.h>

__thread int ticks __attribute__((tls_model("initial-exec")));

void tick_start(int n)
{
	ticks = n;
}

__attribute__((noinline)) void tick(const char *who)
{
	ticks++;
	printf("%s ticks %d\n", who, ticks);
	fflush(stdout);
}
