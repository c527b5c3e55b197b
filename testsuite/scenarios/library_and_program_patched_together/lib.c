/*
 * lib.c of library_and_program_patched_together: describe() formats what
 * the library served.
 */
#include <stdio.h>

__attribute__((noinline)) const char *describe(int n)
{
	static char buf[64];
	snprintf(buf, sizeof(buf), "served %d", n);
	return buf;
}
