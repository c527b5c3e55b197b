/* Four threads call f() now and then; a fifth went into f() and stays
 * there, asleep. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

__attribute__((noinline)) void f(long id, int stay)
{
	if (stay) {
		printf("thread %ld stays in f, tid %d\n", id, (int)gettid());
		fflush(stdout);
		for (;;)
			sleep(1);
	}
	printf("thread %ld f old\n", id);
	fflush(stdout);
}

static void *worker(void *arg)
{
	long id = (long)arg;
	for (;;) {
		f(id, id == 4);
		usleep(100000);
	}
	return NULL;
}

int main(void)
{
	pthread_t t[5];
	printf("token %s\n", LC_TOKEN);
	fflush(stdout);
	for (long i = 0; i < 5; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	pthread_join(t[0], NULL);
	return 0;
}
