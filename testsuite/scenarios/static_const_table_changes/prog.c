/*
 * static_const_table_changes: a fix to an entry of static const tables.
 * The running process keeps the original tables (read-only data); the
 * patch carries a new copy of the changed one, and every function that
 * reads it (score, colour) is replaced to read the copy - even colour(),
 * whose code does not change at all.  weights[] does not change and stays.
 */
#include <stdio.h>
#include <unistd.h>

struct limit {
	const char *name;
	int max;
};

static const struct limit limits[] = { { "red", 10 }, { "green", 20 }, { "blue", 30 } };
static const int weights[] = { 1, 2, 3, 4 };

__attribute__((noinline)) int score(int i)
{
	return limits[i % 3].max * weights[i % 4];
}

__attribute__((noinline)) const char *colour(int i)
{
	return limits[i % 3].name;
}

int main(void)
{
	for (int n = 0;; n++) {
		printf("%d", n);
		for (int k = 0; k < 3; k++)
			printf(" %s:%d", colour(k), score(k));
		printf("\n");
		fflush(stdout);
		usleep(30000);
	}
}
