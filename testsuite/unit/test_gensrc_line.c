/*
 * test_gensrc_line.c - the line walker finds exactly the symbols of a line
 * in every operand syntax GCC emits, and nothing else.
 */
#include <string.h>
#include "asm.h"
#include "test.h"

/* Wraps every symbol in <>; "@reloc" is left to the walker. */
static int wrap(void *ctx, const struct lc_sym_ref *r, struct lc_buf *out)
{
	(void)ctx;
	lc_buf_addf(out, "%s%.*s>", r->is_def ? "<def:" : "<", (int)r->len, r->s);
	return 0;
}

static const char *rw(const char *line)
{
	static struct lc_buf out;
	lc_buf_reset(&out);
	lc_line_rewrite(line, strlen(line), wrap, NULL, &out);
	return out.data ? out.data : "";
}

/* Consumes @GOTPCREL like the emitter does. */
static int got(void *ctx, const struct lc_sym_ref *r, struct lc_buf *out)
{
	(void)ctx;
	if (r->reloc_len == 8 && !strncmp(r->reloc, "GOTPCREL", 8)) {
		lc_buf_addf(out, "SLOT(%.*s)", (int)r->len, r->s);
		return 1;
	}
	lc_buf_add(out, r->s, r->len);
	return 0;
}

int main(void)
{
	CHECK_STR(rw("\tmovl\tcounter(%rip), %eax"), "\tmovl\t<counter>(%rip), %eax");
	CHECK_STR(rw("\tmovl\ttab+8(%rip), %eax"), "\tmovl\t<tab>+8(%rip), %eax");
	CHECK_STR(rw("\tmovl\t$buf, %edi"), "\tmovl\t$<buf>, %edi");
	CHECK_STR(rw("\tcall\tputs@PLT"), "\tcall\t<puts>@PLT");
	CHECK_STR(rw("\tcall\t*fn@GOTPCREL(%rip)"), "\tcall\t*<fn>@GOTPCREL(%rip)");
	CHECK_STR(rw("\tmovl\t%fs:tv@tpoff, %eax"), "\tmovl\t%fs:<tv>@tpoff, %eax");
	CHECK_STR(rw("\t.long\t.L5-.L4"), "\t.long\t<.L5>-<.L4>");
	CHECK_STR(rw("\tjmp\t*.L4(,%rax,8)"), "\tjmp\t*<.L4>(,%rax,8)");
	CHECK_STR(rw("foo:"), "<def:foo>:");
	CHECK_STR(rw(".L12:"), "<def:.L12>:");
	CHECK_STR(rw("\t.string\t\"call foo\""), "\t.string\t\"call foo\"");
	CHECK_STR(rw("\t.type\tfoo, @function"), "\t.type\t<foo>, @function");
	CHECK_STR(rw("\t.size\tfoo, .-foo"), "\t.size\t<foo>, .-<foo>");
	CHECK_STR(rw("\t.p2align 4,,10"), "\t.p2align 4,,10");
	CHECK_STR(rw("\trep stosq"), "\trep stosq");
	CHECK_STR(rw("\tlock xaddl\t%eax, cnt(%rip)"), "\tlock xaddl\t%eax, <cnt>(%rip)");
	CHECK_STR(rw("\tmovsd\t.LC0(%rip), %xmm0"), "\tmovsd\t<.LC0>(%rip), %xmm0");
	CHECK_STR(rw("\tmovl\t-20(%rbp), %eax"), "\tmovl\t-20(%rbp), %eax");
	CHECK_STR(rw("\t.cfi_def_cfa_offset 16"), "\t.cfi_def_cfa_offset 16");
	CHECK_STR(rw("\tjmp\t1f"), "\tjmp\t1f");
	CHECK_STR(rw("# a comment with foo"), "# a comment with foo");
	CHECK_STR(rw("\tmovl\t%eax, x(%rip)\t# x, tmp8"), "\tmovl\t%eax, <x>(%rip)\t# x, tmp8");

	struct lc_buf out = LC_BUF_INIT;
	const char *l = "\tmovq\tstdout@GOTPCREL(%rip), %rax";
	lc_line_rewrite(l, strlen(l), got, NULL, &out);
	CHECK_STR(out.data, "\tmovq\tSLOT(stdout)(%rip), %rax");
	lc_buf_free(&out);

	struct lc_line_info li;
	lc_line_classify("\t.long\t3", 7, &li);
	CHECK(li.kind == LC_LINE_DIRECTIVE && lc_line_is_data(&li));
	lc_line_classify("main:", 5, &li);
	CHECK(li.kind == LC_LINE_LABEL && li.word_len == 4);
	CHECK(lc_label_is_debug(".LVL12", 6) && lc_label_is_debug(".LFB0", 5));
	CHECK(!lc_label_is_debug(".L12", 4) && !lc_label_is_debug(".LC3", 4));
	CHECK(lc_label_is_literal(".LC3", 4) && !lc_label_is_literal(".LCFI3", 6));
	CHECK(lc_name_is_literal("CSWTCH.12", 9) && !lc_name_is_literal("CSWTCH", 6));
	return TEST_DONE();
}
