/*
 * asm_cfi.c - the unwind information of patch code, written out as bytes
 * into the non-allocated .kpatch.eh_frame (include/libcare/kpatch.h).
 *
 * Left to gas, a `.cfi_*` directive in .kpatch.text would grow the
 * allocated .eh_frame of the patched link and move the original layout.
 * So each directive of an emitted function becomes a label at its place in
 * .kpatch.text plus the DWARF call-frame instruction it stands for, and
 * each .cfi_startproc/.cfi_endproc pair one CIE and one FDE, in the form
 * GCC itself writes with -fno-dwarf2-cfi-asm:
 *
 *	foo:                          foo.kpatch:
 *	.cfi_startproc            ->  .Lkpcfi.0:          (FDE start)
 *	pushq %rbp                    pushq %rbp
 *	.cfi_def_cfa_offset 16    ->  .Lkpcfi.1:   +  .byte 0x4; .long .Lkpcfi.1-.Lkpcfi.0
 *	                                              .byte 0xe; .uleb128 16
 *	.cfi_offset 6, -16        ->  (same label) +  .byte 0x86; .uleb128 2
 *	.cfi_endproc              ->  .Lkpcfi.2:          (FDE end)
 *
 * Pointers are absolute (DW_EH_PE_absptr, `.quad`): the runtime relocates
 * them like any other R_X86_64_64 and libgcc reads them as they are.  The
 * personality (`.cfi_personality 0x9b,DW.ref.__gxx_personality_v0`, an
 * indirect pc-relative pointer to a slot holding it) becomes `.quad
 * __gxx_personality_v0` (an import); the LSDA (`.cfi_lsda 0x1b,.LLSDA5`)
 * `.quad .Lkp.LLSDA5`, the function's .gcc_except_table copied into
 * .kpatch.data.
 *
 * Call-site offsets in an LSDA are relative to the start of its FDE.  GCC
 * writes the cold part's as `.LEHB1-.LCOLDB1`, .LCOLDB1 being where the
 * cold part starts in .text.unlikely; in .kpatch.text, where the hot and
 * cold parts follow each other, .LCOLDB1 lands elsewhere.  So in a copied
 * LSDA the base of its call sites (the Y of the first `.uleb128 X-Y` whose
 * Y is not one of the LSDA's own .LLSDA* labels: the first call site's
 * start) is replaced by its FDE's start label wherever it is the Y:
 *
 *	.uleb128 .LEHB1-.LCOLDB1   ->  .uleb128 .Lkp.LEHB1-.Lkpcfi.17   (start)
 *	.uleb128 .LEHE1-.LEHB1     ->  (unchanged: a length)
 *	.uleb128 .L34-.LCOLDB1     ->  .uleb128 .Lkp.L34-.Lkpcfi.17     (landing pad)
 */
#include <stdlib.h>
#include <string.h>
#include "asm.h"
#include "libcare/kpatch.h"

#define CFI_STATE_MAX 16

/* DW_EH_PE_* and DW_CFA_* used here. */
#define PE_ABSPTR 0x00
#define PE_OMIT 0xff
#define PE_INDIRECT 0x80
#define CFA_ADVANCE_LOC4 0x04
#define CFA_OFFSET_EXT_SF 0x11
#define CFA_RESTORE_EXT 0x06
#define CFA_UNDEFINED 0x07
#define CFA_SAME_VALUE 0x08
#define CFA_REGISTER 0x09
#define CFA_REMEMBER 0x0a
#define CFA_RESTORE_STATE 0x0b
#define CFA_DEF_CFA 0x0c
#define CFA_DEF_CFA_REG 0x0d
#define CFA_DEF_CFA_OFF 0x0e
#define CFA_OFFSET 0x80
#define CFA_RESTORE 0xc0

static int cfi_label(struct lc_cfi *c, struct lc_buf *out)
{
	if (c->here < 0) {
		c->here = c->nlabels++;
		lc_buf_addf(out, ".Lkpcfi.%d:\n", c->here);
	}
	return c->here;
}

