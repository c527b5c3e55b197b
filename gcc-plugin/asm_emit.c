/*
 * asm_emit.c - the .kpatch.* sections for what changed in a unit (layout
 * and naming contract: include/libcare/kpatch.h).
 *
 * The patched slices of changed and new functions are copied into
 * .kpatch.text (text-like sections) and .kpatch.data (literals, jump
 * tables, new objects); debug and note content is dropped, since it would
 * land in allocated sections, and `.cfi_*` directives become explicit
 * bytes in .kpatch.eh_frame (asm_cfi.c), the functions' LSDAs a copy in
 * .kpatch.data.  Names are rewritten:
 *
 *	foo:                     ->  foo.kpatch:        (defined in the copy)
 *	jne .L7                  ->  jne .Lkp.L7        (local label)
 *	leaq .LC2(%rip), %rdi    ->  leaq .Lkp.LC2(%rip), %rdi   (+ a copy of .LC2)
 *	movl count.1(%rip), %eax ->  movl count.0(%rip), %eax    (original's static)
 *	call puts@PLT            ->  call puts.kpatch_ext@PLT    (+ .weak)
 *	movq stdout@GOTPCREL(%rip), %rax -> movq .Lkpgot.stdout(%rip), %rax
 *	                             (+ slot: .Lkpgot.stdout: .quad stdout.kpatch_ext)
 *	movl %fs:tv@tpoff, %eax  ->  movl %fs:tv.kpatch_tpoff, %eax   (asm_tls.c)
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "asm.h"
#include "libcare/kpatch.h"

struct name_list {
	struct lc_strmap set;
	const char **s;
	size_t *len;
	size_t n;
};

struct emit_ctx {
	const struct lc_asm_unit *orig, *p;
	const struct lc_symmap *map;
	const struct lc_match *m;
	struct lc_strmap emitted;       /* non-.L symbols defined by emitted code */
	struct name_list lit_needed;    /* literals referenced by emitted code */
	struct lc_strmap labels_def;    /* .L labels defined by emitted code */
	struct name_list labels_ref;    /* .L labels referenced by it */
	struct name_list ext, got;
	struct lc_buf got_text;
	char section;                   /* 0, 't' or 'd' */
	const char *func;               /* the function being copied */
	struct lc_buf refusal;          /* first reason the code cannot be patched */
	struct lc_tls_emit tls;         /* TLS pseudo-symbols (asm_tls.c) */
	char **kept;                    /* rewritten lines that names point into */
	size_t nkept;
	int alias_depth;                /* aliases of aliases followed */
	struct lc_cfi cfi;              /* unwind information (asm_cfi.c) */
	int in_lsda;                    /* copying an LSDA line */
};

/* Adds a name once; returns 1 if it was new. */
static int name_list_add(struct name_list *l, const char *s, size_t len)
{
	if (lc_strmap_get(&l->set, s, len) >= 0)
		return 0;
	lc_strmap_put(&l->set, s, len, (int)l->n);
	l->s = lc_xrealloc(l->s, (l->n + 1) * sizeof(*l->s));
	l->len = lc_xrealloc(l->len, (l->n + 1) * sizeof(*l->len));
	l->s[l->n] = s;
	l->len[l->n++] = len;
	return 1;
}

static void name_list_free(struct name_list *l)
{
	lc_strmap_free(&l->set);
	free(l->s);
	free(l->len);
}

static int is_local_label(const char *s, size_t len)
{
	return len >= 2 && s[0] == '.' && s[1] == 'L';
}

