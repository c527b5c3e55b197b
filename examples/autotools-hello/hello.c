/* hello.c - greets through libgreet.so every 50 ms, forever. */
#include <unistd.h>
#include "greet.h"

/* Not inlined: main never returns, so only a called function can change. */
__attribute__((noinline)) const char *hello_mood(int n)
{
	return n >= 0 ? "original" : "impossible";
}

int main(void)
{
	for (int n = 0;; n++) {
		greet(n, hello_mood(n));
		usleep(50000);
	}
}
