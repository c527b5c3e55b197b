/*
 * A patient with threads in every state the doctor must preserve: one
 * sleeping in nanosleep (an interrupted sleep must neither end early nor
 * fail), one blocked in read() on a pipe, one spinning in user code, and the
 * main thread printing and sleeping (the doctor runs its system calls in
 * the main thread, so its sleep is restarted after that).  version() is
 * what the patch changes.
 */
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static int fds[2];

__attribute__((noipa)) const char *version(void)
{
	return "old";
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void checked_sleep(long ns, const char *who)
{
	struct timespec ts = { 0, ns };
	double t0 = now();
	if (nanosleep(&ts, NULL) != 0)
		printf("%s SLEEP FAILED\n", who);
	double dt = now() - t0;
	if (dt < ns / 1e9 - 0.001)
		printf("%s SHORT SLEEP %.3f\n", who, dt);
	fflush(stdout);
}

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		checked_sleep(300000000, "sleeper");
	return NULL;
}

static void *reader(void *arg)
{
	(void)arg;
	for (;;) {
		char c;
		ssize_t n = read(fds[0], &c, 1);
		if (n != 1)
			printf("READ FAILED %zd\n", n);
		else
			printf("read %c %s\n", c, version());
		fflush(stdout);
	}
	return NULL;
}

static void *spinner(void *arg)
{
	volatile unsigned long x = 0;
	(void)arg;
	for (;;)
		x++;
	return NULL;
}

int main(void)
{
	pthread_t t;
	if (pipe(fds) != 0)
		return 1;
	pthread_create(&t, NULL, sleeper, NULL);
	pthread_create(&t, NULL, reader, NULL);
	pthread_create(&t, NULL, spinner, NULL);
	for (int n = 1;; n++) {
		printf("[%d] %s\n", n, version());
		fflush(stdout);
		if (write(fds[1], "x", 1) != 1)
			printf("WRITE FAILED\n");
		checked_sleep(200000000, "main");
	}
}
