/* Prints what f() and g() say every 20 ms. */
#include <stdio.h>
#include <unistd.h>

__attribute__((noipa)) const char *f(void)
{
	return "f-old";
}

__attribute__((noipa)) const char *g(void)
{
	return "g-old";
}

int main(void)
{
	printf("token %s\n", LC_TOKEN);
	fflush(stdout);
	for (;;) {
		printf("%s %s\n", f(), g());
		fflush(stdout);
		usleep(20000);
	}
}
