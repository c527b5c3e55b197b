/*
 * label_drift_untouched_functions: the fix adds branches and string literals
 * to first(), the first function of the unit, so GCC numbers every later
 * .L, .LC and .LFB label differently; second() and third() are untouched and
 * must not be reported or patched as changed.  (first() is noipa: with
 * GCC 11 its new register use would otherwise change main() through
 * -fipa-ra, a real change this scenario is not about.)
 */
#include <stdio.h>
#include <unistd.h>

__attribute__((noipa)) const char *first(int n)
{
	if (n % 3 == 0)
		return "fizz";
	return "-";
}

__attribute__((noinline)) const char *second(int n)
{
	switch (n % 7) {
	case 0: return "sun";
	case 1: return "mon";
	case 2: return "tue";
	case 3: return "wed";
	case 4: return "thu";
	case 5: return "fri";
	default: return "sat";
	}
}

__attribute__((noinline)) int third(int n)
{
	int s = 0;
	for (int i = 0; i < n % 10; i++)
		if (i & 1)
			s += i;
		else
			s -= 1;
	return s;
}

int main(void)
{
	for (int n = 0;; n++) {
		printf("%d %s %s %d\n", n, first(n), second(n), third(n));
		fflush(stdout);
		usleep(50000);
	}
}
