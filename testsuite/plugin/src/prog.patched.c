/* The program the patched-stage tests change (see prog.patched.c). */
#include <stdio.h>
#include <unistd.h>

static int counter = 3;
int glob = 5;

static int helper(int x)
{
	return x * 2 + counter;
}

/* new: a function with its own static, which renumbers count's */
__attribute__((noinline)) static int visits(void)
{
	static int v;
	return ++v;
}

int count(void)
{
	static int n;
	return ++n;
}

int greet(const char *who)
{
	printf("HELLO %s %d (pid %d, visit %d)\n", who, helper(glob), (int)getpid(), visits());
	fputs("done\n", stdout);
	return count();
}

int main(int argc, char **argv)
{
	(void)argv;
	greet("world");
	return argc > 5 ? count() : 0;
}
