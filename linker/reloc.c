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
 *	fail.kpatch_ext   + fail.kpatch_global (a new global function of
 *	                    another unit, in the patch) -> .kpatch.text + off
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gelf.h>
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

/*
 * How well PATCHED's symbol `s` stands for the external NAME: 0 = not at all.
 * `forced_from`: the index where GNU ld's symbols forced local begin (after
 * the last STT_FILE with an empty name): a hidden global of another unit is
 * LOCAL and DEFAULT in the linked .symtab, and only its place there tells
 * it from a static of another unit (whose name means something else).
 */
static int reloc_ext_rank(const struct lc_obj *p, const struct lc_obj_symbol *s,
			  const char *name, size_t len, size_t forced_from)
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
	if (forced_from && (size_t)(s - p->sym) >= forced_from &&
	    (s->type == STT_FUNC || s->type == STT_OBJECT || s->type == STT_GNU_IFUNC))
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

/*
 * An IFUNC of the object itself: its address is the resolver, so patch
 * code calls what the dynamic linker chose, read at patch time from the GOT
 * slot the original's own calls use (IRELATIVE whose addend is the
 * resolver, or JUMP_SLOT/GLOB_DAT naming it).  A lazy JUMP_SLOT not bound
 * yet holds its PLT entry, which resolves on the first call: right either
 * way.  The payload import is the name with type STT_GNU_IFUNC and value =
 * the slot's link-time address.
 */
static int reloc_ifunc(const struct lc_obj *p, const struct lc_obj_symbol *s, const char *name,
		       int64_t addend, struct lc_reloc *out, struct lc_buf *why)
{
	uint64_t slot = 0;
	for (size_t i = 1; p->elf && i < p->nsec && !slot; i++) {
		const struct lc_obj_section *sec = &p->sec[i];
		if (sec->type != SHT_RELA || !(sec->flags & SHF_ALLOC) || sec->link >= p->nsec)
			continue;
		Elf_Data *d = lc_obj_section_data(p, i);
		Elf_Data *syms = lc_obj_section_data(p, sec->link);
		size_t n = d ? d->d_size / sizeof(Elf64_Rela) : 0;
		for (size_t k = 0; k < n && !slot; k++) {
			GElf_Rela ra;
			GElf_Sym st;
			if (!gelf_getrela(d, (int)k, &ra))
				break;
			uint32_t t = (uint32_t)GELF_R_TYPE(ra.r_info);
			if (t == R_X86_64_IRELATIVE && (uint64_t)ra.r_addend == s->value)
				slot = ra.r_offset;
			else if ((t == R_X86_64_JUMP_SLOT || t == R_X86_64_GLOB_DAT) && syms &&
				 gelf_getsym(syms, (int)GELF_R_SYM(ra.r_info), &st)) {
				const char *sn = elf_strptr(p->elf, p->sec[sec->link].link, st.st_name);
				if (sn && strcmp(sn, s->name) == 0)
					slot = ra.r_offset;
			}
		}
	}
	if (!slot) {
		lc_buf_addf(why, "'%s' is an IFUNC of '%s' that its code never calls through a GOT "
			    "slot: the implementation the dynamic linker chose cannot be found", name,
			    p->path);
		return -1;
	}
	size_t len = lc_obj_name_base_len(s->name);
	reloc_import(out, s->name, len, NULL, 0);
	out->sym_type = STT_GNU_IFUNC;
	out->sym_value = slot;
	out->addend = addend;
	return 0;
}

/* PT_TLS of an executable, whose TLS block sits at a fixed TP offset. */
static int reloc_exec_tls(const struct lc_obj *p, uint64_t *static_size)
{
	int exec = p->type == ET_EXEC;
	size_t dyn = lc_obj_section_index(p, ".dynamic");
	Elf_Data *d = dyn ? lc_obj_section_data(p, dyn) : NULL;
	for (size_t i = 0; d && i < d->d_size / sizeof(Elf64_Dyn); i++) {
		GElf_Dyn e;
		if (gelf_getdyn(d, (int)i, &e) && e.d_tag == DT_FLAGS_1 && (e.d_un.d_val & DF_1_PIE))
			exec = 1;
	}
	size_t nph = 0;
	if (!exec || !p->elf || elf_getphdrnum(p->elf, &nph) != 0)
		return 0;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(p->elf, (int)i, &ph) && ph.p_type == PT_TLS) {
			uint64_t a = ph.p_align ? ph.p_align : 1;
			/* what ld uses for local-exec: the block ends at the TP */
			*static_size = (ph.p_memsz + a - 1) / a * a;
			return 1;
		}
	}
	return 0;
}

static const struct { const char *suffix; int kind; } tls_suffixes[] = {
	{ ".kpatch_tpoff", LC_TLS_TPOFF },
	{ ".kpatch_dtpoff", LC_TLS_DTPOFF },
	{ ".kpatch_dtpmod", LC_TLS_DTPMOD },
};

static int reloc_tls_kind(const char *name, size_t *base_len)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < sizeof(tls_suffixes) / sizeof(tls_suffixes[0]); i++) {
		size_t m = strlen(tls_suffixes[i].suffix);
		if (n > m && strcmp(name + n - m, tls_suffixes[i].suffix) == 0) {
			*base_len = n - m;
			return tls_suffixes[i].kind;
		}
	}
	return LC_TLS_NONE;
}

