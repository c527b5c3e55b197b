/*
 * test_gensrc_nodebug.c - a unit's text without its DWARF lines
 * (lc_nodebug, capture.c), as the patched stage keeps both texts: fed in
 * pieces of any size it keeps the same lines, a unit parsed from it has
 * the very lines, sections, slices and objects of one parsed from the
 * whole text, and lc_gensrc_fd (the original read from a file, written out
 * as it is read) writes what lc_gensrc does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "asm.h"
#include "test.h"

/* What GCC -g writes, and what could trip a filter that is not the
 * parser's twin: .previous and .popsection out of a debug section, a
 * push into one, comments and blank lines inside one, an inline-asm line
 * of several statements, a label named like a directive, a debug section
 * last with no final newline. */
static const char orig_text[] =
	"\t.file\t\"u.c\"\n"
	"\t.text\n"
	"# libcare:fn-begin f\n"
	"\t.globl\tf\n"
	"\t.type\tf, @function\n"
	"f:\n"
	".LFB0:\n"
	"\t.loc 1 3 1\n"
	"\t.cfi_startproc\n"
	"\tleaq\t.LC0(%rip), %rax\n"
	"\tmovl\tcounter(%rip), %eax\n"
	"\tret\n"
	"\t.cfi_endproc\n"
	".LFE0:\n"
	"\t.size\tf, .-f\n"
	"# libcare:fn-end f\n"
	"\t.section\t.debug_info,\"\",@progbits\n"
	".Ldebug_info0:\n"
	"\t.long\t0x50\n"
	"\n"
	"# a comment in DWARF\n"
	"\t.string\t\"f\"\n"
	"\t.previous\n"
	"# libcare:fn-begin g\n"
	"\t.globl\tg\n"
	"\t.type\tg, @function\n"
	"g:\n"
	"\tmovl\t$1, %eax\n"
	"\t.pushsection\t.debug_line,\"\",@progbits\n"
	"\t.byte\t1\n"
	".text:\n"
	"\t.popsection\n"
	"#APP\n"
	"# 5 \"u.c\" 1\n"
	"\tnop; nop\n"
	"# 0 \"\" 2\n"
	"#NO_APP\n"
	"\tret\n"
	"\t.size\tg, .-g\n"
	"# libcare:fn-end g\n"
	"\t.section\t.rodata.str1.1,\"aMS\",@progbits,1\n"
	".LC0:\n"
	"\t.string\t\"hi\"\n"
	"\t.data\n"
	"\t.align 4\n"
	"\t.type\tcounter, @object\n"
	"\t.size\tcounter, 4\n"
	"counter:\n"
	"\t.long\t7\n"
	"\t.section\t.debug_str,\"MS\",@progbits,1\n"
	".LASF0:\n"
	"\t.string\t\"GNU C17 12.2.0 -O2 -g\"\n"
	"# libcare:var counter i32\n"
	"\t.section\t.note.GNU-stack,\"\",@progbits\n"
	"\t.section\t.debug_abbrev\n"
	"\t.uleb128 0x1";   /* no final newline */

static void kept_text(const char *text, size_t len, size_t piece, struct lc_buf *out)
{
	struct lc_nodebug t;
	CHECK(lc_nodebug_init(&t) == 0);
	for (size_t i = 0; i < len; i += piece)
		CHECK(lc_nodebug_feed(&t, text + i, i + piece > len ? len - i : piece) == 0);
	CHECK(lc_nodebug_end(&t) == 0);
	lc_buf_add(out, t.text, t.len);
	lc_nodebug_free(&t);
}

/* Two parses of a unit: the same lines (by content), sections, slices and
 * objects. */
static int same_units(const struct lc_asm_unit *a, const struct lc_asm_unit *b)
{
	if (a->nlines != b->nlines || a->nfuncs != b->nfuncs || a->nobjs != b->nobjs ||
	    a->nlits != b->nlits || a->nsections != b->nsections)
		return 0;
	for (size_t i = 0; i < a->nlines; i++) {
		const struct lc_asm_line *x = &a->lines[i], *y = &b->lines[i];
		if (x->len != y->len || memcmp(x->s, y->s, x->len) || strcmp(x->section, y->section) ||
		    x->sec_kind != y->sec_kind || x->func != y->func || x->object != y->object ||
		    x->literal != y->literal)
			return 0;
	}
	for (size_t i = 0; i < a->nfuncs; i++)
		if (strcmp(a->funcs[i].name, b->funcs[i].name) || a->funcs[i].first != b->funcs[i].first ||
		    a->funcs[i].end != b->funcs[i].end)
			return 0;
	for (size_t i = 0; i < a->nobjs; i++)
		if (strcmp(a->objs[i].name, b->objs[i].name) || a->objs[i].first != b->objs[i].first ||
		    a->objs[i].end != b->objs[i].end || strcmp(a->objs[i].section, b->objs[i].section))
			return 0;
	return 1;
}

