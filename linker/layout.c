/*
 * layout.c - checking that the patched link kept the original layout.
 *
 * The patch is built from PATCHED but applied to ORIGINAL, and its
 * relocations against "the original object" carry PATCHED's link-time
 * addresses.  That is only right if nothing loaded moved.  Symbols are
 * compared as multisets of (name, value, size): static locals such as
 * `count.0` repeat across units.  When several things differ, the one at the
 * lowest address is named: it is the cause, the rest moved because of it.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "libcare/kpatch.h"
#include "layout.h"

struct layout_key {
	const char *name;
	uint64_t value, size;
	uint32_t shndx;
	int matched;
};

/* The difference found so far at the lowest address. */
struct layout_diff {
	int found;
	uint64_t addr;          /* where it starts to differ */
	uint64_t paddr;         /* the thing's address in PATCHED (or addr) */
	struct lc_buf *why;
};

static void layout_note(struct layout_diff *d, uint64_t addr, uint64_t paddr)
{
	d->found = 1;
	d->addr = addr;
	d->paddr = paddr;
	lc_buf_reset(d->why);
}

static int layout_earlier(const struct layout_diff *d, uint64_t addr)
{
	return !d->found || addr < d->addr;
}

static int key_cmp(const void *a, const void *b)
{
	const struct layout_key *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	if (x->value != y->value)
		return x->value < y->value ? -1 : 1;
	if (x->size != y->size)
		return x->size < y->size ? -1 : 1;
	return 0;
}

static uint64_t min64(uint64_t a, uint64_t b) { return a < b ? a : b; }

static void layout_sections(const struct lc_obj *o, const struct lc_obj *p,
			    struct layout_diff *d)
{
	for (size_t i = 1; i < o->nsec; i++) {
		const struct lc_obj_section *os = &o->sec[i], *ps = NULL;
		if (!(os->flags & SHF_ALLOC))
			continue;
		for (size_t j = 1; j < p->nsec; j++) {
			if (strcmp(p->sec[j].name, os->name) != 0)
				continue;
			if (!ps || p->sec[j].addr == os->addr)
				ps = &p->sec[j];
		}
		if (!ps) {
			if (layout_earlier(d, os->addr)) {
				layout_note(d, os->addr, os->addr);
				lc_buf_addf(d->why, "section '%s' (0x%" PRIx64 ") of ORIGINAL is missing "
					    "from PATCHED", os->name, os->addr);
			}
			continue;
		}
		if (ps->addr == os->addr && ps->size == os->size)
			continue;
		/* A section that only grew or shrank differs at its end. */
		uint64_t at = ps->addr == os->addr ? os->addr + min64(os->size, ps->size)
						   : min64(os->addr, ps->addr);
		if (layout_earlier(d, at)) {
			layout_note(d, at, ps->addr);
			lc_buf_addf(d->why, "section '%s' moved: 0x%" PRIx64 " (%" PRIu64 " bytes) "
				    "in ORIGINAL, 0x%" PRIx64 " (%" PRIu64 " bytes) in PATCHED",
				    os->name, os->addr, os->size, ps->addr, ps->size);
		}
	}
}

/*
 * -Wl,-q keeps some empty sections that a plain link drops (crtend's
 * .tm_clone_table with its local __TMC_LIST__); they hold nothing.
 */
static int layout_extra_empty(const struct lc_obj *o, const struct lc_obj *p, uint32_t shndx)
{
	if (shndx == SHN_UNDEF || shndx >= p->nsec || p->sec[shndx].size)
		return 0;
	return !lc_obj_section_index(o, p->sec[shndx].name);
}

/*
 * Defined symbols that must match.  For PATCHED (orig != NULL) the .kpatch.*
 * symbols are extra by design.  Sorted for the merge in layout_symbols.
 */
static struct layout_key *layout_keys(const struct lc_obj *obj, const struct lc_obj *orig,
				      size_t *n)
{
	struct layout_key *k = lc_xcalloc(obj->nsym ? obj->nsym : 1, sizeof(*k));
	*n = 0;
	for (size_t i = 1; i < obj->nsym; i++) {
		const struct lc_obj_symbol *s = &obj->sym[i];
		if (s->shndx == SHN_UNDEF || s->type == STT_FILE || s->type == STT_SECTION)
			continue;
		if (orig && lc_obj_section_is_kpatch(obj, s->shndx))
			continue;
		k[(*n)++] = (struct layout_key){ s->name, s->value, s->size, s->shndx, 0 };
	}
	qsort(k, *n, sizeof(*k), key_cmp);
	return k;
}

