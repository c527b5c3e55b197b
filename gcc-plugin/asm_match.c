/*
 * asm_match.c - which functions of a unit changed between its original and
 * patched builds, which are new, and whether its data can stay as it is.
 *
 * Functions and data objects pair up by name (through the symmap).  A
 * function whose normalised text differs is changed; one only in the
 * patched unit is new.  The normalised text holds the content of the local
 * read-only data the function uses, transitively (asm_norm.c): a function
 * is unchanged only if its code and all that data are.
 *
 * A data object that exists in both must be equal: the running process
 * keeps the original's storage, so a new size or initial value of writable
 * or global data cannot be live-patched and is refused.  Local read-only
 * data (`static const`) that changed is emitted anew (asm_emit.c) and every
 * function using it is changed through its text.
 */
#include <stdlib.h>
#include <string.h>
#include "asm.h"

static int match_objects(struct lc_match *m, const struct lc_asm_unit *orig,
			 const struct lc_asm_unit *patched, const struct lc_symmap *map,
			 struct lc_buf *report, struct lc_buf *err)
{
	m->obj = lc_xcalloc(patched->nobjs, sizeof(*m->obj));
	for (size_t i = 0; i < patched->nobjs; i++) {
		const struct lc_asm_object *o = &patched->objs[i];
		size_t len = strlen(o->name);
		const char *name = lc_symmap_lookup(map, o->name, &len);
		int j = lc_symmap_is_fresh(map, o->name, strlen(o->name)) ? -1 :
			lc_unit_find_obj(orig, name, len);
		if (j < 0) {
			if (o->tls) {
				lc_buf_addf(err, "new thread-local object '%s': cannot be live-patched",
					    o->name);
				return -1;
			}
			m->obj[i] = LC_NEW;
			m->nnewobj++;
			lc_buf_addf(report, "new data: %s\n", o->name);
			continue;
		}
		struct lc_buf a = LC_BUF_INIT, b = LC_BUF_INIT;
		lc_norm_object(orig, &orig->objs[j], NULL, &a);
		lc_norm_object(patched, o, map, &b);
		int same = a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
		lc_buf_free(&a);
		lc_buf_free(&b);
		if (!same && o->ro && !o->global && o->label >= 0 && !orig->objs[j].global) {
			/* static const data: a new copy for the code that uses it */
			m->obj[i] = LC_CHANGED;
			m->nchangedobj++;
			lc_buf_addf(report, "changed data: %s (", o->name);
			lc_norm_data(orig, orig->objs[j].name, strlen(orig->objs[j].name), NULL, &a);
			lc_norm_data(patched, o->name, strlen(o->name), map, &b);
			if (a.len == b.len && memcmp(a.data, b.data, a.len) == 0)
				lc_buf_addf(report, "size %ld -> %ld", orig->objs[j].size, o->size);
			else
				lc_match_data_why(&a, &b, report);
			lc_buf_adds(report, "; read-only: emitted anew)\n");
			lc_buf_free(&a);
			lc_buf_free(&b);
			continue;
		}
		if (!same) {
			lc_buf_addf(err, "data object '%.*s' changed (size or initial value): "
				    "cannot be live-patched", (int)len, name);
			return -1;
		}
		m->obj[i] = LC_SAME;
	}
	return 0;
}

/* Appends why two normalised texts differ: the first line that differs,
 * "code: `ORIGINAL` -> `PATCHED`" (one side may be "end"), each cut to
 * 60 characters.  A changed __LINE__ shows as a changed constant. */
void lc_match_why(const struct lc_buf *a, const struct lc_buf *b, struct lc_buf *report)
{
	const char *pa = a->data ? a->data : "", *pb = b->data ? b->data : "";
	const char *ea = pa + a->len, *eb = pb + b->len;
	for (;;) {
		const char *na = memchr(pa, '\n', (size_t)(ea - pa)), *nb = memchr(pb, '\n', (size_t)(eb - pb));
		size_t la = na ? (size_t)(na - pa) : (size_t)(ea - pa);
		size_t lb = nb ? (size_t)(nb - pb) : (size_t)(eb - pb);
		if (pa < ea && pb < eb && la == lb && memcmp(pa, pb, la) == 0) {
			pa += la + (na != NULL);
			pb += lb + (nb != NULL);
			continue;
		}
		lc_buf_adds(report, "code: ");
		if (pa < ea)
			lc_buf_addf(report, "`%.*s%s`", (int)(la > 60 ? 60 : la), pa, la > 60 ? "..." : "");
		else
			lc_buf_adds(report, "end");
		lc_buf_adds(report, " -> ");
		if (pb < eb)
			lc_buf_addf(report, "`%.*s%s`", (int)(lb > 60 ? 60 : lb), pb, lb > 60 ? "..." : "");
		else
			lc_buf_adds(report, "end");
		return;
	}
}

