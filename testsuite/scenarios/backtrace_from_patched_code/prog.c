/*
 * backtrace_from_patched_code: trace() takes a backtrace() and prints its
 * depth and where its callers' frames return to (offsets into step() and
 * main()); main calls step(), which calls trace().  The fix changes
 * trace(): called from patch code, backtrace() must walk through the
 * patched frame to the same callers.
 */
#include <execinfo.h>
#include <stdio.h>
#include <unistd.h>

int main(void);
void step(int n);

__attribute__((noinline)) void trace(int n)
{
	void *f[32];
	int depth = backtrace(f, 32);
	long in_step = depth > 1 ? (char *)f[1] - (char *)step : -1;
	long in_main = depth > 2 ? (char *)f[2] - (char *)main : -1;
	printf("trace %d: depth %d, step+%ld, main+%ld\n", n, depth, in_step, in_main);
	fflush(stdout);
}

__attribute__((noinline)) void step(int n)
{
	trace(n);
	__asm__ volatile("" ::: "memory");   /* no tail call: step's frame stays */
}

int main(void)
{
	for (int n = 0;; n++) {
		step(n);
		usleep(50000);
	}
}
