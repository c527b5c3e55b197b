/*
 * The cross-check's comparison (linker/verify.c) on hand-made images: what
 * differs, why, through which data, and whether the patch covers it.
 */
#include <stdlib.h>
#include "verify.h"
#include "test.h"

/* ORIGINAL: main calls name; name uses CSWTCH.2, which points to a literal. */
static void base(struct lc_vimage *im, const char *six, const char *counter, uint64_t shift)
{
	lc_vimage_init(im);
	size_t m = lc_vimage_add(im, "main", "main", 0x1040 + shift, 20, LC_VFUNC,
				 "endbr64\ncall x.c:name\nret\n");
	size_t n = lc_vimage_add(im, "x.c:name", "name", 0x1140 + shift, 30, LC_VFUNC,
				 "lea (%rip),%rax # x.c:CSWTCH.#\nmov (%rax,%rdi,8),%rax\nret\n");
	size_t t = lc_vimage_add(im, "x.c:CSWTCH.#", "CSWTCH.2", 0x2000, 16, LC_VRODATA, six);
	size_t c = lc_vimage_add(im, "x.c:count.#", "count.0", 0x4010, 4, LC_VRWDATA, counter);
	lc_vimage_add(im, "x.c:tick", "tick", 0x1180 + shift, 8, LC_VFUNC,
		      "addl $1,(%rip) # x.c:count.#\nret\n");
	lc_vimage_ref(im, n, t);
	lc_vimage_ref(im, 4, c);
	(void)m;
}

static const char tbl_six[] = "+0x0: &{\"five\"}\n+0x8: &{\"six\"}\n";
static const char tbl_SIX[] = "+0x0: &{\"five\"}\n+0x8: &{\"SIX\"}\n";

static const struct lc_vdiff *find(const struct lc_vdiffs *d, const struct lc_vimage *o,
				   const char *name)
{
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(o->item[d->d[i].item].name, name) == 0)
			return &d->d[i];
	return NULL;
}

/* Same content, every function moved by 0x40: nothing differs. */
static void test_moved_is_equal(void)
{
	struct lc_vimage o, p;
	struct lc_vdiffs d;
	base(&o, tbl_six, "+0x0: 00000000\n", 0);
	base(&p, tbl_six, "+0x0: 00000000\n", 0x40);
	lc_verify_diff(&o, &p, &d);
	CHECK(d.n == 0);
	CHECK(d.only_patched == 0);
	lc_vdiffs_free(&d);
	lc_vimage_free(&o);
	lc_vimage_free(&p);
}

/* The CSWTCH case: name's text is the same, its table's target changed. */
static void test_table_change_names_user(void)
{
	struct lc_vimage o, p;
	struct lc_vdiffs d;
	base(&o, tbl_six, "+0x0: 00000000\n", 0);
	base(&p, tbl_SIX, "+0x0: 00000000\n", 0);
	lc_verify_diff(&o, &p, &d);
	CHECK(d.n == 1);
	const struct lc_vdiff *n = find(&d, &o, "name");
	CHECK(n != NULL);
	CHECK(find(&d, &o, "main") == NULL);    /* calling a changed function is no change */
	if (n)
		CHECK_STR(n->reason, "uses 'CSWTCH.2', whose contents differ "
				     "(`+0x8: &{\"six\"}` -> `+0x8: &{\"SIX\"}`)");
	/* covered when the patch replaces name, by address or by name */
	struct lc_vreplaced r = { 0 };
	CHECK(n && !lc_verify_covered(&r, &o, &o.item[n->item]));
	lc_vreplaced_add(&r, "main", 0x1040);
	CHECK(n && !lc_verify_covered(&r, &o, &o.item[n->item]));
	lc_vreplaced_add(&r, "name", 0x1140);
	CHECK(n && lc_verify_covered(&r, &o, &o.item[n->item]));
	lc_vreplaced_free(&r);
	/* an address wins over the name: another 'name' (other unit) is not it */
	lc_vreplaced_add(&r, "name", 0x9999);
	CHECK(n && !lc_verify_covered(&r, &o, &o.item[n->item]));
	lc_vreplaced_free(&r);
	lc_vreplaced_add(&r, "name", 0);
	CHECK(n && lc_verify_covered(&r, &o, &o.item[n->item]));
	lc_vreplaced_free(&r);
	lc_vdiffs_free(&d);
	lc_vimage_free(&o);
	lc_vimage_free(&p);
}

