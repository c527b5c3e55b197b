/*
 * asm_unit.c - one translation unit's assembly, parsed into lines (with the
 * section each line lands in), function slices, data objects and literals.
 *
 * Function slices come from the plugin's boundary comments when the text
 * has them (exact: one ALL_PASSES bracket each, literals and jump tables
 * included), else from `.type X,@function` ... `.size X,.-X` (plain gcc -S).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "asm.h"

struct unit_sections {
	enum lc_sec_kind *kinds;
	const char *cur, *prev;
	enum lc_sec_kind cur_kind, prev_kind;
	const char *stack[16];
	enum lc_sec_kind stack_kind[16];
	int depth;
	size_t cap;             /* of u->sections, u->section_ro and kinds */
};

static int starts_with(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);
	return len >= n && memcmp(s, prefix, n) == 0;
}

static enum lc_sec_kind section_kind(const char *name, size_t len, const char *flags, size_t flen)
{
	static const char *const other[] = {
		".init_array", ".fini_array", ".preinit_array", ".ctors", ".dtors",
		".note", ".eh_frame", ".gcc_except_table", ".comment", ".debug",
		".gnu", ".GCC", ".group", NULL
	};
	static const char *const data[] = {
		".rodata", ".data", ".bss", ".tdata", ".tbss", ".lrodata", ".ldata",
		".lbss", ".sdata", ".sbss", NULL
	};
	if (starts_with(name, len, ".text"))
		return LC_SEC_TEXT;
	for (int i = 0; other[i]; i++)
		if (starts_with(name, len, other[i]))
			return LC_SEC_OTHER;
	for (int i = 0; data[i]; i++)
		if (starts_with(name, len, data[i]))
			return LC_SEC_DATA;
	if (memchr(flags, 'x', flen))
		return LC_SEC_TEXT;
	if (memchr(flags, 'a', flen))
		return LC_SEC_DATA;
	return LC_SEC_OTHER;
}

/* Read-only data: .rodata*, .lrodata*, .data.rel.ro* (GCC says "aw": it is
 * read-only once relocated), or another data section whose flags lack 'w'. */
static int section_is_ro(const char *name, size_t len, const char *flags, size_t flen)
{
	if (section_kind(name, len, flags, flen) != LC_SEC_DATA)
		return 0;
	if (starts_with(name, len, ".rodata") || starts_with(name, len, ".lrodata") ||
	    starts_with(name, len, ".data.rel.ro"))
		return 1;
	return flen && !memchr(flags, 'w', flen);
}

/* Section names are interned once: lines keep the pointer, and a unit with
 * -ffunction-sections or inline-asm .pushsection has tens of thousands of
 * them, so the lookup is a map, not a walk over the names seen so far. */
static const char *section_intern(struct lc_asm_unit *u, struct unit_sections *st,
				  const char *name, size_t len, const char *flags, size_t flen)
{
	int i = lc_strmap_get(&u->section_map, name, len);
	if (i >= 0) {
		if (flen) {
			st->kinds[i] = section_kind(name, len, flags, flen);
			u->section_ro[i] = (unsigned char)section_is_ro(name, len, flags, flen);
		}
		st->cur_kind = st->kinds[i];
		return u->sections[i];
	}
	if (u->nsections == st->cap) {
		st->cap = st->cap ? st->cap * 2 : 64;
		u->sections = lc_xrealloc(u->sections, st->cap * sizeof(*u->sections));
		u->section_ro = lc_xrealloc(u->section_ro, st->cap * sizeof(*u->section_ro));
		st->kinds = lc_xrealloc(st->kinds, st->cap * sizeof(*st->kinds));
	}
	u->sections[u->nsections] = lc_xstrndup(name, len);
	u->section_ro[u->nsections] = (unsigned char)section_is_ro(name, len, flags, flen);
	st->kinds[u->nsections] = section_kind(name, len, flags, flen);
	st->cur_kind = st->kinds[u->nsections];
	lc_strmap_put(&u->section_map, u->sections[u->nsections], len, (int)u->nsections);
	return u->sections[u->nsections++];
}

