/*
 * fuzz_gensrc.c - libFuzzer harness for the plugin's C core: the assembly
 * parser, the pairing of names, the comparison and the emitter
 * (lc_gensrc, the path of the patched stage and of libcare-gensrc).  The
 * input is ORIGINAL and PATCHED assembly separated by a line "#=#=#"; with
 * no separator it is both (the no-change path).
 */
#include <stdint.h>
#include <string.h>
#include "asm.h"
#include "libcare/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	lc_log_set_level(-1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char sep[] = "\n#=#=#\n";
	const char *s = (const char *)data;
	const char *orig = s, *patched = s;
	size_t orig_len = size, patched_len = size;
	const char *m = memmem(s, size, sep, sizeof(sep) - 1);
	if (m) {
		orig_len = (size_t)(m - s) + 1;
		patched = m + sizeof(sep) - 1;
		patched_len = size - (size_t)(patched - s);
	}
	/* as the plugin and libcare-gensrc hand them: NUL-terminated copies */
	struct lc_buf a = LC_BUF_INIT, b = LC_BUF_INIT;
	lc_buf_add(&a, orig, orig_len);
	lc_buf_add(&b, patched, patched_len);
	struct lc_buf out = LC_BUF_INIT, report = LC_BUF_INIT, err = LC_BUF_INIT;
	lc_gensrc(a.data, a.len, b.data, b.len, &out, &report, &err);
	lc_buf_free(&a);
	lc_buf_free(&b);
	lc_buf_free(&out);
	lc_buf_free(&report);
	lc_buf_free(&err);
	return 0;
}
