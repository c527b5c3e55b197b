/*
 * test_gensrc_data.c - sound change detection: a function is unchanged only
 * if its code and the content of the local read-only data it uses are,
 * transitively (switch tables CSWTCH.N, .LC literals, static const objects,
 * jump tables, what they point to).  Changed static const data is emitted
 * anew; changed writable or global data is refused.
 */
#include <stdlib.h>
#include <string.h>
#include "asm.h"
#include "test.h"

#define FN(name, body) \
	"\t.text\n\t.p2align 4\n\t.globl\t" name "\n\t.type\t" name ", @function\n" name ":\n" \
	body "\t.size\t" name ", .-" name "\n"

static struct lc_buf last_out;

/* lc_gensrc's report ("ERROR: ..." on refusal); the output in last_out. */
static char *report(const char *orig, const char *patched)
{
	struct lc_buf rep = LC_BUF_INIT, err = LC_BUF_INIT;
	lc_buf_free(&last_out);
	if (lc_gensrc(orig, strlen(orig), patched, strlen(patched), &last_out, &rep, &err) < 0) {
		lc_buf_reset(&rep);
		lc_buf_addf(&rep, "ERROR: %s", err.data);
	}
	lc_buf_free(&err);
	return rep.data ? rep.data : lc_xstrdup("");
}

static int has(const char *text, const char *what)
{
	if (text && strstr(text, what))
		return 1;
	fprintf(stderr, "missing: %s\n", what);
	return 0;
}

/* switch (i % 9) { case 0: return "zero"; ... case 6: return six; ... } at
 * -O2 -fno-pie: a table of pointers to the literals; the code is the same
 * whatever the strings say. */
#define CSW_FN(tab, dflt) \
	FN("name", "\tmovl\t$" dflt ", %edx\n\tcmpl\t$7, %eax\n\tja\t.L1\n" \
	   "\tmovq\t" tab "(,%rax,8), %rdx\n.L1:\n\tmovq\t%rdx, %rax\n\tret\n")
#define CSW_TAB(tab, l6) \
	"\t.section\t.rodata\n\t.align 32\n\t.type\t" tab ", @object\n\t.size\t" tab ", 16\n" \
	tab ":\n\t.quad\t.LC1\n\t.quad\t" l6 "\n"

