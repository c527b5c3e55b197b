/* Many of GCC's output shapes in one unit: jump tables and CSWTCH tables,
 * float literals, string literals, static locals, a TLS variable,
 * function pointers, a cold path, common and initialised data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern int ext_counter;
__thread int tls_var = 4;
static int tab[4] = { 1, 2, 3, 4 };
int glob_init = 7;
int glob_zero;
const char *msg = "hello";
static int (*hook)(int);

__attribute__((noinline)) static int helper(int x)
{
	static int calls;
	calls++;
	return x * 3 + calls;
}

int sw_table(int x)
{
	switch (x) {
	case 0: return 11;
	case 1: return 22;
	case 2: return 37;
	case 3: return 41;
	case 4: return 53;
	default: return helper(x);
	}
}

int sw_jump(int x)
{
	switch (x) {
	case 0: puts("zero"); break;
	case 1: puts("one"); break;
	case 2: puts("two"); break;
	case 3: puts("three"); break;
	case 4: printf("four %d\n", x); break;
	case 5: fputs("five\n", stderr); break;
	}
	return x + tls_var;
}

double scale(double d)
{
	return d * 3.25 + 1.5;
}

int rarely(int x)
{
	if (__builtin_expect(x == 42, 0)) {
		fprintf(stderr, "bad value %d\n", x);
		abort();
	}
	return x + ext_counter;
}

int use_hook(int x)
{
	if (!hook)
		hook = helper;
	return hook(x) + (int)strlen(msg) + tab[x & 3] + glob_init + glob_zero;
}
