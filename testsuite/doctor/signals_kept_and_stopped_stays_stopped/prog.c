/* Counts queued real-time signals (none may be lost) and prints the count
 * with the version every 20 ms. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t got;

static void on_signal(int sig)
{
	(void)sig;
	got++;
}

__attribute__((noipa)) const char *version(void)
{
	return "old";
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGRTMIN, &sa, NULL);
	printf("token %s\n", LC_TOKEN);
	fflush(stdout);
	for (;;) {
		printf("got %d %s\n", (int)got, version());
		fflush(stdout);
		usleep(20000);
	}
}
