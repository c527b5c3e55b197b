/* Prints the version every 100 ms.  "exit MS": exits after MS ms.
 * "busy": a thread stays inside version() for ever. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile int stay;

__attribute__((noipa)) const char *version(void)
{
	while (stay)
		usleep(1000);
	return "old";
}

static void *stuck(void *arg)
{
	(void)arg;
	stay = 1;
	version();
	return NULL;
}

int main(int argc, char **argv)
{
	int exit_ms = argc > 2 && strcmp(argv[1], "exit") == 0 ? atoi(argv[2]) : -1;
	if (argc > 1 && strcmp(argv[1], "busy") == 0) {
		pthread_t t;
		pthread_create(&t, NULL, stuck, NULL);
	}
	printf("token %s\n", LC_TOKEN);
	fflush(stdout);
	for (int ms = 0;; ms += 100) {
		if (exit_ms >= 0 && ms >= exit_ms)
			return 0;
		printf("%s\n", stay ? "busy" : version());
		fflush(stdout);
		usleep(100000);
	}
}
