/* A thread sleeps 1.5 s at a time in nanosleep and measures each sleep;
 * another blocks in read() on a pipe that a third feeds every 0.7 s. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int fds[2];

__attribute__((noinline)) const char *version(void)
{
	return "old";
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;) {
		struct timespec d = { 1, 500000000 };
		printf("sleeping\n");
		fflush(stdout);
		long t0 = now_ms();
		int rc = nanosleep(&d, NULL);
		int err = errno;
		printf("slept %ld ms rc=%d %s %s\n", now_ms() - t0, rc, rc ? strerror(err) : "ok",
		       version());
		fflush(stdout);
	}
	return NULL;
}

static void *reader(void *arg)
{
	char c;
	(void)arg;
	for (;;) {
		ssize_t n = read(fds[0], &c, 1);
		printf("read %zd %s %s\n", n, n == 1 ? "ok" : strerror(errno), version());
		fflush(stdout);
	}
	return NULL;
}

int main(void)
{
	pthread_t s, r;
	printf("token %s\n", LC_TOKEN);
	fflush(stdout);
	if (pipe(fds) != 0)
		return 1;
	pthread_create(&s, NULL, sleeper, NULL);
	pthread_create(&r, NULL, reader, NULL);
	for (;;) {
		usleep(700000);
		if (write(fds[1], "x", 1) != 1)
			return 1;
	}
}