static int layout_ext_name(const char *name)
{
	/* the plugin's external references and its TLS pseudo-symbols (asm_tls.c) */
	static const char *const suffixes[] = { LC_EXTERN_SUFFIX, ".kpatch_tpoff",
						".kpatch_dtpoff", ".kpatch_dtpmod" };
	size_t n = strlen(name);
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		size_t m = strlen(suffixes[i]);
		if (n > m && strcmp(name + n - m, suffixes[i]) == 0)
			return 1;
	}
	return 0;
}

static int layout_undefined_in(const struct lc_obj *o, const char *name)
{
	for (size_t i = 1; i < o->nsym; i++)
		if (o->sym[i].shndx == SHN_UNDEF && strcmp(o->sym[i].name, name) == 0)
			return 1;
	return 0;
}

static void layout_symbols(const struct lc_obj *o, const struct lc_obj *p,
			   struct layout_diff *d)
{
	size_t no, np;
	struct layout_key *ok = layout_keys(o, NULL, &no), *pk = layout_keys(p, o, &np);

	/* Both sorted: a merge pairs equal keys, duplicates included. */
	for (size_t i = 0, j = 0; i < no && j < np;) {
		int c = key_cmp(&ok[i], &pk[j]);
		if (c == 0)
			ok[i++].matched = pk[j++].matched = 1;
		else if (c < 0)
			i++;
		else
			j++;
	}
	for (size_t i = 0; i < no; i++) {
		const struct layout_key *a = &ok[i], *b = NULL;
		if (a->matched)
			continue;
		for (size_t j = 0; j < np && !b; j++)
			if (!pk[j].matched && strcmp(pk[j].name, a->name) == 0)
				b = &pk[j];
		/*
		 * A marker of an empty section the plain link dropped keeps the
		 * address it had there (__TMC_END__ of .tm_clone_table); when the
		 * patched link places the section differently, nothing moved.
		 */
		if (b && !a->size && !b->size && layout_extra_empty(o, p, b->shndx))
			continue;
		uint64_t at = b ? min64(a->value, b->value) : a->value;
		if (!layout_earlier(d, at))
			continue;
		layout_note(d, at, b ? b->value : a->value);
		if (b)
			lc_buf_addf(d->why, "symbol '%s' moved: 0x%" PRIx64 " (%" PRIu64 " bytes) in "
				    "ORIGINAL, 0x%" PRIx64 " (%" PRIu64 " bytes) in PATCHED",
				    a->name, a->value, a->size, b->value, b->size);
		else
			lc_buf_addf(d->why, "symbol '%s' (0x%" PRIx64 ", %" PRIu64 " bytes) of ORIGINAL "
				    "is missing from PATCHED", a->name, a->value, a->size);
	}
	for (size_t j = 0; j < np; j++) {
		const struct layout_key *b = &pk[j];
		int paired = 0;
		/* -q also keeps assembler-local labels that relocations name (.LC0). */
		if (b->matched || layout_extra_empty(o, p, b->shndx) || strncmp(b->name, ".L", 2) == 0)
			continue;
		for (size_t i = 0; i < no && !paired; i++)
			paired = !ok[i].matched && strcmp(ok[i].name, b->name) == 0;
		if (paired || !layout_earlier(d, b->value))
			continue;
		layout_note(d, b->value, b->value);
		lc_buf_addf(d->why, "symbol '%s' (0x%" PRIx64 ", %" PRIu64 " bytes) exists only in "
			    "PATCHED, outside the .kpatch sections", b->name, b->value, b->size);
	}
	/*
	 * A new undefined symbol would have grown .dynsym; the section check
	 * names that.  Report one here only if nothing else differs.  Allowed:
	 * the plugin's `*.kpatch_ext` (weak, and hidden -> local after the link
	 * so that a -shared link does not export them), and crtstuff's weak
	 * `_ITM_*` that -Wl,-q keeps in the static symbol table.
	 */
	for (size_t i = 1; i < p->nsym && !d->found; i++) {
		const struct lc_obj_symbol *s = &p->sym[i];
		if (s->shndx != SHN_UNDEF || !*s->name)
			continue;
		if (s->bind == STB_WEAK || layout_ext_name(s->name))
			continue;
		if (!layout_undefined_in(o, s->name)) {
			layout_note(d, UINT64_MAX, UINT64_MAX);
			lc_buf_addf(d->why, "PATCHED references symbol '%s' that ORIGINAL does not "
				    "(outside the .kpatch sections)", s->name);
		}
	}
	free(ok);
	free(pk);
}

