/*
 * guard_alone.c - the reading of a thread's status line that says it runs
 * with a shadow stack (doctor/guard.c): the x86_Thread_features line as
 * Linux 6.6 and later print it (each enabled feature followed by a space),
 * never the _locked line, never another word.  And lc_guard_check on this
 * process itself, whose threads have none on this machine (or no such
 * line at all): nothing refused.  Exit 0 if every check passes.
 */
#include <stdio.h>
#include <unistd.h>
#include "../doctor.h"

static int failed;

static void expect(const char *line, int want)
{
	int got = lc_guard_line_shstk(line);
	if (got != want) {
		printf("FAIL: '%s' read as %d, expected %d\n", line, got, want);
		failed++;
	}
}

int main(void)
{
	expect("x86_Thread_features:\tshstk wrss \n", 1);
	expect("x86_Thread_features:\twrss shstk \n", 1);
	expect("x86_Thread_features:\tshstk \n", 1);
	expect("x86_Thread_features:\tshstk", 1);
	expect("x86_Thread_features:\t\n", 0);
	expect("x86_Thread_features:\twrss \n", 0);
	expect("x86_Thread_features_locked:\tshstk \n", 0);
	expect("x86_Thread_features:\tshstkx \n", 0);
	expect("x86_Thread_features:\txshstk \n", 0);
	expect("Name:\tshstk\n", 0);
	expect("", 0);
	/* this process: no shadow stack here, no tracer, no seccomp */
	if (lc_guard_check(getpid()) != 0) {
		printf("FAIL: lc_guard_check refused this process\n");
		failed++;
	}
	printf("%s\n", failed ? "FAILED" : "all passed");
	return failed != 0;
}
