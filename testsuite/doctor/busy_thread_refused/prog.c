/* A thread that never leaves spin(); the main thread prints. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static volatile unsigned long spins;

__attribute__((noinline)) void spin(void)
{
	for (;;)
		spins++;
}

static void *worker(void *arg)
{
	(void)arg;
	printf("worker tid %d\n", (int)gettid());
	fflush(stdout);
	spin();
	return NULL;
}

int main(void)
{
	pthread_t t;
	printf("token %s\n", LC_TOKEN);
	fflush(stdout);
	pthread_create(&t, NULL, worker, NULL);
	for (int n = 0;; n++) {
		printf("alive %d\n", n);
		fflush(stdout);
		usleep(50000);
	}
}
