/*
 * lib.c of ifunc_glibc_and_own_resolver: the library defines its own
 * IFUNC, scale(), whose resolver picks an implementation at load time;
 * serve() calls it.
 */
#include <stdio.h>

static int scale_by_ten(int n)
{
	return 10 * n;
}

static int (*resolve_scale(void))(int)
{
	return scale_by_ten;
}

int scale(int n) __attribute__((ifunc("resolve_scale")));

static int served;

__attribute__((noinline)) void serve(int n)
{
	served++;
	printf("served %d (call %d) scaled %d\n", n, served, scale(n));
	fflush(stdout);
}
