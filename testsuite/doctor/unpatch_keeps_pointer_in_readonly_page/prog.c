/* The program calls a callback kept in a table of its own that sits alone
 * in a page of a read-only mapping of its file: a const object holding a
 * pointer (.data.rel.ro under PIE: RELRO, made read-only after the dynamic
 * linker wrote it; .rodata without PIE).  The patched setup() makes the
 * page writable for a moment, stores a NEW function (in the patch region)
 * into the table and makes it read-only again, as a program that seals its
 * tables does: the only pointer into the region then lies in a read-only
 * file mapping, in a page that is the process's own copy. */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

typedef void (*callback_fn)(void);

static void old_callback(void)
{
	printf("callback old\n");
}

struct table {
	callback_fn cb;
	char pad[4096 - sizeof(callback_fn)];
};
static const struct table table __attribute__((aligned(4096))) = { old_callback };

/* The callback as it is in memory now (the compiler may not assume the
 * const object unchanged). */
static callback_fn table_cb(void)
{
	return *(const volatile callback_fn *)&table.cb;
}

static volatile unsigned calls;

__attribute__((noipa)) void setup(void)
{
	calls++;
}

int main(void)
{
	printf("token %s\n", LC_TOKEN);
	fflush(stdout);
	for (;;) {
		setup();
		table_cb()();
		fflush(stdout);
		usleep(50000);
	}
}
