/*
 * backtrace_from_patched_code: trace() takes a backtrace() and prints its
 * depth and where, relative to main, main's frame is; step() calls it from
 * main.  The fix changes trace(): called from patch code, backtrace() must
 * walk through the patched frame to the same callers.
 */
#include <execinfo.h>
#include <stdio.h>
#include <unistd.h>

int main(void);

__attribute__((noinline)) void trace(int n)
{
	void *f[32];
	int depth = backtrace(f, 32);
	long in_main = -1;
	for (int i = 0; i < depth; i++)
		if ((char *)f[i] > (char *)main && (char *)f[i] < (char *)main + 0x400) {
			in_main = (char *)f[i] - (char *)main;
			break;
		}
	printf("trace %d: depth %d, main+%ld\n", n, depth, in_main);
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
