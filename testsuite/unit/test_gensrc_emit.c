/*
 * test_gensrc_emit.c - what a changed or new function becomes in the
 * .kpatch sections: renamed definitions and labels, weak external
 * references, GOT slots, copied literals, the original's statics, jump
 * tables and cold parts mapped into .kpatch.text/.kpatch.data, and one
 * .kpatch.info record per replaced function.
 */
#include <stdlib.h>
#include <string.h>
#include "asm.h"
#include "test.h"

#define FN(name, body) \
	"\t.text\n\t.p2align 4\n\t.globl\t" name "\n\t.type\t" name ", @function\n" name ":\n" \
	".LFB0:\n\t.cfi_startproc\n" body "\t.cfi_endproc\n.LFE0:\n\t.size\t" name ", .-" name "\n"

/* The .kpatch part of lc_gensrc's output (or "ERROR: ..."). */
static char *kpatch(const char *orig, const char *patched)
{
	struct lc_buf out = LC_BUF_INIT, rep = LC_BUF_INIT, err = LC_BUF_INIT;
	char *res;
	if (lc_gensrc(orig, strlen(orig), patched, strlen(patched), &out, &rep, &err) < 0) {
		res = lc_xmalloc(err.len + 8);
		strcpy(res, "ERROR: ");
		strcat(res, err.data);
	} else {
		const char *k = strstr(out.data, "# libcare: .kpatch sections\n");
		/* the original text comes first, verbatim */
		CHECK(strncmp(out.data, orig, strlen(orig)) == 0);
		res = lc_xstrdup(k ? k : "(none)");
	}
	lc_buf_free(&out);
	lc_buf_free(&rep);
	lc_buf_free(&err);
	return res;
}

static int has(const char *text, const char *what)
{
	if (strstr(text, what))
		return 1;
	fprintf(stderr, "missing: %s\n", what);
	return 0;
}

