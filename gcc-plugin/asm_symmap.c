/*
 * asm_symmap.c - names that drift between the original and patched builds
 * of a unit without meaning anything: GCC's per-unit counters in static
 * locals and clones.
 *
 *   original:  count.0   helper.part.0        patched:  count.1   helper.part.1
 *
 * (a static added elsewhere in the unit took .0).  Within one base name:
 *  - unique in both units: patched base.N -> original base.M;
 *  - several: paired by the functions that use them (a static local is
 *    used by its own function), when that pairing is unambiguous; one
 *    leftover on each side pairs up as well;
 *  - a leftover whose name exists in the original but means something else
 *    there is "fresh": a new symbol, never the original's storage.
 * Anything left ambiguous is reported as a warning.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "asm.h"

struct suffixed {
	const char *s;
	size_t len, base_len;
	long n;
	char *users;        /* sorted names of the functions using it, "f,g," */
	int matched;
	int need_users;     /* its base has several entries on a side */
};

/* "count.12" -> base_len 5, n 12; 0 if the name has no numeric suffix. */
static int suffix_split(const char *s, size_t len, size_t *base_len, long *n)
{
	size_t i = len;
	while (i > 0 && isdigit((unsigned char)s[i - 1]))
		i--;
	if (i == len || i < 2 || s[i - 1] != '.')
		return 0;
	*base_len = i - 1;
	*n = atol(s + i);
	return 1;
}

static int base_cmp(const struct suffixed *x, const struct suffixed *y)
{
	size_t n = x->base_len < y->base_len ? x->base_len : y->base_len;
	int c = memcmp(x->s, y->s, n);
	if (c)
		return c;
	return (x->base_len > y->base_len) - (x->base_len < y->base_len);
}

static int suffixed_cmp(const void *a, const void *b)
{
	const struct suffixed *x = a, *y = b;
	int c = base_cmp(x, y);
	return c ? c : (x->n > y->n) - (x->n < y->n);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct users_ctx {
	struct lc_strmap idx;
	struct lc_buf *bufs;
	long *last;
	long func;
	const char *fname;
	size_t fname_len;
};

static int users_sym(void *vctx, const struct lc_sym_ref *r, struct lc_buf *out)
{
	struct users_ctx *c = vctx;
	int i = lc_strmap_get(&c->idx, r->s, r->len);
	(void)out;
	if (i >= 0 && c->last[i] != c->func) {
		c->last[i] = c->func;
		lc_buf_add(&c->bufs[i], c->fname, c->fname_len);
		lc_buf_adds(&c->bufs[i], ",");
	}
	return 0;
}

/* "g,f," -> "f,g," */
static char *users_sorted(struct lc_buf *b)
{
	char **names = NULL, *save = NULL;
	size_t n = 0;
	struct lc_buf out = LC_BUF_INIT;
	for (char *t = strtok_r(b->data, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		names = lc_xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = t;
	}
	if (n)
		qsort(names, n, sizeof(*names), str_cmp);
	for (size_t i = 0; i < n; i++)
		lc_buf_addf(&out, "%s,", names[i]);
	free(names);
	return out.data ? out.data : lc_xstrdup("");
}

/* Whether ".<digit>" is in s: in every line that names a base.N. */
static int has_dot_digit(const char *s, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++)
		if (s[i] == '.' && (unsigned char)(s[i + 1] - '0') < 10)
			return 1;
	return 0;
}

/* Which functions use each suffixed symbol that needs it (function names
 * without their own counter, so clones compare across builds).  Finding
 * them walks every line of every function: only done if some base has
 * several entries, the only case where users pair names up. */
static void users_collect(const struct lc_asm_unit *u, struct suffixed *v, size_t n)
{
	size_t need = 0;
	for (size_t i = 0; i < n; i++)
		need += v[i].need_users != 0;
	if (!need) {
		for (size_t i = 0; i < n; i++)
			v[i].users = lc_xstrdup("");
		return;
	}
	struct users_ctx c = { { 0 }, lc_xcalloc(n, sizeof(struct lc_buf)),
			       lc_xcalloc(n, sizeof(long)), 0, NULL, 0 };
	struct lc_buf scratch = LC_BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		if (v[i].need_users)
			lc_strmap_put(&c.idx, v[i].s, v[i].len, (int)i);
		c.last[i] = -1;
	}
	for (size_t fi = 0; fi < u->nfuncs; fi++) {
		size_t bl;
		long num;
		c.func = (long)fi;
		c.fname = u->funcs[fi].name;
		c.fname_len = strlen(c.fname);
		if (suffix_split(c.fname, c.fname_len, &bl, &num))
			c.fname_len = bl;
		for (size_t k = u->funcs[fi].first; k < u->funcs[fi].end; k++) {
			if (!has_dot_digit(u->lines[k].s, u->lines[k].len))
				continue;   /* names no base.N */
			lc_buf_reset(&scratch);
			lc_line_rewrite(u->lines[k].s, u->lines[k].len, users_sym, &c, &scratch);
		}
	}
	for (size_t i = 0; i < n; i++) {
		lc_buf_adds(&c.bufs[i], "");
		v[i].users = users_sorted(&c.bufs[i]);
		lc_buf_free(&c.bufs[i]);
	}
	lc_buf_free(&scratch);
	lc_strmap_free(&c.idx);
	free(c.bufs);
	free(c.last);
}

