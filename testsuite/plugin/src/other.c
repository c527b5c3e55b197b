/* A second unit of the program; unchanged by the patch. */
#include <stdio.h>

static int seen;

int other(int x)
{
	seen += x;
	printf("other %d\n", seen);
	return seen;
}
