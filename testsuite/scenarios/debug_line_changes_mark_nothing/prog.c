/*
 * debug_line_changes_mark_nothing: built with -g.  The fix changes tick()
 * and adds comment lines at the top of the file, so every .loc line number
 * and DWARF label below moves; only tick() is reported changed.
 */
#include <stdio.h>
#include <unistd.h>

__attribute__((noinline)) int tock(int n)
{
	int s = 0;

	for (int i = 0; i < n % 5; i++)
		s += i;
	return s;
}

__attribute__((noinline)) void tick(int n)
{
	printf("tick %d %d\n", n, tock(n));
	fflush(stdout);
}

int main(void)
{
	for (int n = 0;; n++) {
		tick(n);
		usleep(50000);
	}
}
