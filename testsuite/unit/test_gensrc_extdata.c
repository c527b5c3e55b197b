/*
 * test_gensrc_extdata.c - patch code and data it does not define: loads
 * and addresses of outside data go through a slot (asm_extdata.c), each
 * form with its before/after; other forms are left alone; and code
 * alignment in .kpatch.text is padded with NOPs, not zeros.
 */
#include <stdlib.h>
#include <string.h>
#include "asm.h"
#include "test.h"

/* Everything not starting with "in_" is outside the unit. */
static int outside(void *ctx, const char *s, size_t len)
{
	(void)ctx;
	return !(len > 3 && memcmp(s, "in_", 3) == 0);
}

static char *rw(const char *line)
{
	struct lc_buf out = LC_BUF_INIT;
	if (!lc_extdata_rewrite(line, strlen(line), outside, NULL, &out))
		return lc_xstrdup("(unchanged)");
	return out.data;
}

#define FN(name, body) \
	"\t.text\n\t.p2align 4\n\t.globl\t" name "\n\t.type\t" name ", @function\n" name ":\n" \
	body "\t.size\t" name ", .-" name "\n"

static char *kpatch(const char *orig, const char *patched)
{
	struct lc_buf out = LC_BUF_INIT, rep = LC_BUF_INIT, err = LC_BUF_INIT;
	char *res;
	if (lc_gensrc(orig, strlen(orig), patched, strlen(patched), &out, &rep, &err) < 0)
		res = lc_xstrdup(err.data);
	else
		res = lc_xstrdup(strstr(out.data, "# libcare: .kpatch sections\n"));
	lc_buf_free(&out);
	lc_buf_free(&rep);
	lc_buf_free(&err);
	return res;
}

int main(void)
{
	char *s;

	/* a 64-bit load: through the slot, then from the address */
	s = rw("\tmovq\tenviron(%rip), %rax");
	CHECK_STR(s, "\tmovq\tenviron@GOTPCREL(%rip), %rax\n\tmovq\t(%rax), %rax");
	free(s);
	/* a narrower load with an offset: the 64-bit register holds the address */
	s = rw("\tmovzbl\tflags+3(%rip), %ecx");
	CHECK_STR(s, "\tmovq\tflags@GOTPCREL(%rip), %rcx\n\tmovzbl\t3(%rcx), %ecx");
	free(s);
	s = rw("\tmovl\tx(%rip), %r9d");
	CHECK_STR(s, "\tmovq\tx@GOTPCREL(%rip), %r9\n\tmovl\t(%r9), %r9d");
	free(s);
	s = rw("\tmovb\tx-2(%rip), %sil");
	CHECK_STR(s, "\tmovq\tx@GOTPCREL(%rip), %rsi\n\tmovb\t-2(%rsi), %sil");
	free(s);
	/* an address: the slot's content itself, plus the offset */
	s = rw("\tleaq\ttable(%rip), %rdi");
	CHECK_STR(s, "\tmovq\ttable@GOTPCREL(%rip), %rdi");
	free(s);
	s = rw("\tleaq\ttable+8(%rip), %rdi");
	CHECK_STR(s, "\tmovq\ttable@GOTPCREL(%rip), %rdi\n\tleaq\t8(%rdi), %rdi");
	free(s);
	/* a non-PIE absolute address */
	s = rw("\tmovl\t$environ, %edi");
	CHECK_STR(s, "\tmovq\tenviron@GOTPCREL(%rip), %rdi");
	free(s);

	/* anything else with an outside sym(%rip): a borrowed register, saved
	 * below the red zone, holds the address */
	s = rw("\taddl\t%edi, optind(%rip)");
	CHECK_STR(s, "\tleaq\t-128(%rsp), %rsp\n\tpushq\t%r11\n"
		  "\tmovq\toptind@GOTPCREL(%rip), %r11\n\taddl\t%edi, (%r11)\n"
		  "\tpopq\t%r11\n\tleaq\t128(%rsp), %rsp");
	free(s);
	s = rw("\tmovsd\tx+8(%rip), %xmm0");
	CHECK_STR(s, "\tleaq\t-128(%rsp), %rsp\n\tpushq\t%r11\n"
		  "\tmovq\tx@GOTPCREL(%rip), %r11\n\tmovsd\t8(%r11), %xmm0\n"
		  "\tpopq\t%r11\n\tleaq\t128(%rsp), %rsp");
	free(s);
	/* ... one the instruction does not use */
	s = rw("\tmovq\t%r11, x(%rip)");
	CHECK(strstr(s, "\tpushq\t%r10\n\tmovq\tx@GOTPCREL(%rip), %r10\n"
			"\tmovq\t%r11, (%r10)\n\tpopq\t%r10\n") != NULL);
	free(s);
	s = rw("\tcmpl\t$3, x(%rip)");
	CHECK(strstr(s, "\tcmpl\t$3, (%r11)\n") != NULL);
	free(s);

	/* left alone: the unit's own data, local labels, @-specified operands,
	 * numbers, anything that moves %rsp or leaves (push, call, jmp) */
	const char *same[] = {
		"\tmovq\tin_counter(%rip), %rax", "\tleaq\t.LC0(%rip), %rdi",
		"\taddl\t$1, in_x(%rip)", "\tmovq\tstdout@GOTPCREL(%rip), %rax",
		"\tmovl\t$5, %edi", "\tcall\tputs@PLT", "\tpushq\tx(%rip)",
		"\tcall\t*fp(%rip)", "\tjmp\t*fp(%rip)", "\tmovq\tx(%rip), %rsp",
		"\tmovq\t%r11, %r10", NULL
	};
	for (int i = 0; same[i]; i++) {
		s = rw(same[i]);
		CHECK_STR(s, "(unchanged)");
		free(s);
	}

	/* in a patch: the slot is laid down once, declared weak and hidden */
	s = kpatch(FN("f", "\tmovq\tenviron(%rip), %rax\n\tret\n"),
		   FN("f", "\tmovq\tenviron(%rip), %rax\n\tmovq\t(%rax), %rax\n\tret\n"));
	CHECK(strstr(s, "\tmovq\t.Lkpgot.environ(%rip), %rax\n\tmovq\t(%rax), %rax\n"
			"\tmovq\t(%rax), %rax\n\tret\n") != NULL);
	CHECK(strstr(s, ".Lkpgot.environ:\n\t.quad\tenviron.kpatch_ext\n") != NULL);
	CHECK(strstr(s, "\t.weak\tenviron.kpatch_ext\n") != NULL);
	free(s);

	/* alignment in code pads with NOPs (0x90), also with a max skip */
	s = kpatch(FN("f", "\tret\n"),
		   FN("f", "\ttestl\t%edi, %edi\n\tje\t.L2\n\t.p2align 4,,10\n\t.p2align 3\n.L3:\n"
		      "\tsubl\t$1, %edi\n\tjne\t.L3\n.L2:\n\tret\n"));
	CHECK(strstr(s, "\t.p2align\t4,0x90,10\n\t.p2align\t3,0x90\n.Lkp.L3:\n") != NULL);
	free(s);
	/* an explicit fill stays */
	s = kpatch(FN("f", "\tret\n"), FN("f", "\t.p2align 4,0xcc\n\tret\n"));
	CHECK(strstr(s, "\t.p2align 4,0xcc\n") != NULL);
	free(s);

	return TEST_DONE();
}
