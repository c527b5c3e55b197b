/*
 * A patient whose threads come and go all the time (detached threads that
 * live a few microseconds) while a 1 ms SIGALRM timer interrupts it: the
 * doctor must seize threads born meanwhile, drop those that exit, deliver
 * every signal that arrives while it holds a thread, and patch anyway.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static volatile sig_atomic_t ticks;

static void on_alarm(int sig)
{
	(void)sig;
	ticks++;
}

__attribute__((noipa)) const char *version(void)
{
	return "old";
}

static void *brief(void *arg)
{
	volatile int x = 0;
	(void)arg;
	for (int i = 0; i < 10000; i++)
		x++;
	return NULL;
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { { 0, 1000 }, { 0, 1000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	long created = 0;
	for (int n = 1;; n++) {
		for (int k = 0; k < 50; k++) {
			pthread_t t;
			if (pthread_create(&t, NULL, brief, NULL) == 0) {
				pthread_detach(t);
				created++;
			}
			usleep(2000);
		}
		printf("[%d] %s ticks=%d threads=%ld\n", n, version(), (int)ticks, created);
		fflush(stdout);
	}
}
