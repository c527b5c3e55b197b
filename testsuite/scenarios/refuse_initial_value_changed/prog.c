/*
 * refuse_initial_value_changed: the fix changes the initial value of an
 * existing global.  The running process has long since used (and maybe
 * changed) the old value; a patch cannot re-initialise it: refused.
 */
#include <stdio.h>

int limit = 10;

__attribute__((noinline)) int over(int n)
{
	return n > limit;
}

int main(void)
{
	printf("%d\n", over(15));
	return 0;
}