/* A loaded section only PATCHED has: it took space somewhere. */
static void layout_extra_sections(const struct lc_obj *o, const struct lc_obj *p,
				  struct layout_diff *d)
{
	for (size_t j = 1; j < p->nsec; j++) {
		const struct lc_obj_section *ps = &p->sec[j];
		if (!(ps->flags & SHF_ALLOC) || !ps->size || lc_obj_section_index(o, ps->name))
			continue;
		if (layout_earlier(d, ps->addr)) {
			layout_note(d, ps->addr, ps->addr);
			lc_buf_addf(d->why, "section '%s' (0x%" PRIx64 ", %" PRIu64 " bytes) exists "
				    "only in PATCHED", ps->name, ps->addr, ps->size);
		}
	}
}

/*
 * ld -q keeps an empty section that a plain link drops when relocations name
 * it (crtend's .tm_clone_table, via the hidden __TMC_END__); its alignment
 * can push .bss.  Say so: the fix is in how PATCHED is linked.
 */
/* The first .dynsym name of PATCHED that ORIGINAL's .dynsym lacks, or NULL;
 * *undef: whether it is undefined there. */
static const char *layout_dynsym_extra(const struct lc_obj *o, const struct lc_obj *p, int *undef)
{
	size_t po = lc_obj_section_index(o, ".dynsym"), pp = lc_obj_section_index(p, ".dynsym");
	Elf_Data *od = po ? lc_obj_section_data(o, po) : NULL;
	Elf_Data *pd = pp ? lc_obj_section_data(p, pp) : NULL;
	GElf_Sym a, b;
	if (!pd)
		return NULL;
	for (int j = 1; j < (int)(pd->d_size / sizeof(Elf64_Sym)) && gelf_getsym(pd, j, &b); j++) {
		const char *bn = elf_strptr(p->elf, p->sec[pp].link, b.st_name);
		int found = 0;
		for (int i = 1; od && !found && i < (int)(od->d_size / sizeof(Elf64_Sym)); i++) {
			const char *an = gelf_getsym(od, i, &a) ?
					 elf_strptr(o->elf, o->sec[po].link, a.st_name) : NULL;
			found = an && bn && strcmp(an, bn) == 0;
		}
		if (bn && *bn && !found) {
			*undef = b.st_shndx == SHN_UNDEF;
			return bn;
		}
	}
	return NULL;
}

static void layout_hint(const struct lc_obj *o, const struct lc_obj *p, struct layout_diff *d)
{
	int undef = 0;
	const char *extra;
	if (p->dynsym_ext) {
		lc_buf_addf(d->why, " (PATCHED exports '%s' in .dynsym: patch code must declare "
			    "its *%s symbols .hidden as well as .weak)", p->dynsym_ext, LC_EXTERN_SUFFIX);
		return;
	}
	if ((extra = layout_dynsym_extra(o, p, &undef))) {
		lc_buf_addf(d->why, " (PATCHED's .dynsym has '%s'%s, which ORIGINAL's has not%s)",
			    extra, undef ? " (undefined)" : "",
			    undef ? ": patch code uses a symbol that nothing in the patched link defines" :
			    ": a new exported symbol outside the .kpatch sections");
		return;
	}
	for (size_t j = 1; j < p->nsec; j++) {
		const struct lc_obj_section *ps = &p->sec[j];
		if ((ps->flags & SHF_ALLOC) && !ps->size && !lc_obj_section_index(o, ps->name) &&
		    ps->addr > d->addr && ps->addr <= d->paddr && d->paddr - ps->addr < 64) {
			lc_buf_addf(d->why, " (PATCHED has an empty section '%s' at 0x%" PRIx64
				    " that ORIGINAL's link dropped: link PATCHED with -specs=libcare.specs, or "
				    "add -Wl,-T,libcare-patched.ld to its link)", ps->name, ps->addr);
			return;
		}
	}
}

int lc_layout_check(const struct lc_obj *orig, const struct lc_obj *patched,
		    struct lc_buf *why)
{
	struct layout_diff d = { 0, 0, 0, why };
	lc_buf_reset(why);
	if (orig->nsym)
		layout_symbols(orig, patched, &d);
	layout_sections(orig, patched, &d);
	layout_extra_sections(orig, patched, &d);
	if (d.found)
		layout_hint(orig, patched, &d);
	return d.found ? -1 : 0;
}
