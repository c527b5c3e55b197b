/* The main thread prints what f() says every 50 ms; a worker sleeps. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

__attribute__((noipa)) const char *f(void)
{
	return "old";
}

static void *worker(void *arg)
{
	(void)arg;
	printf("worker tid %d\n", (int)gettid());
	fflush(stdout);
	for (;;)
		pause();
	return NULL;
}

int main(void)
{
	pthread_t t;
	printf("token %s\n", LC_TOKEN);
	fflush(stdout);
	pthread_create(&t, NULL, worker, NULL);
	for (;;) {
		printf("%s\n", f());
		fflush(stdout);
		usleep(50000);
	}
}