/* What emitted code calls a patched-unit symbol (see the file comment). */
static void emit_resolve(struct emit_ctx *c, const char *s, size_t len, int is_def,
			 struct lc_buf *out)
{
	if (lc_name_is_literal(s, len) && !is_def)
		name_list_add(&c->lit_needed, s, len);
	if (is_local_label(s, len)) {
		if (is_def)
			lc_strmap_put(&c->labels_def, s, len, 1);
		else if (!lc_name_is_literal(s, len) && !c->in_lsda)
			/* an LSDA's base label may lie before the slice: rebased */
			name_list_add(&c->labels_ref, s, len);
		lc_buf_addf(out, "%s%.*s", LC_LABEL_PREFIX, (int)len, s);
		return;
	}
	if (lc_name_is_literal(s, len)) {       /* CSWTCH.3 */
		lc_buf_addf(out, "%s.%.*s", LC_LABEL_PREFIX, (int)len, s);
		return;
	}
	size_t mlen = len;
	const char *ms = lc_symmap_lookup(c->map, s, &mlen);
	const char *t;
	size_t tlen;
	int alias = lc_strmap_get(&c->emitted, s, len) < 0 && c->alias_depth < 8 ?
		    lc_unit_alias(c->p, s, len, &t, &tlen) : 0;
	if (alias && lc_unit_is_ifunc(c->p, s, len))
		alias = 0;   /* .set f, resolver: an IFUNC (below) */
	if (alias && (alias == 2 || lc_strmap_get(&c->emitted, t, tlen) >= 0 ||
		      !lc_unit_defines(c->orig, ms, mlen))) {
		/*
		 * An alias of a symbol: `.set f.localalias, f` (GCC's name for a
		 * recursive call with -fPIC), `.weakref w, f`.  It means its
		 * target: the patched f if f is emitted, else the original's
		 * alias if the original has it, else the original's f.
		 */
		c->alias_depth++;
		emit_resolve(c, t, tlen, 0, out);
		c->alias_depth--;
		return;
	}
	if (lc_strmap_get(&c->emitted, s, len) >= 0)
		lc_buf_addf(out, "%.*s%s", (int)mlen, ms, LC_PATCHED_SUFFIX);
	else if (lc_unit_defines(c->p, s, len) && !lc_unit_is_ifunc(c->p, s, len))
		lc_buf_add(out, ms, mlen);
	else {
		if (!lc_unit_defines(c->p, s, len) && lc_unit_defines(c->orig, s, len) &&
		    !c->refusal.len)
			/* ld would bind it to the original's copy, still in the
			 * patched link: the old code, which the fix removed */
			lc_buf_addf(&c->refusal, "function '%s' uses '%.*s', which the original unit "
				    "defines and the fix removed from it (or moved elsewhere): the patch "
				    "would use the original's: cannot be live-patched",
				    c->func ? c->func : "?", (int)len, s);
		name_list_add(&c->ext, s, len);
		lc_buf_addf(out, "%.*s%s", (int)len, s, LC_EXTERN_SUFFIX);
	}
}

/* lc_cfi_resolve_fn: the personality routine, named as emitted code names it. */
static void emit_cfi_resolve(void *vctx, const char *s, size_t len, struct lc_buf *out)
{
	emit_resolve(vctx, s, len, 0, out);
}

static int reloc_is(const struct lc_sym_ref *r, const char *name)
{
	return r->reloc_len == strlen(name) && strncasecmp(r->reloc, name, r->reloc_len) == 0;
}

static int emit_sym(void *vctx, const struct lc_sym_ref *r, struct lc_buf *out)
{
	struct emit_ctx *c = vctx;
	if (reloc_is(r, "GOTPCREL") && !is_local_label(r->s, r->len)) {
		size_t mlen = r->len;
		const char *ms = lc_symmap_lookup(c->map, r->s, &mlen);
		if (name_list_add(&c->got, r->s, r->len)) {
			lc_buf_addf(&c->got_text, "\t.p2align 3\n%s%.*s:\n\t.quad\t", LC_GOT_PREFIX,
				    (int)mlen, ms);
			emit_resolve(c, r->s, r->len, 0, &c->got_text);
			lc_buf_adds(&c->got_text, "\n");
		}
		lc_buf_addf(out, "%s%.*s", LC_GOT_PREFIX, (int)mlen, ms);
		return 1;
	}
	if (lc_tls_is_operand(r->reloc, r->reloc_len)) {
		/* TLS: rewritten into pseudo-symbols mkpatch resolves (asm_tls.c). */
		size_t mlen = r->len;
		const char *ms = lc_symmap_lookup(c->map, r->s, &mlen);
		struct lc_buf why = LC_BUF_INIT;
		if (lc_tls_rewrite(&c->tls, ms, mlen, r->reloc, r->reloc_len, &c->got_text, out,
				   &why) < 0 && !c->refusal.len)
			lc_buf_addf(&c->refusal, "function '%s' uses %s", c->func ? c->func : "?",
				    why.data);
		lc_buf_free(&why);
		return 1;
	}
	emit_resolve(c, r->s, r->len, r->is_def, out);
	return 0;
}

