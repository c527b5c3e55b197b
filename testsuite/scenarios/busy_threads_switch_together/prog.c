/*
 * busy_threads_switch_together: four threads call greet(), which prints a
 * "begin" line, sleeps 10 ms inside itself, then prints an "end" line, so
 * some thread is often in the middle of it.  The doctor must switch only
 * when no thread is inside greet(): had it patched while a thread slept in
 * the old greet(), that thread would print an old "end" line after other
 * threads printed new lines.
 */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

__attribute__((noinline)) void greet(int id, int n)
{
	printf("thread %d begin %d\n", id, n);
	fflush(stdout);
	usleep(10000);
	printf("thread %d end %d\n", id, n);
	fflush(stdout);
}

static void *run(void *arg)
{
	int id = (int)(long)arg;

	for (int n = 0;; n++) {
		greet(id, n);
		usleep(20000);
	}
	return NULL;
}

int main(void)
{
	pthread_t t[4];

	for (long i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, run, (void *)i);
	pthread_join(t[0], NULL);
	return 0;
}
