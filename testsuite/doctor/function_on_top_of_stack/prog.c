/* Two threads spend nearly all their time in the leaf work(), the top
 * frame of their stacks, and print which version answered. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static volatile unsigned long sink;

__attribute__((noinline)) int work(int n)
{
	unsigned long s = 0;
	for (int i = 0; i < n; i++)
		s += (unsigned long)i * i;
	sink = s;
	return 1;
}

static void *worker(void *arg)
{
	long id = (long)arg;
	for (long k = 0;; k++) {
		int v = work(3000000);
		if (k % 4 == 0) {
			printf("thread %ld v%d\n", id, v);
			fflush(stdout);
		}
	}
	return NULL;
}

int main(void)
{
	pthread_t t[2];
	printf("token %s\n", LC_TOKEN);
	fflush(stdout);
	for (long i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	pthread_join(t[0], NULL);
	return 0;
}
