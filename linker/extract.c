/*
 * extract.c - the payload from PATCHED's .kpatch sections.
 *
 * Section bytes are copied as linked; each relocation of .rela.kpatch.{text,
 * data,info} is rewritten by the rules of reloc.c and the field it patches is
 * zeroed (RELA: the addend is in the entry).  The .kpatch.info records are
 * completed here:
 *
 *	.quad main            -> stays a relocation: __libcare_target + 0x1140
 *	.quad main.kpatch     -> stays a relocation: .kpatch.text + 0
 *	.long 0, 0            -> dlen = size of main in ORIGINAL, slen = of main.kpatch
 *	.long .Lkpname.0      -> the offset in .kpatch.strtab, written, relocation dropped
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "libcare/kpatch.h"
#include "libcare/log.h"
#include "libcare/patchfile.h"
#include "busy.h"
#include "extract.h"
#include "reloc.h"

#define LC_JMP_BYTES 5   /* the `jmp rel32` the runtime writes over a function */

/* The two relocations of one info record that stay relocations. */
struct info_slot {
	int have_daddr, have_saddr;
	struct lc_reloc daddr, saddr;
};

struct extract {
	const struct lc_obj *orig, *p;
	struct lc_payload *pay;
	struct lc_extract_stats *st;
	size_t shndx[LC_PAY_NSEC];      /* in PATCHED, 0 = absent */
	struct info_slot *info;
	size_t ninfo;
	struct lc_busy_func *funcs;     /* per record, for busy.c */
};

/* "main.kpatch+0x6" for an offset in PATCHED's .kpatch.text, else "section+0x6". */
static void extract_where(const struct extract *x, int s, uint64_t off, struct lc_buf *b)
{
	if (s == LC_PAY_TEXT) {
		for (size_t i = 1; i < x->p->nsym; i++) {
			const struct lc_obj_symbol *y = &x->p->sym[i];
			uint64_t v = y->value - x->p->sec[x->shndx[s]].addr;
			if (y->shndx == x->shndx[s] && y->type == STT_FUNC && off >= v &&
			    off < v + y->size) {
				lc_buf_addf(b, "%s+0x%" PRIx64, y->name, off - v);
				return;
			}
		}
	}
	lc_buf_addf(b, "%s+0x%" PRIx64, lc_payload_section_name(s), off);
}

static int extract_sections(struct extract *x)
{
	for (int s = 0; s < LC_PAY_NSEC; s++) {
		size_t i = lc_obj_section_index(x->p, lc_payload_section_name(s));
		x->shndx[s] = i;
		if (!i)
			continue;
		const struct lc_obj_section *sec = &x->p->sec[i];
		x->pay->align[s] = sec->align ? sec->align : 1;
		/* Records hold 64-bit fields; keep them naturally aligned. */
		if (s == LC_PAY_INFO && x->pay->align[s] < 8)
			x->pay->align[s] = 8;
		/* the runtime takes at most a 64 MiB file; no section is larger */
		if (sec->size > LC_PATCH_FILE_MAX)
			return lc_error("PATCHED '%s': section %s is too large (%llu bytes)", x->p->path,
					sec->name, (unsigned long long)sec->size);
		if (sec->type == SHT_NOBITS) {
			lc_buf_addz(&x->pay->data[s], sec->size);
			continue;
		}
		Elf_Data *d = lc_obj_section_data(x->p, i);
		if (sec->size && (!d || d->d_size != sec->size))
			return lc_error("PATCHED '%s': cannot read section %s", x->p->path, sec->name);
		if (sec->size)
			lc_buf_add(&x->pay->data[s], d->d_buf, d->d_size);
	}
	return 0;
}

static void extract_locals(struct extract *x)
{
	for (size_t i = 1; i < x->p->nsym; i++) {
		const struct lc_obj_symbol *y = &x->p->sym[i];
		for (int s = LC_PAY_TEXT; s <= LC_PAY_DATA; s++) {
			if (!x->shndx[s] || y->shndx != x->shndx[s] || !*y->name ||
			    (y->type != STT_FUNC && y->type != STT_OBJECT))
				continue;
			lc_payload_add_local(x->pay, y->name, s, y->type,
					     y->value - x->p->sec[x->shndx[s]].addr, y->size);
		}
	}
}

