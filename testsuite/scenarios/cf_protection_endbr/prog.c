/*
 * cf_protection_endbr: built with -fcf-protection, so every function that
 * can be reached indirectly starts with endbr64.  The fix changes a
 * function called through a pointer; the patched copy is entered through
 * the original's entry (a jump written over the endbr64).
 */
#include <stdio.h>
#include <unistd.h>

__attribute__((noinline)) int add(int a, int b)
{
	return a + b;
}

int (*volatile op)(int, int) = add;

int main(void)
{
	for (int n = 0;; n++) {
		printf("op %d = %d\n", n, op(n, 1));
		fflush(stdout);
		usleep(50000);
	}
}
