/*
 * refuse_lto: -flto objects hold GCC's intermediate language, not code;
 * nothing can be compared or patched: the original build is refused.
 */
#include <stdio.h>

__attribute__((noinline)) int work(int n)
{
	return n * 2;
}

int main(void)
{
	printf("%d\n", work(1));
	return 0;
}
