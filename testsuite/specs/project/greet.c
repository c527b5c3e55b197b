/* greet.c - libgreet.so, the library the fix changes too. */
#include <stdio.h>
#include "greet.h"

void greet(int n)
{
	printf("line %d: libgreet says original\n", n);
	fflush(stdout);
}