static struct suffixed *suffixed_collect(const struct lc_asm_unit *u, size_t *count)
{
	struct suffixed *v = NULL;
	size_t n = 0;
	for (size_t i = 0; i < u->defs.cap; i++) {
		const char *s = u->defs.keys[i];
		size_t len = s ? u->defs.lens[i] : 0, bl;
		long num;
		if (!s || lc_name_is_literal(s, len) || !suffix_split(s, len, &bl, &num))
			continue;
		v = lc_xrealloc(v, (n + 1) * sizeof(*v));
		v[n++] = (struct suffixed){ s, len, bl, num, NULL, 0, 0 };
	}
	if (n)
		qsort(v, n, sizeof(*v), suffixed_cmp);
	*count = n;
	return v;
}

static void suffixed_free(struct suffixed *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].users);
	free(v);
}

/* Length of the run of entries with the same base starting at i. */
static size_t run_len(const struct suffixed *v, size_t n, size_t i)
{
	size_t j = i + 1;
	while (j < n && base_cmp(&v[j], &v[i]) == 0)
		j++;
	return j - i;
}

static void symmap_add(struct lc_symmap *m, struct suffixed *p, struct suffixed *o,
		       struct lc_buf *report)
{
	p->matched = o->matched = 1;
	m->names = lc_xrealloc(m->names, (m->n + 1) * sizeof(*m->names));
	m->names[m->n] = lc_xstrndup(o->s, o->len);
	lc_strmap_put(&m->map, p->s, p->len, (int)m->n);
	m->n++;
	if (report && (o->len != p->len || memcmp(o->s, p->s, p->len)))
		lc_buf_addf(report, "renamed: %.*s -> %.*s\n", (int)p->len, p->s, (int)o->len, o->s);
}

