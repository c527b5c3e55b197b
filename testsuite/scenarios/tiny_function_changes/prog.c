/*
 * tiny_function_changes: hook() is empty; at -O2 it is a single `ret` (1
 * byte, then alignment padding up to the next function).  The fix gives it
 * a body; the 5-byte jump fits in the padding, so it is patched.
 */
#include <stdio.h>
#include <unistd.h>

__attribute__((noipa)) void hook(int n)
{
	(void)n;
}

__attribute__((noipa)) void work(int n)
{
	hook(n);
	printf("work %d\n", n);
	fflush(stdout);
}

int main(void)
{
	for (int n = 0;; n++) {
		work(n);
		usleep(50000);
	}
}
