/*
 * lib.c of tls_library_global_dynamic: the thread's count in a __thread
 * variable of the library (global-dynamic model: exported).
 */
#include <stdio.h>

__thread int ticks;

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
