/*
 * cancel_through_patched_function: each round a thread runs worker(),
 * whose cleanup handler (pthread_cleanup_push, with -fexceptions an
 * unwinding cleanup) counts; worker() calls work(), which waits in a
 * cancellation point; main cancels the thread, joins it and report()s the
 * count.  The fix changes work() and report(): the cancellation of a
 * thread waiting in the patched work() must unwind through its frame to
 * worker()'s handler.
 */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static int cleanups;
static int ready;

static void on_cancel(void *arg)
{
	(void)arg;
	__atomic_add_fetch(&cleanups, 1, __ATOMIC_SEQ_CST);
}

__attribute__((noinline)) void work(int n)
{
	printf("round %d: working\n", n);
	fflush(stdout);
	__atomic_store_n(&ready, 1, __ATOMIC_SEQ_CST);
	for (;;)
		usleep(1000000);
}

static void *worker(void *arg)
{
	pthread_cleanup_push(on_cancel, NULL);
	work((int)(long)arg);
	pthread_cleanup_pop(0);
	return NULL;
}

__attribute__((noinline)) void report(int n, int c)
{
	printf("round %d: cancelled, cleanups %d\n", n, c);
	fflush(stdout);
}

int main(void)
{
	for (int n = 1;; n++) {
		pthread_t t;
		__atomic_store_n(&ready, 0, __ATOMIC_SEQ_CST);
		pthread_create(&t, NULL, worker, (void *)(long)n);
		while (!__atomic_load_n(&ready, __ATOMIC_SEQ_CST))
			usleep(1000);
		usleep(10000);
		pthread_cancel(t);
		pthread_join(t, NULL);
		report(n, __atomic_load_n(&cleanups, __ATOMIC_SEQ_CST));
		usleep(40000);
	}
}
