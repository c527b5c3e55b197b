/* The cross-check's test program: a few functions in a known order. */
#include <stdio.h>

#define NOINLINE __attribute__((noipa))   /* no inlining, no -fipa-ra */

NOINLINE int first(int x)
{
	return x + 1;
}

NOINLINE const char *name(int i)
{
	switch (i % 9) {
	case 0: return "zero";
	case 1: return "one";
	case 2: return "two";
	case 3: return "three";
	case 4: return "four";
	case 5: return "five";
	case 6: return "six";
	case 7: return "seven";
	default: return "eight";
	}
}

NOINLINE double scale(double x)
{
	return x * 1.5;
}

int main(int argc, char **argv)
{
	(void)argv;
	printf("%d %s %g\n", first(argc), name(argc + 5), scale(argc));
	return 0;
}
