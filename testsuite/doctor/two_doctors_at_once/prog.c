/* A thread is inside f() until SIGUSR1 releases it; the main thread prints
 * what f() says every 50 ms. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static volatile sig_atomic_t release;

static void on_usr1(int sig)
{
	(void)sig;
	release = 1;
}

__attribute__((noipa)) const char *f(int stay)
{
	if (stay) {
		printf("entered f\n");
		fflush(stdout);
		while (!release)
			usleep(10000);
	}
	return "old";
}

static void *slow(void *arg)
{
	(void)arg;
	f(1);
	for (;;)
		pause();
	return NULL;
}

int main(void)
{
	pthread_t t;
	signal(SIGUSR1, on_usr1);
	pthread_create(&t, NULL, slow, NULL);
	printf("token %s\n", LC_TOKEN);
	fflush(stdout);
	for (;;) {
		printf("%s\n", f(0));
		fflush(stdout);
		usleep(50000);
	}
}
