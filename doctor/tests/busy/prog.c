/*
 * A patient with a thread that never leaves the function the patch
 * replaces: the doctor must give up after its timeout and leave the
 * process exactly as it was.
 */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

volatile int stop;

__attribute__((noipa)) unsigned long spin(void)
{
	unsigned long i = 0;
	while (!stop)
		i++;
	return i;
}

static void *worker(void *arg)
{
	(void)arg;
	spin();
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
