/*
 * errno_in_patch_code: two threads count in the program's own
 * __thread variable (local-exec access); thread B starts at 1000.  The
 * patch changes the function that counts, so patch code reads and writes
 * each thread's own copy.
 */
#include <pthread.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

__thread int ticks;
static __thread const char *who;

__attribute__((noinline)) void tick(void)
{
	ticks++;
	printf("%s ticks %d\n", who, ticks);
	fflush(stdout);
}

static void *run(void *arg)
{
	who = arg;
	if (*who == 'B')
		ticks = 1000;
	for (;;) {
		tick();
		usleep(30000);
	}
	return NULL;
}

int main(void)
{
	pthread_t a, b;
	pthread_create(&a, NULL, run, "A");
	pthread_create(&b, NULL, run, "B");
	pthread_join(a, NULL);
	return 0;
}
