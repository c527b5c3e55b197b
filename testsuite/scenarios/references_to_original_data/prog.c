/*
 * references_to_original_data: the patched show() reads and writes the
 * original's data of every kind - an initialised global, a file static, a
 * .bss global, a const table in .rodata, stderr and environ (COPY-relocated
 * into a non-PIE executable) - and calls an original static function, an
 * original global function, and libc functions through the jump table,
 * one of them versioned (realpath has GLIBC_2.2.5 and GLIBC_2.3), and
 * libc data the original never imported (program_invocation_short_name
 * read, optind updated in place): through a slot, as it lives beyond a
 * 32-bit displacement.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;
extern char *program_invocation_short_name;   /* glibc */

int counter = 40;                       /* .data */
static int hidden_count = 7;            /* .data, file static */
long zeroed;                            /* .bss */
static const int primes[6] = { 2, 3, 5, 7, 11, 13 };   /* .rodata */

static __attribute__((noinline)) int twice(int n)
{
	return 2 * n;
}

__attribute__((noinline)) int triple(int n)
{
	return 3 * n;
}

__attribute__((noinline)) void show(int n)
{
	counter++;
	zeroed += 2;
	fprintf(stderr, "%d counter %d\n", n, counter);
	fflush(stderr);
	(void)environ;
	(void)hidden_count;
	(void)primes;
}

int main(void)
{
	setenv("LC_SCENARIO", "yes", 1);
	volatile int one = 1;

	printf("start %d %d %d %d %s\n", twice(one), triple(one), primes[getpid() % 6], hidden_count++,
	       environ[0] ? "env" : "noenv");
	fflush(stdout);
	for (int n = 0;; n++) {
		show(n);
		usleep(50000);
	}
}
