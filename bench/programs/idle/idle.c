/*
 * idle - the patients of the all-processes benchmark (bench/all.sh).
 *
 * Started hundreds of times; each waits in pause().  answer() is the
 * function the patch replaces (fix.diff).  Built with -DOTHER it is another
 * program (another BuildID) that the patch does not apply to.
 */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#ifndef OTHER
#define OTHER 0
#endif

__attribute__((noipa)) int answer(int x)
{
	return x * 3 + 42 + OTHER;
}

static void wake(int sig)
{
	(void)sig;
}

int main(void)
{
	signal(SIGUSR1, wake);
	for (;;) {
		pause();
		printf("%d\n", answer(1));
		fflush(stdout);
	}
}
