/*
 * refuse_removed_function_still_called: the fix deletes the definition of
 * legacy() but a changed function still calls it (its declaration stayed
 * in a header).  The patched link would bind the call to the original's
 * copy of legacy() - old code the fix meant to remove: refused.
 */
#include <stdio.h>

int legacy(int n);

int legacy(int n)
{
	return n + 1;
}

__attribute__((noinline)) int work(int n)
{
	return n * 2;
}

int main(void)
{
	printf("%d %d\n", work(1), legacy(1));
	return 0;
}
