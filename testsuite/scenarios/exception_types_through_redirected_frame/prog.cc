// exception_types_through_redirected_frame: three threads wait in hold(), a
// function the fix changes, until the return address of hold's frame
// changes - the doctor redirected it to a trampoline while it waits for the
// threads to leave - and then each throws its own kind of exception.
// round_() has catch clauses of several types, a cleanup (a local with a
// destructor) and a dynamic exception specification, so the call site of
// hold() in round_() has an action chain of several records, a type table
// of several entries and a specification list, all of which the
// trampoline's copy of round_'s LSDA must keep:
//   kind 0 throws B: caught by round_'s second clause (after A);
//   kind 1 throws int: caught by round_'s third clause;
//   kind 2 throws C: no clause of round_ catches it and its specification
//     allows it, so round_'s cleanup runs and outer() catches it (a wrong
//     specification copy would call std::unexpected: terminate).
// Each round meets one doctor's wait, the patch's or the unpatch's, in
// every thread.  main() prints ticks meanwhile.
#include <cstdio>
#include <cstring>
#include <pthread.h>
#include <unistd.h>

struct A { const char *what; };
struct B { const char *what; };
struct C { const char *what; };
struct D { const char *what; };

__attribute__((noinline)) void report(int n, int kind, const char *how, const char *what)
{
	printf("round %d kind %d: %s: %s\n", n, kind, how, what);
	fflush(stdout);
}

struct Cleanup {
	int n, kind;
	~Cleanup() { report(n, kind, "cleanup", "ran"); }
};

// The slot of hold's return address, read through its frame pointer with
// a volatile read: the doctor changes it while hold() runs.
__attribute__((noinline)) void hold(int n, int kind)
{
	void *volatile *slot = (void *volatile *)__builtin_frame_address(0) + 1;
	void *ret = *slot;
	if (ret != __builtin_return_address(0))
		printf("round %d: the return address slot is not where it was expected\n", n);
	for (;;) {
		if (*slot != ret) {
			if (kind == 0)
				throw B{"B thrown through a redirected frame"};
			if (kind == 1)
				throw 7;
			throw C{"C thrown through a redirected frame"};
		}
		usleep(1000);
	}
}

__attribute__((noinline)) void round_(int n, int kind) throw(C, D)
{
	Cleanup c{n, kind};
	try {
		hold(n, kind);
	} catch (const A &e) {
		report(n, kind, "caught A", e.what);
	} catch (const B &e) {
		report(n, kind, "caught B", e.what);
	} catch (int v) {
		char s[16];
		snprintf(s, sizeof(s), "%d", v);
		report(n, kind, "caught int", s);
	}
}

__attribute__((noinline)) void outer(int n, int kind)
{
	try {
		round_(n, kind);
	} catch (const C &e) {
		report(n, kind, "caught C in outer", e.what);
	}
}

/* Until the doctor changed hold() (its first bytes: the jump the patch
 * writes there, the original bytes unpatch puts back), at most 3 s. */
static void *rounds(void *arg)
{
	int kind = (int)(long)arg;
	unsigned char code0[16];
	for (int n = 1;; n++) {
		memcpy(code0, reinterpret_cast<const void *>(hold), sizeof(code0));
		outer(n, kind);
		for (int i = 0; i < 3000 && memcmp(code0, reinterpret_cast<const void *>(hold),
						   sizeof(code0)) == 0; i++)
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
	for (long kind = 0; kind < 3; kind++)
		pthread_create(&t, nullptr, rounds, (void *)kind);
	for (int k = 1;; k++) {
		tick(k);
		usleep(50000);
	}
}
