/* greet.c - libgreet.so: prints one greeting line for hello. */
#include <stdio.h>
#include "greet.h"

void greet(int n, const char *mood)
{
	printf("line %d: libgreet says hello, mood %s\n", n, mood);
	fflush(stdout);
}
