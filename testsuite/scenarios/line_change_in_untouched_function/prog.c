/*
 * line_change_in_untouched_function: the fix adds lines to greet(), above
 * check(), which the diff does not touch; check() uses __LINE__ (assert and
 * its own message), so its code changes too: it is reported changed and
 * patched, and prints its new line number.
 */
#include <assert.h>
#include <stdio.h>
#include <unistd.h>

__attribute__((noinline)) const char *greet(int n)
{
	return n & 1 ? "odd" : "even";
}

__attribute__((noinline)) int check(int n)
{
	assert(n >= 0);
	return __LINE__;
}

int main(void)
{
	for (int n = 0;; n++) {
		printf("%d %s line %d\n", n, greet(n), check(n));
		fflush(stdout);
		usleep(50000);
	}
}