int main(void)
{
	char *s;
	const char *strs = "\t.section\t.rodata.str1.1,\"aMS\",@progbits,1\n"
			   ".LC0:\n\t.string\t\"eight\"\n.LC1:\n\t.string\t\"zero\"\n"
			   ".LC7:\n\t.string\t\"six\"\n";

	/* the bug this fixes: "six" -> "SIX" changes only what CSWTCH.1's
	 * entry 1 points to.  Before: "no change: the original text alone". */
	struct lc_buf a = LC_BUF_INIT, b = LC_BUF_INIT;
	lc_buf_adds(&a, strs);
	lc_buf_adds(&a, CSW_FN("CSWTCH.1", ".LC0") CSW_TAB("CSWTCH.1", ".LC7"));
	lc_buf_adds(&b, "\t.section\t.rodata.str1.1,\"aMS\",@progbits,1\n"
		    ".LC0:\n\t.string\t\"eight\"\n.LC1:\n\t.string\t\"zero\"\n"
		    ".LC7:\n\t.string\t\"SIX\"\n");
	lc_buf_adds(&b, CSW_FN("CSWTCH.1", ".LC0") CSW_TAB("CSWTCH.1", ".LC7"));
	s = report(a.data, b.data);
	CHECK_STR(s, "changed: name (uses CSWTCH.1, whose entry 1 changed: "
		  "`.quad {.string \"six\";}` -> `.quad {.string \"SIX\";}`)\n");
	free(s);
	/* the patch has its own table pointing at its own copy of the strings */
	CHECK(has(last_out.data, "movq\t.Lkp.CSWTCH.1(,%rax,8), %rdx"));
	CHECK(has(last_out.data, ".Lkp.CSWTCH.1:\n\t.quad\t.Lkp.LC1\n\t.quad\t.Lkp.LC7\n"));
	CHECK(has(last_out.data, ".Lkp.LC7:\n\t.string\t\"SIX\""));

	/* CSWTCH and .LC numbers drift like labels: renumbered alone is no change */
	lc_buf_reset(&b);
	lc_buf_adds(&b, "\t.section\t.rodata.str1.1,\"aMS\",@progbits,1\n"
		    ".LC3:\n\t.string\t\"eight\"\n.LC4:\n\t.string\t\"zero\"\n"
		    ".LC9:\n\t.string\t\"six\"\n");
	lc_buf_adds(&b, FN("name", "\tmovl\t$.LC3, %edx\n\tcmpl\t$7, %eax\n\tja\t.L4\n"
			   "\tmovq\tCSWTCH.5(,%rax,8), %rdx\n.L4:\n\tmovq\t%rdx, %rax\n\tret\n")
		    "\t.section\t.rodata\n\t.align 32\n\t.type\tCSWTCH.5, @object\n"
		    "\t.size\tCSWTCH.5, 16\nCSWTCH.5:\n\t.quad\t.LC4\n\t.quad\t.LC9\n");
	s = report(a.data, b.data);
	CHECK_STR(s, "no change: the original text alone\n");
	free(s);

	/* static const data: `static const int tbl[] = {1, 2, 3}` with entry 2
	 * changed is emitted anew, and the function using it is changed */
	const char *tbl_a = "\t.section\t.rodata\n\t.align 8\n\t.type\ttbl, @object\n\t.size\ttbl, 12\n"
			    "tbl:\n\t.long\t1\n\t.long\t2\n\t.long\t3\n"
			    FN("f", "\tleaq\ttbl(%rip), %rax\n\tmovl\t(%rax,%rdi,4), %eax\n\tret\n")
			    FN("g", "\tmovl\t$1, %eax\n\tret\n");
	const char *tbl_b = "\t.section\t.rodata\n\t.align 8\n\t.type\ttbl, @object\n\t.size\ttbl, 12\n"
			    "tbl:\n\t.long\t1\n\t.long\t2\n\t.long\t30\n"
			    FN("f", "\tleaq\ttbl(%rip), %rax\n\tmovl\t(%rax,%rdi,4), %eax\n\tret\n")
			    FN("g", "\tmovl\t$1, %eax\n\tret\n");
	s = report(tbl_a, tbl_b);
	CHECK_STR(s, "changed: f (uses tbl, whose entry 2 changed: `.long 3` -> `.long 30`)\n"
		  "changed data: tbl (entry 2 changed: `.long 3` -> `.long 30`; read-only: emitted anew)\n");
	free(s);
	CHECK(has(last_out.data, "\t.section\t.kpatch.data,\"\",@progbits\n\t.align 8\n"
		  "\t.type\ttbl.kpatch, @object\n\t.size\ttbl.kpatch, 12\ntbl.kpatch:\n"
		  "\t.long\t1\n\t.long\t2\n\t.long\t30\n"));
	CHECK(has(last_out.data, "leaq\ttbl.kpatch(%rip), %rax"));
	CHECK(!strstr(last_out.data, "g.kpatch"));

	/* ... transitively: a static const table of pointers to a literal that changed */
	const char *ptr_a = "\t.section\t.rodata.str1.1,\"aMS\",@progbits,1\n.LC0:\n\t.string\t\"six\"\n"
			    "\t.section\t.data.rel.ro.local,\"aw\"\n\t.align 8\n\t.type\tnames, @object\n"
			    "\t.size\tnames, 8\nnames:\n\t.quad\t.LC0\n"
			    FN("f", "\tmovq\tnames(%rip), %rax\n\tret\n");
	const char *ptr_b = "\t.section\t.rodata.str1.1,\"aMS\",@progbits,1\n.LC2:\n\t.string\t\"SIX\"\n"
			    "\t.section\t.data.rel.ro.local,\"aw\"\n\t.align 8\n\t.type\tnames, @object\n"
			    "\t.size\tnames, 8\nnames:\n\t.quad\t.LC2\n"
			    FN("f", "\tmovq\tnames(%rip), %rax\n\tret\n");
	s = report(ptr_a, ptr_b);
	CHECK(has(s, "changed: f (uses names, whose entry 0 changed: `.quad {.string \"six\";}` -> "
		  "`.quad {.string \"SIX\";}`)\n"));
	CHECK(has(s, "changed data: names ("));
	free(s);
	CHECK(has(last_out.data, "names.kpatch:\n\t.quad\t.Lkp.LC2\n"));
	CHECK(has(last_out.data, ".Lkp.LC2:\n\t.string\t\"SIX\""));

	/* a writable table pointing to the changed literal keeps its storage in
	 * the running process: refused, as any changed writable data */
	const char *w_a = "\t.section\t.rodata.str1.1,\"aMS\",@progbits,1\n.LC0:\n\t.string\t\"six\"\n"
			  "\t.data\n\t.align 8\n\t.type\tmsgs, @object\n\t.size\tmsgs, 8\nmsgs:\n"
			  "\t.quad\t.LC0\n" FN("f", "\tmovq\tmsgs(%rip), %rax\n\tret\n");
	const char *w_b = "\t.section\t.rodata.str1.1,\"aMS\",@progbits,1\n.LC0:\n\t.string\t\"SIX\"\n"
			  "\t.data\n\t.align 8\n\t.type\tmsgs, @object\n\t.size\tmsgs, 8\nmsgs:\n"
			  "\t.quad\t.LC0\n" FN("f", "\tmovq\tmsgs(%rip), %rax\n\tret\n");
	s = report(w_a, w_b);
	CHECK_STR(s, "ERROR: data object 'msgs' changed (size or initial value): cannot be live-patched");
	free(s);

	/* a global const table may be read by other units: refused too */
	const char *g_a = "\t.globl\tgtab\n\t.section\t.rodata\n\t.align 4\n\t.type\tgtab, @object\n"
			  "\t.size\tgtab, 4\ngtab:\n\t.long\t1\n" FN("f", "\tmovl\tgtab(%rip), %eax\n\tret\n");
	const char *g_b = "\t.globl\tgtab\n\t.section\t.rodata\n\t.align 4\n\t.type\tgtab, @object\n"
			  "\t.size\tgtab, 4\ngtab:\n\t.long\t2\n" FN("f", "\tmovl\tgtab(%rip), %eax\n\tret\n");
	s = report(g_a, g_b);
	CHECK_STR(s, "ERROR: data object 'gtab' changed (size or initial value): cannot be live-patched");
	free(s);

	/* a jump table (a .L label in .rodata) outside the function: its content
	 * counts (here case 1 now goes where case 0 goes) */
	const char *jt_a = FN("f", "\tjmp\t*.L4(,%rdi,8)\n.L2:\n\tmovl\t$1, %eax\n\tret\n"
			      ".L3:\n\tmovl\t$2, %eax\n\tret\n")
			   "\t.section\t.rodata\n\t.align 8\n.L4:\n\t.quad\t.L2\n\t.quad\t.L3\n";
	const char *jt_b = FN("f", "\tjmp\t*.L4(,%rdi,8)\n.L2:\n\tmovl\t$1, %eax\n\tret\n"
			      ".L3:\n\tmovl\t$2, %eax\n\tret\n")
			   "\t.section\t.rodata\n\t.align 8\n.L4:\n\t.quad\t.L2\n\t.quad\t.L2\n";
	s = report(jt_a, jt_b);
	CHECK(has(s, "changed: f (uses .L4, whose entry 1 changed: `.quad .L~1` -> `.quad .L~0`)"));
	free(s);
	/* ... and the same table with other label numbers is no change */
	s = report(jt_a, FN("f", "\tjmp\t*.L9(,%rdi,8)\n.L7:\n\tmovl\t$1, %eax\n\tret\n"
			    ".L8:\n\tmovl\t$2, %eax\n\tret\n")
		   "\t.section\t.rodata\n\t.align 8\n.L9:\n\t.quad\t.L7\n\t.quad\t.L8\n");
	CHECK_STR(s, "no change: the original text alone\n");
	free(s);

	/* static const data pointing at each other (a cycle) ends, and compares */
	const char *cyc = "\t.section\t.data.rel.ro.local,\"aw\"\n\t.align 8\n"
			  "\t.type\tna, @object\n\t.size\tna, 16\nna:\n\t.quad\tnb\n\t.long\t1\n\t.zero\t4\n"
			  "\t.type\tnb, @object\n\t.size\tnb, 16\nnb:\n\t.quad\tna\n\t.long\t2\n\t.zero\t4\n"
			  FN("f", "\tleaq\tna(%rip), %rax\n\tret\n");
	s = report(cyc, cyc);
	CHECK_STR(s, "no change: the original text alone\n");
	free(s);
	char *cyc2 = lc_xstrdup(cyc);
	*strstr(cyc2, ".long\t2") = '\0';
	lc_buf_reset(&b);
	lc_buf_adds(&b, cyc2);
	lc_buf_adds(&b, ".long\t3\n\t.zero\t4\n");
	lc_buf_adds(&b, strstr(cyc, ".long\t2") + strlen(".long\t2\n\t.zero\t4\n"));
	s = report(cyc, b.data);
	CHECK(has(s, "changed: f (uses na, whose entry 0 changed: `.quad {.quad {^0};.long 2;.zero 4;}` "
		  "-> `.quad {.quad {^0};.long 3;.zero 4;}`)\n"));
	CHECK(has(s, "changed data: na ("));
	CHECK(has(s, "changed data: nb (entry 1 changed: `.long 2` -> `.long 3`;"));
	free(s);
	CHECK(has(last_out.data, "na.kpatch:\n\t.quad\tnb.kpatch\n"));
	CHECK(has(last_out.data, "nb.kpatch:\n\t.quad\tna.kpatch\n"));
	free(cyc2);

	/* a computed-goto table (static void *const ops[] = { &&a, &&b }) points
	 * into its function: when the function is replaced, so is the table,
	 * pointing at the copy's labels; GCC's `.set wops.0, ops.1` (two equal
	 * tables merged) means the same table */
	const char *cg_a = FN("run", "\tjmp\t*ops.1(,%rdi,8)\n.L3:\n\taddl\t$3, %eax\n"
			      "\tjmp\t*wops.0(,%rdi,8)\n.L4:\n\tret\n")
			   "\t.section\t.rodata\n\t.align 16\n\t.type\tops.1, @object\n"
			   "\t.size\tops.1, 16\nops.1:\n\t.quad\t.L3\n\t.quad\t.L4\n"
			   "\t.set\twops.0,ops.1\n";
	lc_buf_reset(&b);
	lc_buf_adds(&b, cg_a);
	strstr(b.data, "$3")[1] = '4';
	s = report(cg_a, b.data);
	CHECK_STR(s, "changed: run (code: `addl $3, %eax` -> `addl $4, %eax`)\n"
		  "changed data: ops.1 (holds code addresses in run, which changed; read-only: "
		  "emitted anew)\n");
	free(s);
	CHECK(has(last_out.data, "ops.1.kpatch:\n\t.quad\t.Lkp.L3\n\t.quad\t.Lkp.L4\n"));
	CHECK(has(last_out.data, "\tjmp\t*ops.1.kpatch(,%rdi,8)\n"));
	CHECK(has(last_out.data, "\tjmp\t*ops.1.kpatch(,%rdi,8)\n.Lkp.L3:\n\taddl\t$4, %eax\n"
		  "\tjmp\t*ops.1.kpatch(,%rdi,8)\n"));
	/* ... the alias is followed when comparing: a change of ops.1's entries
	 * seen only through wops.0 is a change */
	{
		const char *al_a = FN("f", "\tmovq\twops.0(%rip), %rax\n\tret\n")
				   "\t.section\t.rodata\n\t.type\tops.1, @object\n\t.size\tops.1, 4\n"
				   "ops.1:\n\t.long\t1\n\t.set\twops.0,ops.1\n";
		const char *al_b = FN("f", "\tmovq\twops.0(%rip), %rax\n\tret\n")
				   "\t.section\t.rodata\n\t.type\tops.1, @object\n\t.size\tops.1, 4\n"
				   "ops.1:\n\t.long\t2\n\t.set\twops.0,ops.1\n";
		s = report(al_a, al_b);
		CHECK(has(s, "changed: f (uses wops.0, whose entry 0 changed: `.long 1` -> `.long 2`)\n"));
		free(s);
	}
	/* ... a writable one keeps the original's storage, into the old code: refused */
	lc_buf_reset(&a);
	lc_buf_adds(&a, FN("run", "\tjmp\t*ops.1(,%rdi,8)\n.L3:\n\taddl\t$3, %eax\n"
			   "\tjmp\t*ops.1(,%rdi,8)\n.L4:\n\tret\n")
		    "\t.data\n\t.align 16\n\t.type\tops.1, @object\n"
		    "\t.size\tops.1, 16\nops.1:\n\t.quad\t.L3\n\t.quad\t.L4\n");
	lc_buf_reset(&b);
	lc_buf_adds(&b, a.data);
	strstr(b.data, "$3")[1] = '4';
	s = report(a.data, b.data);
	CHECK_STR(s, "ERROR: data object 'ops.1' holds code addresses in 'run', which changed: the "
		  "running process keeps the original's, pointing into the old code: cannot be "
		  "live-patched");
	free(s);

	/* the shallow text: local data as "{}", with the names in order */
	{
		struct lc_asm_unit u;
		struct lc_buf o = LC_BUF_INIT;
		struct lc_norm_refs r = { 0 };
		lc_buf_reset(&a);
		lc_buf_adds(&a, strs);
		lc_buf_adds(&a, CSW_FN("CSWTCH.1", ".LC0") CSW_TAB("CSWTCH.1", ".LC7"));
		lc_unit_parse(&u, a.data, a.len, NULL);
		lc_norm_func_ex(&u, 0, NULL, 1, &r, &o);
		CHECK(has(o.data, "movl ${}, %edx\n"));
		CHECK(has(o.data, "movq {}(,%rax,8), %rdx\n"));
		CHECK(r.n == 2 && r.len[1] == 8 && memcmp(r.s[1], "CSWTCH.1", 8) == 0);
		lc_buf_reset(&o);
		lc_norm_func(&u, 0, NULL, &o);
		CHECK(has(o.data, "movq {.quad {.string \"zero\";};.quad {.string \"six\";};}(,%rax,8)"));
		lc_norm_refs_free(&r);
		lc_buf_free(&o);
		lc_unit_free(&u);
	}

	lc_buf_free(&a);
	lc_buf_free(&b);
	lc_buf_free(&last_out);
	return TEST_DONE();
}
