/*
 * debian_hardening_flags: built with Debian's flags (dpkg-buildflags
 * CFLAGS, CPPFLAGS, LDFLAGS with hardening=+all: -fstack-protector-strong,
 * -D_FORTIFY_SOURCE=2, -z relro -z now, -fcf-protection, -g).  The patched
 * format() uses a stack buffer (canary), fortified string calls
 * (__snprintf_chk, __memcpy_chk) and a libc function bound at start-up.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

__attribute__((noinline)) void format(int n, char *out, size_t len)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "value %d", n);
	strncpy(out, buf, len - 1);
	out[len - 1] = 0;
}

int main(void)
{
	char line[128];

	for (int n = 0;; n++) {
		format(n, line, sizeof(line));
		puts(line);
		fflush(stdout);
		usleep(50000);
	}
}