/* An instruction happens at the current place: advance to it first. */
static void cfi_advance(struct lc_cfi *c, struct lc_buf *out)
{
	int l = cfi_label(c, out);
	if (l == c->last)
		return;
	lc_buf_addf(&c->ops, "\t.byte\t0x%x\n\t.long\t.Lkpcfi.%d-.Lkpcfi.%d\n", CFA_ADVANCE_LOC4, l,
		    c->last);
	c->last = l;
}

/* Comma-separated integer arguments (GCC writes register numbers). */
static int cfi_ints(const struct lc_line_info *li, long *v, int max)
{
	const char *p = li->args, *e = li->args + li->args_len;
	int n = 0;
	while (p < e && n < max) {
		char *end;
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		if (p == e)
			break;
		v[n++] = strtol(p, &end, 0);
		if (end == p || end > e)
			return -1;
		p = end;
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		if (p < e && *p != ',')
			return -1;
		if (p < e)
			p++;
	}
	return p < e ? -1 : n;
}

static void cfi_set_name(char **dst, const char *s, size_t len)
{
	free(*dst);
	*dst = len ? lc_xstrndup(s, len) : NULL;
}

/* `.cfi_personality 0x9b,DW.ref.NAME` / `.cfi_lsda 0x1b,.LLSDA5`: the
 * encoding and the symbol, NULL when omitted. */
static int cfi_pointer_arg(const struct lc_line_info *li, long *enc, const char **s, size_t *len)
{
	char *end;
	const char *p = li->args, *e = li->args + li->args_len;
	*enc = strtol(p, &end, 0);
	if (end == p || end > e)
		return -1;
	*s = NULL;
	*len = 0;
	if (*enc == PE_OMIT)
		return 0;
	p = end;
	while (p < e && (*p == ' ' || *p == '\t' || *p == ','))
		p++;
	*s = p;
	*len = (size_t)(e - p);
	return *len ? 0 : -1;
}

static int cfi_refuse(struct lc_cfi *c, const struct lc_line_info *li, const char *why,
		      struct lc_buf *err)
{
	lc_buf_addf(err, "function '%s': `%.*s %.*s` %s", c->func ? c->func : "?",
		    (int)li->word_len, li->word, (int)li->args_len, li->args, why);
	return -1;
}

static void cfi_reg_offset(struct lc_cfi *c, long reg, long off)
{
	long f = off / -8;      /* data alignment factor -8 */
	if (reg < 64 && f >= 0)
		lc_buf_addf(&c->ops, "\t.byte\t0x%lx\n\t.uleb128 %ld\n", CFA_OFFSET | reg, f);
	else
		lc_buf_addf(&c->ops, "\t.byte\t0x%x\n\t.uleb128 %ld\n\t.sleb128 %ld\n",
			    CFA_OFFSET_EXT_SF, reg, f);
}

