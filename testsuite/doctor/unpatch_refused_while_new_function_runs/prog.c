/* A thread calls f() every 50 ms; the new f() never returns. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static volatile int forever;

__attribute__((noipa)) void f(void)
{
	printf("f old\n");
	fflush(stdout);
	while (forever)
		sleep(1);
}

static void *worker(void *arg)
{
	(void)arg;
	for (;;) {
		f();
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
	for (int n = 0;; n++) {
		printf("alive %d\n", n);
		fflush(stdout);
		usleep(50000);
	}
}
