/*
 * static_locals_same_name_renumbered: three functions each keep a static
 * local named `count`; the fix changes ping() and adds one more `count` to
 * banner() above them, so GCC renumbers all of them (count.0, count.1 ...
 * shift).  The patched ping() keeps the original's ping count, pong() is
 * untouched and not reported, and banner()'s new `count` is a new variable.
 */
#include <stdio.h>
#include <unistd.h>

__attribute__((noinline)) void banner(void)
{
	puts("start");
}

__attribute__((noinline)) int ping(void)
{
	static int count;

	return ++count;
}

__attribute__((noinline)) int pong(void)
{
	static int count = 1000;

	return ++count;
}

int main(void)
{
	banner();
	fflush(stdout);
	for (;;) {
		int a = ping(), b = pong();

		printf("ping %d pong %d\n", a, b);
		fflush(stdout);
		usleep(50000);
	}
}
