/* The program the patched-stage tests change (see prog.patched.c). */
#include <stdio.h>
#include <unistd.h>

static int counter = 3;
int glob = 5;

static int helper(int x)
{
	return x * 2 + counter;
}

int count(void)
{
	static int n;
	return ++n;
}

int greet(const char *who)
{
	printf("hello %s %d\n", who, helper(glob));
	fputs("done\n", stdout);
	return count();
}

int main(int argc, char **argv)
{
	(void)argv;
	greet("world");
	return argc > 5 ? count() : 0;
}