/* The .rela section of PATCHED's section `shndx`, 0 if none. */
static size_t extract_rela_of(const struct extract *x, size_t shndx, int *is_rel)
{
	*is_rel = 0;
	for (size_t i = 1; i < x->p->nsec; i++) {
		const struct lc_obj_section *r = &x->p->sec[i];
		if ((r->type == SHT_RELA || r->type == SHT_REL) && r->info == shndx) {
			*is_rel = r->type == SHT_REL;
			return i;
		}
	}
	return 0;
}

/* Any relocation kept for an allocated section shows the link used -q. */
static int extract_linked_with_q(const struct extract *x)
{
	for (size_t i = 1; i < x->p->nsec; i++) {
		const struct lc_obj_section *r = &x->p->sec[i];
		if (r->type == SHT_RELA && !(r->flags & SHF_ALLOC) && r->info &&
		    r->info < x->p->nsec && (x->p->sec[r->info].flags & SHF_ALLOC))
			return 1;
	}
	return 0;
}

static int extract_new_import(const struct extract *x, const char *name)
{
	for (size_t i = 1; i < x->pay->nsym; i++)
		if (x->pay->sym[i].sec == -1 && strcmp(x->pay->sym[i].name, name) == 0)
			return 0;
	return 1;
}

/* The .kpatch.info `name` field: resolved here, not left to the runtime. */
static int extract_info_name(struct extract *x, uint64_t off, uint32_t type,
			     const struct lc_reloc *r)
{
	struct lc_buf *info = &x->pay->data[LC_PAY_INFO];
	if (type != R_X86_64_32 || off % sizeof(struct lc_info_record) !=
	    offsetof(struct lc_info_record, name))
		return lc_error("PATCHED '%s': unexpected reference to .kpatch.strtab at "
				".kpatch.info+0x%" PRIx64, x->p->path, off);
	if (r->addend < 0 || (uint64_t)r->addend >= x->pay->data[LC_PAY_STRTAB].len)
		return lc_error("PATCHED '%s': .kpatch.info+0x%" PRIx64 " names offset %" PRId64
				" beyond .kpatch.strtab", x->p->path, off, r->addend);
	uint32_t v = (uint32_t)r->addend;
	memcpy(info->data + off, &v, sizeof(v));
	return 0;
}

static void extract_info_keep(struct extract *x, uint64_t off, struct lc_reloc *r)
{
	struct info_slot *slot = &x->info[off / sizeof(struct lc_info_record)];
	uint64_t field = off % sizeof(struct lc_info_record);
	if (field == offsetof(struct lc_info_record, daddr) && !slot->have_daddr) {
		slot->daddr = *r;
		slot->have_daddr = 1;
		r->import = NULL;       /* moved */
	} else if (field == offsetof(struct lc_info_record, saddr) && !slot->have_saddr) {
		slot->saddr = *r;
		slot->have_saddr = 1;
		r->import = NULL;
	}
}

