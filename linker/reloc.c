/*
 * reloc.c - the relocation rules of the patch payload.
 *
 * PATCHED is linked with -Wl,-q, so its .rela.kpatch.* sections hold final
 * relocations: symbols of non-allocated sections have offsets as values,
 * symbols of allocated sections have link-time vaddrs, which the layout
 * check proved equal in ORIGINAL.  A reference the plugin could not resolve
 * inside the unit arrives as the weak undefined `NAME.kpatch_ext`; it is
 * looked up in PATCHED's own symbol table:
 *
 *	twice.kpatch_ext  + twice defined in .text     -> __libcare_target + 0x1169
 *	puts.kpatch_ext   + puts@GLIBC_2.2.5 undefined -> import "puts@GLIBC_2.2.5"
 *	getpid.kpatch_ext + no getpid at all           -> import "getpid"
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "libcare/kpatch.h"
#include "reloc.h"

static const struct { uint32_t type; const char *name; unsigned width; } reloc_types[] = {
	{ R_X86_64_NONE, "R_X86_64_NONE", 0 },
	{ R_X86_64_64, "R_X86_64_64", 8 },
	{ R_X86_64_PC32, "R_X86_64_PC32", 4 },
	{ R_X86_64_GOT32, "R_X86_64_GOT32", 0 },
	{ R_X86_64_PLT32, "R_X86_64_PLT32", 4 },
	{ R_X86_64_COPY, "R_X86_64_COPY", 0 },
	{ R_X86_64_GLOB_DAT, "R_X86_64_GLOB_DAT", 0 },
	{ R_X86_64_JUMP_SLOT, "R_X86_64_JUMP_SLOT", 0 },
	{ R_X86_64_RELATIVE, "R_X86_64_RELATIVE", 0 },
	{ R_X86_64_GOTPCREL, "R_X86_64_GOTPCREL", 0 },
	{ R_X86_64_32, "R_X86_64_32", 4 },
	{ R_X86_64_32S, "R_X86_64_32S", 4 },
	{ R_X86_64_16, "R_X86_64_16", 0 },
	{ R_X86_64_PC16, "R_X86_64_PC16", 0 },
	{ R_X86_64_8, "R_X86_64_8", 0 },
	{ R_X86_64_PC8, "R_X86_64_PC8", 0 },
	{ R_X86_64_DTPMOD64, "R_X86_64_DTPMOD64", 0 },
	{ R_X86_64_DTPOFF64, "R_X86_64_DTPOFF64", 0 },
	{ R_X86_64_TPOFF64, "R_X86_64_TPOFF64", 0 },
	{ R_X86_64_TLSGD, "R_X86_64_TLSGD", 0 },
	{ R_X86_64_TLSLD, "R_X86_64_TLSLD", 0 },
	{ R_X86_64_DTPOFF32, "R_X86_64_DTPOFF32", 0 },
	{ R_X86_64_GOTTPOFF, "R_X86_64_GOTTPOFF", 0 },
	{ R_X86_64_TPOFF32, "R_X86_64_TPOFF32", 0 },
	{ R_X86_64_PC64, "R_X86_64_PC64", 8 },
	{ R_X86_64_GOTOFF64, "R_X86_64_GOTOFF64", 0 },
	{ R_X86_64_GOTPC32, "R_X86_64_GOTPC32", 0 },
	{ R_X86_64_GOT64, "R_X86_64_GOT64", 0 },
	{ R_X86_64_GOTPCREL64, "R_X86_64_GOTPCREL64", 0 },
	{ R_X86_64_GOTPC64, "R_X86_64_GOTPC64", 0 },
	{ R_X86_64_GOTPLT64, "R_X86_64_GOTPLT64", 0 },
	{ R_X86_64_PLTOFF64, "R_X86_64_PLTOFF64", 0 },
	{ R_X86_64_SIZE32, "R_X86_64_SIZE32", 0 },
	{ R_X86_64_SIZE64, "R_X86_64_SIZE64", 0 },
	{ R_X86_64_GOTPC32_TLSDESC, "R_X86_64_GOTPC32_TLSDESC", 0 },
	{ R_X86_64_TLSDESC_CALL, "R_X86_64_TLSDESC_CALL", 0 },
	{ R_X86_64_TLSDESC, "R_X86_64_TLSDESC", 0 },
	{ R_X86_64_IRELATIVE, "R_X86_64_IRELATIVE", 0 },
	{ R_X86_64_GOTPCRELX, "R_X86_64_GOTPCRELX", 0 },
	{ R_X86_64_REX_GOTPCRELX, "R_X86_64_REX_GOTPCRELX", 0 },
};

const char *lc_reloc_type_name(uint32_t type, char buf[32])
{
	for (size_t i = 0; i < sizeof(reloc_types) / sizeof(reloc_types[0]); i++)
		if (reloc_types[i].type == type)
			return reloc_types[i].name;
	snprintf(buf, 32, "type %" PRIu32, type);
	return buf;
}

unsigned lc_reloc_type_width(uint32_t type)
{
	for (size_t i = 0; i < sizeof(reloc_types) / sizeof(reloc_types[0]); i++)
		if (reloc_types[i].type == type)
			return reloc_types[i].width;
	return 0;
}

int lc_reloc_type_supported(uint32_t type)
{
	return lc_reloc_type_width(type) != 0;
}

void lc_reloc_release(struct lc_reloc *r)
{
	free(r->import);
	r->import = NULL;
}

static int reloc_has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), m = strlen(suffix);
	return n > m && strcmp(name + n - m, suffix) == 0;
}

static void reloc_import(struct lc_reloc *out, const char *name, size_t len,
			 const char *version, int weak)
{
	struct lc_buf b = LC_BUF_INIT;
	lc_buf_add(&b, name, len);
	if (version)
		lc_buf_addf(&b, "@%s", version);
	out->kind = LC_RELOC_IMPORT;
	out->import = b.data;
	out->weak = weak;
}

/* How well PATCHED's symbol `s` stands for the external NAME: 0 = not at all. */
static int reloc_ext_rank(const struct lc_obj *p, const struct lc_obj_symbol *s,
			  const char *name, size_t len)
{
	if (lc_obj_name_base_len(s->name) != len || strncmp(s->name, name, len) != 0)
		return 0;
	if (s->type == STT_FILE || s->type == STT_SECTION || lc_obj_section_is_kpatch(p, s->shndx))
		return 0;
	if (s->shndx == SHN_UNDEF)
		return s->name[len] == '@' ? 2 : 1;     /* prefer the versioned name */
	if (s->bind == STB_GLOBAL || s->bind == STB_WEAK)
		return 4;
	/* A hidden global of another unit is local after the link. */
	if (s->vis == STV_HIDDEN || s->vis == STV_INTERNAL)
		return 3;
	return 0;
}

