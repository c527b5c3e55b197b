/*
 * asm_extdata.c - direct references to data outside the unit, turned into
 * loads through a GOT-like slot.
 *
 * GCC addresses extern data directly (`movq environ(%rip), %rax`; in a
 * non-PIE program also `movl $environ, %edi`) because the executable's
 * link would COPY-relocate it within reach.  Patch code cannot count on
 * that: data the original never used has no copy in the running program
 * and lives in a library gigabytes away, beyond a 32-bit displacement.
 * A load or an address into a general register has the register to spare,
 * so it goes through an 8-byte slot instead, which the existing
 * @GOTPCREL rewrite provides (asm_emit.c):
 *
 *	movq environ(%rip), %rax     ->  movq environ@GOTPCREL(%rip), %rax
 *	                                 movq (%rax), %rax
 *	movzbl flag+3(%rip), %ecx    ->  movq flag@GOTPCREL(%rip), %rcx
 *	                                 movzbl 3(%rcx), %ecx
 *	leaq table+8(%rip), %rdi     ->  movq table@GOTPCREL(%rip), %rdi
 *	                                 leaq 8(%rdi), %rdi
 *	movl $environ, %edi          ->  movq environ@GOTPCREL(%rip), %rdi
 *
 * Any other instruction with such an operand (a store, arithmetic on
 * memory, an SSE load) borrows a register for the address (see
 * rewrite_borrowing).  Instructions that move %rsp or leave (push, call,
 * jmp) stay as they are: they work when the symbol is in the program
 * (another unit's global, a COPY-relocated stdout) and mkpatch refuses
 * them by name otherwise.
 */
#include <string.h>
#include "asm.h"

/* The 64-bit name of a general register given by any of its names
 * (without '%'), or NULL. */
static const char *reg64(const char *r, size_t len)
{
	static const char *const names[][5] = {
		{ "rax", "eax", "ax", "al", NULL }, { "rbx", "ebx", "bx", "bl", NULL },
		{ "rcx", "ecx", "cx", "cl", NULL }, { "rdx", "edx", "dx", "dl", NULL },
		{ "rsi", "esi", "si", "sil", NULL }, { "rdi", "edi", "di", "dil", NULL },
		{ "rbp", "ebp", "bp", "bpl", NULL },
		{ "r8", "r8d", "r8w", "r8b", NULL }, { "r9", "r9d", "r9w", "r9b", NULL },
		{ "r10", "r10d", "r10w", "r10b", NULL }, { "r11", "r11d", "r11w", "r11b", NULL },
		{ "r12", "r12d", "r12w", "r12b", NULL }, { "r13", "r13d", "r13w", "r13b", NULL },
		{ "r14", "r14d", "r14w", "r14b", NULL }, { "r15", "r15d", "r15w", "r15b", NULL },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		for (int k = 0; names[i][k]; k++)
			if (strlen(names[i][k]) == len && memcmp(names[i][k], r, len) == 0)
				return names[i][0];
	return NULL;
}

/* A plain load mnemonic: mov, movz*, movs* (not movs/movsd string or SSE). */
static int is_load(const char *w, size_t len)
{
	static const char *const ok[] = {
		"movb", "movw", "movl", "movq", "movzbl", "movzbw", "movzwl", "movzbq",
		"movzwq", "movsbl", "movsbw", "movswl", "movsbq", "movswq", "movslq", NULL
	};
	for (int i = 0; ok[i]; i++)
		if (strlen(ok[i]) == len && memcmp(ok[i], w, len) == 0)
			return 1;
	return 0;
}

static int is_sym_char(char ch, int first)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' || ch == '.' ||
	       ch == '$' || (!first && ch >= '0' && ch <= '9');
}

static int rewrite_simple(const struct lc_line_info *li, lc_extdata_fn is_ext, void *ctx,
			  struct lc_buf *out);

/* Mnemonics that move %rsp or leave the instruction stream: no borrowed
 * register around them. */
static int uses_stack(const struct lc_line_info *li)
{
	static const char *const bad[] = { "push", "pop", "call", "jmp", "ret", "enter", "leave",
					   NULL };
	for (int i = 0; bad[i]; i++)
		if (li->word_len >= strlen(bad[i]) && memcmp(li->word, bad[i], strlen(bad[i])) == 0)
			return 1;
	return 0;
}

/*
 * Any other instruction with one `sym+off(%rip)` operand of outside data
 * (a store, `addl $1, x(%rip)`, `cmpl x(%rip), %eax`, an SSE load): the
 * address goes into a borrowed register, saved below the red zone (a leaf
 * function may keep data in the 128 bytes under %rsp); lea, push and pop
 * leave the flags alone, so the instruction's flags reach the next one:
 *
 *	addl %edi, optind(%rip)  ->  leaq -128(%rsp), %rsp
 *	                             pushq %r11
 *	                             movq optind@GOTPCREL(%rip), %r11
 *	                             addl %edi, (%r11)
 *	                             popq %r11
 *	                             leaq 128(%rsp), %rsp
 */
