/* Eight threads call five functions (three short ones all the time, one
 * that sleeps 3 ms now and then, and version()) and abort on any wrong
 * result; the main thread prints which version answers. */
#include <execinfo.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static volatile long newcount;

__attribute__((noinline)) long f1(long x)
{
	return x * 3 + 1;
}

__attribute__((noinline)) long f2(long x)
{
	return (x ^ 0x5a5a) + 7;
}

__attribute__((noinline)) long f3(long x)
{
	return x * x - x;
}

__attribute__((noinline)) long slow(long x)
{
	usleep(3000);
	return x + 11;
}

__attribute__((noinline)) int version(void)
{
	return 1;
}

static void check(long got, long want, const char *what)
{
	if (got != want) {
		fprintf(stderr, "WRONG %s: %ld, expected %ld\n", what, got, want);
		abort();
	}
}

static void *worker(void *arg)
{
	long id = (long)arg;
	for (long i = 0;; i++) {
		long x = i * 8 + id;
		check(f1(x), x * 3 + 1, "f1");
		check(f2(x), (x ^ 0x5a5a) + 7, "f2");
		check(f3(x), x * x - x, "f3");
		if (i % 4096 == id)
			check(slow(x), x + 11, "slow");
		int v = version();
		if (v != 1 && v != 2)
			check(v, 1, "version");
	}
	return NULL;
}

int main(void)
{
	pthread_t t[7];
	void *frames[4];
	/* backtrace() loads libgcc_s: the doctor then registers the patch's
	 * unwind information by calling into the patient (doctor/call.c). */
	backtrace(frames, 4);
	printf("token %s\n", LC_TOKEN);
	fflush(stdout);
	for (long i = 0; i < 7; i++)
		pthread_create(&t[i], NULL, worker, (void *)(i + 1));
	for (long n = 0;; n++) {
		check(slow(n), n + 11, "slow");
		printf("alive %ld v%d\n", n, version());
		fflush(stdout);
		usleep(20000);
	}
}
