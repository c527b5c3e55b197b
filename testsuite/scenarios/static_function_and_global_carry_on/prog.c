/*
 * static_function_and_global_carry_on: tick() advances a global counter
 * through a static function; the fix makes tick() call that same static
 * function twice per line.  The counter must carry on from where the
 * original left it.
 */
#include <stdio.h>
#include <unistd.h>

int counter;

static __attribute__((noinline)) int bump(void)
{
	return ++counter;
}

__attribute__((noinline)) void tick(void)
{
	printf("counter %d\n", bump());
	fflush(stdout);
}

int main(void)
{
	for (;;) {
		tick();
		usleep(50000);
	}
}
