/*
 * new_function_and_variable: the fix adds a new static function, a new
 * file-scope variable and a new string table; the patched work() uses all
 * three, and the new variable keeps its value from call to call.
 */
#include <stdio.h>
#include <unistd.h>

__attribute__((noinline)) void work(int n)
{
	printf("work %d\n", n);
	fflush(stdout);
}

int main(void)
{
	for (int n = 0;; n++) {
		work(n);
		usleep(50000);
	}
}
