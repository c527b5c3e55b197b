/*
 * cold_part_changes: at -O2 the unlikely branch of step() (it calls a cold
 * function) goes to step.cold in .text.unlikely.  The fix changes both the
 * hot and the cold part; the patch replaces step() with both parts.
 */
#include <stdio.h>
#include <unistd.h>

__attribute__((cold, noinline)) void rare(int n)
{
	printf("rare %d ", n);     /* same line as "four": old and new lines differ */
}

__attribute__((noinline)) int step(int n)
{
	if (n % 4 == 0) {
		rare(n);
		printf("four %d\n", n);
		fflush(stdout);
		return -1;
	}
	printf("n %d\n", n);
	fflush(stdout);
	return n;
}

int main(void)
{
	for (int n = 0;; n++) {
		step(n);
		usleep(50000);
	}
}
