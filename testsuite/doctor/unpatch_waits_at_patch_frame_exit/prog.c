/* A worker calls f() every 50 ms.  After the patch one call of the new f()
 * stays inside it (asleep in usleep) until SIGUSR1 releases it. */
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

__attribute__((noipa)) void f(int n)
{
	printf("f old %d\n", n);
	fflush(stdout);
}

static void *worker(void *arg)
{
	(void)arg;
	for (int n = 0;; n++) {
		f(n);
		usleep(50000);
	}
	return NULL;
}

int main(void)
{
	pthread_t t;
	signal(SIGUSR1, on_usr1);
	printf("token %s\n", LC_TOKEN);
	fflush(stdout);
	pthread_create(&t, NULL, worker, NULL);
	for (;;)
		pause();
}
