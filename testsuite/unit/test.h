/*
 * test.h - the few macros a LibCare unit test needs.  A test binary runs
 * its checks, prints "N passed, N failed" and exits non-zero on any failure.
 */
#ifndef LIBCARE_TEST_H
#define LIBCARE_TEST_H

#include <stdio.h>
#include <string.h>

static int test_passed, test_failed;

#define CHECK(cond) do { \
	if (cond) test_passed++; \
	else { test_failed++; fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } \
} while (0)

#define CHECK_STR(a, b) do { \
	const char *a_ = (a), *b_ = (b); \
	if (a_ && b_ && strcmp(a_, b_) == 0) test_passed++; \
	else { test_failed++; fprintf(stderr, "%s:%d: CHECK_STR failed:\n--- got:\n%s\n--- expected:\n%s\n", \
		__FILE__, __LINE__, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); } \
} while (0)

#define TEST_DONE() (printf("%d passed, %d failed\n", test_passed, test_failed), test_failed ? 1 : 0)

#endif
