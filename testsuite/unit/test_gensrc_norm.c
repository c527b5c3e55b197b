/*
 * test_gensrc_norm.c - each normalisation with a before/after example, and
 * the decisions they lead to: label drift, renumbered literals and
 * renumbered static locals are no change; a changed string literal is.
 */
#include <stdlib.h>
#include <string.h>
#include "asm.h"
#include "test.h"

/* Normalised text of function `name` in `text` (map may be NULL). */
static char *norm(const char *text, const char *name)
{
	struct lc_asm_unit u;
	struct lc_buf out = LC_BUF_INIT;
	lc_unit_parse(&u, text, strlen(text), NULL);
	int i = lc_unit_find_func(&u, name, strlen(name));
	if (i >= 0)
		lc_norm_func(&u, (size_t)i, NULL, &out);
	lc_unit_free(&u);
	return out.data ? out.data : lc_xstrdup("(no such function)");
}

/* lc_gensrc's report for orig -> patched ("ERROR: ..." on refusal). */
static char *report(const char *orig, const char *patched)
{
	struct lc_buf out = LC_BUF_INIT, rep = LC_BUF_INIT, err = LC_BUF_INIT;
	if (lc_gensrc(orig, strlen(orig), patched, strlen(patched), &out, &rep, &err) < 0) {
		lc_buf_reset(&rep);
		lc_buf_addf(&rep, "ERROR: %s", err.data);
	}
	lc_buf_free(&out);
	lc_buf_free(&err);
	return rep.data ? rep.data : lc_xstrdup("");
}

#define FN(name, body) \
	"\t.text\n\t.p2align 4\n\t.globl\t" name "\n\t.type\t" name ", @function\n" name ":\n" \
	body "\t.size\t" name ", .-" name "\n"