static int extract_one(struct extract *x, int s, const GElf_Rela *ra)
{
	uint32_t type = (uint32_t)GELF_R_TYPE(ra->r_info);
	size_t symi = GELF_R_SYM(ra->r_info);
	uint64_t off = ra->r_offset - x->p->sec[x->shndx[s]].addr;
	struct lc_buf where = LC_BUF_INIT, why = LC_BUF_INIT;
	struct lc_reloc r;
	char tn[32];
	int ret = -1;

	extract_where(x, s, off, &where);
	memset(&r, 0, sizeof(r));
	if (!lc_reloc_type_supported(type)) {
		lc_error("%s relocation in %s: not supported in patch code (the plugin should not "
			 "emit it)", lc_reloc_type_name(type, tn), where.data);
		goto out;
	}
	unsigned width = lc_reloc_type_width(type);
	if (off + width > x->pay->data[s].len || off + width < off) {
		lc_error("PATCHED '%s': relocation at %s is outside the section", x->p->path,
			 where.data);
		goto out;
	}
	if (symi >= x->p->nsym && symi) {
		lc_error("PATCHED '%s': relocation at %s names symbol %zu of %zu", x->p->path,
			 where.data, symi, x->p->nsym);
		goto out;
	}
	if (lc_reloc_classify(x->p, symi ? &x->p->sym[symi] : NULL, ra->r_addend, &r, &why) < 0) {
		lc_error("relocation at %s: %s", where.data, why.data);
		goto out;
	}
	uint32_t sym = 0;
	switch (r.kind) {
	case LC_RELOC_SECTION: {
		int to = lc_payload_section_by_name(r.section);
		if (to < 0) {
			lc_error("relocation at %s points into unknown section %s", where.data, r.section);
			goto out;
		}
		if (s == LC_PAY_INFO && to == LC_PAY_STRTAB) {
			ret = extract_info_name(x, off, type, &r);
			goto out;
		}
		sym = lc_payload_section_sym(to);
		break;
	}
	case LC_RELOC_TARGET:
		sym = lc_payload_add_undef(x->pay, LC_SYM_TARGET, 0);
		break;
	case LC_RELOC_IMPORT:
		if (!r.tls && !r.sym_type && (type == R_X86_64_PC32 || type == R_X86_64_32 ||
					      type == R_X86_64_32S)) {
			/* Data of a library, reached with 32 bits: the library is
			 * mapped gigabytes away from the program and its patch. */
			lc_error("%s relocation in %s against '%s': a direct 32-bit reference to "
				 "data the original neither defines nor copies (it lives in a shared "
				 "library, beyond reach): cannot be live-patched; read it through a "
				 "pointer, or use it in the original too", lc_reloc_type_name(type, tn),
				 where.data, r.import);
			goto out;
		}
		if (extract_new_import(x, r.import)) {
			x->st->imports++;
			lc_info("import %s%s (from %s)", r.import, r.weak ? " (weak)" : "", where.data);
		}
		sym = lc_payload_add_undef(x->pay, r.import, r.weak);
		if (r.sym_type) {       /* a TLS variable or an IFUNC's GOT slot */
			x->pay->sym[sym].type = r.sym_type;
			x->pay->sym[sym].value = r.sym_value;
		}
		break;
	case LC_RELOC_ABS:
		break;
	}
	lc_payload_add_rela(x->pay, s, off, lc_reloc_payload_type(&r, type), sym, r.addend);
	memset(x->pay->data[s].data + off, 0, width);
	x->st->relocs++;
	if (s == LC_PAY_INFO)
		extract_info_keep(x, off, &r);
	ret = 0;
out:
	lc_reloc_release(&r);
	lc_buf_free(&where);
	lc_buf_free(&why);
	return ret;
}

static int extract_relocs(struct extract *x)
{
	int need_q = 0;
	for (int s = LC_PAY_TEXT; s < LC_PAY_NSEC; s++) {
		int is_rel;
		if (s == LC_PAY_STRTAB)
			continue;
		size_t ri = x->shndx[s] ? extract_rela_of(x, x->shndx[s], &is_rel) : 0;
		if (!ri) {
			/* The info records always reference functions; others may not. */
			if (x->pay->data[s].len && s != LC_PAY_EH &&
			    (s == LC_PAY_INFO || !extract_linked_with_q(x)))
				need_q = 1;
			continue;
		}
		if (is_rel)
			return lc_error("PATCHED '%s': %s has REL relocations; x86-64 uses RELA",
					x->p->path, x->p->sec[ri].name);
		Elf_Data *d = lc_obj_section_data(x->p, ri);
		size_t n = d ? d->d_size / sizeof(Elf64_Rela) : 0;
		for (size_t k = 0; k < n; k++) {
			GElf_Rela ra;
			if (!gelf_getrela(d, (int)k, &ra))
				return lc_error("PATCHED '%s': bad relocation %zu in %s", x->p->path, k,
						x->p->sec[ri].name);
			if (extract_one(x, s, &ra) < 0)
				return -1;
		}
	}
	if (need_q)
		return lc_error("PATCHED '%s' has .kpatch sections but no relocations for them: "
				"link it with -specs=libcare.specs (or -Wl,-q -Wl,-T,libcare-patched.ld)", x->p->path);
	return 0;
}

