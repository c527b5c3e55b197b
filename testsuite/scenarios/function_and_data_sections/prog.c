/*
 * function_and_data_sections: built with -ffunction-sections
 * -fdata-sections, every function and variable in its own section
 * (.text.work, .data.level, .bss.hits ...).  The fix changes work() and adds
 * a variable and a function; the untouched helper keeps its section.
 */
#include <stdio.h>
#include <unistd.h>

int level = 3;
static int hits;

__attribute__((noinline)) int scale(int n)
{
	return n * level;
}

__attribute__((noinline)) void work(int n)
{
	hits++;
	printf("work %d scaled %d hits %d\n", n, scale(n), hits);
	fflush(stdout);
}

int main(void)
{
	for (int n = 0;; n++) {
		work(n);
		usleep(50000);
	}
}
