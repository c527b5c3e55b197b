/*
 * demo.c - a tiny long-running "service" for the LibCare demo: it greets
 * once a second, forever.  scripts/demo patches it while it runs.
 */
#include <stdio.h>
#include <unistd.h>

/*
 * noinline: main() never returns, so a patch can only reach code it calls.
 * Had greet() been inlined into main(), its copy there could never change.
 */
__attribute__((noinline)) void greet(int n)
{
	printf("[%d] Hello, world!\n", n);
	fflush(stdout);
}

int main(void)
{
	for (int n = 1;; n++) {
		greet(n);
		sleep(1);
	}
}