static const char *reloc_dynver(const struct lc_obj *p, const char *name, size_t len)
{
	for (size_t i = 0; i < p->ndynver; i++)
		if (strlen(p->dynver[i].name) == len && strncmp(p->dynver[i].name, name, len) == 0)
			return p->dynver[i].version;
	return NULL;
}

static int reloc_defined(const struct lc_obj *p, const struct lc_obj_symbol *s,
			 const char *name, int64_t addend, struct lc_reloc *out,
			 struct lc_buf *why)
{
	if (s->type == STT_TLS) {
		lc_buf_addf(why, "thread-local symbol '%s' is not supported in patch code", name);
		return -1;
	}
	if (s->type == STT_GNU_IFUNC) {
		lc_buf_addf(why, "'%s' is an IFUNC: its address is the resolver, not supported "
			    "in patch code", name);
		return -1;
	}
	if (s->shndx == SHN_ABS) {
		out->kind = LC_RELOC_ABS;
		out->addend = (int64_t)s->value + addend;
		return 0;
	}
	if (lc_obj_section_is_kpatch(p, s->shndx)) {
		out->kind = LC_RELOC_SECTION;
		out->section = p->sec[s->shndx].name;
		out->addend = (int64_t)(s->value - p->sec[s->shndx].addr) + addend;
		return 0;
	}
	if (lc_obj_section_is_alloc(p, s->shndx)) {
		out->kind = LC_RELOC_TARGET;
		out->addend = (int64_t)s->value + addend;
		return 0;
	}
	const char *sec = s->shndx < p->nsec ? p->sec[s->shndx].name : "?";
	lc_buf_addf(why, "symbol '%s' is in section '%s' (index %" PRIu32 "), which is not "
		    "loaded", name, sec, s->shndx);
	return -1;
}

/* `NAME.kpatch_ext`: what NAME is in the linked binary. */
static int reloc_external(const struct lc_obj *p, const char *ext, int64_t addend,
			  struct lc_reloc *out, struct lc_buf *why)
{
	size_t len = strlen(ext) - strlen(LC_EXTERN_SUFFIX);
	const struct lc_obj_symbol *best = NULL;
	int best_rank = 0;

	for (size_t i = 1; i < p->nsym; i++) {
		int r = reloc_ext_rank(p, &p->sym[i], ext, len);
		if (r > best_rank) {
			best = &p->sym[i];
			best_rank = r;
		}
	}
	if (!best) {
		/* Never referenced by the original: default version, at run time. */
		reloc_import(out, ext, len, NULL, 0);
		out->addend = addend;
		return 0;
	}
	if (best->shndx != SHN_UNDEF)
		return reloc_defined(p, best, best->name, addend, out, why);
	const char *at = strchr(best->name, '@');
	const char *version = at ? at + 1 + (at[1] == '@') : reloc_dynver(p, ext, len);
	reloc_import(out, ext, len, version, best->bind == STB_WEAK);
	out->addend = addend;
	return 0;
}

int lc_reloc_classify(const struct lc_obj *patched, const struct lc_obj_symbol *sym,
		      int64_t addend, struct lc_reloc *out, struct lc_buf *why)
{
	memset(out, 0, sizeof(*out));
	if (!sym) {
		out->kind = LC_RELOC_ABS;
		out->addend = addend;
		return 0;
	}
	if (sym->shndx == SHN_UNDEF) {
		if (reloc_has_suffix(sym->name, LC_EXTERN_SUFFIX))
			return reloc_external(patched, sym->name, addend, out, why);
		reloc_import(out, sym->name, strlen(sym->name), NULL, sym->bind == STB_WEAK);
		out->addend = addend;
		return 0;
	}
	if (sym->shndx == SHN_COMMON) {
		lc_buf_addf(why, "common symbol '%s' in a linked binary", sym->name);
		return -1;
	}
	return reloc_defined(patched, sym, sym->name, addend, out, why);
}
