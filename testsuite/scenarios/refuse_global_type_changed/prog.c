/*
 * refuse_global_type_changed: the fix turns a zero-initialised `long`
 * global into a `double` (same size, same zero bytes): the patched code
 * would read the old integer as a floating-point number: refused.
 */
#include <stdio.h>

long total;

__attribute__((noinline)) void add(int n)
{
	total += n;
}

int main(void)
{
	add(2);
	printf("%ld\n", (long)total);
	return 0;
}
