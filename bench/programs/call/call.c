/*
 * call - the patient of the call-overhead benchmark (bench/call.sh).
 *
 * small() is the function the benchmark patches (fix.diff changes its
 * constant, so the replacement has the same instructions).  The loop calls
 * it with each result fed into the next call, so every call is on the
 * critical path: after the patch each call also goes through the 5-byte jump
 * at small's old entry.
 *
 * usage: call CALLS
 * Commands on stdin, one per line, answers on stdout:
 *   m   run CALLS calls; "NS_PER_CALL RESULT_OF_small(0)"
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

__attribute__((noipa)) unsigned small(unsigned x)
{
	return x * 2654435761u + 1;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	char line[64];
	long calls;

	if (argc != 2 || (calls = atol(argv[1])) <= 0) {
		fprintf(stderr, "usage: call CALLS\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready %d\n", (int)getpid());
	while (fgets(line, sizeof(line), stdin)) {
		if (line[0] != 'm')
			continue;
		unsigned acc = 0;
		double t0 = now_ns();

		for (long i = 0; i < calls; i++)
			acc = small(acc ^ (unsigned)i);
		double t1 = now_ns();

		printf("%.3f %u %u\n", (t1 - t0) / (double)calls, small(0), acc);
	}
	return 0;
}