static void cut60(struct lc_buf *out, const char *s, size_t n)
{
	lc_buf_addf(out, "`%.*s%s`", (int)(n > 60 ? 60 : n), s, n > 60 ? "..." : "");
}

void lc_match_data_why(const struct lc_buf *a, const struct lc_buf *b, struct lc_buf *report)
{
	const char *pa = a->data ? a->data : "", *pb = b->data ? b->data : "";
	const char *ea = pa + a->len, *eb = pb + b->len;
	for (int k = 0;; k++) {
		const char *na = memchr(pa, '\n', (size_t)(ea - pa)), *nb = memchr(pb, '\n', (size_t)(eb - pb));
		size_t la = na ? (size_t)(na - pa) : (size_t)(ea - pa);
		size_t lb = nb ? (size_t)(nb - pb) : (size_t)(eb - pb);
		if (pa >= ea && pb >= eb)
			return;
		if (pa < ea && pb < eb && la == lb && memcmp(pa, pb, la) == 0) {
			pa += la + (na != NULL);
			pb += lb + (nb != NULL);
			continue;
		}
		lc_buf_addf(report, "entry %d changed: ", k);
		if (pa < ea)
			cut60(report, pa, la);
		else
			lc_buf_adds(report, "none");
		lc_buf_adds(report, " -> ");
		if (pb < eb)
			cut60(report, pb, lb);
		else
			lc_buf_adds(report, "none");
		return;
	}
}

/*
 * Why function i (patched) differs from j (original): its code, or - the
 * code being the same - the first local datum it uses whose content differs:
 * "uses CSWTCH.2, whose entry 6 changed: `.quad {.string "six";}` -> ...".
 */
static void match_func_why(const struct lc_asm_unit *orig, size_t j,
			   const struct lc_asm_unit *patched, size_t i, const struct lc_symmap *map,
			   const struct lc_buf *a, const struct lc_buf *b, struct lc_buf *report)
{
	struct lc_buf sa = LC_BUF_INIT, sb = LC_BUF_INIT;
	struct lc_norm_refs ra = { 0 }, rb = { 0 };
	lc_norm_func_ex(orig, j, NULL, 1, &ra, &sa);
	lc_norm_func_ex(patched, i, map, 1, &rb, &sb);
	int code_same = sa.len == sb.len && memcmp(sa.data, sb.data, sa.len) == 0;
	if (code_same && ra.n == rb.n) {
		for (size_t k = 0; k < ra.n; k++) {
			struct lc_buf da = LC_BUF_INIT, db = LC_BUF_INIT;
			lc_norm_data(orig, ra.s[k], ra.len[k], NULL, &da);
			lc_norm_data(patched, rb.s[k], rb.len[k], map, &db);
			int differ = da.len != db.len || memcmp(da.data, db.data, da.len) != 0;
			if (differ) {
				lc_buf_addf(report, "uses %.*s, whose ", (int)rb.len[k], rb.s[k]);
				lc_match_data_why(&da, &db, report);
			}
			lc_buf_free(&da);
			lc_buf_free(&db);
			if (differ)
				goto done;
		}
	}
	lc_match_why(a, b, report);
done:
	lc_buf_free(&sa);
	lc_buf_free(&sb);
	lc_norm_refs_free(&ra);
	lc_norm_refs_free(&rb);
}

struct code_refs_ctx {
	const struct lc_asm_unit *u;
	struct lc_strmap *code_labels;  /* .L label in text -> its function */
	int func;                       /* the first such label's function, or -1 */
};

static int code_refs_sym(void *vctx, const struct lc_sym_ref *r, struct lc_buf *out)
{
	struct code_refs_ctx *c = vctx;
	(void)out;
	if (c->func < 0 && r->len > 2 && r->s[0] == '.' && r->s[1] == 'L')
		c->func = lc_strmap_get(c->code_labels, r->s, r->len);
	return 0;
}

/*
 * Data holding code addresses (`static void *const ops[] = { &&add, ...}`:
 * .quad .L3) points into one function's body.  When that function is
 * replaced, the data must point into the replacement: local read-only
 * data is emitted anew (its .L3 becomes the copy's .Lkp.L3); writable or
 * global data keeps the original's storage, pointing into the old code:
 * refused.
 */
