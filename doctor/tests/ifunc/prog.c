/*
 * A patient whose patch calls strlen, which the original never did: in
 * glibc strlen is an IFUNC, so the doctor must find the implementation the
 * dynamic linker chose for this CPU (not the resolver) and call that.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

char name[32] = "patient";

__attribute__((noipa)) void report(int n)
{
	printf("[%d] %s\n", n, name);
	fflush(stdout);
}

int main(void)
{
	for (int n = 1;; n++) {
		report(n);
		usleep(100000);
	}
}