/* Pairs one base's patched entries p[0..np) with the original's o[0..no). */
static void symmap_run(struct lc_symmap *m, struct suffixed *p, size_t np, struct suffixed *o,
		       size_t no, const struct lc_asm_unit *orig, struct lc_buf *report)
{
	if (np == 1 && no == 1) {
		symmap_add(m, p, o, report);
		return;
	}
	for (size_t i = 0; i < np; i++) {   /* by users, when unambiguous both ways */
		size_t cand = no, ncand = 0, twins = 0;
		if (!*p[i].users)
			continue;
		for (size_t j = 0; j < no; j++)
			if (!o[j].matched && !strcmp(o[j].users, p[i].users))
				cand = j, ncand++;
		for (size_t k = 0; k < np; k++)
			twins += !strcmp(p[k].users, p[i].users);
		if (ncand == 1 && twins == 1)
			symmap_add(m, &p[i], &o[cand], report);
	}
	size_t lp = 0, lo = 0, ip = 0, io = 0;
	for (size_t i = 0; i < np; i++)
		if (!p[i].matched)
			lp++, ip = i;
	for (size_t j = 0; j < no; j++)
		if (!o[j].matched)
			lo++, io = j;
	if (lp == 1 && lo == 1) {
		symmap_add(m, &p[ip], &o[io], report);
		return;
	}
	for (size_t i = 0; i < np; i++) {
		if (p[i].matched)
			continue;
		int same_name_free = 0;
		for (size_t j = 0; j < no; j++)
			if (!o[j].matched && o[j].len == p[i].len && !memcmp(o[j].s, p[i].s, p[i].len))
				same_name_free = 1;
		if (same_name_free && lp == lo)
			continue;   /* nothing better than the same name */
		if (lc_unit_defines(orig, p[i].s, p[i].len)) {
			lc_strmap_put(&m->fresh, p[i].s, p[i].len, 1);
			if (report)
				lc_buf_addf(report, "fresh: %.*s (the original's %.*s is another symbol)\n",
					    (int)p[i].len, p[i].s, (int)p[i].len, p[i].s);
		}
	}
	if (lp && lo && lp != lo && report)
		lc_buf_addf(report, "warning: %zu '%.*s.N' in the original, %zu in the patched unit: "
			    "%zu not paired\n", no, (int)p[0].base_len, p[0].s, np, lp);
}

void lc_symmap_build(struct lc_symmap *m, const struct lc_asm_unit *orig,
		     const struct lc_asm_unit *patched, struct lc_buf *report)
{
	size_t no, np;
	struct suffixed *vo = suffixed_collect(orig, &no);
	struct suffixed *vp = suffixed_collect(patched, &np);
	memset(m, 0, sizeof(*m));
	size_t i = 0, j = 0;
	/* which entries symmap_run pairs by their users */
	while (i < np) {
		size_t rp = run_len(vp, np, i);
		while (j < no && base_cmp(&vo[j], &vp[i]) < 0)
			j += run_len(vo, no, j);
		if (j < no && base_cmp(&vo[j], &vp[i]) == 0) {
			size_t ro = run_len(vo, no, j);
			for (size_t k = 0; (rp > 1 || ro > 1) && k < rp; k++)
				vp[i + k].need_users = 1;
			for (size_t k = 0; (rp > 1 || ro > 1) && k < ro; k++)
				vo[j + k].need_users = 1;
		}
		i += rp;
	}
	users_collect(orig, vo, no);
	users_collect(patched, vp, np);
	i = 0, j = 0;
	while (i < np) {
		size_t rp = run_len(vp, np, i);
		while (j < no && base_cmp(&vo[j], &vp[i]) < 0)
			j += run_len(vo, no, j);
		if (j < no && base_cmp(&vo[j], &vp[i]) == 0)
			symmap_run(m, &vp[i], rp, &vo[j], run_len(vo, no, j), orig, report);
		i += rp;
	}
	suffixed_free(vo, no);
	suffixed_free(vp, np);
}

const char *lc_symmap_lookup(const struct lc_symmap *m, const char *s, size_t *len)
{
	if (!m)
		return s;
	int i = lc_strmap_get(&m->map, s, *len);
	if (i < 0)
		return s;
	*len = strlen(m->names[i]);
	return m->names[i];
}

int lc_symmap_is_fresh(const struct lc_symmap *m, const char *s, size_t len)
{
	return m && lc_strmap_get(&m->fresh, s, len) >= 0;
}

void lc_symmap_free(struct lc_symmap *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->names[i]);
	free(m->names);
	lc_strmap_free(&m->map);
	lc_strmap_free(&m->fresh);
	memset(m, 0, sizeof(*m));
}
