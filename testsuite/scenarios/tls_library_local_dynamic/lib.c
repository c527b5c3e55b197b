/*
 * lib.c of tls_library_local_dynamic: the thread's count in a __thread
 * variable of the library (local-dynamic model: static).
 */
#include <stdio.h>

static __thread int ticks __attribute__((tls_model("local-dynamic")));

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