static int match_code_refs(struct lc_match *m, const struct lc_asm_unit *p,
			   struct lc_buf *report, struct lc_buf *err)
{
	struct lc_strmap labels = { 0 };
	int built = 0, ret = 0;
	struct lc_buf scratch = LC_BUF_INIT;
	for (size_t i = 0; i < p->nobjs && !ret; i++) {
		const struct lc_asm_object *o = &p->objs[i];
		int any = 0;
		if (o->label < 0 || m->obj[i] != LC_SAME)
			continue;
		for (size_t k = o->first; k < o->end && !any; k++)
			any = memmem(p->lines[k].s, p->lines[k].len, ".L", 2) != NULL;
		if (!any)
			continue;
		if (!built) {
			for (size_t k = 0; k < p->nlines; k++) {
				struct lc_line_info li;
				const struct lc_asm_line *l = &p->lines[k];
				if (l->func < 0 || l->sec_kind != LC_SEC_TEXT)
					continue;
				lc_line_classify(l->s, l->len, &li);
				if (li.kind == LC_LINE_LABEL && li.word_len > 2 && li.word[0] == '.' &&
				    li.word[1] == 'L')
					lc_strmap_put(&labels, li.word, li.word_len, l->func);
			}
			built = 1;
		}
		struct code_refs_ctx c = { p, &labels, -1 };
		for (size_t k = o->first; k < o->end && c.func < 0; k++) {
			lc_buf_reset(&scratch);
			lc_line_rewrite(p->lines[k].s, p->lines[k].len, code_refs_sym, &c, &scratch);
		}
		if (c.func < 0 || m->func[c.func] == LC_SAME)
			continue;
		if (o->ro && !o->global) {
			m->obj[i] = LC_CHANGED;
			m->nchangedobj++;
			lc_buf_addf(report, "changed data: %s (holds code addresses in %s, which changed; "
				    "read-only: emitted anew)\n", o->name, p->funcs[c.func].name);
			continue;
		}
		lc_buf_addf(err, "data object '%s' holds code addresses in '%s', which changed: the "
			    "running process keeps the original's, pointing into the old code: cannot "
			    "be live-patched", o->name, p->funcs[c.func].name);
		ret = -1;
	}
	lc_strmap_free(&labels);
	lc_buf_free(&scratch);
	return ret;
}

int lc_match_units(struct lc_match *m, const struct lc_asm_unit *orig,
		   const struct lc_asm_unit *patched, const struct lc_symmap *map,
		   struct lc_buf *report, struct lc_buf *err)
{
	struct lc_strmap seen = { 0 };
	memset(m, 0, sizeof(*m));
	m->func = lc_xcalloc(patched->nfuncs, sizeof(*m->func));
	m->func_orig = lc_xcalloc(patched->nfuncs, sizeof(*m->func_orig));
	for (size_t i = 0; i < patched->nfuncs; i++) {
		const char *pname = patched->funcs[i].name;
		size_t len = strlen(pname);
		const char *name = lc_symmap_lookup(map, pname, &len);
		int j = lc_symmap_is_fresh(map, pname, len) ? -1 : lc_unit_find_func(orig, name, len);
		if (j >= 0)
			lc_strmap_put(&seen, name, len, 1);
		m->func_orig[i] = j;
		if (j < 0) {
			m->func[i] = LC_NEW;
			m->nnew++;
			lc_buf_addf(report, "new: %s\n", pname);
			continue;
		}
		struct lc_buf a = LC_BUF_INIT, b = LC_BUF_INIT;
		lc_norm_func(orig, (size_t)j, NULL, &a);
		lc_norm_func(patched, i, map, &b);
		if (a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0)) {
			m->func[i] = LC_SAME;
		} else {
			m->func[i] = LC_CHANGED;
			m->nchanged++;
			lc_buf_addf(report, "changed: %.*s (", (int)len, name);
			match_func_why(orig, (size_t)j, patched, i, map, &a, &b, report);
			lc_buf_adds(report, ")\n");
		}
		lc_buf_free(&a);
		lc_buf_free(&b);
	}
	for (size_t j = 0; j < orig->nfuncs; j++)
		if (lc_strmap_get(&seen, orig->funcs[j].name, strlen(orig->funcs[j].name)) < 0)
			lc_buf_addf(report, "removed: %s (stays as it is)\n", orig->funcs[j].name);
	lc_strmap_free(&seen);
	if (match_objects(m, orig, patched, map, report, err) < 0)
		return -1;
	return match_code_refs(m, patched, report, err);
}

void lc_match_free(struct lc_match *m)
{
	free(m->func);
	free(m->func_orig);
	free(m->obj);
	memset(m, 0, sizeof(*m));
}