/* The FUNC symbol at `value` in section `shndx` (any section if 0) of `o`. */
static const struct lc_obj_symbol *extract_func_at(const struct lc_obj *o, uint64_t value,
						   size_t shndx)
{
	const struct lc_obj_symbol *best = NULL;
	for (size_t i = 1; i < o->nsym; i++) {
		const struct lc_obj_symbol *y = &o->sym[i];
		if (y->type != STT_FUNC || y->shndx == SHN_UNDEF || y->value != value ||
		    (shndx && y->shndx != shndx) || (!shndx && lc_obj_section_is_kpatch(o, y->shndx)))
			continue;
		if (!best || (best->size == 0 && y->size) ||
		    (best->bind == STB_LOCAL && y->bind != STB_LOCAL && y->size == best->size))
			best = y;
	}
	return best;
}

/* Bytes from the start of function `f` up to the next symbol or label-free
 * end of its section: where a jump over `f` may write. */
static uint64_t extract_room_after(const struct lc_obj *o, const struct lc_obj_symbol *f)
{
	const struct lc_obj_section *sec = &o->sec[f->shndx];
	uint64_t end = sec->addr + sec->size;
	for (size_t i = 1; i < o->nsym; i++) {
		const struct lc_obj_symbol *y = &o->sym[i];
		if (y->shndx != f->shndx || y->type == STT_SECTION || y->type == STT_FILE)
			continue;
		if (y->value > f->value && y->value < end)
			end = y->value;
	}
	return end - f->value;
}

static int extract_info_record(struct extract *x, size_t k)
{
	struct info_slot *slot = &x->info[k];
	struct lc_buf *info = &x->pay->data[LC_PAY_INFO];
	struct lc_info_record rec;
	const struct lc_buf *strtab = &x->pay->data[LC_PAY_STRTAB];

	memcpy(&rec, info->data + k * sizeof(rec), sizeof(rec));
	const char *name = rec.name < strtab->len ? strtab->data + rec.name : "?";
	if (!slot->have_daddr || slot->daddr.kind != LC_RELOC_TARGET)
		return lc_error(".kpatch.info record %zu ('%s'): daddr is not a function of the "
				"original object", k, name);
	if (!slot->have_saddr || slot->saddr.kind != LC_RELOC_SECTION ||
	    strcmp(slot->saddr.section, LC_SECTION_TEXT) != 0)
		return lc_error(".kpatch.info record %zu ('%s'): saddr is not in .kpatch.text", k, name);
	uint64_t daddr = (uint64_t)slot->daddr.addend, soff = (uint64_t)slot->saddr.addend;
	const struct lc_obj *fo = x->orig->nsym ? x->orig : x->p;
	const struct lc_obj_symbol *df = extract_func_at(fo, daddr, 0);
	if (!df)
		return lc_error("no function at 0x%" PRIx64 " in %s for '%s'", daddr,
				fo == x->orig ? "ORIGINAL" : "PATCHED", name);
	uint64_t dlen = df->size, room = 0;
	int short_jump = 0;
	if (dlen < LC_JMP_BYTES) {
		/* A 1-byte `ret` at -O2 is followed by alignment padding: the
		 * jump fits if nothing starts within its 5 bytes.  Else a 2-byte
		 * `jmp rel8` to the jump in the filler before it (busy.c). */
		room = extract_room_after(fo, df);
		if (room < LC_JMP_BYTES && df->size >= 2) {
			short_jump = 1;
		} else if (room < LC_JMP_BYTES) {
			return lc_error("function '%s' is too small to patch (%" PRIu64 " bytes, "
					"%" PRIu64 " up to the next symbol; a jump needs %d)", df->name,
					df->size, room, LC_JMP_BYTES);
		} else {
			lc_debug("function '%s' is %" PRIu64 " bytes: its jump takes %d bytes of "
				 "the padding after it (%" PRIu64 " free)", df->name, df->size,
				 LC_JMP_BYTES, room);
			dlen = LC_JMP_BYTES;
		}
	}
	const struct lc_obj_symbol *sf = extract_func_at(x->p,
		soff + x->p->sec[x->shndx[LC_PAY_TEXT]].addr, x->shndx[LC_PAY_TEXT]);
	if (!sf)
		return lc_error("no function at .kpatch.text+0x%" PRIx64 " in PATCHED for '%s'", soff,
				name);
	for (size_t j = 0; j < k; j++)
		if (x->info[j].daddr.addend == slot->daddr.addend)
			return lc_error("function '%s' (0x%" PRIx64 ") is replaced twice", df->name,
					daddr);
	x->funcs[k] = (struct lc_busy_func){ .name = df->name, .addr = daddr, .size = df->size,
					     .site = short_jump ? df->size : LC_JMP_BYTES,
					     .short_jump = short_jump, .room = room };
	rec.dlen = (uint32_t)dlen;
	rec.slen = (uint32_t)sf->size;
	memcpy(info->data + k * sizeof(rec), &rec, sizeof(rec));
	lc_info("replace %s at 0x%" PRIx64 " (%" PRIu32 " bytes) with %s (%" PRIu32 " bytes)",
		name, daddr, rec.dlen, sf->name, rec.slen);
	if (strcmp(name, df->name) != 0)
		lc_debug("record '%s' replaces symbol '%s' at 0x%" PRIx64, name, df->name, daddr);
	return 0;
}

