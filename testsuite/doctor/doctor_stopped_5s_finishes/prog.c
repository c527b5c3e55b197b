/* One thread is inside f() once, until SIGUSR1 releases it; the main
 * thread calls f() every 50 ms. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static volatile sig_atomic_t released;

static void on_usr1(int sig)
{
	(void)sig;
	released = 1;
}

__attribute__((noinline)) void f(const char *who, int stay)
{
	if (stay) {
		printf("%s entered f\n", who);
		fflush(stdout);
		while (!released)
			usleep(10000);
	}
	printf("%s f old\n", who);
	fflush(stdout);
}

static void *slow(void *arg)
{
	(void)arg;
	f("slow", 1);
	printf("slow left f\n");
	fflush(stdout);
	for (;;)
		pause();
	return NULL;
}

int main(void)
{
	pthread_t t;
	signal(SIGUSR1, on_usr1);
	printf("token %s\n", LC_TOKEN);
	fflush(stdout);
	pthread_create(&t, NULL, slow, NULL);
	for (;;) {
		f("main", 0);
		usleep(50000);
	}
}
