/*
 * test_gensrc_asm.c - the assembly reader on what GCC emits from real
 * code: inline asm blocks (#APP/#NO_APP) with ';'-separated statements and
 * directives inside them, .pushsection/.popsection, .symver, .set,
 * .weakref, .ifdef, numeric labels, AVX-512 decorations, prefixes, and
 * GCC's NAME.localalias.  Each case: the patched function's text before,
 * the lines of its .kpatch copy after.  Nothing is ever renamed inside a
 * mnemonic or a directive's own syntax.
 */
#include <stdlib.h>
#include <string.h>
#include "asm.h"
#include "test.h"

#define FN(name, body) \
	"\t.text\n\t.p2align 4\n\t.globl\t" name "\n\t.type\t" name ", @function\n" name ":\n" \
	body "\t.size\t" name ", .-" name "\n"

/* The .kpatch part of lc_gensrc's output for f changed from `ret` to body
 * (plus `extra` in both units), or "ERROR: ...". */
static char *kp(const char *body, const char *extra)
{
	struct lc_buf o = LC_BUF_INIT, p = LC_BUF_INIT, out = LC_BUF_INIT, rep = LC_BUF_INIT,
		      err = LC_BUF_INIT;
	char *res;
	lc_buf_addf(&o, FN("f", "\tret\n") "%s", extra);
	lc_buf_addf(&p, FN("f", "%s\tret\n") "%s", body, extra);
	if (lc_gensrc(o.data, o.len, p.data, p.len, &out, &rep, &err) < 0) {
		struct lc_buf e = LC_BUF_INIT;
		lc_buf_addf(&e, "ERROR: %s", err.data);
		res = e.data;
	} else {
		const char *k = strstr(out.data, "# libcare: .kpatch sections\n");
		res = lc_xstrdup(k ? k : "(none)");
	}
	lc_buf_free(&o);
	lc_buf_free(&p);
	lc_buf_free(&out);
	lc_buf_free(&rep);
	lc_buf_free(&err);
	return res;
}

static int has(const char *text, const char *what)
{
	if (text && strstr(text, what))
		return 1;
	fprintf(stderr, "missing: [%s]\n--- in:\n%s\n", what, text ? text : "(null)");
	return 0;
}

static int hasnt(const char *text, const char *what)
{
	if (text && !strstr(text, what))
		return 1;
	fprintf(stderr, "unexpected: [%s]\n--- in:\n%s\n", what, text ? text : "(null)");
	return 0;
}

#define APP(x) "#APP\n# 4 \"x.c\" 1\n" x "\n# 0 \"\" 2\n#NO_APP\n"

