/*
 * lib.c of library_calls_hidden_symbolic_versioned: built with
 * -fvisibility=hidden, linked with -Bsymbolic and a version script
 * (lib.map: serve, api_square and lib_root at LIBSCEN_1.0) and with libm.
 */
#include <math.h>
#include <stdio.h>

static int served;

/* hidden (-fvisibility=hidden): not in .dynsym */
__attribute__((noinline)) int hidden_twice(int n)
{
	return 2 * n;
}

/* exported, versioned; -Bsymbolic binds the library's own calls to it */
__attribute__((visibility("default"), noinline)) int api_square(int n)
{
	return n * n;
}

__attribute__((visibility("default"))) double lib_root(double x)
{
	return cbrt(x);
}

__attribute__((visibility("default"), noinline)) void serve(int n)
{
	served++;
	printf("served %d (call %d)\n", n, served);
	fflush(stdout);
}