uint32_t lc_reloc_payload_type(const struct lc_reloc *r, uint32_t type)
{
	int wide = type == R_X86_64_64;
	switch (r->tls) {
	case LC_TLS_TPOFF: return wide ? R_X86_64_TPOFF64 : R_X86_64_TPOFF32;
	case LC_TLS_DTPOFF: return wide ? R_X86_64_DTPOFF64 : R_X86_64_DTPOFF32;
	case LC_TLS_DTPMOD: return R_X86_64_DTPMOD64;
	default: return type;
	}
}

/*
 * `NAME.kpatch_tpoff` / `_dtpoff` / `_dtpmod` (gcc-plugin/asm_tls.c): a TLS
 * value of NAME.  NAME defined in PATCHED (its st_value is the offset in
 * the object's TLS block):
 *	dtpoff              -> the constant st_value
 *	tpoff, executable   -> the constant st_value - static TLS size (as ld's local-exec)
 *	tpoff, library      -> R_X86_64_TPOFF* against __libcare_target + st_value
 *	dtpmod              -> R_X86_64_DTPMOD64 against __libcare_target
 * NAME not defined: an import of type STT_TLS with the TLS payload types;
 * the runtime finds the defining object's module in the patient.
 */
static int reloc_tls(const struct lc_obj *p, const char *pseudo, size_t len, int kind,
		     int64_t addend, struct lc_reloc *out, struct lc_buf *why)
{
	const struct lc_obj_symbol *def = NULL, *undef = NULL;
	int ndef_local = 0;
	for (size_t i = 1; i < p->nsym; i++) {
		const struct lc_obj_symbol *s = &p->sym[i];
		if (lc_obj_name_base_len(s->name) != len || strncmp(s->name, pseudo, len) != 0 ||
		    s->type == STT_FILE || s->type == STT_SECTION)
			continue;
		if (s->shndx == SHN_UNDEF) {
			if (!undef || s->name[len] == '@')
				undef = s;
			continue;
		}
		if (s->bind == STB_LOCAL && (!def || def->bind == STB_LOCAL)) {
			ndef_local++;
			def = s;
		} else if (s->bind != STB_LOCAL) {
			def = s;
			ndef_local = 0;
		}
	}
	out->tls = kind;
	if (def) {
		if (def->type != STT_TLS) {
			lc_buf_addf(why, "'%.*s' is used as thread-local but is not a TLS symbol",
				    (int)len, pseudo);
			return -1;
		}
		if (ndef_local > 1) {
			lc_buf_addf(why, "thread-local '%.*s' is defined %d times (static in several "
				    "units): cannot tell which one patch code means", (int)len, pseudo,
				    ndef_local);
			return -1;
		}
		uint64_t static_size;
		switch (kind) {
		case LC_TLS_DTPOFF:
			out->kind = LC_RELOC_ABS;
			out->tls = LC_TLS_NONE;
			out->addend = (int64_t)def->value + addend;
			return 0;
		case LC_TLS_TPOFF:
			if (reloc_exec_tls(p, &static_size)) {
				out->kind = LC_RELOC_ABS;
				out->tls = LC_TLS_NONE;
				out->addend = (int64_t)def->value - (int64_t)static_size + addend;
				return 0;
			}
			out->kind = LC_RELOC_TARGET;
			out->addend = (int64_t)def->value + addend;
			return 0;
		default:
			out->kind = LC_RELOC_TARGET;
			out->addend = addend;
			return 0;
		}
	}
	const char *version = NULL;
	if (undef) {
		const char *at = strchr(undef->name, '@');
		version = at ? at + 1 + (at[1] == '@') : reloc_dynver(p, pseudo, len);
	}
	reloc_import(out, pseudo, len, version, 0);
	out->sym_type = STT_TLS;
	out->addend = addend;
	return 0;
}

static int reloc_defined(const struct lc_obj *p, const struct lc_obj_symbol *s,
			 const char *name, int64_t addend, struct lc_reloc *out,
			 struct lc_buf *why)
{
	if (s->type == STT_TLS) {
		lc_buf_addf(why, "thread-local symbol '%s' is not supported in patch code", name);
		return -1;
	}
	if (s->type == STT_GNU_IFUNC)
		return reloc_ifunc(p, s, name, addend, out, why);
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
	size_t forced_from = 0;

	/* a new global function of another unit, in the patch itself */
	const struct lc_obj_symbol *glob = NULL;
	for (size_t i = 1; i < p->nsym; i++) {
		const struct lc_obj_symbol *s = &p->sym[i];
		if (s->shndx != SHN_UNDEF && !strncmp(s->name, ext, len) &&
		    !strcmp(s->name + len, LC_GLOBAL_SUFFIX)) {
			if (glob) {
				lc_buf_addf(why, "'%.*s' is defined twice as a new global function "
					    "of the patch", (int)len, ext);
				return -1;
			}
			glob = s;
		}
	}
	if (glob)
		return reloc_defined(p, glob, glob->name, addend, out, why);
	for (size_t i = 1; i < p->nsym; i++)
		if (p->sym[i].type == STT_FILE && !*p->sym[i].name)
			forced_from = i + 1;
	for (size_t i = 1; i < p->nsym; i++) {
		int r = reloc_ext_rank(p, &p->sym[i], ext, len, forced_from);
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
		size_t len;
		int kind = reloc_tls_kind(sym->name, &len);
		if (kind != LC_TLS_NONE)
			return reloc_tls(patched, sym->name, len, kind, addend, out, why);
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
