/*
 * asm_norm.c - the text of a function slice or data object with what drifts
 * between two builds of a unit taken out, so that equal text means equal
 * code.  Each rule, with an example (original -> normalised):
 *
 *  - local labels are numbered by first appearance in the slice:
 *	jne .L17 / .L17:            ->  jne .L~0 / .L~0:
 *  - a literal is replaced by its content, wherever it is defined:
 *	leaq .LC4(%rip), %rdi       ->  leaq {.string "hi\n"}(%rip), %rdi
 *    (CSWTCH.N switch tables alike);
 *  - static-local and clone counters take the original's name (symmap):
 *	movl count.1(%rip), %eax    ->  movl count.0(%rip), %eax
 *    and a patched name that means another symbol in the original is
 *    marked:  n.1 -> n.1<fresh>;
 *  - debug and unwind lines go: .loc, .file, .cfi_*, .LVL/.LBB/.LFB labels;
 *  - section switches go; the section each line lands in is written
 *    instead when it changes ("[.text.unlikely]"), so a slice compares the
 *    same whether or not GCC had to repeat a switch at its start;
 *  - literal and data-object definitions inside a slice are skipped
 *    (compared through references / separately);
 *  - trailing comments go (-fverbose-asm: "movl %eax, -4(%rbp)  # x, tmp87");
 *  - runs of blanks become one space.
 */
#include <stdlib.h>
#include <string.h>
#include "asm.h"

/* Nesting of data inside data followed at most (a chain of const nodes);
 * deeper references compare by name. */
#define NORM_MAX_DEPTH 1000

struct norm_ctx {
	const struct lc_asm_unit *u;
	const struct lc_symmap *map;
	struct lc_strmap labels;
	int nlabels;
	long fi;                /* the slice being normalised, -1 for data */
	int depth;              /* data expansions we are in */
	int shallow;
	struct lc_strmap seen;  /* local data expanded so far -> its number */
	int nseen;
	struct lc_norm_refs *refs;
	struct lc_buf **scratch;        /* per depth: a line being rewritten */
	int nscratch;
};

/* The rewrite buffer of the current depth (norm_line nests through data
 * references), kept across lines: no allocation per line. */
static struct lc_buf *norm_scratch(struct norm_ctx *c)
{
	if (c->depth >= c->nscratch) {
		c->scratch = lc_xrealloc(c->scratch, (size_t)(c->depth + 1) * sizeof(*c->scratch));
		for (int i = c->nscratch; i <= c->depth; i++)
			c->scratch[i] = lc_xcalloc(1, sizeof(struct lc_buf));
		c->nscratch = c->depth + 1;
	}
	struct lc_buf *b = c->scratch[c->depth];
	lc_buf_reset(b);
	return b;
}

static void norm_ctx_free(struct norm_ctx *c)
{
	for (int i = 0; i < c->nscratch; i++) {
		lc_buf_free(c->scratch[i]);
		free(c->scratch[i]);
	}
	free(c->scratch);
	lc_strmap_free(&c->labels);
	lc_strmap_free(&c->seen);
}

static void norm_line(struct norm_ctx *c, const struct lc_asm_line *l,
		      const struct lc_line_info *li, struct lc_buf *out);

static void refs_add(struct lc_norm_refs *r, const char *s, size_t len)
{
	r->s = lc_xrealloc(r->s, (r->n + 1) * sizeof(*r->s));
	r->len = lc_xrealloc(r->len, (r->n + 1) * sizeof(*r->len));
	r->s[r->n] = s;
	r->len[r->n++] = len;
}

void lc_norm_refs_free(struct lc_norm_refs *r)
{
	free(r->s);
	free(r->len);
	memset(r, 0, sizeof(*r));
}

/* Local data, or an alias of it (`.set wops.0, ops.1`: GCC merged two
 * equal tables; `.set .LC283,.LC137+4`: a constant inside another, *off 4):
 * *name becomes the datum's own name. */
