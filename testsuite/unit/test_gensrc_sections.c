/*
 * test_gensrc_sections.c - a unit with thousands of sections (as
 * -ffunction-sections -fdata-sections or inline-asm .pushsection make):
 * every name is interned once, lines and objects keep the section they
 * land in, and read-only-ness follows each section's own name and flags.
 * (How long it takes is bench/gensrc.sh's business, not a test's.)
 */
#include <stdlib.h>
#include <string.h>
#include "asm.h"
#include "test.h"

#define N 3000

static int line_of(const struct lc_asm_unit *u, const char *text)
{
	for (size_t i = 0; i < u->nlines; i++)
		if (u->lines[i].len == strlen(text) && !memcmp(u->lines[i].s, text, u->lines[i].len))
			return (int)i;
	return -1;
}

int main(void)
{
	struct lc_buf t = LC_BUF_INIT, err = LC_BUF_INIT;
	lc_buf_adds(&t, "\t.text\n");
	for (int i = 0; i < N; i++) {
		/* a function in its own section, with a record pushed into another */
		lc_buf_addf(&t, "\t.section\t.text.f%d,\"ax\",@progbits\n\t.globl\tf%d\n"
			    "\t.type\tf%d, @function\nf%d:\n1:\tnop\n"
			    "\t.pushsection .rec.%d,\"a\",@progbits\n\t.quad 1b\n\t.popsection\n"
			    "\tret\n\t.size\tf%d, .-f%d\n", i, i, i, i, i, i, i);
		/* read-only by name, writable by name, read-only by flags alone */
		lc_buf_addf(&t, "\t.section\t.rodata.r%d,\"a\"\n\t.type\tr%d, @object\n\t.size\tr%d, 4\n"
			    "r%d:\n\t.long\t%d\n", i, i, i, i, i);
		lc_buf_addf(&t, "\t.section\t.data.w%d,\"aw\"\n\t.type\tw%d, @object\n\t.size\tw%d, 4\n"
			    "w%d:\n\t.long\t%d\n", i, i, i, i, i);
		lc_buf_addf(&t, "\t.section\tmine%d,\"a\"\n\t.type\tm%d, @object\n\t.size\tm%d, 4\n"
			    "m%d:\n\t.long\t%d\n", i, i, i, i, i);
	}
	/* back into an early section by name alone: the same interned name */
	lc_buf_adds(&t, "\t.section\t.rodata.r7\nlate:\n\t.long\t1\n\t.text\n");

	struct lc_asm_unit u;
	CHECK(lc_unit_parse(&u, t.data, t.len, &err) == 0);
	CHECK(u.nsections == 1 + 5 * N);   /* .text and five per round */
	CHECK(u.nfuncs == N);
	CHECK(u.nobjs == 3 * N);
	int bad_ro = 0, bad_sec = 0;
	for (size_t i = 0; i < u.nobjs; i++) {
		const struct lc_asm_object *o = &u.objs[i];
		int want_ro = o->name[0] != 'w';
		char want[32];
		snprintf(want, sizeof(want), o->name[0] == 'r' ? ".rodata.%s" :
			 o->name[0] == 'w' ? ".data.%s" : "mine%s", o->name[0] == 'm' ? o->name + 1 : o->name);
		bad_ro += o->ro != want_ro;
		bad_sec += strcmp(o->section, want) != 0;
	}
	CHECK(bad_ro == 0);
	CHECK(bad_sec == 0);
	/* a record's line is in its own section, the code after it back in f's */
	int rec = line_of(&u, "\t.quad 1b"), ret = rec + 2;
	CHECK(rec > 0 && !strcmp(u.lines[rec].section, ".rec.0") && u.lines[rec].sec_kind == LC_SEC_DATA);
	CHECK(!strcmp(u.lines[ret].section, ".text.f0") && u.lines[ret].sec_kind == LC_SEC_TEXT);
	int f2999 = lc_unit_find_func(&u, "f2999", 5);
	CHECK(f2999 >= 0 && !strcmp(u.lines[u.funcs[f2999].first].section, ".text.f2999"));
	/* a section named again is the same interned pointer */
	int late = line_of(&u, "late:"), r7 = lc_unit_find_obj(&u, "r7", 2);
	CHECK(late > 0 && r7 >= 0 && u.lines[late].section == u.objs[r7].section);
	CHECK(u.lines[u.nlines - 1].section == u.lines[0].section);
	lc_unit_free(&u);
	lc_buf_free(&t);
	lc_buf_free(&err);
	return TEST_DONE();
}