/*
 * Alignment inside code: gas pads with NOPs only in executable sections, and
 * .kpatch.text is not one (non-allocated, no flags), so a loop label's
 * `.p2align 4,,10` would put zero bytes in the path of execution.  The
 * fill is made explicit: `.p2align 4,,10` -> `.p2align 4,0x90,10`.
 * Returns 1 if the directive was written.
 */
static int emit_code_align(const struct lc_line_info *li, struct lc_buf *out)
{
	if (!lc_line_is(li, ".p2align") && !lc_line_is(li, ".align") && !lc_line_is(li, ".balign"))
		return 0;
	const char *a = li->args, *e = li->args + li->args_len;
	const char *c1 = memchr(a, ',', (size_t)(e - a));
	if (!c1) {
		lc_buf_addf(out, "\t%.*s\t%.*s,0x90\n", (int)li->word_len, li->word,
			    (int)li->args_len, a);
		return 1;
	}
	const char *f = c1 + 1;
	while (f < e && (*f == ' ' || *f == '\t'))
		f++;
	if (f < e && *f != ',')
		return 0;   /* an explicit fill */
	lc_buf_addf(out, "\t%.*s\t%.*s,0x90%.*s\n", (int)li->word_len, li->word, (int)(c1 - a), a,
		    (int)(e - f), f);
	return 1;
}

static int line_is_code_align(const struct lc_asm_line *l)
{
	struct lc_line_info li;
	lc_line_classify(l->s, l->len, &li);
	return li.kind == LC_LINE_DIRECTIVE && (lc_line_is(&li, ".p2align") ||
		lc_line_is(&li, ".align") || lc_line_is(&li, ".balign"));
}

/* lc_extdata_fn: a symbol neither the unit nor the patch code defines. */
static int emit_is_ext(void *vctx, const char *s, size_t len)
{
	struct emit_ctx *c = vctx;
	return !lc_unit_defines(c->p, s, len) && lc_strmap_get(&c->emitted, s, len) < 0 &&
	       !lc_name_is_literal(s, len);
}

static void emit_section(struct emit_ctx *c, char which, struct lc_buf *out)
{
	if (c->section == which)
		return;
	c->section = which;
	lc_buf_addf(out, "\t.section\t%s,\"\",@progbits\n",
		    which == 't' ? LC_SECTION_TEXT : LC_SECTION_DATA);
}

static int directive_dropped(const struct lc_line_info *li)
{
	static const char *const drop[] = {
		".section", ".text", ".data", ".bss", ".pushsection", ".popsection",
		".previous", ".subsection", ".loc", ".file", ".globl", ".global",
		".hidden", ".protected", ".internal", ".weak", ".ident", ".symver",
		".loc_mark_labels", ".local", ".weakref", NULL
	};
	for (int i = 0; drop[i]; i++)
		if (lc_line_is(li, drop[i]))
			return 1;
	return li->word_len > 5 && memcmp(li->word, ".cfi_", 5) == 0;
}

/* `.comm x,4,4` of a new object -> a zeroed object in .kpatch.data. */
static void emit_comm(struct emit_ctx *c, const struct lc_asm_object *o, struct lc_buf *out)
{
	emit_section(c, 'd', out);
	lc_buf_addf(out, "\t.balign %ld\n", o->comm_align > 0 ? o->comm_align : 1);
	lc_buf_adds(out, "\t.type\t");
	emit_resolve(c, o->name, strlen(o->name), 1, out);
	lc_buf_adds(out, ", @object\n");
	emit_resolve(c, o->name, strlen(o->name), 1, out);
	lc_buf_addf(out, ":\n\t.zero\t%ld\n", o->size > 0 ? o->size : 1);
}

