/*
 * refuse_struct_layout_changed: the fix reorders the fields of a
 * zero-initialised global struct.  Size and initial value (zero) stay the
 * same, so only the recorded type shows it; the running process keeps the
 * old layout, so the patched code would read the wrong fields: refused.
 */
#include <stdio.h>

struct stats {
	long hits;
	long misses;
};

struct stats stats;

__attribute__((noinline)) void record(int hit)
{
	if (hit)
		stats.hits++;
	else
		stats.misses++;
}

int main(void)
{
	record(1);
	printf("%ld %ld\n", stats.hits, stats.misses);
	return 0;
}
