/*
 * lib.c - the shared library of library_loaded_with_dlopen: serve()
 * counts its calls in a static variable of the library.
 */
#include <stdio.h>

static int served;

__attribute__((noinline)) void serve(int n)
{
	served++;
	printf("served %d (call %d)\n", n, served);
	fflush(stdout);
}