/* The CIE and FDE of the procedure that just ended. */
static void cfi_write_fde(struct lc_cfi *c, int end)
{
	int n = c->nfdes++;
	struct lc_buf *f = &c->frame;
	const char *aug = c->personality ? (c->lsda ? "zPLR" : "zPR") : (c->lsda ? "zLR" : "zR");

	lc_buf_addf(f, ".Lkpcie.%d:\n\t.long\t.Lkpcie.%d.e-.Lkpcie.%d.s\n.Lkpcie.%d.s:\n"
		    "\t.long\t0\n\t.byte\t1\n\t.string\t\"%s\"\n\t.uleb128 1\n\t.sleb128 -8\n"
		    "\t.uleb128 16\n\t.uleb128 .Lkpcie.%d.ae-.Lkpcie.%d.as\n.Lkpcie.%d.as:\n",
		    n, n, n, n, aug, n, n, n);
	if (c->personality) {
		lc_buf_addf(f, "\t.byte\t0x%x\n\t.quad\t", PE_ABSPTR);
		c->resolve(c->ctx, c->personality, strlen(c->personality), f);
		lc_buf_adds(f, "\n");
	}
	if (c->lsda)
		lc_buf_addf(f, "\t.byte\t0x%x\n", PE_ABSPTR);
	lc_buf_addf(f, "\t.byte\t0x%x\n.Lkpcie.%d.ae:\n"
		    "\t.byte\t0x%x\n\t.uleb128 7\n\t.uleb128 8\n"     /* CFA = rsp + 8 */
		    "\t.byte\t0x%x\n\t.uleb128 1\n"                    /* rip at CFA - 8 */
		    "\t.balign 8,0\n.Lkpcie.%d.e:\n", PE_ABSPTR, n, CFA_DEF_CFA, CFA_OFFSET | 16, n);
	lc_buf_addf(f, "\t.long\t.Lkpfde.%d.e-.Lkpfde.%d.s\n.Lkpfde.%d.s:\n"
		    "\t.long\t.Lkpfde.%d.s-.Lkpcie.%d\n\t.quad\t.Lkpcfi.%d\n"
		    "\t.quad\t.Lkpcfi.%d-.Lkpcfi.%d\n\t.uleb128 .Lkpfde.%d.ae-.Lkpfde.%d.as\n"
		    ".Lkpfde.%d.as:\n", n, n, n, n, n, c->start, end, c->start, n, n, n);
	if (c->lsda)
		lc_buf_addf(f, "\t.quad\t%s%s\n", LC_LABEL_PREFIX, c->lsda);
	lc_buf_addf(f, ".Lkpfde.%d.ae:\n", n);
	lc_buf_add(f, c->ops.data ? c->ops.data : "", c->ops.len);
	lc_buf_addf(f, "\t.balign 8,0\n.Lkpfde.%d.e:\n", n);
	c->lsda = NULL;         /* kept in lsdas */
	if (c->personality) {   /* the resolved name may point into it: kept */
		c->kept = lc_xrealloc(c->kept, (c->nkept + 1) * sizeof(*c->kept));
		c->kept[c->nkept++] = c->personality;
		c->personality = NULL;
	}
	lc_buf_reset(&c->ops);
}

int lc_cfi_directive(struct lc_cfi *c, const char *func, const struct lc_line_info *li,
		     struct lc_buf *out, struct lc_buf *err)
{
	long v[3], enc;
	const char *s;
	size_t len;
	int n = cfi_ints(li, v, 3);