/* ORIGINAL's code decoded (busy.c): the flags of each record, the
 * .kpatch.busy records, and the refusals that need the code. */
static int extract_busy(struct extract *x)
{
	struct lc_code code;
	const struct lc_obj *fo = x->orig->nsym ? x->orig : x->p;
	lc_code_from_obj(&code, x->orig, fo);
	int rc = lc_busy_analyze(&code, x->funcs, x->ninfo, &x->pay->busy);
	lc_code_free(&code);
	if (rc < 0)
		return -1;
	for (size_t k = 0; k < x->ninfo; k++) {
		struct lc_info_record rec;
		uint8_t *at = (uint8_t *)x->pay->data[LC_PAY_INFO].data + k * sizeof(rec);
		memcpy(&rec, at, sizeof(rec));
		rec.flags = x->funcs[k].flags;
		memcpy(at, &rec, sizeof(rec));
	}
	return 0;
}

int lc_extract(const struct lc_obj *orig, const struct lc_obj *patched,
	       struct lc_payload *pay, struct lc_extract_stats *st)
{
	struct extract x = { .orig = orig, .p = patched, .pay = pay, .st = st };
	int ret = -1;

	memset(st, 0, sizeof(*st));
	if (extract_sections(&x) < 0)
		return -1;
	if (pay->data[LC_PAY_INFO].len % sizeof(struct lc_info_record))
		return lc_error("PATCHED '%s': .kpatch.info is %zu bytes, not a whole number of "
				"%zu-byte records", patched->path, pay->data[LC_PAY_INFO].len,
				sizeof(struct lc_info_record));
	x.ninfo = pay->data[LC_PAY_INFO].len / sizeof(struct lc_info_record);
	x.info = lc_xcalloc(x.ninfo ? x.ninfo : 1, sizeof(*x.info));
	extract_locals(&x);
	if (extract_relocs(&x) < 0)
		goto out;
	x.funcs = lc_xcalloc(x.ninfo ? x.ninfo : 1, sizeof(*x.funcs));
	for (size_t k = 0; k < x.ninfo; k++)
		if (extract_info_record(&x, k) < 0)
			goto out;
	if (extract_busy(&x) < 0)
		goto out;
	st->functions = x.ninfo;
	ret = 0;
out:
	for (size_t k = 0; k < x.ninfo; k++) {
		lc_reloc_release(&x.info[k].daddr);
		lc_reloc_release(&x.info[k].saddr);
	}
	free(x.info);
	free(x.funcs);
	return ret;
}