int main(void)
{
	char *s;

	/* local labels: by first appearance.  .L17 -> .L~0 */
	s = norm(FN("f", "\tjne\t.L17\n\tret\n.L17:\n\tjmp\t.L3\n.L3:\n\tret\n"), "f");
	CHECK_STR(s, "[.text]\n.p2align 4\n.globl f\n.type f, @function\nf:\njne .L~0\nret\n"
		  ".L~0:\njmp .L~1\n.L~1:\nret\n.size f, .-f\n");
	free(s);

	/* literals: by content.  leaq .LC4(%rip) -> leaq {.string "hi"}(%rip) */
	s = norm("\t.section\t.rodata.str1.1,\"aMS\",@progbits,1\n.LC4:\n\t.string\t\"hi\"\n"
		 FN("f", "\tleaq\t.LC4(%rip), %rdi\n\tret\n"), "f");
	CHECK(strstr(s, "leaq {.string \"hi\";}(%rip), %rdi\n") != NULL);
	free(s);

	/* debug and unwind lines go: .loc, .cfi_*, .LVL/.LFB labels */
	s = norm(FN("f", ".LFB0:\n\t.file 1 \"x.c\"\n\t.loc 1 3 5 view .LVU2\n\t.cfi_startproc\n"
		 ".LVL0:\n\tret\n\t.cfi_endproc\n.LFE0:\n"), "f");
	CHECK_STR(s, "[.text]\n.p2align 4\n.globl f\n.type f, @function\nf:\nret\n.size f, .-f\n");
	free(s);

	/* section switches become the section each line lands in */
	s = norm(FN("f", "\tret\n\t.section\t.text.unlikely\nf.cold:\n\tud2\n\t.text\n"), "f");
	CHECK(strstr(s, "[.text.unlikely]\nf.cold:\nud2\n[.text]\n") != NULL);
	free(s);

	/* decisions through lc_gensrc ---------------------------------------- */
	const char *lit_a =
		"\t.section\t.rodata.str1.1,\"aMS\",@progbits,1\n.LC0:\n\t.string\t\"x\"\n"
		".LC1:\n\t.string\t\"hello\"\n"
		FN("g", "\tleaq\t.LC0(%rip), %rdi\n\tjmp\tputs@PLT\n")
		FN("f", "\ttestl\t%edi, %edi\n\tje\t.L5\n\tleaq\t.LC1(%rip), %rdi\n\tjmp\tputs@PLT\n"
		   ".L5:\n\tret\n");
	/* g's literal and label numbers shift, f is untouched: no change */
	const char *lit_b =
		"\t.section\t.rodata.str1.1,\"aMS\",@progbits,1\n.LC0:\n\t.string\t\"y\"\n"
		".LC1:\n\t.string\t\"x\"\n.LC2:\n\t.string\t\"hello\"\n"
		FN("g", "\tleaq\t.LC1(%rip), %rdi\n\tcall\tputs@PLT\n\tleaq\t.LC0(%rip), %rdi\n"
		   "\tjmp\tputs@PLT\n")
		FN("f", "\ttestl\t%edi, %edi\n\tje\t.L9\n\tleaq\t.LC2(%rip), %rdi\n\tjmp\tputs@PLT\n"
		   ".L9:\n\tret\n");
	s = report(lit_a, lit_b);
	CHECK_STR(s, "changed: g (code: `jmp puts@PLT` -> `call puts@PLT`)\n");
	free(s);

	/* a changed string literal is a change */
	const char *lit_c =
		"\t.section\t.rodata.str1.1,\"aMS\",@progbits,1\n.LC0:\n\t.string\t\"x\"\n"
		".LC1:\n\t.string\t\"HELLO\"\n"
		FN("g", "\tleaq\t.LC0(%rip), %rdi\n\tjmp\tputs@PLT\n")
		FN("f", "\ttestl\t%edi, %edi\n\tje\t.L5\n\tleaq\t.LC1(%rip), %rdi\n\tjmp\tputs@PLT\n"
		   ".L5:\n\tret\n");
	s = report(lit_a, lit_c);
	CHECK_STR(s, "changed: f (uses .LC1, whose entry 0 changed: `.string \"hello\"` -> "
		  "`.string \"HELLO\"`)\n");
	free(s);

	/* label drift alone is no change */
	s = report(FN("f", "\tjne\t.L3\n\tret\n.L3:\n\tud2\n"), FN("f", "\tjne\t.L8\n\tret\n.L8:\n\tud2\n"));
	CHECK_STR(s, "no change: the original text alone\n");
	free(s);

	/* static-local renumbering alone is no change: count.0 -> count.1 */
	const char *st_a = FN("f", "\tmovl\tcount.0(%rip), %eax\n\tret\n")
		"\t.local\tcount.0\n\t.comm\tcount.0,4,4\n";
	const char *st_b = FN("f", "\tmovl\tcount.1(%rip), %eax\n\tret\n")
		"\t.local\tcount.1\n\t.comm\tcount.1,4,4\n";
	s = report(st_a, st_b);
	CHECK_STR(s, "renamed: count.1 -> count.0\nno change: the original text alone\n");
	free(s);

	/* ... but a different static is */
	const char *st_c = FN("f", "\tmovl\tother.1(%rip), %eax\n\tret\n")
		"\t.local\tother.1\n\t.comm\tother.1,4,4\n";
	s = report(st_a, st_c);
	CHECK_STR(s, "changed: f (code: `movl count.0(%rip), %eax` -> `movl other.1(%rip), %eax`)\n"
		  "new data: other.1\n");
	free(s);

	/* a __LINE__ that moved (assert below added lines) is a change, and the
	 * report says which constant: the diff's reader sees why */
	s = report(FN("check", "\tmovl\t$19, %edx\n\tleaq\t.LC0(%rip), %rsi\n\tret\n")
		   "\t.section\t.rodata.str1.1,\"aMS\",@progbits,1\n.LC0:\n\t.string\t\"prog.c\"\n",
		   FN("check", "\tmovl\t$22, %edx\n\tleaq\t.LC3(%rip), %rsi\n\tret\n")
		   "\t.section\t.rodata.str1.1,\"aMS\",@progbits,1\n.LC3:\n\t.string\t\"prog.c\"\n");
	CHECK_STR(s, "changed: check (code: `movl $19, %edx` -> `movl $22, %edx`)\n");
	free(s);

	/* a change at the end: the patched text is longer */
	s = report(FN("f", "\tret\n"), FN("f", "\tret\n\tud2\n"));
	CHECK_STR(s, "changed: f (code: `.size f, .-f` -> `ud2`)\n");
	free(s);

	/* clone counters renumber like static locals: f.constprop.1 -> .0 */
	s = report(FN("f.constprop.0", "\tret\n") FN("g", "\tjmp\tf.constprop.0\n"),
		   FN("f.constprop.1", "\tret\n") FN("g", "\tjmp\tf.constprop.1\n"));
	CHECK_STR(s, "renamed: f.constprop.1 -> f.constprop.0\nno change: the original text alone\n");
	free(s);

	/* trailing comments (-fverbose-asm) are no change; '#' in a string is kept */
	s = report(FN("f", "\tmovl\t%eax, -4(%rbp)\t# x, tmp87\n\tret\n"),
		   FN("f", "\tmovl\t%eax, -4(%rbp)\t# x, tmp91\n\tret\n"));
	CHECK_STR(s, "no change: the original text alone\n");
	free(s);
	s = norm("\t.section\t.rodata.str1.1,\"aMS\",@progbits,1\n.LC4:\n\t.string\t\"#1\"\n"
		 FN("f", "\tleaq\t.LC4(%rip), %rdi\t# tmp1\n"), "f");
	CHECK(strstr(s, "leaq {.string \"#1\";}(%rip), %rdi\n") != NULL);
	free(s);

	/* .loc-only differences (__LINE__ moved) are no change */
	s = report(FN("f", "\t.loc 1 3 5\n\tret\n"), FN("f", "\t.loc 1 4 5\n\tret\n"));
	CHECK_STR(s, "no change: the original text alone\n");
	free(s);

	/* existing data may not change */
	const char *d_a = FN("f", "\tmovl\tg(%rip), %eax\n\tret\n")
		"\t.globl\tg\n\t.data\n\t.align 4\n\t.type\tg, @object\n\t.size\tg, 4\ng:\n\t.long\t5\n";
	const char *d_b = FN("f", "\tmovl\tg(%rip), %eax\n\tret\n")
		"\t.globl\tg\n\t.data\n\t.align 4\n\t.type\tg, @object\n\t.size\tg, 4\ng:\n\t.long\t6\n";
	const char *d_c = FN("f", "\tmovl\tg(%rip), %eax\n\tret\n")
		"\t.globl\tg\n\t.data\n\t.align 8\n\t.type\tg, @object\n\t.size\tg, 8\ng:\n\t.quad\t5\n";
	s = report(d_a, d_b);
	CHECK_STR(s, "ERROR: data object 'g' changed (size or initial value): cannot be live-patched");
	free(s);
	s = report(d_a, d_c);
	CHECK_STR(s, "ERROR: data object 'g' changed (size or initial value): cannot be live-patched");
	free(s);
	s = report(d_a, d_a);
	CHECK_STR(s, "no change: the original text alone\n");
	free(s);

	/* new and removed functions */
	s = report(FN("f", "\tret\n") FN("old", "\tret\n"), FN("f", "\tret\n") FN("bar", "\tud2\n"));
	CHECK_STR(s, "new: bar\nremoved: old (stays as it is)\n");
	free(s);

	/* several statics of one base pair up by the functions using them; a
	 * patched name that is another symbol in the original is fresh */
	{
		const char *ua =
			FN("f", "\tincl\tn.0(%rip)\n") FN("g", "\tincl\tn.1(%rip)\n")
			"\t.local\tn.0\n\t.comm\tn.0,4,4\n\t.local\tn.1\n\t.comm\tn.1,4,4\n";
		const char *ub =
			FN("f", "\tincl\tn.0(%rip)\n") FN("h", "\tdecl\tn.1(%rip)\n")
			FN("g", "\tincl\tn.2(%rip)\n")
			"\t.local\tn.0\n\t.comm\tn.0,4,4\n\t.local\tn.1\n\t.comm\tn.1,4,4\n"
			"\t.local\tn.2\n\t.comm\tn.2,4,4\n";
		s = report(ua, ub);
		CHECK_STR(s, "renamed: n.2 -> n.1\nfresh: n.1 (the original's n.1 is another symbol)\n"
			  "new: h\nnew data: n.1\n");
		free(s);
		struct lc_buf out = LC_BUF_INIT, rep = LC_BUF_INIT, err = LC_BUF_INIT;
		CHECK(lc_gensrc(ua, strlen(ua), ub, strlen(ub), &out, &rep, &err) == 0);
		CHECK(strstr(out.data, "\tdecl\tn.1.kpatch(%rip)\n") != NULL);   /* h's own n */
		CHECK(strstr(out.data, "n.1.kpatch:\n\t.zero\t4\n") != NULL);
		lc_buf_free(&out);
		lc_buf_free(&rep);
		lc_buf_free(&err);
	}
	{
		struct lc_asm_unit a, b;
		struct lc_symmap m;
		struct lc_buf rep = LC_BUF_INIT;
		const char *ta = "x.3:\n", *tb = "x.5:\nx.6:\n";
		lc_unit_parse(&a, ta, strlen(ta), NULL);
		lc_unit_parse(&b, tb, strlen(tb), NULL);
		lc_symmap_build(&m, &a, &b, &rep);
		size_t len = 3;
		CHECK_STR(lc_symmap_lookup(&m, "x.5", &len), "x.5");
		CHECK(strstr(rep.data, "warning: 1 'x.N' in the original, 2 in the patched unit") != NULL);
		lc_symmap_free(&m);
		lc_unit_free(&a);
		lc_unit_free(&b);
		lc_buf_free(&rep);
	}
	return TEST_DONE();
}