	c->func = func;
	if (lc_line_is(li, ".cfi_sections"))
		return 0;
	if (lc_line_is(li, ".cfi_startproc")) {
		if (c->in_proc)
			return cfi_refuse(c, li, "inside another .cfi_startproc", err);
		if (li->args_len && !(li->args_len == 6 && memcmp(li->args, "simple", 6) == 0))
			return cfi_refuse(c, li, "is not understood", err);
		c->in_proc = 1;
		c->simple = li->args_len != 0;
		c->here = -1;
		c->start = c->last = cfi_label(c, out);
		c->cfa_offset = 8;
		c->nstate = 0;
		return 0;
	}
	if (!c->in_proc)
		return cfi_refuse(c, li, "outside .cfi_startproc", err);
	if (lc_line_is(li, ".cfi_endproc")) {
		c->in_proc = 0;
		c->here = -1;
		cfi_write_fde(c, cfi_label(c, out));
		return 0;
	}
	if (lc_line_is(li, ".cfi_personality") || lc_line_is(li, ".cfi_lsda")) {
		int pers = li->word_len == strlen(".cfi_personality");
		if (cfi_pointer_arg(li, &enc, &s, &len) != 0)
			return cfi_refuse(c, li, "is not understood", err);
		if (s && pers && (enc & PE_INDIRECT)) {
			/* GCC's slot DW.ref.NAME holds NAME: point at NAME itself */
			if (len <= 7 || memcmp(s, "DW.ref.", 7) != 0)
				return cfi_refuse(c, li, "(an indirect personality other than "
						  "DW.ref.NAME) is not supported in patch code", err);
			s += 7;
			len -= 7;
		} else if (s && !pers && (enc & PE_INDIRECT)) {
			return cfi_refuse(c, li, "(an indirect LSDA) is not supported in patch code",
					  err);
		}
		if (pers) {
			cfi_set_name(&c->personality, s, s ? len : 0);
			return 0;
		}
		if (c->lsda)
			return cfi_refuse(c, li, "names a second LSDA", err);
		if (s) {        /* GCC may write the LSDA before .cfi_endproc */
			c->lsda = lc_xstrndup(s, len);
			c->lsdas = lc_xrealloc(c->lsdas, (c->nlsdas + 1) * sizeof(*c->lsdas));
			c->lsdas[c->nlsdas].name = c->lsda;
			c->lsdas[c->nlsdas++].start = c->start;
		}
		return 0;
	}
	/* From here on an instruction at this place. */
	if (lc_line_is(li, ".cfi_escape")) {
		long b[64];
		n = cfi_ints(li, b, 64);
		if (n < 1)
			return cfi_refuse(c, li, "is not understood", err);
		cfi_advance(c, out);
		for (int i = 0; i < n; i++)
			lc_buf_addf(&c->ops, "\t.byte\t0x%lx\n", b[i] & 0xff);
		return 0;
	}
	if (lc_line_is(li, ".cfi_remember_state") || lc_line_is(li, ".cfi_restore_state")) {
		int remember = li->word_len == strlen(".cfi_remember_state");
		if (remember && c->nstate == CFI_STATE_MAX)
			return cfi_refuse(c, li, "nests too deep", err);
		if (!remember && c->nstate == 0)
			return cfi_refuse(c, li, "without .cfi_remember_state", err);
		cfi_advance(c, out);
		if (remember)
			c->state[c->nstate++] = c->cfa_offset;
		else
			c->cfa_offset = c->state[--c->nstate];
		lc_buf_addf(&c->ops, "\t.byte\t0x%x\n", remember ? CFA_REMEMBER : CFA_RESTORE_STATE);
		return 0;
	}
	if (n < 0)
		return cfi_refuse(c, li, "has arguments that are not numbers (registers must be "
				  "DWARF numbers in patch code)", err);
	if (lc_line_is(li, ".cfi_def_cfa_offset") && n == 1) {
		cfi_advance(c, out);
		c->cfa_offset = v[0];
		lc_buf_addf(&c->ops, "\t.byte\t0x%x\n\t.uleb128 %ld\n", CFA_DEF_CFA_OFF, v[0]);
	} else if (lc_line_is(li, ".cfi_adjust_cfa_offset") && n == 1) {
		cfi_advance(c, out);
		c->cfa_offset += v[0];
		lc_buf_addf(&c->ops, "\t.byte\t0x%x\n\t.uleb128 %ld\n", CFA_DEF_CFA_OFF, c->cfa_offset);
	} else if (lc_line_is(li, ".cfi_def_cfa") && n == 2) {
		cfi_advance(c, out);
		c->cfa_offset = v[1];
		lc_buf_addf(&c->ops, "\t.byte\t0x%x\n\t.uleb128 %ld\n\t.uleb128 %ld\n", CFA_DEF_CFA, v[0],
			    v[1]);
	} else if (lc_line_is(li, ".cfi_def_cfa_register") && n == 1) {
		cfi_advance(c, out);
		lc_buf_addf(&c->ops, "\t.byte\t0x%x\n\t.uleb128 %ld\n", CFA_DEF_CFA_REG, v[0]);
	} else if (lc_line_is(li, ".cfi_offset") && n == 2) {
		cfi_advance(c, out);
		cfi_reg_offset(c, v[0], v[1]);
	} else if (lc_line_is(li, ".cfi_rel_offset") && n == 2) {
		cfi_advance(c, out);    /* relative to the CFA register, not the CFA */
		cfi_reg_offset(c, v[0], v[1] - c->cfa_offset);
	} else if (lc_line_is(li, ".cfi_restore") && n == 1) {
		cfi_advance(c, out);
		if (v[0] < 64)
			lc_buf_addf(&c->ops, "\t.byte\t0x%lx\n", CFA_RESTORE | v[0]);
		else
			lc_buf_addf(&c->ops, "\t.byte\t0x%x\n\t.uleb128 %ld\n", CFA_RESTORE_EXT, v[0]);
	} else if ((lc_line_is(li, ".cfi_undefined") || lc_line_is(li, ".cfi_same_value")) &&
		   n == 1) {
		cfi_advance(c, out);
		lc_buf_addf(&c->ops, "\t.byte\t0x%x\n\t.uleb128 %ld\n",
			    lc_line_is(li, ".cfi_undefined") ? CFA_UNDEFINED : CFA_SAME_VALUE, v[0]);
	} else if (lc_line_is(li, ".cfi_register") && n == 2) {
		cfi_advance(c, out);
		lc_buf_addf(&c->ops, "\t.byte\t0x%x\n\t.uleb128 %ld\n\t.uleb128 %ld\n", CFA_REGISTER,
			    v[0], v[1]);
	} else {
		return cfi_refuse(c, li, "is not supported in patch code", err);
	}
	return 0;
}

