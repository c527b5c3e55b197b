/*
 * verify.c - comparing two normalised images (see verify.h): items paired by
 * key, functions and writable objects that differ, read-only data followed
 * transitively, and whether a patch's replaced functions cover the result.
 *
 *	ORIGINAL: f: lea (%rip),%rax # CSWTCH.#     CSWTCH.#: +0x30: &{"six"}
 *	PATCHED:  f: lea (%rip),%rax # CSWTCH.#     CSWTCH.#: +0x30: &{"SIX"}
 *	-> f differs: uses 'CSWTCH.2', whose contents differ (`+0x30: &{"six"}` -> ...)
 */
#include <stdlib.h>
#include <string.h>
#include "verify.h"

void lc_vimage_init(struct lc_vimage *im)
{
	memset(im, 0, sizeof(*im));
}

void lc_vimage_free(struct lc_vimage *im)
{
	for (size_t i = 0; i < im->n; i++) {
		free(im->item[i].key);
		free(im->item[i].name);
		free(im->item[i].text);
		free(im->item[i].refs);
	}
	free(im->item);
	lc_vimage_init(im);
}

size_t lc_vimage_add(struct lc_vimage *im, const char *key, const char *name, uint64_t addr,
		     uint64_t size, int kind, const char *text)
{
	if (im->n == im->cap) {
		im->cap = im->cap ? 2 * im->cap : 64;
		im->item = lc_xrealloc(im->item, im->cap * sizeof(*im->item));
	}
	struct lc_vitem *it = &im->item[im->n];
	memset(it, 0, sizeof(*it));
	it->key = lc_xstrdup(key);
	it->name = lc_xstrdup(name);
	it->addr = addr;
	it->size = size;
	it->kind = kind;
	it->text = lc_xstrdup(text ? text : "");
	return im->n++;
}

void lc_vimage_ref(struct lc_vimage *im, size_t from, size_t to)
{
	struct lc_vitem *it = &im->item[from];
	for (size_t i = 0; i < it->nrefs; i++)
		if (it->refs[i] == to)
			return;
	it->refs = lc_xrealloc(it->refs, (it->nrefs + 1) * sizeof(*it->refs));
	it->refs[it->nrefs++] = to;
}

void lc_verify_first_diff(const char *a, const char *b, struct lc_buf *out)
{
	while (*a || *b) {
		size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");
		if (la != lb || memcmp(a, b, la) != 0 || !*a || !*b) {
			if (*a)
				lc_buf_addf(out, "`%.*s`", (int)(la > 160 ? 160 : la), a);
			else
				lc_buf_adds(out, "(end)");
			lc_buf_adds(out, " -> ");
			if (*b)
				lc_buf_addf(out, "`%.*s`", (int)(lb > 160 ? 160 : lb), b);
			else
				lc_buf_adds(out, "(end)");
			return;
		}
		a += la + (a[la] == '\n');
		b += lb + (b[lb] == '\n');
	}
	lc_buf_adds(out, "(equal)");
}

/* Items sorted by key, then address: the n-th "count.0" of a key pairs with the n-th. */
struct vkey {
	const struct lc_vitem *it;
	size_t index;
};

