/*
 * refuse_cached_original: the original object was made without running
 * the plugin, as a ccache hit (cc1 never runs) or a compiler that cannot
 * load it (clang) would make it; nothing was recorded, so there is nothing
 * to compare the patched build with: refused, naming the likely causes.
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
