/*
 * idle - the patients of the all-processes benchmark (bench/all.sh).
 *
 * Started hundreds of times; each waits in pause().  answer() is the
 * function the patch replaces (fix.diff).  Built with -DOTHER it is another
 * program (another BuildID) that the patch does not apply to.  LC_TOKEN
 * (bench/all.sh passes the run's scratch directory) makes the BuildIDs
 * unique to one bench run, so that its `-p all` never patches the idle
 * processes of another run going on at the same time.
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

#ifndef LC_TOKEN
#define LC_TOKEN ""
#endif
__attribute__((used)) static const char token[] = "libcare-bench " LC_TOKEN;

int main(void)
{
	signal(SIGUSR1, wake);
	for (;;) {
		pause();
		printf("%d\n", answer(1));
		fflush(stdout);
	}
}
