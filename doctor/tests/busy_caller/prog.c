/*
 * A patient with a thread that sleeps in libc but never returns from the
 * function the patch replaces: its rip is elsewhere, the function is on its
 * stack.  Only unwinding the stack shows it; the doctor must give up after
 * its timeout and leave the process exactly as it was.
 */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

__attribute__((noipa)) void wait_forever(void)
{
	for (;;)
		usleep(50000);
}

static void *worker(void *arg)
{
	(void)arg;
	wait_forever();
	return NULL;
}

int main(void)
{
	pthread_t t;
	pthread_create(&t, NULL, worker, NULL);
	for (int n = 1;; n++) {
		printf("[%d] alive\n", n);
		fflush(stdout);
		usleep(100000);
	}
}
