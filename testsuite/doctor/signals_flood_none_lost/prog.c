/* Counts three queued real-time signals (none may be lost) in four threads:
 * one is inside version() most of the time (the doctor waits for it), two
 * call it in a loop, the main thread prints the counts with the version
 * every 20 ms.  libgcc_s is loaded, so the doctor registers the patch's CFI
 * with a call injected into the patient. */
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const int offs[3] = { 0, 1, 5 };        /* SIGRTMIN + these */
static unsigned long got[3];

static void on_signal(int sig)
{
	for (int i = 0; i < 3; i++)
		if (sig == SIGRTMIN + offs[i])
			__atomic_add_fetch(&got[i], 1, __ATOMIC_RELAXED);
}

__attribute__((noipa)) const char *version(int stay_us)
{
	if (stay_us)
		usleep(stay_us);        /* cut short by the signals: fine */
	return "old";
}

static volatile const char *seen;

static void *busy(void *arg)
{
	(void)arg;
	for (;;) {
		seen = version(20000);
		usleep(2000);
	}
	return NULL;
}

static void *caller(void *arg)
{
	(void)arg;
	for (;;) {
		seen = version(0);
		usleep(500);
	}
	return NULL;
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	for (int i = 0; i < 3; i++)
		sigaction(SIGRTMIN + offs[i], &sa, NULL);
	if (!dlopen("libgcc_s.so.1", RTLD_NOW))
		return 1;
	pthread_t t;
	pthread_create(&t, NULL, busy, NULL);
	pthread_create(&t, NULL, caller, NULL);
	pthread_create(&t, NULL, caller, NULL);
	printf("token %s\n", LC_TOKEN);
	fflush(stdout);
	for (;;) {
		printf("got %lu %lu %lu %s\n", __atomic_load_n(&got[0], __ATOMIC_RELAXED),
		       __atomic_load_n(&got[1], __ATOMIC_RELAXED),
		       __atomic_load_n(&got[2], __ATOMIC_RELAXED), version(0));
		fflush(stdout);
		usleep(20000);
	}
}
