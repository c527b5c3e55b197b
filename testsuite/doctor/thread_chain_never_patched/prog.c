/* A chain of threads: each one, inside step(), starts the next and leaves
 * step() only once the next one is inside it, then exits.  So some thread
 * is inside step() at every moment, and a patch of step() must never be
 * applied.  The new step() checks that no old step() is live (old_live)
 * and aborts the process if one is. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static atomic_long entered = -1;        /* the last generation inside step() */
static atomic_int old_live;             /* old step() frames live now */
static pthread_attr_t detached;

static void *link_thread(void *arg);

__attribute__((noipa)) void step(long gen)
{
	atomic_fetch_add(&old_live, 1);
	atomic_store(&entered, gen);
	pthread_t t;
	while (pthread_create(&t, &detached, link_thread, (void *)(gen + 1)) != 0)
		sched_yield();
	while (atomic_load(&entered) <= gen)
		sched_yield();
	atomic_fetch_sub(&old_live, 1);
}

static void *link_thread(void *arg)
{
	step((long)arg);
	return NULL;
}

int main(void)
{
	pthread_t t;
	printf("token %s\n", LC_TOKEN);
	fflush(stdout);
	pthread_attr_init(&detached);
	pthread_attr_setdetachstate(&detached, PTHREAD_CREATE_DETACHED);
	pthread_create(&t, &detached, link_thread, (void *)0L);
	for (;;) {
		printf("chain %ld\n", atomic_load(&entered));
		fflush(stdout);
		usleep(20000);
	}
}
