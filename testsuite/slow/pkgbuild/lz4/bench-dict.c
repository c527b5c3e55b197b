/*
 * bench-dict.c - the two functions lz4's command line needs that Debian's
 * liblz4.so.1 does not export.  programs/bench.c calls LZ4_attach_dictionary
 * and LZ4_attach_HC_dictionary for a benchmark with a dictionary (-b -D):
 * upstream builds its shared-library lz4 (lz4-wlib) against a library made
 * with LZ4_PUBLISH_STATIC_FUNCTIONS, Debian's is made with
 * LZ4F_PUBLISH_STATIC_FUNCTIONS only.  Nothing in the tests run here
 * benchmarks with a dictionary; if something does, it fails loudly.
 */
#include <stdio.h>
#include <stdlib.h>

void LZ4_attach_dictionary(void *stream, const void *dict);
void LZ4_attach_HC_dictionary(void *stream, const void *dict);

static void missing(const char *name)
{
	fprintf(stderr, "lz4: %s is not exported by Debian's liblz4.so.1: no benchmark with a dictionary here\n",
		name);
	abort();
}

void LZ4_attach_dictionary(void *stream, const void *dict)
{
	(void)stream;
	(void)dict;
	missing("LZ4_attach_dictionary");
}

void LZ4_attach_HC_dictionary(void *stream, const void *dict)
{
	(void)stream;
	(void)dict;
	missing("LZ4_attach_HC_dictionary");
}