static int unit_section_ro(const struct lc_asm_unit *u, const char *section)
{
	int i = lc_strmap_get(&u->section_map, section, strlen(section));
	return i >= 0 ? u->section_ro[i] : 0;
}

/* Follows .text/.data/.bss/.section/.pushsection/.popsection/.previous. */
static void section_track(struct lc_asm_unit *u, struct unit_sections *st,
			  const struct lc_line_info *li)
{
	const char *name = NULL, *flags = "";
	size_t len = 0, flen = 0;
	if (lc_line_is(li, ".text") || lc_line_is(li, ".data") || lc_line_is(li, ".bss")) {
		name = li->word;
		len = li->word_len;
	} else if (lc_line_is(li, ".section") || lc_line_is(li, ".pushsection")) {
		const char *p = li->args, *end = li->args + li->args_len;
		name = p;
		while (p < end && *p != ',' && *p != ' ' && *p != '\t')
			p++;
		len = (size_t)(p - name);
		const char *q = memchr(p, '"', (size_t)(end - p));
		if (q) {
			const char *qe = memchr(q + 1, '"', (size_t)(end - q - 1));
			flags = q + 1;
			flen = qe ? (size_t)(qe - q - 1) : 0;
		}
		if (lc_line_is(li, ".pushsection") && st->depth < 16) {
			st->stack[st->depth] = st->cur;
			st->stack_kind[st->depth++] = st->cur_kind;
		}
	} else if (lc_line_is(li, ".popsection")) {
		if (st->depth > 0) {
			st->prev = st->cur;
			st->prev_kind = st->cur_kind;
			st->depth--;
			st->cur = st->stack[st->depth];
			st->cur_kind = st->stack_kind[st->depth];
		}
		return;
	} else if (lc_line_is(li, ".previous")) {
		const char *t = st->cur;
		enum lc_sec_kind k = st->cur_kind;
		st->cur = st->prev;
		st->cur_kind = st->prev_kind;
		st->prev = t;
		st->prev_kind = k;
		return;
	} else {
		return;
	}
	const char *prev = st->cur;
	enum lc_sec_kind prev_kind = st->cur_kind;
	st->cur = section_intern(u, st, name, len, flags, flen);
	st->prev = prev;
	st->prev_kind = prev_kind;
}

