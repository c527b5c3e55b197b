/* 200 threads call f() (old or new) and check every answer; the main
 * thread prints how many calls each version served and any wrong answer. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#define NTHREADS 200

static unsigned long old_calls, new_calls, wrong;

__attribute__((noipa)) long f(long x)
{
	__atomic_add_fetch(&old_calls, 1, __ATOMIC_RELAXED);
	return x * 3 + 1;
}

static void *worker(void *arg)
{
	long id = (long)arg;
	for (long i = 0;; i++) {
		if (f(id + i) != (id + i) * 3 + 1)
			__atomic_add_fetch(&wrong, 1, __ATOMIC_RELAXED);
		if (i % 64 == 0)
			usleep(1000);
	}
	return NULL;
}

int main(void)
{
	printf("token %s\n", LC_TOKEN);
	fflush(stdout);
	for (long i = 0; i < NTHREADS; i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, worker, (void *)i) != 0) {
			printf("pthread_create failed\n");
			return 1;
		}
	}
	for (;;) {
		usleep(100000);
		printf("old %lu new %lu wrong %lu\n", __atomic_load_n(&old_calls, __ATOMIC_RELAXED),
		       __atomic_load_n(&new_calls, __ATOMIC_RELAXED),
		       __atomic_load_n(&wrong, __ATOMIC_RELAXED));
		fflush(stdout);
	}
}
