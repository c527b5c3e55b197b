/* debug_info_build: built with -g; greet() prints a line every 50 ms, the fix changes its text. */
#include <stdio.h>
#include <unistd.h>

__attribute__((noinline)) void greet(int n)
{
	printf("Hello from the original, line %d\n", n);
	fflush(stdout);
}

int main(void)
{
	for (int n = 0;; n++) {
		greet(n);
		usleep(50000);
	}
}