int main(void)
{
	const size_t len = sizeof(orig_text) - 1;
	struct lc_buf whole = LC_BUF_INIT, err = LC_BUF_INIT;
	kept_text(orig_text, len, len, &whole);

	/* DWARF data lines go; comments, section directives and the rest stay */
	CHECK(!strstr(whole.data, "\t.long\t0x50\n"));
	CHECK(!strstr(whole.data, "\t.byte\t1\n"));
	CHECK(!strstr(whole.data, ".Ldebug_info0:"));
	CHECK(!strstr(whole.data, "GNU C17"));
	CHECK(!strstr(whole.data, ".uleb128"));
	CHECK(strstr(whole.data, "# a comment in DWARF\n") != NULL);
	CHECK(strstr(whole.data, "# libcare:var counter i32\n") != NULL);
	CHECK(strstr(whole.data, "\t.previous\n# libcare:fn-begin g\n") != NULL);
	CHECK(strstr(whole.data, "\tnop; nop\n") != NULL);
	CHECK(strstr(whole.data, "counter:\n\t.long\t7\n") != NULL);
	CHECK(whole.len < len);

	/* any piece size: the same text */
	static const size_t pieces[] = { 1, 2, 3, 7, 16, 64, 1000 };
	for (size_t k = 0; k < sizeof(pieces) / sizeof(pieces[0]); k++) {
		struct lc_buf b = LC_BUF_INIT;
		kept_text(orig_text, len, pieces[k], &b);
		CHECK(b.len == whole.len && !memcmp(b.data, whole.data, b.len));
		lc_buf_free(&b);
	}

	/* parsed: the same unit as from the whole text */
	struct lc_asm_unit a, b;
	lc_unit_parse(&a, orig_text, len, &err);
	lc_unit_parse(&b, whole.data, whole.len, &err);
	CHECK(a.nfuncs == 2 && a.nobjs == 1 && a.nlits == 1);
	CHECK(same_units(&a, &b));
	lc_unit_free(&a);
	lc_unit_free(&b);

	/* an inline-asm line that could switch sections: no filter after it */
	{
		static const char t[] = "\t.section\t.debug_info\n\t.long 1\n#APP\n"
					"\t.pushsection .x; .popsection\n#NO_APP\n\t.long 2\n";
		struct lc_buf k = LC_BUF_INIT;
		kept_text(t, sizeof(t) - 1, 5, &k);
		CHECK(!strstr(k.data, ".long 1"));
		CHECK(strstr(k.data, ".long 2") != NULL);
		lc_buf_free(&k);
	}

	/* lc_gensrc_fd on the original in a file writes what lc_gensrc does */
	struct lc_buf patched = LC_BUF_INIT, ref = LC_BUF_INIT, rep1 = LC_BUF_INIT, rep2 = LC_BUF_INIT;
	lc_buf_add(&patched, orig_text, len);
	char *p = strstr(patched.data, "\tmovl\t$1, %eax");
	p[7] = '2';   /* g changed */
	CHECK(lc_gensrc(orig_text, len, patched.data, patched.len, &ref, &rep1, &err) == 0);
	CHECK(strstr(rep1.data, "changed: g ") != NULL);
	char path[] = "/tmp/test_gensrc_nodebug.XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0 && write(fd, orig_text, len) == (ssize_t)len);
	lseek(fd, 0, SEEK_SET);
	unlink(path);
	struct lc_buf kp = LC_BUF_INIT;
	kept_text(patched.data, patched.len, 4096, &kp);
	char *mem = NULL;
	size_t memlen = 0;
	FILE *out = open_memstream(&mem, &memlen);
	CHECK(lc_gensrc_fd(fd, kp.data, kp.len, out, &rep2, &err) == 0);
	fclose(out);
	CHECK(memlen == ref.len && !memcmp(mem, ref.data, memlen));
	CHECK_STR(rep2.data, rep1.data);
	/* the original lacks a final newline: the sections start a line */
	CHECK(strstr(mem, "\t.uleb128 0x1\n# libcare: .kpatch sections\n") != NULL);
	close(fd);
	free(mem);

	/* an unreadable original: an error, not a crash */
	lc_buf_reset(&err);
	out = open_memstream(&mem, &memlen);
	CHECK(lc_gensrc_fd(-1, kp.data, kp.len, out, &rep2, &err) < 0);
	CHECK(strstr(err.data, "cannot read the original assembly") != NULL);
	fclose(out);
	free(mem);

	lc_buf_free(&kp);
	lc_buf_free(&patched);
	lc_buf_free(&ref);
	lc_buf_free(&rep1);
	lc_buf_free(&rep2);
	lc_buf_free(&whole);
	lc_buf_free(&err);
	return TEST_DONE();
}