static void emit_line(struct emit_ctx *c, const struct lc_asm_line *l, char force,
		      struct lc_buf *out)
{
	struct lc_line_info li;
	if (!force && lc_cfi_is_lsda_section(l->section)) {
		/* an LSDA of emitted code: into .kpatch.data, rebased (asm_cfi.c) */
		struct lc_buf lsda = LC_BUF_INIT;
		c->in_lsda = 1;
		emit_line(c, l, 'd', &lsda);
		c->in_lsda = 0;
		lc_cfi_lsda_lines(&c->cfi, lsda.data, lsda.len, out);
		lc_buf_free(&lsda);
		return;
	}
	char which = force ? force : l->sec_kind == LC_SEC_TEXT ? 't' :
		     l->sec_kind == LC_SEC_DATA ? 'd' : 0;
	if (!which)
		return;
	lc_line_classify(l->s, l->len, &li);
	if (li.kind == LC_LINE_BLANK || li.kind == LC_LINE_COMMENT)
		return;
	if (li.kind == LC_LINE_DIRECTIVE && lc_line_is(&li, ".comm")) {
		if (l->object >= 0)
			emit_comm(c, &c->p->objs[l->object], out);
		return;
	}
	if (li.kind == LC_LINE_DIRECTIVE && lc_line_is(&li, ".intel_syntax") && !c->refusal.len)
		lc_buf_addf(&c->refusal, "function '%s' has inline assembly in Intel syntax: its "
			    "operands cannot be rewritten for patch code", c->func ? c->func : "?");
	if (li.kind == LC_LINE_DIRECTIVE && li.word_len > 5 && memcmp(li.word, ".cfi_", 5) == 0) {
		struct lc_buf why = LC_BUF_INIT;
		if (which == 't') {
			emit_section(c, 't', out);
			if (lc_cfi_directive(&c->cfi, c->func, &li, out, &why) < 0 && !c->refusal.len)
				lc_buf_add(&c->refusal, why.data, why.len);
		}
		lc_buf_free(&why);
		return;
	}
	if (li.kind == LC_LINE_DIRECTIVE && directive_dropped(&li))
		return;
	if (li.kind == LC_LINE_DIRECTIVE && (lc_line_is(&li, ".type") || lc_line_is(&li, ".size"))) {
		const char *n = li.args;
		size_t len = 0;
		while (len < li.args_len && n[len] != ',' && n[len] != ' ' && n[len] != '\t')
			len++;
		if (!is_local_label(n, len) && !lc_name_is_literal(n, len) &&
		    lc_strmap_get(&c->emitted, n, len) < 0)
			return;   /* an existing object's, defined by the original */
	}
	emit_section(c, which, out);
	if (which == 't')
		lc_cfi_text(&c->cfi);
	if (which == 't' && li.kind == LC_LINE_DIRECTIVE && emit_code_align(&li, out))
		return;
	struct lc_buf x = LC_BUF_INIT;
	if (which == 't' && lc_extdata_rewrite(l->s, l->len, emit_is_ext, c, &x)) {
		/* extern data through a slot (asm_extdata.c), line by line */
		for (const char *p = x.data, *e = x.data + x.len; p < e;) {
			const char *nl = memchr(p, '\n', (size_t)(e - p));
			size_t n = nl ? (size_t)(nl - p) : (size_t)(e - p);
			lc_line_rewrite(p, n, emit_sym, c, out);
			lc_buf_adds(out, "\n");
			p += n + 1;
		}
		/* name lists point into the text: keep it to the end */
		c->kept = lc_xrealloc(c->kept, (c->nkept + 1) * sizeof(*c->kept));
		c->kept[c->nkept++] = x.data;
		return;
	}
	lc_line_rewrite(l->s, l->len, emit_sym, c, out);
	lc_buf_adds(out, "\n");
}

