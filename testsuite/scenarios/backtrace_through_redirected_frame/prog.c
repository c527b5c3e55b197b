/*
 * backtrace_through_redirected_frame: each round a thread runs outer() ->
 * middle() -> hold().  hold(), a function the fix changes, takes a
 * backtrace(), waits until the return address of its frame changes (the
 * doctor redirected it to a trampoline while it waits for the thread to
 * leave), takes another and compares them: the unwinder must walk through
 * the redirected frame to the same depth, every caller's return address as
 * before but the redirected one (now the trampoline's), during the
 * doctor's wait (patch: original code; unpatch: patch code).  hold() then
 * returns, through the trampoline.
 */
#include <execinfo.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MAX 64

__attribute__((noinline)) void report(int n, int depth, int depth0, const char *diff)
{
	printf("round %d: backtrace through a redirected frame: depth %d, was %d; differing: %s\n",
	       n, depth, depth0, diff);
	fflush(stdout);
}

/* The slot of hold's return address, read through its frame pointer with
 * a volatile read: the doctor changes it while hold() runs. */
__attribute__((noinline)) void hold(int n)
{
	void *volatile *slot = (void *volatile *)__builtin_frame_address(0) + 1;
	void *ret = *slot;
	void *pcs0[MAX], *pcs[MAX];
	char diff[256] = "";
	if (ret != __builtin_return_address(0))
		printf("round %d: the return address slot is not where it was expected\n", n);
	int depth0 = backtrace(pcs0, MAX);
	while (*slot == ret)
		usleep(1000);
	int depth = backtrace(pcs, MAX);
	/* Entry 0 is in hold() itself; from 1 on, its callers. */
	for (int i = 1; i < depth && i < depth0; i++)
		if (pcs[i] != pcs0[i] && strlen(diff) < sizeof(diff) - 8)
			snprintf(diff + strlen(diff), sizeof(diff) - strlen(diff), "%s%d",
				 *diff ? "," : "", i);
	report(n, depth, depth0, *diff ? diff : "none");
}

__attribute__((noinline)) void middle(int n)
{
	hold(n);
	__asm__ volatile("" ::: "memory");      /* no tail call */
}

__attribute__((noinline)) void outer(int n)
{
	middle(n);
	__asm__ volatile("" ::: "memory");
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

static void *rounds(void *arg)
{
	(void)arg;
	for (int n = 1;; n++) {
		code_snapshot();
		outer(n);
		for (int i = 0; i < 3000 && code_same(); i++)
			usleep(1000);
	}
	return NULL;
}

__attribute__((noinline)) void tick(int k)
{
	printf("tick %d\n", k);
	fflush(stdout);
}

int main(void)
{
	pthread_t t;
	pthread_create(&t, NULL, rounds, NULL);
	for (int k = 1;; k++) {
		tick(k);
		usleep(50000);
	}
}
