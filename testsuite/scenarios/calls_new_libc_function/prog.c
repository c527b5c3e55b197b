/*
 * calls_new_libc_function: the fix makes report() call getpid() and
 * getppid(), which the original binary never imported.
 */
#include <stdio.h>
#include <unistd.h>

__attribute__((noinline)) void report(int n)
{
	printf("report %d\n", n);
	fflush(stdout);
}

int main(void)
{
	for (int n = 0;; n++) {
		report(n);
		usleep(50000);
	}
}
