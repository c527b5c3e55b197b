/*
 * asm_symmap.c - names that drift between the original and patched builds
 * of a unit without meaning anything: GCC's per-unit counters in static
 * locals and clones.
 *
 *   original:  count.0   helper.part.0        patched:  count.1   helper.part.1
 *
 * (a static added elsewhere in the unit took .0).  A patched `base.N` maps
 * to the original's `base.M` when `base` is unique in both units; with
 * several of the same base in both, and the same number of them, they map
 * in counter order.  Otherwise no mapping, and a warning in the report.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "asm.h"

struct suffixed {
	const char *s;
	size_t len, base_len;
	long n;
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

static int suffixed_cmp(const void *a, const void *b)
{
	const struct suffixed *x = a, *y = b;
	size_t n = x->base_len < y->base_len ? x->base_len : y->base_len;
	int c = memcmp(x->s, y->s, n);
	if (c)
		return c;
	if (x->base_len != y->base_len)
		return x->base_len < y->base_len ? -1 : 1;
	return (x->n > y->n) - (x->n < y->n);
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
		v[n++] = (struct suffixed){ s, len, bl, num };
	}
	if (n)
		qsort(v, n, sizeof(*v), suffixed_cmp);
	*count = n;
	return v;
}

/* Length of the run of entries with the same base starting at i. */
static size_t run_len(const struct suffixed *v, size_t n, size_t i)
{
	size_t j = i + 1;
	while (j < n && v[j].base_len == v[i].base_len && !memcmp(v[j].s, v[i].s, v[i].base_len))
		j++;
	return j - i;
}

void lc_symmap_build(struct lc_symmap *m, const struct lc_asm_unit *orig,
		     const struct lc_asm_unit *patched, struct lc_buf *report)
{
	size_t no, np;
	struct suffixed *vo = suffixed_collect(orig, &no);
	struct suffixed *vp = suffixed_collect(patched, &np);
	memset(m, 0, sizeof(*m));
	size_t i = 0, j = 0;
	while (i < np) {
		size_t rp = run_len(vp, np, i);
		while (j < no && suffixed_cmp(&(struct suffixed){ vo[j].s, vo[j].len, vo[j].base_len, 0 },
					     &(struct suffixed){ vp[i].s, vp[i].len, vp[i].base_len, 0 }) < 0)
			j += run_len(vo, no, j);
		size_t ro = 0;
		if (j < no && vo[j].base_len == vp[i].base_len && !memcmp(vo[j].s, vp[i].s, vp[i].base_len))
			ro = run_len(vo, no, j);
		if (ro && ro == rp) {
			for (size_t k = 0; k < rp; k++) {
				m->names = lc_xrealloc(m->names, (m->n + 1) * sizeof(*m->names));
				m->names[m->n] = lc_xstrndup(vo[j + k].s, vo[j + k].len);
				lc_strmap_put(&m->map, vp[i + k].s, vp[i + k].len, (int)m->n);
				m->n++;
				if (report && (vo[j + k].len != vp[i + k].len ||
					       memcmp(vo[j + k].s, vp[i + k].s, vp[i + k].len)))
					lc_buf_addf(report, "renamed: %.*s -> %.*s\n", (int)vp[i + k].len,
						    vp[i + k].s, (int)vo[j + k].len, vo[j + k].s);
			}
		} else if (ro && report) {
			lc_buf_addf(report, "warning: %zu '%.*s.N' in the original, %zu in the patched unit: "
				    "not mapped\n", ro, (int)vp[i].base_len, vp[i].s, rp);
		}
		i += rp;
	}
	free(vo);
	free(vp);
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

void lc_symmap_free(struct lc_symmap *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->names[i]);
	free(m->names);
	lc_strmap_free(&m->map);
	memset(m, 0, sizeof(*m));
}
