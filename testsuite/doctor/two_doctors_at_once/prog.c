/* A thread is inside f() for the first STAY ms (argv[1]); the main thread
 * prints what f() says every 50 ms. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((noipa)) const char *f(int stay_ms)
{
	if (stay_ms) {
		printf("entered f\n");
		fflush(stdout);
		usleep(stay_ms * 1000);
	}
	return "old";
}

static void *slow(void *arg)
{
	f((int)(long)arg);
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t;
	pthread_create(&t, NULL, slow, (void *)(long)(argc > 1 ? atoi(argv[1]) : 1000));
	printf("token %s\n", LC_TOKEN);
	fflush(stdout);
	for (;;) {
		printf("%s\n", f(0));
		fflush(stdout);
		usleep(50000);
	}
}
