/*
 * tail_calls: at -O2 a call in return position becomes a jump (`jmp puts`,
 * `jmp helper`).  The fix changes a function that tail-calls a static
 * function of the unit and one that tail-calls libc; the patched jumps go
 * to the original's helper and to libc through the jump table.
 */
#include <stdio.h>
#include <unistd.h>

static __attribute__((noinline)) int helper(int n, const char *tag)
{
	printf("%d helper %s\n", n, tag);
	return fflush(stdout);
}

__attribute__((noinline)) int to_helper(int n)
{
	return helper(n, "old");
}

__attribute__((noinline)) int to_libc(int n)
{
	if (n & 1)
		return 0;
	printf("%d libc ", n);
	return puts("old");
}

int main(void)
{
	for (int n = 0;; n++) {
		to_helper(n);
		to_libc(n);
		fflush(stdout);
		usleep(50000);
	}
}