static int rewrite_borrowing(const struct lc_line_info *li, lc_extdata_fn is_ext, void *ctx,
			     struct lc_buf *out)
{
	static const char *const scratch[] = { "r11", "r10", "r9", "r8", NULL };
	const char *a = li->args, *end = li->args + li->args_len;
	if (li->kind != LC_LINE_INSN || uses_stack(li) || memchr(a, '@', li->args_len))
		return 0;
	for (const char *q = a; q + 4 <= end; q++)
		if (memcmp(q, "%rsp", 4) == 0 || memcmp(q, "%esp", 4) == 0)
			return 0;
	/* the one "(%rip)" operand and the symbol before it */
	const char *rip = NULL;
	for (const char *q = a; q + 6 <= end; q++)
		if (memcmp(q, "(%rip)", 6) == 0) {
			if (rip)
				return 0;
			rip = q;
		}
	if (!rip)
		return 0;
	const char *op = rip;
	while (op > a && op[-1] != ' ' && op[-1] != '\t' && op[-1] != ',' && op[-1] != '*')
		op--;
	const char *sym = op, *p = op;
	while (p < rip && is_sym_char(*p, p == sym))
		p++;
	size_t sym_len = (size_t)(p - sym);
	if (!sym_len || (sym_len >= 2 && sym[0] == '.' && sym[1] == 'L'))
		return 0;
	if (p < rip && *p == '+')
		p++;
	const char *off = p;
	while (p < rip && (*p == '-' || (*p >= '0' && *p <= '9')))
		p++;
	if (p != rip || !is_ext(ctx, sym, sym_len))
		return 0;
	const char *reg = NULL;
	for (int i = 0; scratch[i] && !reg; i++) {
		size_t rl = strlen(scratch[i]);
		int used = 0;
		for (const char *q = a; q + rl + 1 <= end && !used; q++)
			used = q[0] == '%' && memcmp(q + 1, scratch[i], rl) == 0 &&
			       (q + rl + 1 == end || !(q[rl + 1] >= '0' && q[rl + 1] <= '9'));
		if (!used)
			reg = scratch[i];
	}
	if (!reg)
		return 0;
	lc_buf_addf(out, "\tleaq\t-128(%%rsp), %%rsp\n\tpushq\t%%%s\n"
		    "\tmovq\t%.*s@GOTPCREL(%%rip), %%%s\n\t%.*s\t%.*s%.*s(%%%s)%.*s\n"
		    "\tpopq\t%%%s\n\tleaq\t128(%%rsp), %%rsp", reg, (int)sym_len, sym, reg,
		    (int)li->word_len, li->word, (int)(op - a), a, (int)(rip - off), off, reg,
		    (int)(end - rip - 6), rip + 6, reg);
	return 1;
}

int lc_extdata_rewrite(const char *s, size_t len, lc_extdata_fn is_ext, void *ctx,
		       struct lc_buf *out)
{
	struct lc_line_info li;
	lc_line_classify(s, len, &li);
	if (li.kind != LC_LINE_INSN)
		return 0;
	int r = rewrite_simple(&li, is_ext, ctx, out);
	return r ? r : rewrite_borrowing(&li, is_ext, ctx, out);
}

/* A load or an address into a general register: that register holds the
 * address (the forms in the header comment). */
static int rewrite_simple(const struct lc_line_info *lip, lc_extdata_fn is_ext, void *ctx,
			  struct lc_buf *out)
{
	struct lc_line_info li = *lip;
	int lea = li.word_len == 4 && memcmp(li.word, "leaq", 4) == 0;
	if (!lea && !is_load(li.word, li.word_len))
		return 0;
	const char *a = li.args, *end = li.args + li.args_len;
	int imm = 0;
	if (a < end && *a == '$') {
		imm = 1;   /* movl $sym, %edi: an address */
		a++;
	}
	const char *sym = a;
	while (a < end && is_sym_char(*a, a == sym))
		a++;
	size_t sym_len = (size_t)(a - sym);
	if (!sym_len || (sym_len >= 2 && sym[0] == '.' && sym[1] == 'L'))
		return 0;
	if (a < end && *a == '+')
		a++;   /* sym+8: the offset is 8 */
	const char *off = a;   /* "8" or "-4" or "" */
	while (a < end && (*a == '+' || *a == '-' || (*a >= '0' && *a <= '9')))
		a++;
	size_t off_len = (size_t)(a - off);
	if (imm) {
		if (lea || off_len || !(li.word_len == 4 && (li.word[3] == 'l' || li.word[3] == 'q')))
			return 0;
	} else {
		static const char rip[] = "(%rip)";
		if ((size_t)(end - a) < sizeof(rip) - 1 || memcmp(a, rip, sizeof(rip) - 1) != 0)
			return 0;
		a += sizeof(rip) - 1;
	}
	while (a < end && (*a == ' ' || *a == '\t'))
		a++;
	if (a >= end || *a != ',')
		return 0;
	a++;
	while (a < end && (*a == ' ' || *a == '\t'))
		a++;
	if (a >= end || *a != '%')
		return 0;
	const char *reg = ++a;
	while (a < end && ((*a >= 'a' && *a <= 'z') || (*a >= '0' && *a <= '9')))
		a++;
	size_t reg_len = (size_t)(a - reg);
	while (a < end && (*a == ' ' || *a == '\t'))
		a++;
	if (a != end)
		return 0;   /* a third operand or something unexpected */
	const char *r64 = reg64(reg, reg_len);
	if (!r64 || !is_ext(ctx, sym, sym_len))
		return 0;
	lc_buf_addf(out, "\tmovq\t%.*s@GOTPCREL(%%rip), %%%s", (int)sym_len, sym, r64);
	if (imm)
		return 1;
	if (lea) {
		if (off_len)
			lc_buf_addf(out, "\n\tleaq\t%.*s(%%%s), %%%s", (int)off_len, off, r64, r64);
		return 1;
	}
	lc_buf_addf(out, "\n\t%.*s\t%.*s(%%%s), %%%.*s", (int)li.word_len, li.word, (int)off_len,
		    off, r64, (int)reg_len, reg);
	return 1;
}