int main(void)
{
	char *k;

	/* ';'-separated statements: each rewritten on its own.  Before the fix
	 * the second mnemonic was taken for a symbol: movl.kpatch_ext */
	k = kp(APP("\tmovl $0, %ebx; movl $0, (%rbx)"), "");
	CHECK(has(k, "\tmovl $0, %ebx\n movl $0, (%rbx)\n"));
	CHECK(hasnt(k, "kpatch_ext"));
	free(k);

	/* ... and symbols in them are the unit's: `leaq slot(%rip), %rbx; movl $7, (%rbx)` */
	k = kp(APP("\tleaq slot(%rip), %rbx; movl $7, (%rbx)"),
	       "\t.local\tslot\n\t.comm\tslot,4,4\n");
	CHECK(has(k, "\tleaq slot(%rip), %rbx\n movl $7, (%rbx)\n"));
	free(k);

	/* a ';' in a string, a character constant or a comment does not split */
	k = kp(APP("\t.ascii \"a;b\"; movb $';', %al # x; y"), "");
	CHECK(has(k, "\t.ascii \"a;b\"\n movb $';', %al # x; y\n"));
	free(k);
	k = kp(APP("\tnop /* a; b */; nop"), "");
	CHECK(has(k, "\tnop /* a; b */\n nop\n"));
	free(k);

	/* numeric labels are gas's own: 1: and 1b stay (no 1.kpatch:) */
	k = kp(APP("\tmovl $3, %ecx; 1: addl $2, %eax; decl %ecx; jnz 1b"), "");
	CHECK(has(k, "\n 1:\taddl $2, %eax\n decl %ecx\n jnz 1b\n"));
	CHECK(hasnt(k, "1.kpatch"));
	free(k);

	/* .pushsection/.popsection: a read-only message goes to .kpatch.data,
	 * the code after .popsection back to .kpatch.text */
	k = kp(APP("\tleaq 1f(%rip), %rax\n\t.pushsection .rodata.m,\"a\",@progbits\n"
		   "1:\t.asciz \"new\"\n\t.popsection\n\tnop"), "");
	CHECK(has(k, "\tleaq 1f(%rip), %rax\n\t.section\t.kpatch.data,\"\",@progbits\n"
		  "1:\t.asciz \"new\"\n\t.section\t.kpatch.text,\"\",@progbits\n\tnop\n"));
	free(k);
	/* ... a note section is the original's (not copied) */
	k = kp(APP("\t.pushsection .note.x,\"a\",@note; .balign 4; .long 4, 4, 1; .popsection; nop"), "");
	CHECK(hasnt(k, ".long 4, 4, 1"));
	CHECK(has(k, " nop\n"));
	free(k);

	/* .symver: dropped from the copy (the original's stays) */
	k = kp(APP("\t.symver f_v1, f@VER_1; nop"), "");
	CHECK(hasnt(k, ".symver"));
	free(k);

	/* .set in inline asm: the copy has its own, so a changed value counts */
	k = kp(APP("\t.set scen_k, 5; movl $scen_k, %eax"), "");
	CHECK(has(k, "\t.set scen_k.kpatch, 5\n movl $scen_k.kpatch, %eax\n"));
	free(k);

	/* .ifdef's symbol is the assembler's question, not a reference */
	k = kp(APP("\t.ifdef never_defined; ud2; .endif"), "");
	CHECK(has(k, "\t.ifdef never_defined\n ud2\n .endif\n"));
	CHECK(hasnt(k, "never_defined.kpatch"));
	free(k);

	/* .weakref w, target: a call through w is a (weak) call to the target */
	k = kp("\tcall\twfoo@PLT\n", "\t.weakref\twfoo,foo\n");
	CHECK(has(k, "\tcall\tfoo.kpatch_ext@PLT\n"));
	CHECK(hasnt(k, "wfoo"));
	free(k);

	/* AVX-512 decorations and {vex} are syntax, not symbols */
	k = kp("\tvmovdqu32\t%zmm0, %zmm1{%k1}{z}\n\tvaddps\t{rn-sae}, %zmm2, %zmm3, %zmm4\n"
	       "\t{vex} vpdpbusd\t%xmm1, %xmm2, %xmm3\n", "");
	CHECK(has(k, "\tvmovdqu32\t%zmm0, %zmm1{%k1}{z}\n\tvaddps\t{rn-sae}, %zmm2, %zmm3, %zmm4\n"
		  "\t{vex} vpdpbusd\t%xmm1, %xmm2, %xmm3\n"));
	CHECK(hasnt(k, "kpatch_ext"));
	free(k);

	/* prefixes, several: the operands start after the mnemonic */
	k = kp(APP("\tlock; addl $1, slot(%rip)") "\tdata16 cs nopw\tslot(%rip)\n\trep stosq\n",
	       "\t.local\tslot\n\t.comm\tslot,4,4\n");
	CHECK(has(k, "\tlock\n addl $1, slot(%rip)\n\tdata16 cs nopw\tslot(%rip)\n\trep stosq\n"));
	free(k);

	/* NAME.localalias (-fPIC recursion): the patched function if it is
	 * emitted (here f itself, new in its recursion) */
	k = kp("\tcall\tf.localalias\n", "\t.set\tf.localalias,f\n");
	CHECK(has(k, "\tcall\tf.kpatch\n"));
	CHECK(hasnt(k, "f.localalias"));
	free(k);
	/* ... the original's alias when the target is not emitted and the
	 * original has it; else the original's function */
	{
		struct lc_buf out = LC_BUF_INIT, rep = LC_BUF_INIT, err = LC_BUF_INIT;
		const char *o = FN("g", "\tret\n") FN("f", "\tcall\tg.localalias\n\tret\n")
				"\t.set\tg.localalias,g\n";
		const char *p = FN("g", "\tret\n") FN("f", "\tcall\tg.localalias\n\tnop\n\tret\n")
				"\t.set\tg.localalias,g\n";
		CHECK(lc_gensrc(o, strlen(o), p, strlen(p), &out, &rep, &err) == 0);
		CHECK(has(out.data, "f.kpatch:\n\tcall\tg.localalias\n"));
		lc_buf_reset(&out);
		o = FN("g", "\tret\n") FN("f", "\tret\n");
		CHECK(lc_gensrc(o, strlen(o), p, strlen(p), &out, &rep, &err) == 0);
		CHECK(has(out.data, "f.kpatch:\n\tcall\tg\n"));
		lc_buf_free(&out);
		lc_buf_free(&rep);
		lc_buf_free(&err);
	}

	/* Intel syntax: the operands are not AT&T, refused rather than garbled */
	k = kp(APP("\t.intel_syntax noprefix; mov eax, ebx; .att_syntax"), "");
	CHECK_STR(k, "ERROR: function 'f' has inline assembly in Intel syntax: its operands cannot "
		  "be rewritten for patch code");
	free(k);

	/* the reader: an #APP line of three statements is three lines */
	{
		struct lc_asm_unit u;
		const char *t = "#APP\n\ta; b; c\n#NO_APP\n\td; e\n";
		lc_unit_parse(&u, t, strlen(t), NULL);
		CHECK(u.nlines == 6);   /* #APP a b c #NO_APP "d; e" (outside: one line) */
		CHECK(u.nlines > 3 && u.lines[3].len == 2 && !memcmp(u.lines[3].s, " c", 2));
		lc_unit_free(&u);
	}
	return TEST_DONE();
}