static int local_data(const struct lc_asm_unit *u, const char **name, size_t *len,
		      size_t *first, size_t *end, long *off)
{
	const char *t;
	size_t tlen;
	*off = 0;
	if (lc_unit_local_data(u, *name, *len, first, end))
		return 1;
	if (!lc_unit_alias_off(u, *name, *len, &t, &tlen, off) ||
	    !lc_unit_local_data(u, t, tlen, first, end))
		return 0;
	*name = t;
	*len = tlen;
	return 1;
}

/*
 * Local data is its content, transitively: `{entry;entry;}`, and a datum
 * met again (twice referenced, or a cycle) is `{^k}`, k its number in order
 * of first appearance - equal texts then mean equal data graphs.
 * A jump table of the slice itself stays where it is (its lines are part
 * of the slice's text).
 */
static int norm_data_ref(struct norm_ctx *c, const struct lc_sym_ref *r, struct lc_buf *out)
{
	size_t first, end;
	if (r->len > 1 && r->s[0] == '.' && r->s[1] == 'L' && !lc_name_is_literal(r->s, r->len)) {
		int i = lc_strmap_get(&c->u->data_labels, r->s, r->len);
		if (i < 0 || (c->fi >= 0 && c->u->lines[i].func == c->fi))
			return 0;   /* a code label, or .L4: the slice's own jump table */
	}
	const char *name = r->s;
	size_t len = r->len;
	long off;
	if (!local_data(c->u, &name, &len, &first, &end, &off))
		return 0;
	if (c->depth == 0 && c->refs)
		refs_add(c->refs, r->s, r->len);
	if (c->shallow && c->depth == 0) {
		lc_buf_adds(out, "{}");
		if (off)
			lc_buf_addf(out, "%+ld", off);
		return 1;
	}
	int k = lc_strmap_get(&c->seen, name, len);
	if (k >= 0) {
		lc_buf_addf(out, "{^%d}", k);
		if (off)
			lc_buf_addf(out, "%+ld", off);
		return 1;
	}
	if (c->depth >= NORM_MAX_DEPTH)
		return 0;
	lc_strmap_put(&c->seen, name, len, c->nseen++);
	c->depth++;
	lc_buf_adds(out, "{");
	for (size_t i = first; i < end; i++)
		norm_line(c, &c->u->lines[i], NULL, out);
	lc_buf_adds(out, "}");
	if (off)
		lc_buf_addf(out, "%+ld", off);   /* an address inside it */
	c->depth--;
	return 1;
}

static int norm_sym(void *vctx, const struct lc_sym_ref *r, struct lc_buf *out)
{
	struct norm_ctx *c = vctx;
	if (!r->is_def && norm_data_ref(c, r, out))
		return 0;
	if (r->len >= 2 && r->s[0] == '.' && r->s[1] == 'L') {
		int n = lc_strmap_get(&c->labels, r->s, r->len);
		if (n < 0) {
			n = c->nlabels++;
			lc_strmap_put(&c->labels, r->s, r->len, n);
		}
		char num[16], *e = num + sizeof(num), *d = e;
		unsigned v = (unsigned)n;
		do
			*--d = (char)('0' + v % 10);
		while (v /= 10);
		lc_buf_add(out, ".L~", 3);
		lc_buf_add(out, d, (size_t)(e - d));
		return 0;
	}
	size_t len = r->len;
	const char *s = lc_symmap_lookup(c->map, r->s, &len);
	lc_buf_add(out, s, len);
	if (lc_symmap_is_fresh(c->map, r->s, r->len))
		lc_buf_adds(out, "<fresh>");
	return 0;
}

static int directive_is_noise(const struct lc_line_info *li)
{
	static const char *const noise[] = {
		".loc", ".file", ".section", ".text", ".data", ".bss", ".pushsection",
		".popsection", ".previous", ".loc_mark_labels", ".ident", NULL
	};
	for (int i = 0; noise[i]; i++)
		if (lc_line_is(li, noise[i]))
			return 1;
	return li->word_len > 5 && memcmp(li->word, ".cfi_", 5) == 0;
}

/* One line, rewritten, blanks collapsed, newline-terminated (or ';'
 * inside a literal).  li: the line classified, or NULL. */
