/* app.c - the program: one line a tick from itself and one from libgreet. */
#include <stdio.h>
#include <unistd.h>
#include "greet.h"

/* Not inlined: main never returns, so only a called function can change. */
__attribute__((noinline)) const char *app_mood(int n)
{
	return n >= 0 ? "original" : "impossible";
}

int main(void)
{
	for (int n = 0; n < 3000; n++) {     /* 60 s at most */
		printf("line %d: app says %s\n", n, app_mood(n));
		greet(n);
		usleep(20000);
	}
	return 0;
}