static int vkey_cmp(const void *a, const void *b)
{
	const struct vkey *x = a, *y = b;
	int c = strcmp(x->it->key, y->it->key);
	if (c)
		return c;
	if (x->it->addr != y->it->addr)
		return x->it->addr < y->it->addr ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static struct vkey *vkeys(const struct lc_vimage *im)
{
	struct vkey *k = lc_xcalloc(im->n ? im->n : 1, sizeof(*k));
	for (size_t i = 0; i < im->n; i++)
		k[i] = (struct vkey){ &im->item[i], i };
	qsort(k, im->n, sizeof(*k), vkey_cmp);
	return k;
}

/* pair[i]: the index in `p` of ORIGINAL's item i, or SIZE_MAX. */
static size_t *verify_pair(const struct lc_vimage *o, const struct lc_vimage *p, size_t *unpaired_p)
{
	size_t *pair = lc_xmalloc((o->n ? o->n : 1) * sizeof(*pair));
	char *used = lc_xcalloc(p->n ? p->n : 1, 1);
	struct vkey *ko = vkeys(o), *kp = vkeys(p);
	for (size_t i = 0; i < o->n; i++)
		pair[i] = SIZE_MAX;
	for (size_t i = 0, j = 0; i < o->n && j < p->n;) {
		int c = strcmp(ko[i].it->key, kp[j].it->key);
		if (c == 0) {
			pair[ko[i].index] = kp[j].index;
			used[kp[j].index] = 1;
			i++, j++;
		} else if (c < 0) {
			i++;
		} else {
			j++;
		}
	}
	*unpaired_p = 0;
	for (size_t j = 0; j < p->n; j++)
		if (!used[j] && p->item[j].kind == LC_VFUNC)
			(*unpaired_p)++;
	free(ko);
	free(kp);
	free(used);
	return pair;
}

enum { DATA_UNKNOWN, DATA_BUSY, DATA_SAME, DATA_DIFF };

struct verify {
	const struct lc_vimage *o, *p;
	size_t *pair;
	unsigned char *state;   /* per ORIGINAL data item */
	size_t *culprit;        /* the item whose own contents differ (for the reason) */
};

/*
 * Whether read-only data item i of ORIGINAL differs: its own text, or the
 * data it points to.  A cycle (two tables pointing at each other) counts as
 * equal while it is being followed.
 */
static int verify_data_differs(struct verify *v, size_t i)
{
	if (v->state[i] == DATA_SAME || v->state[i] == DATA_BUSY)
		return 0;
	if (v->state[i] == DATA_DIFF)
		return 1;
	const struct lc_vitem *a = &v->o->item[i];
	size_t j = v->pair[i];
	if (j == SIZE_MAX || strcmp(a->text, v->p->item[j].text) != 0) {
		v->state[i] = DATA_DIFF;
		v->culprit[i] = i;
		return 1;
	}
	v->state[i] = DATA_BUSY;
	for (size_t r = 0; r < a->nrefs; r++) {
		size_t t = a->refs[r];
		if (v->o->item[t].kind == LC_VFUNC)
			continue;
		if (verify_data_differs(v, t)) {
			v->state[i] = DATA_DIFF;
			v->culprit[i] = v->culprit[t];
			return 1;
		}
	}
	v->state[i] = DATA_SAME;
	return 0;
}

static void verify_add(struct lc_vdiffs *out, size_t item, int kind, struct lc_buf *why)
{
	out->d = lc_xrealloc(out->d, (out->n + 1) * sizeof(*out->d));
	out->d[out->n++] = (struct lc_vdiff){ item, kind, lc_xstrdup(why->data ? why->data : "") };
}

/* The reason a user of data item `t` differs, appended to `why`. */
static void verify_data_reason(const struct verify *v, size_t t, struct lc_buf *why)
{
	size_t c = v->culprit[t];
	const struct lc_vitem *a = &v->o->item[t], *ca = &v->o->item[c];
	lc_buf_addf(why, "uses '%s'", a->name);
	if (c != t)
		lc_buf_addf(why, ", which points to '%s'", ca->name);
	if (v->pair[c] == SIZE_MAX) {
		lc_buf_adds(why, ", which PLAIN_PATCHED does not have");
		return;
	}
	lc_buf_adds(why, ", whose contents differ (");
	lc_verify_first_diff(ca->text, v->p->item[v->pair[c]].text, why);
	lc_buf_adds(why, ")");
}

void lc_verify_diff(const struct lc_vimage *o, const struct lc_vimage *p, struct lc_vdiffs *out)
{
	struct verify v = { o, p, NULL, NULL, NULL };
	struct lc_buf why = LC_BUF_INIT;
	memset(out, 0, sizeof(*out));
	v.pair = verify_pair(o, p, &out->only_patched);
	v.state = lc_xcalloc(o->n ? o->n : 1, 1);
	v.culprit = lc_xcalloc(o->n ? o->n : 1, sizeof(*v.culprit));
	for (size_t i = 0; i < o->n; i++) {
		const struct lc_vitem *a = &o->item[i];
		size_t j = v.pair[i];
		if (j == SIZE_MAX)
			continue;       /* removed by the fix: it stays as it is */
		const struct lc_vitem *b = &p->item[j];
		lc_buf_reset(&why);
		if (a->kind == LC_VRWDATA) {
			if (strcmp(a->text, b->text) != 0) {
				lc_buf_adds(&why, "initial value: ");
				lc_verify_first_diff(a->text, b->text, &why);
				verify_add(out, i, a->kind, &why);
			}
			continue;
		}
		if (a->kind != LC_VFUNC)
			continue;
		if (strcmp(a->text, b->text) != 0) {
			lc_buf_adds(&why, "code: ");
			lc_verify_first_diff(a->text, b->text, &why);
			verify_add(out, i, a->kind, &why);
			continue;
		}
		for (size_t r = 0; r < a->nrefs; r++) {
			size_t t = a->refs[r];
			if (o->item[t].kind != LC_VRODATA || !verify_data_differs(&v, t))
				continue;
			verify_data_reason(&v, t, &why);
			verify_add(out, i, a->kind, &why);
			break;
		}
	}
	lc_buf_free(&why);
	free(v.pair);
	free(v.state);
	free(v.culprit);
}

void lc_vdiffs_free(struct lc_vdiffs *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->d[i].reason);
	free(d->d);
	memset(d, 0, sizeof(*d));
}

void lc_vreplaced_add(struct lc_vreplaced *r, const char *name, uint64_t addr)
{
	r->name = lc_xrealloc(r->name, (r->n + 1) * sizeof(*r->name));
	r->addr = lc_xrealloc(r->addr, (r->n + 1) * sizeof(*r->addr));
	r->name[r->n] = lc_xstrdup(name);
	r->addr[r->n] = addr;
	r->n++;
}

void lc_vreplaced_free(struct lc_vreplaced *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->name[i]);
	free(r->name);
	free(r->addr);
	memset(r, 0, sizeof(*r));
}

static int verify_replaced(const struct lc_vreplaced *r, const char *name, size_t len,
			   uint64_t addr)
{
	for (size_t i = 0; i < r->n; i++) {
		if (r->addr[i] && addr)
			if (r->addr[i] == addr)
				return 1;
		if ((!r->addr[i] || !addr) && strlen(r->name[i]) == len &&
		    strncmp(r->name[i], name, len) == 0)
			return 1;
	}
	return 0;
}

int lc_verify_covered(const struct lc_vreplaced *r, const struct lc_vimage *o,
		      const struct lc_vitem *it)
{
	if (verify_replaced(r, it->name, strlen(it->name), it->addr))
		return 1;
	/* foo.cold (GCC's -freorder-blocks-and-partition part) goes with foo. */
	size_t n = strlen(it->name);
	if (n > 5 && strcmp(it->name + n - 5, ".cold") == 0) {
		for (size_t i = 0; i < o->n; i++) {
			const struct lc_vitem *f = &o->item[i];
			if (f->kind == LC_VFUNC && strlen(f->name) == n - 5 &&
			    strncmp(f->name, it->name, n - 5) == 0 &&
			    verify_replaced(r, f->name, n - 5, f->addr))
				return 1;
		}
	}
	return 0;
}