static int slice_emitted(const struct emit_ctx *c, int func)
{
	return func >= 0 && c->m->func[func] != LC_SAME;
}

/* Which symbols the emitted code defines: those get the .kpatch suffix. */
static void emit_collect_defs(struct emit_ctx *c)
{
	const struct lc_asm_unit *p = c->p;
	for (size_t i = 0; i < p->nfuncs; i++) {
		if (c->m->func[i] == LC_SAME)
			continue;
		for (size_t k = p->funcs[i].first; k < p->funcs[i].end; k++) {
			struct lc_line_info li;
			const struct lc_asm_line *l = &p->lines[k];
			if (l->object >= 0 && c->m->obj[l->object] == LC_SAME)
				continue;
			lc_line_classify(l->s, l->len, &li);
			if (li.kind == LC_LINE_LABEL && !is_local_label(li.word, li.word_len) &&
			    !lc_name_is_literal(li.word, li.word_len) &&
			    !lc_label_is_numeric(li.word, li.word_len))
				lc_strmap_put(&c->emitted, li.word, li.word_len, 1);
			/* .set/.equ in inline asm: the copy defines its own */
			if (li.kind == LC_LINE_DIRECTIVE && l->sec_kind != LC_SEC_OTHER &&
			    (lc_line_is(&li, ".set") || lc_line_is(&li, ".equ") ||
			     lc_line_is(&li, ".equiv"))) {
				size_t n = 0;
				while (n < li.args_len && li.args[n] != ',' && li.args[n] != ' ' &&
				       li.args[n] != '\t')
					n++;
				if (n && !is_local_label(li.args, n))
					lc_strmap_put(&c->emitted, li.args, n, 1);
			}
		}
		lc_strmap_put(&c->emitted, p->funcs[i].name, strlen(p->funcs[i].name), 1);
	}
	for (size_t i = 0; i < p->nobjs; i++)
		if (c->m->obj[i] != LC_SAME)   /* new, or static const data changed */
			lc_strmap_put(&c->emitted, p->objs[i].name, strlen(p->objs[i].name), 1);
}

static void emit_object(struct emit_ctx *c, const struct lc_asm_object *o, struct lc_buf *out)
{
	if (o->label < 0) {
		emit_comm(c, o, out);
		return;
	}
	emit_section(c, 'd', out);
	if (o->align_line >= 0)
		emit_line(c, &c->p->lines[o->align_line], 'd', out);
	if (!lc_name_is_literal(o->name, strlen(o->name)) || o->name[0] != '.') {
		lc_buf_adds(out, "\t.type\t");
		emit_resolve(c, o->name, strlen(o->name), 1, out);
		lc_buf_adds(out, ", @object\n");
		if (o->size >= 0) {
			lc_buf_adds(out, "\t.size\t");
			emit_resolve(c, o->name, strlen(o->name), 1, out);
			lc_buf_addf(out, ", %ld\n", o->size);
		}
	}
	emit_line(c, &c->p->lines[o->label], 'd', out);
	for (size_t k = o->first; k < o->end; k++)
		emit_line(c, &c->p->lines[k], 'd', out);
}

