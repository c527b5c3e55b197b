/* A C program without libgcc_s (it never throws, cancels or calls
 * backtrace): prints the version every 20 ms.  It has stubs (never called)
 * of the two libgcc_s functions code with a cleanup imports, so that such a
 * patch finds its imports and what is left to refuse it is the check of its
 * unwind information (without them the import check refuses it first). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void _Unwind_Resume(void *exc)
{
	(void)exc;
	abort();
}

int __gcc_personality_v0(int version, int actions, unsigned long cls, void *exc, void *ctx)
{
	(void)version, (void)actions, (void)cls, (void)exc, (void)ctx;
	abort();
}

__attribute__((noipa)) void tick(int *n)
{
	++*n;
}

__attribute__((noipa)) const char *version(void)
{
	return "old";
}

int main(void)
{
	printf("token %s\n", LC_TOKEN);
	fflush(stdout);
	for (;;) {
		printf("version %s\n", version());
		fflush(stdout);
		usleep(20000);
	}
}
