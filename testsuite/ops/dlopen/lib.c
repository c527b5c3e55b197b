/*
 * lib.c - the library the worker loads with dlopen(): serve() answers
 * each call.  The fix changes its answer.
 */
#include <stdio.h>

#ifndef LC_TOKEN
#define LC_TOKEN "none"
#endif

/* the test run's token: this library's BuildID is unique to the run */
__attribute__((used)) static const char token[] = LC_TOKEN;
static int served;

__attribute__((noinline)) void serve(int n)
{
	served++;
	printf("served %d (call %d)\n", n, served);
	fflush(stdout);
}
