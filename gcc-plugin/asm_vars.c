/*
 * asm_vars.c - the types of a unit's variables, as recorded by the plugin,
 * and the refusal of a type change.
 *
 * The running process keeps the original's storage of every existing
 * variable.  Its size and initial value are checked on the assembly
 * (asm_match.c), but a change of type that keeps both - fields of a
 * zero-initialised struct swapped, `int` becoming `float` - shows nowhere in
 * the data directives, only in the code that reads it; patched code would
 * then read the old bytes with the new layout.  The plugin therefore writes
 * one comment line per variable the unit defines (plugin.cc):
 *
 *	# libcare:var KEY TYPE
 *
 * KEY is the assembler name (`counter`), or FUNCTION::NAME for a static
 * local (its assembler name `calls.0` drifts); TYPE is the layout:
 * `struct{a:i32@0;b:f32@32}` (field: type @ bit offset), `i32`, `u8[16]`,
 * `*struct S` (a pointer: the pointee by name only).  A key present in both
 * builds with another TYPE is refused:
 *
 *	data object 'st' changed type (struct{a:i32@0;b:i32@32} ->
 *	struct{b:i32@0;a:i32@32}): cannot be live-patched
 *
 * Comment lines never reach the object.  Texts without such lines (plain
 * gcc -S output given to libcare-gensrc) are not checked.
 */
#include <string.h>
#include "asm.h"

/* Finds the TYPE of KEY in text's var lines; NULL if absent. */
static const char *vars_find(const char *text, size_t len, const char *key, size_t klen,
			     size_t *tlen)
{
	static const char mark[] = LC_MARK_VAR;
	const size_t mlen = sizeof(mark) - 1;
	for (const char *p = text, *end = text + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (n > mlen + klen && memcmp(p, mark, mlen) == 0 &&
		    memcmp(p + mlen, key, klen) == 0 && p[mlen + klen] == ' ') {
			*tlen = n - mlen - klen - 1;
			return p + mlen + klen + 1;
		}
		p += n + 1;
	}
	return NULL;
}

int lc_vars_compare(const char *orig, size_t orig_len, const char *patched, size_t patched_len,
		    struct lc_buf *err)
{
	static const char mark[] = LC_MARK_VAR;
	const size_t mlen = sizeof(mark) - 1;
	for (const char *p = patched, *end = patched + patched_len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (n > mlen && memcmp(p, mark, mlen) == 0) {
			const char *key = p + mlen;
			const char *sp = memchr(key, ' ', n - mlen);
			if (sp) {
				size_t klen = (size_t)(sp - key), plen = n - mlen - klen - 1, olen;
				const char *ot = vars_find(orig, orig_len, key, klen, &olen);
				if (ot && (olen != plen || memcmp(ot, sp + 1, plen) != 0)) {
					const char *sep = memchr(key, ':', klen);
					if (sep && sep + 1 < key + klen && sep[1] == ':')
						lc_buf_addf(err, "static variable '%.*s' of function "
							    "'%.*s'", (int)(key + klen - sep - 2), sep + 2,
							    (int)(sep - key), key);
					else
						lc_buf_addf(err, "data object '%.*s'", (int)klen, key);
					lc_buf_addf(err, " changed type (%.*s -> %.*s): cannot be "
						    "live-patched", (int)olen, ot, (int)plen, sp + 1);
					return -1;
				}
			}
		}
		p += n + 1;
	}
	return 0;
}