/* Literals the emitted code uses but that sit outside it: one copy each. */
static int emit_literals(struct emit_ctx *c, struct lc_buf *out, struct lc_buf *err)
{
	for (size_t i = 0; i < c->lit_needed.n; i++) {   /* the list grows as we go */
		const char *s = c->lit_needed.s[i];
		size_t len = c->lit_needed.len[i];
		if (lc_strmap_get(&c->labels_def, s, len) >= 0)
			continue;
		int li = lc_unit_find_lit(c->p, s, len);
		const char *t;
		size_t tlen;
		long off;
		if (li < 0 && lc_unit_alias_off(c->p, s, len, &t, &tlen, &off) &&
		    lc_name_is_literal(t, tlen)) {
			/*
			 * `.set .LC18,.LC6`, `.set .LC283,.LC137+4`: GCC gives a
			 * pool constant that is a part of another (movzwl .LC18:
			 * the first 2 bytes of an 8-byte .LC6) an address in it.
			 * The copy is the same: an alias into the copy of its
			 * target.
			 */
			emit_section(c, 'd', out);
			lc_buf_adds(out, "\t.set\t");
			emit_resolve(c, s, len, 1, out);
			lc_buf_adds(out, ", ");
			emit_resolve(c, t, tlen, 0, out);   /* the target: needed in turn */
			if (off)
				lc_buf_addf(out, "%+ld", off);
			lc_buf_adds(out, "\n");
			continue;
		}
		if (li < 0) {
			lc_buf_addf(err, "literal '%.*s' used by patched code is not defined in the unit",
				    (int)len, s);
			return -1;
		}
		const struct lc_asm_object *o = &c->p->lits[li];
		if (o->func >= 0 && slice_emitted(c, o->func))
			continue;   /* copied with its slice */
		emit_object(c, o, out);
		lc_strmap_put(&c->labels_def, s, len, 1);
	}
	return 0;
}

/* Whether the patched unit declares `name` .globl or .weak. */
static int unit_declares_global(const struct lc_asm_unit *u, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < u->nlines; i++) {
		struct lc_line_info li;
		const struct lc_asm_line *l = &u->lines[i];
		if (l->len < 6 || l->s[0] != '\t' || l->s[1] != '.')
			continue;
		lc_line_classify(l->s, l->len, &li);
		if (li.kind == LC_LINE_DIRECTIVE && (lc_line_is(&li, ".globl") ||
		    lc_line_is(&li, ".global") || lc_line_is(&li, ".weak")) &&
		    li.args_len == n && !memcmp(li.args, name, n))
			return 1;
	}
	return 0;
}

/*
 * A new global function: another unit's patch code may call it, through
 * `foo.kpatch_ext`, while the original binary has no foo.  Patch symbols
 * are local, so the copy says it is the global one by a second name.
 */
static void emit_new_globals(struct emit_ctx *c, struct lc_buf *out)
{
	for (size_t i = 0; i < c->p->nfuncs; i++) {
		const char *name = c->p->funcs[i].name;
		if (c->m->func[i] != LC_NEW || !unit_declares_global(c->p, name))
			continue;
		emit_section(c, 't', out);
		lc_buf_addf(out, "\t.set\t%s%s, %s%s\n", name, LC_GLOBAL_SUFFIX, name,
			    LC_PATCHED_SUFFIX);
	}
	/* likewise a new global object (expat's g_reparseDeferralEnabledDefault,
	 * set by the tests of another unit) */
	for (size_t i = 0; i < c->p->nobjs; i++) {
		const struct lc_asm_object *o = &c->p->objs[i];
		if (c->m->obj[i] != LC_NEW || !o->global)
			continue;
		emit_section(c, 'd', out);
		lc_buf_addf(out, "\t.set\t%s%s, %s%s\n", o->name, LC_GLOBAL_SUFFIX, o->name,
			    LC_PATCHED_SUFFIX);
	}
}

static void emit_info(struct emit_ctx *c, struct lc_buf *out)
{
	struct lc_buf strtab = LC_BUF_INIT;
	int k = 0;
	lc_buf_addf(out, "\t.section\t%s,\"\",@progbits\n", LC_SECTION_INFO);
	for (size_t i = 0; i < c->p->nfuncs; i++) {
		if (c->m->func[i] != LC_CHANGED)
			continue;
		const char *name = c->orig->funcs[c->m->func_orig[i]].name;
		lc_buf_addf(out, "\t.quad\t%s\n\t.quad\t%s%s\n\t.long\t0, 0\n"
			    "\t.long\t.Lkpname.%d\n\t.long\t0\n", name, name, LC_PATCHED_SUFFIX, k);
		lc_buf_addf(&strtab, ".Lkpname.%d:\n\t.string\t\"%s\"\n", k, name);
		k++;
	}
	lc_buf_addf(out, "\t.section\t%s,\"\",@progbits\n", LC_SECTION_STRTAB);
	lc_buf_add(out, strtab.data ? strtab.data : "", strtab.len);
	lc_buf_free(&strtab);
}