int lc_name_is_literal(const char *s, size_t len)
{
	if (lc_label_is_literal(s, len))
		return 1;
	if (len <= 7 || memcmp(s, "CSWTCH.", 7) != 0)
		return 0;
	for (size_t i = 7; i < len; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

/* First identifier of directive arguments: ".size foo, 8" -> "foo". */
static size_t arg_name(const struct lc_line_info *li, const char **name)
{
	const char *p = li->args, *end = li->args + li->args_len;
	*name = p;
	while (p < end && *p != ',' && *p != ' ' && *p != '\t')
		p++;
	return (size_t)(p - *name);
}

/* The text after the n-th comma (0-based n >= 1), trimmed at the left. */
static const char *arg_after_comma(const struct lc_line_info *li, int n)
{
	const char *p = li->args, *end = li->args + li->args_len;
	while (n > 0 && p < end) {
		if (*p == ',')
			n--;
		p++;
	}
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p < end ? p : NULL;
}

/* The argument at p (from arg_after_comma) starts with `word`, within the
 * line: a line is a slice of the text, not a terminated string. */
static int arg_starts(const struct lc_line_info *li, const char *p, const char *word)
{
	size_t n = strlen(word);
	return p && (size_t)(li->args + li->args_len - p) >= n && memcmp(p, word, n) == 0;
}

static void unit_add_func(struct lc_asm_unit *u, const char *name, size_t len, size_t first)
{
	u->funcs = lc_xrealloc(u->funcs, (u->nfuncs + 1) * sizeof(*u->funcs));
	u->funcs[u->nfuncs].name = lc_xstrndup(name, len);
	u->funcs[u->nfuncs].first = first;
	u->funcs[u->nfuncs].end = first;
	u->nfuncs++;
}

static void unit_close_func(struct lc_asm_unit *u, size_t end)
{
	struct lc_asm_func *f = &u->funcs[u->nfuncs - 1];
	f->end = end;
	for (size_t i = f->first; i < end; i++)
		u->lines[i].func = (int)(u->nfuncs - 1);
}

static void unit_split_markers(struct lc_asm_unit *u)
{
	int open = 0;
	for (size_t i = 0; i < u->nlines; i++) {
		const struct lc_asm_line *l = &u->lines[i];
		size_t nb = strlen(LC_MARK_BEGIN), ne = strlen(LC_MARK_END);
		if (l->len > nb && memcmp(l->s, LC_MARK_BEGIN, nb) == 0) {
			if (open)
				unit_close_func(u, i);
			unit_add_func(u, l->s + nb, l->len - nb, i);
			open = 1;
		} else if (open && l->len >= ne && memcmp(l->s, LC_MARK_END, ne) == 0) {
			unit_close_func(u, i + 1);
			open = 0;
		}
	}
	if (open)
		unit_close_func(u, u->nlines);
}

/*
 * Without markers: a function runs from `.type foo, @function` to
 * `.size foo, .-foo`, plus what GCC puts after it for the cold part:
 *	.section .text.unlikely / .size foo.cold, .-foo.cold / .LCOLDE0: / .text / .LHOTE0:
 */
static void unit_split_parse(struct lc_asm_unit *u)
{
	for (size_t i = 0; i < u->nlines; i++) {
		struct lc_line_info li;
		lc_line_classify(u->lines[i].s, u->lines[i].len, &li);
		if (li.kind != LC_LINE_DIRECTIVE || !lc_line_is(&li, ".type"))
			continue;
		const char *name, *kind = arg_after_comma(&li, 1);
		size_t len = arg_name(&li, &name);
		if (!arg_starts(&li, kind, "@function"))
			continue;
		/* pull in the alignment and .globl just before: "\t.p2align 4\n\t.globl foo" */
		size_t first = i;
		while (first > 0 && u->lines[first - 1].func < 0) {
			struct lc_line_info lp;
			lc_line_classify(u->lines[first - 1].s, u->lines[first - 1].len, &lp);
			if (lp.kind != LC_LINE_DIRECTIVE || !(lc_line_is(&lp, ".globl") ||
			    lc_line_is(&lp, ".p2align") || lc_line_is(&lp, ".align") ||
			    lc_line_is(&lp, ".balign") || lc_line_is(&lp, ".weak") ||
			    lc_line_is(&lp, ".hidden")))
				break;
			first--;
		}
		unit_add_func(u, name, len, first);
		size_t j = i + 1;
		for (; j < u->nlines; j++) {
			lc_line_classify(u->lines[j].s, u->lines[j].len, &li);
			const char *n2;
			if (li.kind == LC_LINE_DIRECTIVE && lc_line_is(&li, ".size") &&
			    arg_name(&li, &n2) == len && memcmp(n2, name, len) == 0)
				break;
		}
		if (j < u->nlines)
			j++;
		for (; j < u->nlines; j++) {
			lc_line_classify(u->lines[j].s, u->lines[j].len, &li);
			const char *n2;
			size_t l2;
			if (li.kind == LC_LINE_DIRECTIVE && u->lines[j].sec_kind == LC_SEC_TEXT &&
			    (lc_line_is(&li, ".section") || lc_line_is(&li, ".text")))
				continue;
			if (li.kind == LC_LINE_DIRECTIVE && lc_line_is(&li, ".size") &&
			    (l2 = arg_name(&li, &n2)) > len && memcmp(n2, name, len) == 0)
				continue;
			if (li.kind == LC_LINE_LABEL && lc_label_is_debug(li.word, li.word_len))
				continue;
			break;
		}
		unit_close_func(u, j);
		i = j - 1;
	}
}

static struct lc_asm_object *unit_add_object(struct lc_asm_unit *u, int literal,
					     const char *name, size_t len, size_t line)
{
	struct lc_asm_object **arr = literal ? &u->lits : &u->objs;
	size_t *n = literal ? &u->nlits : &u->nobjs;
	*arr = lc_xrealloc(*arr, (*n + 1) * sizeof(**arr));
	struct lc_asm_object *o = &(*arr)[*n];
	memset(o, 0, sizeof(*o));
	o->name = lc_xstrndup(name, len);
	o->section = u->lines[line].section;
	o->size = -1;
	o->align_line = -1;
	o->label = (long)line;
	o->first = o->end = line + 1;
	o->func = u->lines[line].func;
	lc_strmap_put(literal ? &u->lit_map : &u->obj_map, o->name, len, (int)*n);
	(*n)++;
	return o;
}

static int line_is_align(const struct lc_asm_line *l)
{
	struct lc_line_info li;
	lc_line_classify(l->s, l->len, &li);
	return li.kind == LC_LINE_DIRECTIVE && (lc_line_is(&li, ".align") ||
		lc_line_is(&li, ".p2align") || lc_line_is(&li, ".balign"));
}

/* Data objects, literals and the set of defined symbols. */
static void unit_scan_symbols(struct lc_asm_unit *u)
{
	struct lc_strmap types = { 0 }, sizes = { 0 }, globals = { 0 };
	for (size_t i = 0; i < u->nlines; i++) {
		struct lc_line_info li;
		const char *name, *rest;
		size_t len;
		lc_line_classify(u->lines[i].s, u->lines[i].len, &li);
		if (li.kind != LC_LINE_DIRECTIVE || !(lc_line_is(&li, ".type") ||
		    lc_line_is(&li, ".size") || lc_line_is(&li, ".globl") ||
		    lc_line_is(&li, ".global") || lc_line_is(&li, ".weak")))
			continue;
		len = arg_name(&li, &name);
		rest = arg_after_comma(&li, 1);
		if (lc_line_is(&li, ".type") && rest &&
		    (arg_starts(&li, rest, "@object") || arg_starts(&li, rest, "@gnu_unique_object")))
			lc_strmap_put(&types, name, len, 1);
		else if (lc_line_is(&li, ".type") && arg_starts(&li, rest, "@tls_object"))
			lc_strmap_put(&types, name, len, 2);
		else if (lc_line_is(&li, ".size") && rest && isdigit((unsigned char)*rest))
			lc_strmap_put(&sizes, name, len, atoi(rest));
		else if (lc_line_is(&li, ".globl") || lc_line_is(&li, ".global") ||
			 lc_line_is(&li, ".weak"))
			lc_strmap_put(&globals, name, len, 1);
		if (lc_line_is(&li, ".type") && rest && !strncmp(rest, "@gnu_unique_object", 18))
			lc_strmap_put(&globals, name, len, 1);
	}
	for (size_t i = 0; i < u->nlines; i++) {
		struct lc_line_info li;
		lc_line_classify(u->lines[i].s, u->lines[i].len, &li);
		if (li.kind == LC_LINE_DIRECTIVE && lc_line_is(&li, ".weakref")) {
			const char *name;
			size_t len = arg_name(&li, &name);
			lc_strmap_put(&u->aliases, name, len, (int)i);
			continue;
		}
		if (li.kind == LC_LINE_DIRECTIVE && (lc_line_is(&li, ".comm") ||
		    lc_line_is(&li, ".set") || lc_line_is(&li, ".equ"))) {
			const char *name, *rest;
			size_t len = arg_name(&li, &name);
			lc_strmap_put(&u->defs, name, len, (int)i);
			if (!lc_line_is(&li, ".comm"))
				lc_strmap_put(&u->aliases, name, len, (int)i);
			if (!lc_line_is(&li, ".comm"))
				continue;
			struct lc_asm_object *o = unit_add_object(u, 0, name, len, i);
			o->label = -1;
			o->first = o->end = i;
			rest = arg_after_comma(&li, 1);
			o->size = rest ? atol(rest) : -1;
			rest = arg_after_comma(&li, 2);
			o->comm_align = rest ? atol(rest) : 1;
			u->lines[i].object = (int)(u->nobjs - 1);
			continue;
		}
		if (li.kind != LC_LINE_LABEL)
			continue;
		if (u->lines[i].sec_kind == LC_SEC_DATA && li.word_len > 2 && li.word[0] == '.' &&
		    li.word[1] == 'L' && !lc_label_is_literal(li.word, li.word_len))
			lc_strmap_put(&u->data_labels, li.word, li.word_len, (int)i);
		int literal = lc_name_is_literal(li.word, li.word_len);
		int type = lc_strmap_get(&types, li.word, li.word_len);
		if (!(li.word_len > 1 && li.word[0] == '.' && li.word[1] == 'L'))
			lc_strmap_put(&u->defs, li.word, li.word_len, (int)i);
		if (!literal && type < 0)
			continue;
		struct lc_asm_object *o = unit_add_object(u, literal, li.word, li.word_len, i);
		o->size = lc_strmap_get(&sizes, li.word, li.word_len);
		o->tls = type == 2 || !strncmp(o->section, ".tdata", 6) || !strncmp(o->section, ".tbss", 5);
		o->ro = unit_section_ro(u, o->section) && !o->tls;
		o->global = lc_strmap_get(&globals, li.word, li.word_len) >= 0;
		/* the alignment before the label, past .type/.size/.globl lines */
		for (long j = (long)i - 1; j >= 0; j--) {
			struct lc_line_info lj;
			lc_line_classify(u->lines[j].s, u->lines[j].len, &lj);
			if (line_is_align(&u->lines[j])) {
				o->align_line = j;
				break;
			}
			if (lj.kind != LC_LINE_DIRECTIVE || !(lc_line_is(&lj, ".type") ||
			    lc_line_is(&lj, ".size") || lc_line_is(&lj, ".globl") ||
			    lc_line_is(&lj, ".local") || lc_line_is(&lj, ".hidden") ||
			    lc_line_is(&lj, ".weak")))
				break;
		}
		size_t j = i + 1;
		for (; j < u->nlines; j++) {
			struct lc_line_info lj;
			lc_line_classify(u->lines[j].s, u->lines[j].len, &lj);
			if (!lc_line_is_data(&lj))
				break;
		}
		o->end = j;
		int idx = literal ? (int)u->nlits - 1 : (int)u->nobjs - 1;
		if (literal && o->align_line >= 0)
			u->lines[o->align_line].literal = idx;
		for (size_t k = i; k < j; k++) {
			if (literal)
				u->lines[k].literal = idx;
			else
				u->lines[k].object = idx;
		}
	}
	lc_strmap_free(&types);
	lc_strmap_free(&sizes);
	lc_strmap_free(&globals);
}

static void unit_add_line(struct lc_asm_unit *u, size_t *cap, struct unit_sections *st,
			  const char *p, const char *e)
{
	if (u->nlines == *cap) {
		*cap = *cap ? *cap * 2 : 1024;
		u->lines = lc_xrealloc(u->lines, *cap * sizeof(*u->lines));
	}
	struct lc_asm_line *l = &u->lines[u->nlines];
	struct lc_line_info li;
	l->s = p;
	l->len = (size_t)(e - p);
	lc_line_classify(l->s, l->len, &li);
	if (li.kind == LC_LINE_DIRECTIVE)
		section_track(u, st, &li);
	/* DWARF (.debug_info, .debug_line ... : with -g most of the text) is
	 * never compared nor emitted from the lines: the original text goes
	 * out verbatim and the patch carries no debug information.  Not
	 * keeping its lines saves most of the parse and 40 bytes a line. */
	if (li.kind != LC_LINE_COMMENT && !strncmp(st->cur, ".debug_", 7))
		return;
	u->nlines++;
	if (li.kind == LC_LINE_COMMENT && l->len > strlen(LC_MARK_BEGIN) &&
	    !memcmp(l->s, LC_MARK_BEGIN, strlen(LC_MARK_BEGIN)))
		u->has_markers = 1;
	l->section = st->cur;
	l->sec_kind = st->cur_kind;
	l->func = l->object = l->literal = -1;
}

/*
 * Inside #APP ... #NO_APP (inline asm) a line may hold several statements:
 * "movl $0, %ebx; movl $0, (%rbx)".  Each becomes a line of its own; a ';'
 * in a string, a character constant or a comment does not split, and a '#'
 * comment runs to the end of the line.
 */
static void unit_add_app_line(struct lc_asm_unit *u, size_t *cap, struct unit_sections *st,
			      const char *p, const char *e)
{
	const char *start = p;
	while (p < e) {
		char c = *p;
		if (c == '"') {
			for (p++; p < e && *p != '"'; p++)
				if (*p == '\\' && p + 1 < e)
					p++;
			if (p < e)
				p++;
		} else if (c == '\'') {
			p += p + 1 < e && p[1] == '\\' ? 3 : 2;
		} else if (c == '/' && p + 1 < e && p[1] == '*') {
			for (p += 2; p + 1 < e && !(p[0] == '*' && p[1] == '/'); p++)
				;
			p += 2;
		} else if (c == '#') {
			break;
		} else if (c == ';') {
			unit_add_line(u, cap, st, start, p);
			start = ++p;
		} else {
			p++;
		}
	}
	unit_add_line(u, cap, st, start, e);
}

int lc_unit_parse(struct lc_asm_unit *u, const char *text, size_t len, struct lc_buf *err)
{
	struct unit_sections st = { 0 };
	int in_app = 0;
	(void)err;
	memset(u, 0, sizeof(*u));
	u->text = text;
	u->text_len = len;
	size_t cap = 0;
	st.cur = st.prev = section_intern(u, &st, ".text", 5, "", 0);
	st.prev_kind = st.cur_kind;
	for (const char *p = text, *end = text + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		if (*p == '#' && e - p >= 4 && !memcmp(p, "#APP", 4))
			in_app = 1;
		else if (*p == '#' && e - p >= 7 && !memcmp(p, "#NO_APP", 7))
			in_app = 0;
		if (in_app && memchr(p, ';', (size_t)(e - p)))
			unit_add_app_line(u, &cap, &st, p, e);
		else
			unit_add_line(u, &cap, &st, p, e);
		p = nl ? nl + 1 : end;
	}
	free(st.kinds);
	if (u->has_markers)
		unit_split_markers(u);
	else
		unit_split_parse(u);
	for (size_t i = 0; i < u->nfuncs; i++)
		lc_strmap_put(&u->func_map, u->funcs[i].name, strlen(u->funcs[i].name), (int)i);
	unit_scan_symbols(u);
	return 0;
}

void lc_unit_free(struct lc_asm_unit *u)
{
	for (size_t i = 0; i < u->nfuncs; i++)
		free(u->funcs[i].name);
	for (size_t i = 0; i < u->nobjs; i++)
		free(u->objs[i].name);
	for (size_t i = 0; i < u->nlits; i++)
		free(u->lits[i].name);
	for (size_t i = 0; i < u->nsections; i++)
		free(u->sections[i]);
	free(u->funcs);
	free(u->objs);
	free(u->lits);
	free(u->sections);
	free(u->section_ro);
	free(u->lines);
	lc_strmap_free(&u->func_map);
	lc_strmap_free(&u->obj_map);
	lc_strmap_free(&u->lit_map);
	lc_strmap_free(&u->defs);
	lc_strmap_free(&u->data_labels);
	lc_strmap_free(&u->aliases);
	lc_strmap_free(&u->section_map);
	memset(u, 0, sizeof(*u));
}

int lc_unit_find_func(const struct lc_asm_unit *u, const char *name, size_t len)
{
	return lc_strmap_get(&u->func_map, name, len);
}

int lc_unit_find_obj(const struct lc_asm_unit *u, const char *name, size_t len)
{
	return lc_strmap_get(&u->obj_map, name, len);
}

int lc_unit_find_lit(const struct lc_asm_unit *u, const char *name, size_t len)
{
	return lc_strmap_get(&u->lit_map, name, len);
}

int lc_unit_defines(const struct lc_asm_unit *u, const char *name, size_t len)
{
	return lc_strmap_get(&u->defs, name, len) >= 0;
}

int lc_unit_local_data(const struct lc_asm_unit *u, const char *name, size_t len,
		       size_t *first, size_t *end)
{
	int i;
	const struct lc_asm_object *o = NULL;
	if (len < 2)
		return 0;
	if (lc_name_is_literal(name, len)) {
		if ((i = lc_unit_find_lit(u, name, len)) >= 0)
			o = &u->lits[i];
	} else if (name[0] == '.' && name[1] == 'L') {
		if ((i = lc_strmap_get(&u->data_labels, name, len)) < 0)
			return 0;
		size_t j = (size_t)i + 1;
		for (; j < u->nlines; j++) {
			struct lc_line_info li;
			lc_line_classify(u->lines[j].s, u->lines[j].len, &li);
			if (!lc_line_is_data(&li))
				break;
		}
		*first = (size_t)i + 1;
		*end = j;
		return 1;
	} else if ((i = lc_unit_find_obj(u, name, len)) >= 0 && u->objs[i].ro &&
		   !u->objs[i].global && u->objs[i].label >= 0) {
		o = &u->objs[i];
	}
	if (!o)
		return 0;
	*first = o->first;
	*end = o->end;
	return 1;
}

int lc_unit_alias_off(const struct lc_asm_unit *u, const char *name, size_t len, const char **t,
		      size_t *tlen, long *off)
{
	int i = lc_strmap_get(&u->aliases, name, len);
	if (i < 0)
		return 0;
	struct lc_line_info li;
	lc_line_classify(u->lines[i].s, u->lines[i].len, &li);
	if (lc_line_is(&li, ".weakref"))
		return 0;
	const char *a = arg_after_comma(&li, 1), *end = li.args + li.args_len;
	if (!a || !(isalpha((unsigned char)*a) || *a == '_' || *a == '.'))
		return 0;
	const char *e = a;
	while (e < end && (isalnum((unsigned char)*e) || *e == '_' || *e == '.' || *e == '$'))
		e++;
	*t = a;
	*tlen = (size_t)(e - a);
	*off = 0;
	while (e < end && (*e == ' ' || *e == '\t'))
		e++;
	if (e < end && (*e == '+' || *e == '-')) {
		int neg = *e++ == '-';
		while (e < end && (*e == ' ' || *e == '\t'))
			e++;
		if (e == end || !isdigit((unsigned char)*e))
			return 0;
		char *stop;
		long v = strtol(e, &stop, 0);
		if (stop > end)
			return 0;
		e = stop;
		*off = neg ? -v : v;
	}
	while (e < end && (*e == ' ' || *e == '\t'))
		e++;
	return e == end;   /* anything else is an expression */
}

int lc_unit_alias(const struct lc_asm_unit *u, const char *name, size_t len, const char **t,
		  size_t *tlen)
{
	int i = lc_strmap_get(&u->aliases, name, len);
	if (i < 0)
		return 0;
	struct lc_line_info li;
	lc_line_classify(u->lines[i].s, u->lines[i].len, &li);
	const char *a = arg_after_comma(&li, 1), *end = li.args + li.args_len;
	if (!a || !(isalpha((unsigned char)*a) || *a == '_' || *a == '.'))
		return 0;
	const char *e = a;
	while (e < end && (isalnum((unsigned char)*e) || *e == '_' || *e == '.' || *e == '$'))
		e++;
	while (e < end && (*e == ' ' || *e == '\t'))
		e++;
	if (e != end)
		return 0;   /* an expression, not a symbol */
	while (e > a && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*t = a;
	*tlen = (size_t)(e - a);
	return lc_line_is(&li, ".weakref") ? 2 : 1;
}