/* Data pointing to data: the change two levels down is found and named. */
static void test_transitive_data(void)
{
	struct lc_vimage o, p;
	struct lc_vdiffs d;
	for (int side = 0; side < 2; side++) {
		struct lc_vimage *im = side ? &p : &o;
		lc_vimage_init(im);
		size_t f = lc_vimage_add(im, "f", "f", 0x1000, 9, LC_VFUNC, "lea (%rip),%rax # outer\n");
		size_t a = lc_vimage_add(im, "outer", "outer", 0x2000, 8, LC_VRODATA, "+0x0: &inner\n");
		size_t b = lc_vimage_add(im, "inner", "inner", 0x2008, 4, LC_VRODATA,
					 side ? "+0x0: 02000000\n" : "+0x0: 01000000\n");
		/* a cycle back to outer must not loop */
		lc_vimage_ref(im, b, a);
		lc_vimage_ref(im, f, a);
		lc_vimage_ref(im, a, b);
	}
	lc_verify_diff(&o, &p, &d);
	CHECK(d.n == 1);
	if (d.n == 1)
		CHECK_STR(d.d[0].reason, "uses 'outer', which points to 'inner', whose contents "
					 "differ (`+0x0: 01000000` -> `+0x0: 02000000`)");
	lc_vdiffs_free(&d);
	lc_vimage_free(&o);
	lc_vimage_free(&p);
}

/* Code changes, writable data, removed and new functions, cold parts. */
static void test_code_data_removed_new_cold(void)
{
	struct lc_vimage o, p;
	struct lc_vdiffs d;
	base(&o, tbl_six, "+0x0: 00000000\n", 0);
	base(&p, tbl_six, "+0x0: 07000000\n", 0);
	lc_vimage_add(&o, "gone", "gone", 0x1300, 4, LC_VFUNC, "ret\n");
	lc_vimage_add(&p, "fresh", "fresh", 0x1300, 4, LC_VFUNC, "ret\n");
	lc_vimage_add(&o, "x.c:work", "work", 0x1400, 4, LC_VFUNC, "mov $0x1,%eax\nret\n");
	lc_vimage_add(&p, "x.c:work", "work", 0x1400, 4, LC_VFUNC, "mov $0x2,%eax\nret\n");
	lc_vimage_add(&o, "x.c:work.cold", "work.cold", 0x1500, 4, LC_VFUNC, "ud2\n");
	lc_vimage_add(&p, "x.c:work.cold", "work.cold", 0x1500, 4, LC_VFUNC, "call abort\n");
	lc_verify_diff(&o, &p, &d);
	CHECK(d.n == 3);
	CHECK(d.only_patched == 1);
	const struct lc_vdiff *c = find(&d, &o, "count.0"), *w = find(&d, &o, "work"),
			      *wc = find(&d, &o, "work.cold");
	CHECK(c && c->kind == LC_VRWDATA);
	if (c)
		CHECK_STR(c->reason, "initial value: `+0x0: 00000000` -> `+0x0: 07000000`");
	CHECK(find(&d, &o, "tick") == NULL);    /* its value, not its code, changed */
	CHECK(find(&d, &o, "gone") == NULL);    /* removed: stays as it is */
	if (w)
		CHECK_STR(w->reason, "code: `mov $0x1,%eax` -> `mov $0x2,%eax`");
	struct lc_vreplaced r = { 0 };
	lc_vreplaced_add(&r, "work", 0x1400);
	CHECK(w && lc_verify_covered(&r, &o, &o.item[w->item]));
	CHECK(wc && lc_verify_covered(&r, &o, &o.item[wc->item]));
	lc_vreplaced_free(&r);
	lc_vdiffs_free(&d);
	lc_vimage_free(&o);
	lc_vimage_free(&p);
}

/* Two locals of one key (two units named the same): paired in address order. */
static void test_duplicate_keys_pair_in_order(void)
{
	struct lc_vimage o, p;
	struct lc_vdiffs d;
	lc_vimage_init(&o);
	lc_vimage_init(&p);
	lc_vimage_add(&o, "u.c:init", "init", 0x1000, 4, LC_VFUNC, "mov $0x1,%eax\n");
	lc_vimage_add(&o, "u.c:init", "init", 0x1100, 4, LC_VFUNC, "mov $0x2,%eax\n");
	lc_vimage_add(&p, "u.c:init", "init", 0x1180, 4, LC_VFUNC, "mov $0x3,%eax\n");
	lc_vimage_add(&p, "u.c:init", "init", 0x1080, 4, LC_VFUNC, "mov $0x1,%eax\n");
	lc_verify_diff(&o, &p, &d);
	CHECK(d.n == 1);
	CHECK(d.n == 1 && o.item[d.d[0].item].addr == 0x1100);
	lc_vdiffs_free(&d);
	lc_vimage_free(&o);
	lc_vimage_free(&p);
}

static void test_first_diff(void)
{
	struct lc_buf b = LC_BUF_INIT;
	lc_verify_first_diff("a\nb\nc\n", "a\nb\n", &b);
	CHECK_STR(b.data, "`c` -> (end)");
	lc_buf_reset(&b);
	lc_verify_first_diff("a\n", "a\nnop\n", &b);
	CHECK_STR(b.data, "(end) -> `nop`");
	lc_buf_reset(&b);
	lc_verify_first_diff("x\n", "x\n", &b);
	CHECK_STR(b.data, "(equal)");
	lc_buf_free(&b);
}

int main(void)
{
	test_moved_is_equal();
	test_table_change_names_user();
	test_transitive_data();
	test_code_data_removed_new_cold();
	test_duplicate_keys_pair_in_order();
	test_first_diff();
	return TEST_DONE();
}
