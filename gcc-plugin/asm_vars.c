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
#include <stdlib.h>
#include <string.h>
#include "asm.h"

/* The var lines of a text: KEY -> TYPE.  Built once, so that comparing two
 * units costs one pass over each, not one pass over the original per
 * variable (SQLite has thousands, in 100 MB of -g text). */
struct vars_index {
	struct lc_strmap keys;      /* KEY -> index in types */
	const char **types;
	size_t *tlens, n, cap;
};

/* Calls fn for every "# libcare:var KEY TYPE" line of text. */
static int vars_each(const char *text, size_t len,
		     int (*fn)(void *ctx, const char *key, size_t klen, const char *type,
			       size_t tlen), void *ctx)
{
	static const char mark[] = LC_MARK_VAR;
	const size_t mlen = sizeof(mark) - 1;
	for (const char *p = text, *end = text + len; p < end;) {
		/* var lines are comments: find each by its mark, not line by line */
		const char *m = memmem(p, (size_t)(end - p), mark, mlen);
		if (!m)
			break;
		const char *nl = memchr(m, '\n', (size_t)(end - m));
		const char *e = nl ? nl : end;
		p = nl ? nl + 1 : end;
		if (m != text && m[-1] != '\n')
			continue;   /* the mark inside another line */
		const char *key = m + mlen;
		const char *sp = memchr(key, ' ', (size_t)(e - key));
		if (!sp)
			continue;
		if (fn(ctx, key, (size_t)(sp - key), sp + 1, (size_t)(e - sp - 1)) < 0)
			return -1;
	}
	return 0;
}

static int vars_index_add(void *ctx, const char *key, size_t klen, const char *type, size_t tlen)
{
	struct vars_index *x = ctx;
	if (lc_strmap_get(&x->keys, key, klen) >= 0)
		return 0;   /* the first line of a key counts */
	if (x->n == x->cap) {
		x->cap = x->cap ? x->cap * 2 : 256;
		x->types = lc_xrealloc(x->types, x->cap * sizeof(*x->types));
		x->tlens = lc_xrealloc(x->tlens, x->cap * sizeof(*x->tlens));
	}
	x->types[x->n] = type;
	x->tlens[x->n] = tlen;
	lc_strmap_put(&x->keys, key, klen, (int)x->n++);
	return 0;
}

struct vars_check {
	const struct vars_index *orig;
	struct lc_buf *err;
};

static int vars_check_one(void *ctx, const char *key, size_t klen, const char *type, size_t plen)
{
	struct vars_check *c = ctx;
	int i = lc_strmap_get(&c->orig->keys, key, klen);
	if (i < 0)
		return 0;
	const char *ot = c->orig->types[i];
	size_t olen = c->orig->tlens[i];
	if (olen == plen && memcmp(ot, type, plen) == 0)
		return 0;
	const char *sep = memchr(key, ':', klen);
	if (sep && sep + 1 < key + klen && sep[1] == ':')
		lc_buf_addf(c->err, "static variable '%.*s' of function '%.*s'",
			    (int)(key + klen - sep - 2), sep + 2, (int)(sep - key), key);
	else
		lc_buf_addf(c->err, "data object '%.*s'", (int)klen, key);
	lc_buf_addf(c->err, " changed type (%.*s -> %.*s): cannot be live-patched", (int)olen, ot,
		    (int)plen, type);
	return -1;
}

int lc_vars_compare(const char *orig, size_t orig_len, const char *patched, size_t patched_len,
		    struct lc_buf *err)
{
	struct vars_index x = { 0 };
	vars_each(orig, orig_len, vars_index_add, &x);
	struct vars_check c = { &x, err };
	int ret = x.n ? vars_each(patched, patched_len, vars_check_one, &c) : 0;
	lc_strmap_free(&x.keys);
	free(x.types);
	free(x.tlens);
	return ret;
}
