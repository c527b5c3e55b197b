/*
 * cancel_through_redirected_frame: each round a thread runs worker() ->
 * inner() -> hold(), worker() and inner() each with a cleanup handler
 * (pthread_cleanup_push; with -fexceptions unwinding cleanups).  hold(), a
 * function the fix changes, waits until the return address of its frame
 * changes (the doctor redirected it to a trampoline while it waits for the
 * thread to leave), says so and waits in a cancellation point; main
 * cancels the thread, joins it and reports how many cleanups ran: the
 * cancellation unwinds through the redirected frame during the doctor's
 * wait (patch: original code; unpatch: patch code), and both must run.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int cleanups;
static int redirected;

static void on_cancel(void *arg)
{
	(void)arg;
	__atomic_add_fetch(&cleanups, 1, __ATOMIC_SEQ_CST);
}

/* The slot of hold's return address, read through its frame pointer with
 * a volatile read: the doctor changes it while hold() runs. */
__attribute__((noinline)) void hold(int n)
{
	void *volatile *slot = (void *volatile *)__builtin_frame_address(0) + 1;
	void *ret = *slot;
	if (ret != __builtin_return_address(0))
		printf("round %d: the return address slot is not where it was expected\n", n);
	while (*slot == ret)
		usleep(1000);
	__atomic_store_n(&redirected, 1, __ATOMIC_SEQ_CST);
	for (;;)
		usleep(1000);
}

__attribute__((noinline)) void inner(int n)
{
	pthread_cleanup_push(on_cancel, NULL);
	hold(n);
	pthread_cleanup_pop(0);
}

static void *worker(void *arg)
{
	pthread_cleanup_push(on_cancel, NULL);
	inner((int)(long)arg);
	pthread_cleanup_pop(0);
	return NULL;
}

static void *idle(void *arg)
{
	(void)arg;
	for (;;)
		pause();
}

__attribute__((noinline)) void report(int n, int c)
{
	printf("round %d: cancelled through a redirected frame, cleanups %d of 2\n", n, c);
	fflush(stdout);
}

__attribute__((noinline)) void tick(int k)
{
	printf("tick %d\n", k);
	fflush(stdout);
}

/* Until the doctor changed hold() (its first bytes: the jump the patch
 * writes there, the original bytes unpatch puts back), at most 3 s: each
 * round meets one doctor's wait, the patch's or the unpatch's. */
static unsigned char code0[16];

static void code_snapshot(void)
{
	memcpy(code0, (const void *)hold, sizeof(code0));
}

static int code_same(void)
{
	return memcmp(code0, (const void *)hold, sizeof(code0)) == 0;
}

int main(void)
{
	pthread_t t;
	int k = 1;
	/* A first cancellation loads libgcc_s before any doctor comes. */
	pthread_create(&t, NULL, idle, NULL);
	pthread_cancel(t);
	pthread_join(t, NULL);
	for (int n = 1;; n++) {
		__atomic_store_n(&cleanups, 0, __ATOMIC_SEQ_CST);
		__atomic_store_n(&redirected, 0, __ATOMIC_SEQ_CST);
		code_snapshot();
		pthread_create(&t, NULL, worker, (void *)(long)n);
		for (int i = 0; !__atomic_load_n(&redirected, __ATOMIC_SEQ_CST); i++) {
			if (i % 50 == 0)
				tick(k++);
			usleep(1000);
		}
		pthread_cancel(t);
		pthread_join(t, NULL);
		report(n, __atomic_load_n(&cleanups, __ATOMIC_SEQ_CST));
		for (int i = 0; i < 3000 && code_same(); i++) {
			if (i % 50 == 0)
				tick(k++);
			usleep(1000);
		}
	}
}
