/* Four threads call hot() millions of times per second and check every
 * answer; the main thread prints which version answers. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static volatile long newcount;

__attribute__((noipa)) long hot(long x)
{
	long r = 0;
	for (int i = 0; i < 32; i++)
		r += x ^ i;
	return r;
}

__attribute__((noipa)) long ref(long x)
{
	long r = 0;
	for (int i = 0; i < 32; i++)
		r += x ^ i;
	return r;
}

__attribute__((noipa)) int version(void)
{
	return 1;
}

static void *worker(void *arg)
{
	for (long x = (long)arg;; x += 4)
		if (hot(x) != ref(x)) {
			fprintf(stderr, "WRONG hot(%ld)\n", x);
			abort();
		}
	return NULL;
}

int main(void)
{
	pthread_t t[4];
	printf("token %s\n", LC_TOKEN);
	fflush(stdout);
	for (long i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	for (;;) {
		printf("v%d\n", version());
		fflush(stdout);
		usleep(20000);
	}
}