int lc_emit_kpatch(const struct lc_asm_unit *orig, const struct lc_asm_unit *patched,
		   const struct lc_symmap *map, const struct lc_match *m,
		   struct lc_buf *out, struct lc_buf *err)
{
	struct emit_ctx c;
	int ret = -1;
	memset(&c, 0, sizeof(c));
	c.orig = orig;
	c.p = patched;
	c.map = map;
	c.m = m;
	c.cfi.resolve = emit_cfi_resolve;
	c.cfi.ctx = &c;
	c.cfi.lsda_start = -1;
	emit_collect_defs(&c);
	lc_buf_adds(out, "# libcare: .kpatch sections\n");
	for (size_t i = 0; i < patched->nfuncs; i++) {
		if (m->func[i] == LC_SAME)
			continue;
		c.func = patched->funcs[i].name;
		for (size_t k = patched->funcs[i].first; k < patched->funcs[i].end; k++) {
			const struct lc_asm_line *l = &patched->lines[k];
			if (l->object >= 0 && m->obj[l->object] == LC_SAME)
				continue;
			emit_line(&c, l, 0, out);
		}
	}
	for (size_t i = 0; i < patched->nobjs; i++)
		if (m->obj[i] != LC_SAME && !slice_emitted(&c, patched->objs[i].func))
			emit_object(&c, &patched->objs[i], out);
	c.func = NULL;
	if (emit_literals(&c, out, err) < 0)
		goto out;
	if (c.refusal.len) {
		lc_buf_add(err, c.refusal.data, c.refusal.len);
		goto out;
	}
	for (size_t i = 0; i < c.labels_ref.n; i++) {   /* the list grows as we go */
		const char *s = c.labels_ref.s[i];
		size_t len = c.labels_ref.len[i], first, end;
		if (lc_strmap_get(&c.labels_def, s, len) >= 0)
			continue;
		if (lc_unit_local_data(patched, s, len, &first, &end) && first > 0) {
			/* a table in .rodata outside the function: a copy of it */
			if (first > 1 && line_is_code_align(&patched->lines[first - 2]))
				emit_line(&c, &patched->lines[first - 2], 'd', out);
			for (size_t k = first - 1; k < end; k++)
				emit_line(&c, &patched->lines[k], 'd', out);
			if (emit_literals(&c, out, err) < 0)
				goto out;
			continue;
		}
		lc_buf_addf(err, "local label '%.*s' used by patched code is outside its function",
			    (int)len, s);
		goto out;
	}
	emit_new_globals(&c, out);
	if (c.got_text.len) {
		emit_section(&c, 'd', out);
		lc_buf_add(out, c.got_text.data, c.got_text.len);
	}
	if (lc_cfi_finish(&c.cfi, out, err) < 0)
		goto out;
	emit_info(&c, out);
	for (size_t i = 0; i < c.ext.n; i++)
		lc_buf_addf(out, "\t.weak\t%.*s%s\n\t.hidden\t%.*s%s\n", (int)c.ext.len[i], c.ext.s[i],
			    LC_EXTERN_SUFFIX, (int)c.ext.len[i], c.ext.s[i], LC_EXTERN_SUFFIX);
	lc_tls_declare_all(&c.tls, out);
	ret = 0;
out:
	lc_strmap_free(&c.emitted);
	lc_strmap_free(&c.labels_def);
	name_list_free(&c.lit_needed);
	name_list_free(&c.labels_ref);
	name_list_free(&c.ext);
	name_list_free(&c.got);
	lc_buf_free(&c.got_text);
	lc_buf_free(&c.refusal);
	lc_tls_emit_free(&c.tls);
	lc_cfi_free(&c.cfi);
	for (size_t i = 0; i < c.nkept; i++)
		free(c.kept[i]);
	free(c.kept);
	return ret;
}