void lc_cfi_text(struct lc_cfi *c)
{
	c->here = -1;   /* code follows: a later directive is at another place */
}

int lc_cfi_is_lsda_section(const char *section)
{
	return section && strncmp(section, ".gcc_except_table", 17) == 0 &&
	       (section[17] == '\0' || section[17] == '.');
}

/* The FDE start label of the LSDA named `s` (without .Lkp), -1 if none. */
static int cfi_lsda_start(const struct lc_cfi *c, const char *s, size_t len)
{
	for (size_t i = 0; i < c->nlsdas; i++)
		if (strlen(c->lsdas[i].name) == len && memcmp(c->lsdas[i].name, s, len) == 0)
			return c->lsdas[i].start;
	return -1;
}

void lc_cfi_lsda_lines(struct lc_cfi *c, const char *text, size_t len, struct lc_buf *out)
{
	const size_t plen = strlen(LC_LABEL_PREFIX);
	for (const char *p = text, *e = text + len; p < e;) {
		const char *nl = memchr(p, '\n', (size_t)(e - p));
		size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(e - p);
		struct lc_line_info li;
		lc_line_classify(p, n, &li);
		if (li.kind == LC_LINE_LABEL && li.word_len > plen &&
		    memcmp(li.word, LC_LABEL_PREFIX, plen) == 0) {
			int st = cfi_lsda_start(c, li.word + plen, li.word_len - plen);
			if (st >= 0) {
				c->lsda_start = st;
				cfi_set_name(&c->lsda_base, NULL, 0);
			}
		}
		const char *minus = li.kind == LC_LINE_DIRECTIVE && lc_line_is(&li, ".uleb128")
			? memchr(li.args, '-', li.args_len) : NULL;
		static const char own[] = LC_LABEL_PREFIX ".LLSDA";
		const char *y = minus ? minus + 1 : NULL;
		size_t ylen = y ? (size_t)(li.args + li.args_len - y) : 0;
		if (y && c->lsda_start >= 0 && !c->lsda_base && ylen &&
		    strncmp(y, own, sizeof(own) - 1) != 0)
			cfi_set_name(&c->lsda_base, y, ylen);
		if (y && c->lsda_start >= 0 && c->lsda_base && strlen(c->lsda_base) == ylen &&
		    memcmp(c->lsda_base, y, ylen) == 0) {
			lc_buf_addf(out, "\t.uleb128 %.*s-.Lkpcfi.%d\n", (int)(minus - li.args), li.args,
				    c->lsda_start);
		} else {
			lc_buf_add(out, p, n);
		}
		p += n;
	}
}

int lc_cfi_finish(struct lc_cfi *c, struct lc_buf *out, struct lc_buf *err)
{
	if (c->in_proc) {
		lc_buf_addf(err, "function '%s': .cfi_startproc without .cfi_endproc",
			    c->func ? c->func : "?");
		return -1;
	}
	if (!c->frame.len)
		return 0;
	lc_buf_addf(out, "\t.section\t%s,\"\",@progbits\n\t.balign 8\n", LC_SECTION_EH_FRAME);
	lc_buf_add(out, c->frame.data, c->frame.len);
	return 0;
}

void lc_cfi_free(struct lc_cfi *c)
{
	lc_buf_free(&c->frame);
	lc_buf_free(&c->ops);
	free(c->personality);
	free(c->lsda_base);
	for (size_t i = 0; i < c->nlsdas; i++)
		free(c->lsdas[i].name);
	free(c->lsdas);
	for (size_t i = 0; i < c->nkept; i++)
		free(c->kept[i]);
	free(c->kept);
}
