// exception_through_patched_method: Meter::add() (C++) prints the running
// total or throws; main() catches what it throws.  The fix changes both the
// message and the exception; thrown from patch code, the exception must
// unwind through the patched frame (its unwind information, its LSDA: the
// destructors of `what` and `guard` run) to the caller's catch.
#include <cstdio>
#include <stdexcept>
#include <string>
#include <unistd.h>

static int cleanups;    // destructors run in add() frames, thrown or not

struct Guard {
	~Guard() { cleanups++; }
};

struct Meter {
	int total = 0;
	__attribute__((noinline)) void add(int n);
};

void Meter::add(int n)
{
	Guard guard;
	std::string what = "value " + std::to_string(n);
	if (n % 2 == 1)
		throw std::runtime_error(what + " rejected");
	total += n;
	printf("add %d: total %d\n", n, total);
}

int main()
{
	Meter m;
	for (int n = 1;; n++) {
		try {
			m.add(n);
		} catch (const std::exception &e) {
			printf("add %d: caught %s, cleanups %d\n", n, e.what(), cleanups);
		}
		fflush(stdout);
		usleep(50000);
	}
}
