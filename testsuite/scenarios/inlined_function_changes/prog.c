/*
 * inlined_function_changes: price() is small and static; at -O2 GCC inlines
 * it into both callers and drops it.  The fix changes price() only: at -O2
 * the callers' code changes, so they are reported changed and patched.
 */
#include <stdio.h>
#include <unistd.h>

static int price(int n)
{
	return n * 10;
}

__attribute__((noinline)) void buy(int n)
{
	printf("buy %d costs %d\n", n, price(n));
}

__attribute__((noinline)) void sell(int n)
{
	printf("sell %d gives %d\n", n, price(n) / 2);
	fflush(stdout);
}

int main(void)
{
	for (int n = 0;; n++) {
		buy(n);
		sell(n);
		usleep(50000);
	}
}
