// exception_through_redirected_frame: a thread waits in hold(), a function
// the fix changes, until the return address of hold's frame changes - the
// doctor redirected it to a trampoline while it waits for the thread to
// leave - and then throws; round() catches it.  The exception unwinds
// through the redirected frame during the doctor's wait (patch: original
// code; unpatch: patch code) and must be caught by round(), whose LSDA is
// found through the trampoline.  main() prints ticks meanwhile.
#include <cstdio>
#include <cstring>
#include <pthread.h>
#include <stdexcept>
#include <unistd.h>

__attribute__((noinline)) void report(int n, const char *what)
{
	printf("round %d: caught: %s\n", n, what);
	fflush(stdout);
}

// The slot of hold's return address, read through its frame pointer with
// a volatile read: the doctor changes it while hold() runs.
__attribute__((noinline)) void hold(int n)
{
	void *volatile *slot = (void *volatile *)__builtin_frame_address(0) + 1;
	void *ret = *slot;
	if (ret != __builtin_return_address(0))
		printf("round %d: the return address slot is not where it was expected\n", n);
	for (;;) {
		if (*slot != ret)
			throw std::runtime_error("thrown through a redirected frame");
		usleep(1000);
	}
}

__attribute__((noinline)) void round_(int n)
{
	try {
		hold(n);
	} catch (const std::exception &e) {
		report(n, e.what());
	}
}

/* Until the doctor changed hold() (its first bytes: the jump the patch
 * writes there, the original bytes unpatch puts back), at most 3 s: each
 * round meets one doctor's wait, the patch's or the unpatch's. */
static unsigned char code0[16];

static void code_snapshot(void)
{
	memcpy(code0, reinterpret_cast<const void *>(hold), sizeof(code0));
}

static int code_same(void)
{
	return memcmp(code0, reinterpret_cast<const void *>(hold), sizeof(code0)) == 0;
}

static void *rounds(void *)
{
	for (int n = 1;; n++) {
		code_snapshot();
		round_(n);
		for (int i = 0; i < 3000 && code_same(); i++)
			usleep(1000);
	}
	return nullptr;
}

__attribute__((noinline)) void tick(int k)
{
	printf("tick %d\n", k);
	fflush(stdout);
}

int main()
{
	pthread_t t;
	pthread_create(&t, nullptr, rounds, nullptr);
	for (int k = 1;; k++) {
		tick(k);
		usleep(50000);
	}
}
