/*
 * library_and_program_patched_together: report() of the program prints
 * what describe() of libscen.so returns; fix.diff changes both, so the
 * program and the library each get their own patch, applied to the same
 * process.
 */
#include <stdio.h>
#include <unistd.h>

const char *describe(int n);

__attribute__((noinline)) void report(int n)
{
	printf("main %d: %s\n", n, describe(n));
	fflush(stdout);
}

int main(void)
{
	for (int n = 1;; n++) {
		report(n);
		usleep(50000);
	}
}
