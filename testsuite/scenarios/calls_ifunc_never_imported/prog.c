/*
 * calls_ifunc_never_imported: the fix makes report() call strstr() and
 * strncat(), IFUNCs of libc that the original binary never imported and
 * that no object of the process has bound (libc itself calls its own
 * implementations directly): the doctor runs their resolvers.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

__attribute__((noinline)) void report(int n)
{
	char text[64];
	snprintf(text, sizeof(text), "a=%d;b=%d;c", n, n * 2);
	printf("report %d: %s\n", n, text);
	fflush(stdout);
}

int main(void)
{
	for (int n = 0;; n++) {
		report(n);
		usleep(50000);
	}
}
