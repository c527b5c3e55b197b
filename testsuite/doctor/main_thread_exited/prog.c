/* The main thread starts a worker and calls pthread_exit(): the process
 * runs on in the worker, which prints what f() says every 50 ms. */
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
	for (;;) {
		printf("%s\n", f());
		fflush(stdout);
		usleep(50000);
	}
	return NULL;
}

int main(void)
{
	pthread_t t;
	printf("token %s\n", LC_TOKEN);
	fflush(stdout);
	pthread_create(&t, NULL, worker, NULL);
	pthread_exit(NULL);
}
