/*
 * A worker thread stays in the cold part of step() (GCC -O2 moves the
 * unlikely branch, which calls a cold function, to step.cold): spinning in
 * step.cold itself (argument "spin") or blocked in a function step.cold
 * called ("call").  SIGUSR1 lets it out; it then calls step() on its hot
 * path every 50 ms.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t release;
static volatile unsigned long spins;

static void on_usr1(int sig)
{
	(void)sig;
	release = 1;
}

__attribute__((cold, noinline)) void cold_note(int n)
{
	printf("cold %d\n", n);
	fflush(stdout);
}

__attribute__((cold, noinline)) void cold_wait(void)
{
	while (!release)
		usleep(1000);
}

__attribute__((noinline)) int step(int n, int spin)
{
	if (__builtin_expect(n < 0, 0)) {
		cold_note(n);
		if (spin)
			while (!release)
				spins++;
		else
			cold_wait();
		printf("cold done %d\n", n);
		fflush(stdout);
		return -1;
	}
	printf("hot %d\n", n);
	fflush(stdout);
	return n;
}

static void *worker(void *arg)
{
	int spin = *(int *)arg;
	printf("worker tid %d\n", (int)gettid());
	fflush(stdout);
	step(-1, spin);
	for (int n = 0;; n++) {
		step(n, spin);
		usleep(50000);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	static int spin;
	pthread_t t;
	spin = argc > 1 && strcmp(argv[1], "spin") == 0;
	signal(SIGUSR1, on_usr1);
	printf("token %s\n", LC_TOKEN);
	fflush(stdout);
	pthread_create(&t, NULL, worker, &spin);
	for (;;)
		pause();
}