int main(void)
{
	const char *top =
		"\t.section\t.rodata.str1.1,\"aMS\",@progbits,1\n.LC0:\n\t.string\t\"hi\"\n"
		"\t.text\n\t.type\thelper, @function\nhelper:\n\tret\n\t.size\thelper, .-helper\n";
	const char *tail =
		"\t.local\tcount.0\n\t.comm\tcount.0,4,4\n"
		"\t.data\n\t.align 4\n\t.type\tcounter, @object\n\t.size\tcounter, 4\ncounter:\n\t.long\t3\n";
	const char *tail_b =
		"\t.local\tcount.1\n\t.comm\tcount.1,4,4\n"
		"\t.data\n\t.align 4\n\t.type\tcounter, @object\n\t.size\tcounter, 4\ncounter:\n\t.long\t3\n";
	struct lc_buf a = LC_BUF_INIT, b = LC_BUF_INIT;
	lc_buf_adds(&a, top);
	lc_buf_adds(&a, FN("main", "\tleaq\t.LC0(%rip), %rdi\n\tcall\tputs@PLT\n\tret\n"));
	lc_buf_adds(&a, tail);
	lc_buf_adds(&b, top);
	lc_buf_adds(&b, FN("main",
		"\tcall\tgetpid@PLT\n"
		"\tcall\thelper\n"
		"\tmovl\tcounter(%rip), %eax\n"
		"\tincl\tcount.1(%rip)\n"
		"\tmovq\tstdout@GOTPCREL(%rip), %rax\n"
		"\tcall\t*fn@GOTPCREL(%rip)\n"
		"\tleaq\t.LC0(%rip), %rdi\n"
		"\tjne\t.L7\n"
		"\tcall\tputs\n"
		".L7:\n"
		"\tret\n"));
	lc_buf_adds(&b, tail_b);
	char *k = kpatch(a.data, b.data);
	CHECK(has(k, "\t.section\t.kpatch.text,\"\",@progbits\n"));
	CHECK(has(k, "\t.type\tmain.kpatch, @function\nmain.kpatch:\n"));
	CHECK(has(k, "\tcall\tgetpid.kpatch_ext@PLT\n"));
	CHECK(has(k, "\tcall\thelper\n"));                   /* unit's static: original */
	CHECK(has(k, "\tmovl\tcounter(%rip), %eax\n"));
	CHECK(has(k, "\tincl\tcount.0(%rip)\n"));            /* the original's static */
	CHECK(has(k, "\tmovq\t.Lkpgot.stdout(%rip), %rax\n"));
	CHECK(has(k, "\tcall\t*.Lkpgot.fn(%rip)\n"));
	CHECK(has(k, ".Lkpgot.stdout:\n\t.quad\tstdout.kpatch_ext\n"));
	CHECK(has(k, ".Lkpgot.fn:\n\t.quad\tfn.kpatch_ext\n"));
	CHECK(has(k, "\tleaq\t.Lkp.LC0(%rip), %rdi\n"));
	CHECK(has(k, ".Lkp.LC0:\n\t.string\t\"hi\"\n"));      /* literal copied */
	CHECK(has(k, "\tjne\t.Lkp.L7\n") && has(k, ".Lkp.L7:\n"));
	CHECK(has(k, "\tcall\tputs.kpatch_ext\n"));
	CHECK(has(k, "\t.size\tmain.kpatch, .-main.kpatch\n"));
	CHECK(has(k, "\t.section\t.kpatch.info,\"\",@progbits\n\t.quad\tmain\n\t.quad\tmain.kpatch\n"
		  "\t.long\t0, 0\n\t.long\t.Lkpname.0\n\t.long\t0\n"));
	CHECK(has(k, "\t.section\t.kpatch.strtab,\"\",@progbits\n.Lkpname.0:\n\t.string\t\"main\"\n"));
	CHECK(has(k, "\t.weak\tgetpid.kpatch_ext\n\t.hidden\tgetpid.kpatch_ext\n") &&
	      has(k, "\t.weak\tputs.kpatch_ext\n") &&
	      has(k, "\t.weak\tstdout.kpatch_ext\n") && has(k, "\t.weak\tfn.kpatch_ext\n"));
	CHECK(!strstr(k, ".cfi_") && !strstr(k, ".globl") && !strstr(k, "helper.kpatch") &&
	      !strstr(k, "count.1") && !strstr(k, "counter.kpatch") && !strstr(k, ".weak\thelper"));
	free(k);

	/* new function and new data: emitted, no info record; callers use them */
	lc_buf_reset(&b);
	lc_buf_adds(&b, top);
	lc_buf_adds(&b, FN("main", "\tcall\tnewfn\n\tmovl\tnewvar(%rip), %eax\n\tret\n"));
	lc_buf_adds(&b, FN("newfn", "\tret\n"));
	lc_buf_adds(&b, tail);
	lc_buf_adds(&b, "\t.align 4\n\t.type\tnewvar, @object\n\t.size\tnewvar, 4\nnewvar:\n\t.long\t9\n");
	k = kpatch(a.data, b.data);
	CHECK(has(k, "\tcall\tnewfn.kpatch\n") && has(k, "newfn.kpatch:\n"));
	CHECK(has(k, "\tmovl\tnewvar.kpatch(%rip), %eax\n"));
	CHECK(has(k, "\t.section\t.kpatch.data,\"\",@progbits\n\t.align 4\n\t.type\tnewvar.kpatch, "
		  "@object\n\t.size\tnewvar.kpatch, 4\nnewvar.kpatch:\n\t.long\t9\n"));
	CHECK(!strstr(k, ".quad\tnewfn"));
	free(k);

	/* jump table in .rodata and a cold part in .text.unlikely */
	const char *jt_a = FN("sw", "\tjmp\t*%rax\n\tret\n");
	const char *jt_b =
		"\t.text\n\t.p2align 4\n\t.globl\tsw\n\t.type\tsw, @function\nsw:\n"
		"\tleaq\t.L4(%rip), %rdx\n\tmovslq\t(%rdx,%rdi,4), %rax\n\taddq\t%rdx, %rax\n"
		"\tjmp\t*%rax\n"
		"\t.section\t.rodata\n\t.align 4\n.L4:\n\t.long\t.L5-.L4\n\t.long\t.L6-.L4\n\t.text\n"
		".L5:\n\tret\n.L6:\n\tjmp\t.L9\n"
		"\t.section\t.text.unlikely\n\t.type\tsw.cold, @function\nsw.cold:\n.L9:\n\tud2\n"
		"\t.text\n\t.size\tsw, .-sw\n\t.section\t.text.unlikely\n\t.size\tsw.cold, .-sw.cold\n"
		".LCOLDE0:\n\t.text\n";
	k = kpatch(jt_a, jt_b);
	CHECK(has(k, "\t.section\t.kpatch.data,\"\",@progbits\n\t.align 4\n.Lkp.L4:\n"
		  "\t.long\t.Lkp.L5-.Lkp.L4\n\t.long\t.Lkp.L6-.Lkp.L4\n"
		  "\t.section\t.kpatch.text,\"\",@progbits\n.Lkp.L5:\n"));
	CHECK(has(k, "\t.type\tsw.cold.kpatch, @function\nsw.cold.kpatch:\n.Lkp.L9:\n\tud2\n"));
	CHECK(has(k, "\t.size\tsw.cold.kpatch, .-sw.cold.kpatch\n"));
	CHECK(!strstr(k, ".text.unlikely") && !strstr(k, ".rodata"));
	free(k);

	/* plugin markers give exact boundaries; literals inside a slice go with it */
	const char *mk_a =
		"# libcare:fn-begin f\n\t.section\t.rodata.str1.1,\"aMS\",@progbits,1\n.LC0:\n"
		"\t.string\t\"a\"\n\t.text\n\t.globl\tf\n\t.type\tf, @function\nf:\n"
		"\tleaq\t.LC0(%rip), %rdi\n\tret\n\t.size\tf, .-f\n# libcare:fn-end f\n";
	const char *mk_b =
		"# libcare:fn-begin f\n\t.section\t.rodata.str1.1,\"aMS\",@progbits,1\n.LC0:\n"
		"\t.string\t\"b\"\n\t.text\n\t.globl\tf\n\t.type\tf, @function\nf:\n"
		"\tleaq\t.LC0(%rip), %rdi\n\tret\n\t.size\tf, .-f\n# libcare:fn-end f\n";
	k = kpatch(mk_a, mk_b);
	CHECK(has(k, "\t.section\t.kpatch.data,\"\",@progbits\n.Lkp.LC0:\n\t.string\t\"b\"\n"
		  "\t.section\t.kpatch.text,\"\",@progbits\n\t.type\tf.kpatch, @function\n"));
	{   /* exactly one copy of the literal */
		const char *p1 = strstr(k, ".Lkp.LC0:");
		CHECK(p1 && !strstr(p1 + 1, ".Lkp.LC0:"));
	}
	free(k);

	/* TLS operands become pseudo-symbols and slots (asm_tls.c), one slot
	 * per variable and model, every pseudo-symbol declared weak + hidden */
	k = kpatch(FN("f", "\tret\n"), FN("f", "\tmovl\t%fs:tv@tpoff, %eax\n"
		   "\tmovq\tiv@gottpoff(%rip), %rax\n\tmovq\tiv@gottpoff(%rip), %rdx\n"
		   "\tdata16\tleaq\tgv@tlsgd(%rip), %rdi\n\tcall\t__tls_get_addr@PLT\n"
		   "\tleaq\tlv@tlsld(%rip), %rdi\n\tmovl\tlv@dtpoff(%rax), %eax\n\tret\n"));
	CHECK(has(k, "\tmovl\t%fs:tv.kpatch_tpoff, %eax\n"));
	CHECK(has(k, "\tmovq\t.Lkptls.ie.iv(%rip), %rax\n\tmovq\t.Lkptls.ie.iv(%rip), %rdx\n"));
	CHECK(has(k, "\tdata16\tleaq\t.Lkptls.gd.gv(%rip), %rdi\n"
		  "\tcall\t__tls_get_addr.kpatch_ext@PLT\n"));
	CHECK(has(k, "\tleaq\t.Lkptls.ld.lv(%rip), %rdi\n\tmovl\tlv.kpatch_dtpoff(%rax), %eax\n"));
	CHECK(has(k, ".Lkptls.ie.iv:\n\t.quad\tiv.kpatch_tpoff\n"));
	CHECK(has(k, ".Lkptls.gd.gv:\n\t.quad\tgv.kpatch_dtpmod\n\t.quad\tgv.kpatch_dtpoff\n"));
	CHECK(has(k, ".Lkptls.ld.lv:\n\t.quad\tlv.kpatch_dtpmod\n\t.quad\t0\n"));
	{
		const char *p1 = strstr(k, ".Lkptls.ie.iv:");
		CHECK(p1 && !strstr(p1 + 1, ".Lkptls.ie.iv:"));
	}
	CHECK(has(k, "\t.weak\ttv.kpatch_tpoff\n\t.hidden\ttv.kpatch_tpoff\n"));
	CHECK(has(k, "\t.weak\tgv.kpatch_dtpmod\n\t.hidden\tgv.kpatch_dtpmod\n"));
	CHECK(!strstr(k, "@tpoff") && !strstr(k, "@gottpoff") && !strstr(k, "@tls"));
	free(k);

	/* TLS descriptors (-mtls-dialect=gnu2) are refused with the function named */
	k = kpatch(FN("f", "\tret\n"), FN("f", "\tleaq\ttv@TLSDESC(%rip), %rax\n"
		   "\tcall\t*tv@TLSCALL(%rax)\n\tret\n"));
	CHECK_STR(k, "ERROR: function 'f' uses 'tv@TLSDESC': TLS descriptors (-mtls-dialect=gnu2) "
		  "cannot be live-patched; build with the default TLS dialect");
	free(k);

	/* a call to an IFUNC of the unit goes through .kpatch_ext (ld aborts
	 * on an IFUNC relocation in a non-allocated section) */
	k = kpatch(FN("f", "\tret\n") "\t.globl\ttw\n\t.type\ttw, @gnu_indirect_function\n"
		   "\t.set\ttw,f\n",
		   FN("f", "\tcall\ttw@PLT\n\tret\n") "\t.globl\ttw\n"
		   "\t.type\ttw, @gnu_indirect_function\n\t.set\ttw,f\n");
	CHECK(has(k, "\tcall\ttw.kpatch_ext@PLT\n"));
	free(k);

	/* a pool constant that is the low part of another is an alias of it
	 * (`.set .LC18,.LC6`, expat's xmlparse.c at -O2: movzwl .LC18 reads the
	 * first 2 bytes of .LC6).  Before: "literal '.LC18' used by patched code
	 * is not defined in the unit"; after: the copy of .LC6 under both names. */
	{
		const char *pool = "\t.section\t.rodata.cst8,\"aM\",@progbits,8\n\t.align 8\n"
				   ".LC6:\n\t.long\t1\n\t.long\t1\n\t.set\t.LC18,.LC6\n";
		lc_buf_reset(&a);
		lc_buf_reset(&b);
		lc_buf_adds(&a, FN("f", "\tmovzwl\t.LC18(%rip), %eax\n\tret\n"));
		lc_buf_adds(&a, pool);
		lc_buf_adds(&b, FN("f", "\tmovzwl\t.LC18(%rip), %eax\n\taddl\t$1, %eax\n\tret\n"));
		lc_buf_adds(&b, pool);
		k = kpatch(a.data, b.data);
		CHECK(has(k, "\tmovzwl\t.Lkp.LC18(%rip), %eax\n"));
		CHECK(has(k, "\t.set\t.Lkp.LC18, .Lkp.LC6\n"));
		CHECK(has(k, ".Lkp.LC6:\n\t.long\t1\n\t.long\t1\n"));
		free(k);
		/* the alias's content is its target's: a change to .LC6 alone
		 * changes f, and the copy holds the new value */
		lc_buf_reset(&b);
		lc_buf_adds(&b, FN("f", "\tmovzwl\t.LC18(%rip), %eax\n\tret\n"));
		lc_buf_adds(&b, "\t.section\t.rodata.cst8,\"aM\",@progbits,8\n\t.align 8\n"
			    ".LC6:\n\t.long\t2\n\t.long\t1\n\t.set\t.LC18,.LC6\n");
		k = kpatch(a.data, b.data);
		CHECK(has(k, "\t.set\t.Lkp.LC18, .Lkp.LC6\n"));
		CHECK(has(k, ".Lkp.LC6:\n\t.long\t2\n\t.long\t1\n"));
		free(k);

		/* a part further in (expat's runtests.c: `.set .LC283,.LC137+4`).
		 * Before: "literal '.LC283' used by patched code is not defined";
		 * after: an alias 4 bytes into the copy */
		const char *pool4 = "\t.section\t.rodata.cst8,\"aM\",@progbits,8\n\t.align 8\n"
				    ".LC137:\n\t.long\t1\n\t.long\t7\n\t.set\t.LC283,.LC137+4\n";
		lc_buf_reset(&a);
		lc_buf_reset(&b);
		lc_buf_adds(&a, FN("f", "\tmovzwl\t.LC283(%rip), %eax\n\tret\n"));
		lc_buf_adds(&a, pool4);
		lc_buf_adds(&b, FN("f", "\tmovzwl\t.LC283(%rip), %eax\n\taddl\t$1, %eax\n\tret\n"));
		lc_buf_adds(&b, pool4);
		k = kpatch(a.data, b.data);
		CHECK(has(k, "\tmovzwl\t.Lkp.LC283(%rip), %eax\n"));
		CHECK(has(k, "\t.set\t.Lkp.LC283, .Lkp.LC137+4\n"));
		CHECK(has(k, ".Lkp.LC137:\n\t.long\t1\n\t.long\t7\n"));
		free(k);
		/* the bytes it points to changed, the code did not: f changed */
		lc_buf_reset(&b);
		lc_buf_adds(&b, FN("f", "\tmovzwl\t.LC283(%rip), %eax\n\tret\n"));
		lc_buf_adds(&b, "\t.section\t.rodata.cst8,\"aM\",@progbits,8\n\t.align 8\n"
			    ".LC137:\n\t.long\t1\n\t.long\t8\n\t.set\t.LC283,.LC137+4\n");
		k = kpatch(a.data, b.data);
		CHECK(has(k, ".Lkp.LC137:\n\t.long\t1\n\t.long\t8\n"));
		free(k);
		/* the same bytes reached at another offset are another datum */
		lc_buf_reset(&b);
		lc_buf_adds(&b, FN("f", "\tmovzwl\t.LC283(%rip), %eax\n\tret\n"));
		lc_buf_adds(&b, "\t.section\t.rodata.cst8,\"aM\",@progbits,8\n\t.align 8\n"
			    ".LC137:\n\t.long\t1\n\t.long\t7\n\t.set\t.LC283,.LC137+2\n");
		k = kpatch(a.data, b.data);
		CHECK(has(k, "\t.set\t.Lkp.LC283, .Lkp.LC137+2\n"));
		free(k);
	}

	/* a new global function says so by a second name (another unit's patch
	 * code may call it); a new static one does not */
	k = kpatch(FN("f", "\tret\n"), FN("f", "\tcall\tg\n\tret\n") FN("g", "\tret\n")
		   "\t.text\n\t.type\th, @function\nh:\n\tret\n\t.size\th, .-h\n");
	CHECK(has(k, "\t.set\tg.kpatch_global, g.kpatch\n"));
	CHECK(!strstr(k, "h.kpatch_global") && !strstr(k, "f.kpatch_global"));
	free(k);
	/* a new global object too; a new static one not */
	k = kpatch(FN("f", "\tret\n"), FN("f", "\tmovl\tnv(%rip), %eax\n\taddl\tsv(%rip), %eax\n\tret\n")
		   "\t.globl\tnv\n\t.data\n\t.align 4\n\t.type\tnv, @object\n\t.size\tnv, 4\nnv:\n\t.long\t1\n"
		   "\t.data\n\t.align 4\n\t.type\tsv, @object\n\t.size\tsv, 4\nsv:\n\t.long\t2\n");
	CHECK(has(k, "\t.set\tnv.kpatch_global, nv.kpatch\n"));
	CHECK(!strstr(k, "sv.kpatch_global"));
	free(k);

	/* a label outside the function is refused, not left dangling */
	k = kpatch(FN("f", "\tret\n"), FN("f", "\tjmp\t.L99\n"));
	CHECK_STR(k, "ERROR: local label '.L99' used by patched code is outside its function");
	free(k);

	lc_buf_free(&a);
	lc_buf_free(&b);
	return TEST_DONE();
}
