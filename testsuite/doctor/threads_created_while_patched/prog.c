/* The main thread creates a short-lived thread every millisecond or so;
 * each calls f() a few times.  Every 100th prints what f() answered. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static volatile unsigned long sink;

__attribute__((noipa)) int f(int x)
{
	sink += (unsigned long)x;
	return 1;
}

static void *brief(void *arg)
{
	long n = (long)arg;
	int v = 0;
	for (int i = 0; i < 100; i++)
		v = f(i);
	if (n % 100 == 0) {
		printf("thread %ld v%d\n", n, v);
		fflush(stdout);
	}
	return NULL;
}

int main(void)
{
	printf("token %s\n", LC_TOKEN);
	fflush(stdout);
	for (long n = 1;; n++) {
		pthread_t t;
		if (pthread_create(&t, NULL, brief, (void *)n) == 0)
			pthread_detach(t);
		usleep(1000);
	}
}
