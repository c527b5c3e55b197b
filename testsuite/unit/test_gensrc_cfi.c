/*
 * test_gensrc_cfi.c - the unwind information of emitted code: `.cfi_*`
 * directives become labels in .kpatch.text and explicit CIE/FDE bytes in
 * .kpatch.eh_frame (asm_cfi.c); an LSDA is copied into .kpatch.data with
 * its call sites rebased on its FDE; what cannot be expressed is refused.
 */
#include <stdlib.h>
#include <string.h>
#include "asm.h"
#include "test.h"

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
	fprintf(stderr, "missing: %s\nin:\n%s\n", what, text);
	return 0;
}

#define HEAD(name) "\t.text\n\t.globl\t" name "\n\t.type\t" name ", @function\n" name ":\n"

int main(void)
{
	/* a frame with a pushed rbp: def_cfa_offset, offset, def_cfa_register */
	const char *a = HEAD("f") ".LFB0:\n\t.cfi_startproc\n\tpushq\t%rbp\n"
		"\t.cfi_def_cfa_offset 16\n\t.cfi_offset 6, -16\n\tmovq\t%rsp, %rbp\n"
		"\t.cfi_def_cfa_register 6\n\tmovl\t$1, %eax\n\tpopq\t%rbp\n\t.cfi_def_cfa 7, 8\n"
		"\tret\n\t.cfi_endproc\n.LFE0:\n\t.size\tf, .-f\n";
	char *k = kpatch(a, "\t.text\n\t.globl\tf\n\t.type\tf, @function\nf:\n.LFB0:\n"
		"\t.cfi_startproc\n\tpushq\t%rbp\n\t.cfi_def_cfa_offset 16\n\t.cfi_offset 6, -16\n"
		"\tmovq\t%rsp, %rbp\n\t.cfi_def_cfa_register 6\n\tmovl\t$2, %eax\n\tpopq\t%rbp\n"
		"\t.cfi_def_cfa 7, 8\n\tret\n\t.cfi_endproc\n.LFE0:\n\t.size\tf, .-f\n");
	CHECK(!strstr(k, ".cfi_"));
	CHECK(has(k, "f.kpatch:\n.Lkp.LFB0:\n.Lkpcfi.0:\n\tpushq\t%rbp\n.Lkpcfi.1:\n"
		  "\tmovq\t%rsp, %rbp\n.Lkpcfi.2:\n"));
	CHECK(has(k, "\t.section\t.kpatch.eh_frame,\"\",@progbits\n\t.balign 8\n.Lkpcie.0:\n"));
	CHECK(has(k, "\t.string\t\"zR\"\n\t.uleb128 1\n\t.sleb128 -8\n\t.uleb128 16\n"));
	CHECK(has(k, "\t.quad\t.Lkpcfi.0\n\t.quad\t.Lkpcfi.4-.Lkpcfi.0\n"));
	/* advance, then the instruction: CFA offset 16, rbp at cfa-16 (2 * -8) */
	CHECK(has(k, "\t.byte\t0x4\n\t.long\t.Lkpcfi.1-.Lkpcfi.0\n\t.byte\t0xe\n\t.uleb128 16\n"
		  "\t.byte\t0x86\n\t.uleb128 2\n"));
	CHECK(has(k, "\t.byte\t0x4\n\t.long\t.Lkpcfi.2-.Lkpcfi.1\n\t.byte\t0xd\n\t.uleb128 6\n"));
	CHECK(has(k, "\t.byte\t0xc\n\t.uleb128 7\n\t.uleb128 8\n\t.balign 8,0\n.Lkpfde.0.e:\n"));
	free(k);

	/* C++: personality through DW.ref, an LSDA, a cold part whose LSDA
	 * counts from .LCOLDB0 (elsewhere in .kpatch.text) */
	const char *cxx_top = "\t.section\t.text.unlikely,\"ax\",@progbits\n.LCOLDB0:\n\t.text\n.LHOTB0:\n";
	const char *cxx_fn =
		HEAD("g") ".LFB1:\n\t.cfi_startproc\n\t.cfi_personality 0x9b,DW.ref.__gxx_personality_v0\n"
		"\t.cfi_lsda 0x1b,.LLSDA1\n\tsubq\t$8, %rsp\n\t.cfi_def_cfa_offset 16\n"
		".LEHB0:\n\tcall\tthrow_it@PLT\n.LEHE0:\n\taddq\t$8, %rsp\n\t.cfi_remember_state\n"
		"\t.cfi_def_cfa_offset 8\n\tret\n.L3:\n\t.cfi_restore_state\n\tjmp\t.L4\n"
		"\t.section\t.gcc_except_table,\"a\",@progbits\n.LLSDA1:\n\t.byte\t0xff\n\t.byte\t0xff\n"
		"\t.byte\t0x1\n\t.uleb128 .LLSDACSE1-.LLSDACSB1\n.LLSDACSB1:\n"
		"\t.uleb128 .LEHB0-.LFB1\n\t.uleb128 .LEHE0-.LEHB0\n\t.uleb128 .L3-.LFB1\n\t.uleb128 0\n"
		".LLSDACSE1:\n\t.text\n\t.cfi_endproc\n"
		"\t.section\t.text.unlikely\n\t.cfi_startproc\n"
		"\t.cfi_personality 0x9b,DW.ref.__gxx_personality_v0\n\t.cfi_lsda 0x1b,.LLSDAC1\n"
		"\t.type\tg.cold, @function\ng.cold:\n.L4:\n\t.cfi_def_cfa_offset 16\n"
		".LEHB1:\n\tcall\t_Unwind_Resume@PLT\n.LEHE1:\n\t.cfi_endproc\n.LFE1:\n"
		"\t.section\t.gcc_except_table\n.LLSDAC1:\n\t.byte\t0xff\n\t.byte\t0xff\n\t.byte\t0x1\n"
		"\t.uleb128 .LLSDACSEC1-.LLSDACSBC1\n.LLSDACSBC1:\n\t.uleb128 .LEHB1-.LCOLDB0\n"
		"\t.uleb128 .LEHE1-.LEHB1\n\t.uleb128 0\n\t.uleb128 0\n.LLSDACSEC1:\n"
		"\t.section\t.text.unlikely\n\t.text\n\t.size\tg, .-g\n"
		"\t.section\t.text.unlikely\n\t.size\tg.cold, .-g.cold\n";
	struct lc_buf o = LC_BUF_INIT, p = LC_BUF_INIT;
	lc_buf_adds(&o, cxx_top);
	lc_buf_adds(&o, cxx_fn);
	lc_buf_adds(&p, cxx_top);
	lc_buf_adds(&p, cxx_fn);
	char *subq = strstr(p.data, "$8, %rsp\n\t.cfi_def_cfa_offset 16");
	subq[1] = '9';    /* a change: subq $9 */
	k = kpatch(o.data, p.data);
	CHECK(has(k, "\t.string\t\"zPLR\"\n"));
	CHECK(has(k, "\t.byte\t0x0\n\t.quad\t__gxx_personality_v0.kpatch_ext\n\t.byte\t0x0\n\t.byte\t0x0\n"));
	CHECK(has(k, "\t.weak\t__gxx_personality_v0.kpatch_ext\n"));
	CHECK(has(k, ".Lkpfde.0.as:\n\t.quad\t.Lkp.LLSDA1\n"));
	CHECK(has(k, ".Lkpfde.1.as:\n\t.quad\t.Lkp.LLSDAC1\n"));
	CHECK(has(k, "\t.byte\t0xa\n") && has(k, "\t.byte\t0xb\n"));   /* remember, restore */
	/* the LSDAs in .kpatch.data: hot counts from its FDE start (same place
	 * as .LFB1), cold from the cold FDE's start, not from .LCOLDB0;
	 * lengths and the LSDA's own differences stay */
	CHECK(has(k, ".Lkp.LLSDA1:\n"));
	CHECK(has(k, "\t.uleb128 .Lkp.LEHB0-.Lkpcfi.0\n\t.uleb128 .Lkp.LEHE0-.Lkp.LEHB0\n"
		  "\t.uleb128 .Lkp.L3-.Lkpcfi.0\n"));
	CHECK(has(k, "\t.uleb128 .Lkp.LLSDACSEC1-.Lkp.LLSDACSBC1\n"));
	CHECK(has(k, "\t.uleb128 .Lkp.LEHB1-.Lkpcfi."));
	CHECK(!strstr(k, "-.Lkp.LCOLDB0"));
	CHECK(!strstr(k, ".gcc_except_table") && !strstr(k, ".cfi_"));
	free(k);

	/* what has no translation is refused, naming the function */
	lc_buf_reset(&p);
	lc_buf_adds(&p, HEAD("f") ".LFB0:\n\t.cfi_startproc\n\t.cfi_signal_frame\n\tret\n"
		    "\t.cfi_endproc\n.LFE0:\n\t.size\tf, .-f\n");
	k = kpatch(a, p.data);
	CHECK(has(k, "ERROR: function 'f': `.cfi_signal_frame ` is not supported in patch code"));
	free(k);
	lc_buf_reset(&p);
	lc_buf_adds(&p, HEAD("f") ".LFB0:\n\t.cfi_startproc\n\tpushq\t%rbp\n\t.cfi_offset %rbp, -16\n"
		    "\tret\n\t.cfi_endproc\n.LFE0:\n\t.size\tf, .-f\n");
	k = kpatch(a, p.data);
	CHECK(has(k, "ERROR: function 'f': `.cfi_offset %rbp, -16` has arguments that are not numbers"));
	free(k);
	lc_buf_free(&o);
	lc_buf_free(&p);
	return TEST_DONE();
}
