/* One thread is inside f() for 2.5 s, once; the main thread calls f()
 * every 50 ms. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

__attribute__((noinline)) void f(const char *who, int stay_ms)
{
	if (stay_ms) {
		printf("%s entered f\n", who);
		fflush(stdout);
		usleep(stay_ms * 1000);
	}
	printf("%s f old\n", who);
	fflush(stdout);
}

static void *slow(void *arg)
{
	(void)arg;
	f("slow", 2500);
	printf("slow left f\n");
	fflush(stdout);
	for (;;)
		pause();
	return NULL;
}

int main(void)
{
	pthread_t t;
	printf("token %s\n", LC_TOKEN);
	fflush(stdout);
	pthread_create(&t, NULL, slow, NULL);
	for (;;) {
		f("main", 0);
		usleep(50000);
	}
}
