/*
 * asm_line.c - one line of GCC's x86-64 AT&T assembly: what kind of line
 * it is, and a walker that finds the symbols in it so that normalisation
 * and emission can rename them without knowing instruction syntax.
 */
#include <ctype.h>
#include <string.h>
#include "asm.h"

const unsigned char lc_ident_table[256] = {
	['0' ... '9'] = 1, ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1,
	['_'] = 2, ['.'] = 2, ['$'] = 2,
};

static int is_ident_start(char c)
{
	return (lc_is_alnum(c) && (unsigned char)(c - '0') >= 10) || c == '_' || c == '.';
}

static int is_ident_char(char c)
{
	return lc_is_ident_char(c);
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static size_t ident_len(const char *s, const char *end)
{
	const char *p = s;
	while (p < end && is_ident_char(*p))
		p++;
	return (size_t)(p - s);
}

void lc_line_classify(const char *s, size_t len, struct lc_line_info *li)
{
	const char *p = s, *end = s + len;
	memset(li, 0, sizeof(*li));
	while (p < end && is_space(*p))
		p++;
	if (p == end) {
		li->kind = LC_LINE_BLANK;
		return;
	}
	if (*p == '#') {
		li->kind = LC_LINE_COMMENT;
		li->word = p;
		li->word_len = (size_t)(end - p);
		return;
	}
	size_t n = ident_len(p, end);
	li->word = p;
	li->word_len = n ? n : 1;
	const char *q = p + li->word_len;
	if (n && q < end && *q == ':') {
		li->kind = LC_LINE_LABEL;
		q++;
	} else {
		li->kind = *p == '.' ? LC_LINE_DIRECTIVE : LC_LINE_INSN;
		if (!n) {   /* something we do not know: keep it as an instruction */
			li->word_len = 0;
			q = p;
		}
	}
	while (q < end && is_space(*q))
		q++;
	while (end > q && is_space(end[-1]))
		end--;
	li->args = q;
	li->args_len = (size_t)(end - q);
}

int lc_line_is_data(const struct lc_line_info *li)
{
	static const char *const data[] = {
		".string", ".ascii", ".asciz", ".byte", ".short", ".value", ".word",
		".hword", ".long", ".int", ".quad", ".octa", ".8byte", ".4byte",
		".2byte", ".zero", ".skip", ".space", ".uleb128", ".sleb128",
		".float", ".single", ".double", ".dc.a", NULL
	};
	if (li->kind != LC_LINE_DIRECTIVE)
		return 0;
	for (int i = 0; data[i]; i++)
		if (lc_line_is(li, data[i]))
			return 1;
	return 0;
}

static int label_has_prefix_digits(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);
	if (len <= n || memcmp(s, prefix, n) != 0)
		return 0;
	for (size_t i = n; i < len; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

int lc_label_is_debug(const char *s, size_t len)
{
	static const char *const debug[] = {
		".LVL", ".LBB", ".LBE", ".LBI", ".LVU", ".LFB", ".LFE", ".LFSB",
		".LCFI", ".LCOLDB", ".LCOLDE", ".LHOTB", ".LHOTE", ".LEHB", ".LEHE",
		".Ltext", ".Letext", NULL
	};
	if (len < 4 || s[0] != '.' || s[1] != 'L')
		return 0;
	for (int i = 0; debug[i]; i++)
		if (debug[i][2] == s[2] && label_has_prefix_digits(s, len, debug[i]))
			return 1;
	return 0;
}

int lc_label_is_literal(const char *s, size_t len)
{
	return label_has_prefix_digits(s, len, ".LC");
}

/* Directives whose arguments hold no symbol we must rename, or whose
 * symbols mean the assembler's own state (`.ifdef foo`: whether this file
 * defines foo, `.endif`, `.else`...). */
static int directive_is_opaque(const struct lc_line_info *li)
{
	static const char *const opaque[] = {
		".string", ".ascii", ".asciz", ".file", ".ident", ".section",
		".pushsection", ".loc", ".loc_mark_labels", ".else", ".elseif", ".endif",
		".macro", ".endm", ".purgem", ".error", ".warning", ".print", ".arch",
		".intel_syntax", ".att_syntax", ".code16", ".code32", ".code64", NULL
	};
	for (int i = 0; opaque[i]; i++)
		if (lc_line_is(li, opaque[i]))
			return 1;
	if (li->word_len >= 3 && memcmp(li->word, ".if", 3) == 0)
		return 1;   /* .if .ifdef .ifndef .ifc .ifeq ... */
	return li->word_len > 5 && memcmp(li->word, ".cfi_", 5) == 0;
}

/* `1:`, `990:` - gas's numeric local labels, referred to as 1b / 990f. */
int lc_label_is_numeric(const char *s, size_t len)
{
	if (!len)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

static int mnemonic_is_prefix(const char *s, size_t len)
{
	static const char *const prefix[] = {
		"rep", "repe", "repz", "repne", "repnz", "lock", "data16", "data32",
		"addr32", "rex64", "notrack", "bnd", "cs", "ds", "es", "ss", NULL
	};
	if (len < 2 || len > 6)
		return 0;
	for (int i = 0; prefix[i]; i++)
		if (prefix[i][0] == s[0] && strlen(prefix[i]) == len && memcmp(prefix[i], s, len) == 0)
			return 1;
	return 0;
}

/* Copies operands, calling fn on every symbol.
 * Before: "leaq .LC0(%rip), %rdi"  symbols: ".LC0"
 * Before: "call *foo@GOTPCREL(%rip)"  symbols: "foo" (reloc "GOTPCREL") */
static void operands_rewrite(const char *p, const char *end, lc_sym_fn fn, void *ctx,
			     struct lc_buf *out)
{
	while (p < end) {
		const char *start = p;
		char c = *p;
		if (c == '#') {   /* -fverbose-asm: "movl %eax, -4(%rbp)	# x, x" */
			lc_buf_add(out, p, (size_t)(end - p));
			return;
		}
		if (c == '/' && p + 1 < end && p[1] == '*') {   /* a C comment (inline asm) */
			const char *q = p + 2;
			while (q + 1 < end && !(q[0] == '*' && q[1] == '/'))
				q++;
			p = q + 1 < end ? q + 2 : end;
			lc_buf_add(out, start, (size_t)(p - start));
			continue;
		}
		if (c == '{') {   /* {z}, {rn-sae}, {1to8}, {%k1}: AVX-512 operand decorations */
			const char *q = memchr(p, '}', (size_t)(end - p));
			p = q ? q + 1 : end;
			lc_buf_add(out, start, (size_t)(p - start));
			continue;
		}
		if (c == '\'' && p + 1 < end) {   /* a character constant: 'a, '\n */
			p += p[1] == '\\' && p + 2 < end ? 3 : 2;
			if (p < end && *p == '\'')
				p++;
			lc_buf_add(out, start, (size_t)(p - start));
			continue;
		}
		if (c == '"') {
			p++;
			while (p < end && *p != '"') {
				if (*p == '\\' && p + 1 < end)
					p++;
				p++;
			}
			if (p < end)
				p++;
			lc_buf_add(out, start, (size_t)(p - start));
		} else if (c == '%' || c == '@') {
			p++;
			while (p < end && (lc_is_alnum(*p) || *p == '_'))
				p++;
			lc_buf_add(out, start, (size_t)(p - start));
		} else if (isdigit((unsigned char)c)) {
			p += ident_len(p, end);
			lc_buf_add(out, start, (size_t)(p - start));
		} else if (is_ident_start(c)) {
			size_t n = ident_len(p, end);
			p += n;
			if (n == 1 && c == '.') {
				lc_buf_add(out, start, 1);
				continue;
			}
			struct lc_sym_ref ref = { start, n, "", 0, 0 };
			const char *r = p;
			if (r < end && *r == '@') {
				r++;
				while (r < end && (lc_is_alnum(*r) || *r == '_'))
					r++;
				ref.reloc = p + 1;
				ref.reloc_len = (size_t)(r - p - 1);
			}
			if (fn(ctx, &ref, out))
				p = r;
		} else {
			lc_buf_add(out, p, 1);
			p++;
		}
	}
}

void lc_line_rewrite(const char *s, size_t len, lc_sym_fn fn, void *ctx, struct lc_buf *out)
{
	struct lc_line_info li;
	lc_line_classify(s, len, &li);
	lc_line_rewrite_li(s, len, &li, fn, ctx, out);
}

void lc_line_rewrite_li(const char *s, size_t len, const struct lc_line_info *lip, lc_sym_fn fn,
			void *ctx, struct lc_buf *out)
{
	const struct lc_line_info li = *lip;
	const char *end = s + len;
	switch (li.kind) {
	case LC_LINE_BLANK:
	case LC_LINE_COMMENT:
		lc_buf_add(out, s, len);
		return;
	case LC_LINE_LABEL: {
		struct lc_sym_ref ref = { li.word, li.word_len, "", 0, 1 };
		lc_buf_add(out, s, (size_t)(li.word - s));
		if (lc_label_is_numeric(li.word, li.word_len))
			lc_buf_add(out, li.word, li.word_len);   /* 1: stays 1: (1b, 1f as well) */
		else
			fn(ctx, &ref, out);
		lc_buf_adds(out, ":");
		if (li.args_len) {
			lc_buf_adds(out, "\t");
			lc_line_rewrite(li.args, (size_t)(end - li.args), fn, ctx, out);
		}
		return;
	}
	case LC_LINE_DIRECTIVE:
		lc_buf_add(out, s, (size_t)(li.args - s));
		if (directive_is_opaque(&li))
			lc_buf_add(out, li.args, (size_t)(end - li.args));
		else
			operands_rewrite(li.args, end, fn, ctx, out);
		return;
	case LC_LINE_INSN: {
		/* past prefixes and the mnemonic: "lock addl", "rep stosq",
		 * "{vex} vpdpbusd", "data16 cs nopw" */
		const char *p = li.args, *w = li.word;
		size_t n = li.word_len;
		if (!n && p < end && *p == '{') {
			const char *q = memchr(p, '}', (size_t)(end - p));
			p = q ? q + 1 : end;
			while (p < end && is_space(*p))
				p++;
			w = p;
			n = ident_len(p, end);
			p += n;
			while (p < end && is_space(*p))
				p++;
		}
		while (n && mnemonic_is_prefix(w, n)) {
			w = p;
			n = ident_len(p, end);
			p += n;
			while (p < end && is_space(*p))
				p++;
		}
		lc_buf_add(out, s, (size_t)(p - s));
		operands_rewrite(p, end, fn, ctx, out);
		return;
	}
	}
}