static void norm_line(struct norm_ctx *c, const struct lc_asm_line *l,
		      const struct lc_line_info *li, struct lc_buf *out)
{
	struct lc_buf *tmp = norm_scratch(c);
	if (li)
		lc_line_rewrite_li(l->s, l->len, li, norm_sym, c, tmp);
	else
		lc_line_rewrite(l->s, l->len, norm_sym, c, tmp);
	int blank = 1, quoted = 0;
	/* at most one space is added per character kept after blanks */
	lc_buf_grow(out, tmp->len + 2);
	char *d = out->data, *w = d + out->len;
	const char *t = tmp->data;
	for (size_t i = 0; i < tmp->len; i++) {
		char ch = t[i];
		if (ch == '"' && (i == 0 || t[i - 1] != '\\'))
			quoted = !quoted;
		if (ch == '#' && !quoted)
			break;   /* a trailing comment (-fverbose-asm) */
		if (ch == ' ' || ch == '\t' || ch == '\r') {
			blank = 1;
			continue;
		}
		if (blank && w > d && w[-1] != '\n' && w[-1] != '{' && w[-1] != ';')
			*w++ = ' ';
		blank = 0;
		*w++ = ch;
	}
	out->len = (size_t)(w - d);
	lc_buf_add(out, c->depth ? ";" : "\n", 1);
}

void lc_norm_func_ex(const struct lc_asm_unit *u, size_t fi, const struct lc_symmap *map,
		     int shallow, struct lc_norm_refs *refs, struct lc_buf *out)
{
	struct norm_ctx c = { u, map, { 0 }, 0, (long)fi, 0, shallow, { 0 }, 0, refs, NULL, 0 };
	const struct lc_asm_func *f = &u->funcs[fi];
	const char *section = NULL;
	for (size_t i = f->first; i < f->end; i++) {
		const struct lc_asm_line *l = &u->lines[i];
		struct lc_line_info li;
		if (l->literal >= 0 || l->object >= 0)
			continue;
		lc_line_classify(l->s, l->len, &li);
		if (li.kind == LC_LINE_BLANK || li.kind == LC_LINE_COMMENT)
			continue;
		if (li.kind == LC_LINE_LABEL && !li.args_len && lc_label_is_debug(li.word, li.word_len))
			continue;
		if (li.kind == LC_LINE_DIRECTIVE && directive_is_noise(&li))
			continue;
		if (l->section != section) {
			lc_buf_addf(out, "[%s]\n", l->section);
			section = l->section;
		}
		norm_line(&c, l, &li, out);
	}
	norm_ctx_free(&c);
}

void lc_norm_func(const struct lc_asm_unit *u, size_t fi, const struct lc_symmap *map,
		  struct lc_buf *out)
{
	lc_norm_func_ex(u, fi, map, 0, NULL, out);
}

void lc_norm_object(const struct lc_asm_unit *u, const struct lc_asm_object *o,
		    const struct lc_symmap *map, struct lc_buf *out)
{
	struct norm_ctx c = { u, map, { 0 }, 0, -1, 0, 0, { 0 }, 0, NULL, NULL, 0 };
	lc_buf_addf(out, "[%s] size %ld common %ld\n", o->label < 0 ? "common" : o->section,
		    o->size, o->comm_align);
	lc_strmap_put(&c.seen, o->name, strlen(o->name), c.nseen++);   /* itself: {^0} */
	if (o->align_line >= 0)
		norm_line(&c, &u->lines[o->align_line], NULL, out);
	for (size_t i = o->first; i < o->end; i++)
		norm_line(&c, &u->lines[i], NULL, out);
	norm_ctx_free(&c);
}

void lc_norm_data(const struct lc_asm_unit *u, const char *name, size_t len,
		  const struct lc_symmap *map, struct lc_buf *out)
{
	struct norm_ctx c = { u, map, { 0 }, 0, -1, 0, 0, { 0 }, 0, NULL, NULL, 0 };
	size_t first, end;
	long off;
	if (!local_data(u, &name, &len, &first, &end, &off))
		return;
	lc_strmap_put(&c.seen, name, len, c.nseen++);
	for (size_t i = first; i < end; i++)
		norm_line(&c, &u->lines[i], NULL, out);
	if (off)
		lc_buf_addf(out, "%+ld", off);
	norm_ctx_free(&c);
}
