/*
 * objects_patched_together: report() of the program prints its own word and
 * the library's; fix.diff changes both objects.  prog_never() is never
 * called (the test changes its first byte behind the doctor's back).
 */
#include <stdio.h>
#include <unistd.h>

const char *lib_word(void);
int lib_never(int x);

__attribute__((noipa)) int prog_never(int x)
{
	return lib_never(x) + 1;
}

__attribute__((noipa)) void report(int n)
{
	printf("%d prog-old %s\n", n, lib_word());
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("token %s\n", LC_TOKEN);
	for (int n = 1;; n++) {
		report(n);
		if (argc > 5)
			prog_never(n);
		usleep(10000);
	}
}
