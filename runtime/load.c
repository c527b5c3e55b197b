/*
 * load.c - reading a patch file into a struct lc_patch: the header check
 * (lc_patchfile_check), then the ELF ET_REL payload parsed with libelf.
 *
 * Everything in the payload is untrusted: every index, offset and size is
 * checked here so that layout, relocation and hunk code can rely on them.
 * A malformed payload is an error naming the file and the defect, never a
 * crash.
 */
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "libcare/buf.h"
#include "libcare/log.h"
#include "libcare/trust.h"
#include "patch.h"

const char *const lc_part_names[LC_NPARTS] = {
	LC_SECTION_TEXT, LC_SECTION_DATA, LC_SECTION_INFO, LC_SECTION_STRTAB,
	LC_SECTION_EH_FRAME,
};

static size_t reloc_width(uint32_t type)
{
	switch (type) {
	case R_X86_64_64: case R_X86_64_PC64: return 8;
	case R_X86_64_PC32: case R_X86_64_PLT32:
	case R_X86_64_32: case R_X86_64_32S: return 4;
	/* thread-local values (tls.c) */
	case R_X86_64_DTPMOD64: case R_X86_64_DTPOFF64: case R_X86_64_TPOFF64: return 8;
	case R_X86_64_DTPOFF32: case R_X86_64_TPOFF32: return 4;
	default: return 0;
	}
}

const char *lc_reloc_type_name(uint32_t type)
{
	switch (type) {
	case R_X86_64_64: return "R_X86_64_64";
	case R_X86_64_PC32: return "R_X86_64_PC32";
	case R_X86_64_PLT32: return "R_X86_64_PLT32";
	case R_X86_64_32: return "R_X86_64_32";
	case R_X86_64_32S: return "R_X86_64_32S";
	case R_X86_64_PC64: return "R_X86_64_PC64";
	case R_X86_64_GOTPCREL: return "R_X86_64_GOTPCREL";
	case R_X86_64_GOTPCRELX: return "R_X86_64_GOTPCRELX";
	case R_X86_64_REX_GOTPCRELX: return "R_X86_64_REX_GOTPCRELX";
	case R_X86_64_TPOFF32: return "R_X86_64_TPOFF32";
	case R_X86_64_GOTTPOFF: return "R_X86_64_GOTTPOFF";
	case R_X86_64_TLSGD: return "R_X86_64_TLSGD";
	case R_X86_64_TPOFF64: return "R_X86_64_TPOFF64";
	case R_X86_64_DTPMOD64: return "R_X86_64_DTPMOD64";
	case R_X86_64_DTPOFF64: return "R_X86_64_DTPOFF64";
	case R_X86_64_DTPOFF32: return "R_X86_64_DTPOFF32";
	default: return "unknown";
	}
}

static int part_of_name(const char *name)
{
	for (int i = 0; i < LC_NPARTS; i++)
		if (strcmp(name, lc_part_names[i]) == 0)
			return i;
	return -1;
}

static int part_of_shndx(const struct lc_patch *p, size_t shndx)
{
	for (int i = 0; i < LC_NPARTS; i++)
		if (p->parts[i].shndx && p->parts[i].shndx == shndx)
			return i;
	return -1;
}

/* Sections: the four kpatch parts, one .symtab, .rela.* for the parts. */
static int load_sections(struct lc_patch *p, Elf *elf, Elf_Scn **symtab,
			 Elf_Scn ***relas, size_t *nrelas)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(elf, &shstrndx) != 0)
		return lc_error("%s: payload has no section name table", p->what);
	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			return lc_error("%s: payload: bad section header: %s", p->what, elf_errmsg(-1));
		const char *name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name)
			return lc_error("%s: payload: section %zu has a bad name", p->what, elf_ndxscn(scn));
		if (sh.sh_type == SHT_SYMTAB) {
			if (*symtab)
				return lc_error("%s: payload has two symbol tables", p->what);
			*symtab = scn;
			continue;
		}
		if (sh.sh_type == SHT_REL)
			return lc_error("%s: payload: section %s: REL relocations are not supported",
					p->what, name);
		if (sh.sh_type == SHT_RELA) {
			*relas = lc_xrealloc(*relas, (*nrelas + 1) * sizeof(**relas));
			(*relas)[(*nrelas)++] = scn;
			continue;
		}
		if (strcmp(name, LC_SECTION_BUSY) == 0) {
			Elf_Data *data = sh.sh_size ? elf_getdata(scn, NULL) : NULL;
			if (sh.sh_type != SHT_PROGBITS || (sh.sh_size && (!data || !data->d_buf ||
								   data->d_size != sh.sh_size)))
				return lc_error("%s: payload: section %s is malformed", p->what, name);
			if (lc_busy_load(p, data ? data->d_buf : NULL, sh.sh_size) != 0)
				return -1;
			continue;
		}
		int part = part_of_name(name);
		if (part < 0)
			continue;       /* .text, .note.GNU-stack ...: not ours */
		struct lc_part_data *d = &p->parts[part];
		if (d->shndx)
			return lc_error("%s: payload has two %s sections", p->what, name);
		if (sh.sh_type != SHT_PROGBITS && sh.sh_type != SHT_NOBITS)
			return lc_error("%s: payload: section %s has type %u", p->what, name, sh.sh_type);
		if (sh.sh_size > LC_PATCH_FILE_MAX)     /* NOBITS too: the region mirrors it */
			return lc_error("%s: payload: section %s is too large (%llu bytes)",
					p->what, name, (unsigned long long)sh.sh_size);
		size_t total = sh.sh_size;
		for (int k = 0; k < LC_NPARTS; k++)
			total += p->parts[k].size;
		if (total > LC_PATCH_FILE_MAX)
			return lc_error("%s: payload: the sections are too large together (%zu bytes)",
					p->what, total);
		d->shndx = elf_ndxscn(scn);
		d->size = sh.sh_size;
		d->align = sh.sh_addralign ? sh.sh_addralign : 1;
		if (d->align > LC_PAGE_SIZE || (d->align & (d->align - 1)))
			return lc_error("%s: payload: section %s has alignment %zu", p->what, name, d->align);
		uint8_t *copy = lc_xcalloc(1, d->size + 1);
		if (sh.sh_type == SHT_PROGBITS && d->size) {
			Elf_Data *data = elf_getdata(scn, NULL);
			if (!data || !data->d_buf || data->d_size != d->size) {
				free(copy);
				return lc_error("%s: payload: section %s is truncated", p->what, name);
			}
			memcpy(copy, data->d_buf, d->size);
		}
		d->orig = copy;
		d->bytes = lc_xcalloc(1, d->size + 1);
	}
	if (!p->parts[LC_PART_TEXT].shndx || !p->parts[LC_PART_INFO].shndx)
		return lc_error("%s: payload has no %s or %s section", p->what,
				LC_SECTION_TEXT, LC_SECTION_INFO);
	if (!*symtab)
		return lc_error("%s: payload has no symbol table", p->what);
	return 0;
}

static int load_symbols(struct lc_patch *p, Elf *elf, Elf_Scn *symtab)
{
	GElf_Shdr sh;
	Elf_Data *data = elf_getdata(symtab, NULL);

	if (!gelf_getshdr(symtab, &sh) || !data || sh.sh_entsize != sizeof(Elf64_Sym))
		return lc_error("%s: payload: bad symbol table", p->what);
	p->nsyms = data->d_size / sizeof(Elf64_Sym);
	p->syms = lc_xcalloc(p->nsyms, sizeof(*p->syms));
	for (size_t i = 0; i < p->nsyms; i++) {
		GElf_Sym st;
		struct lc_sym *s = &p->syms[i];
		if (!gelf_getsym(data, (int)i, &st))
			return lc_error("%s: payload: bad symbol %zu", p->what, i);
		const char *name = elf_strptr(elf, sh.sh_link, st.st_name);
		if (!name)
			return lc_error("%s: payload: symbol %zu has a bad name", p->what, i);
		s->name = lc_xstrdup(name);
		s->value = st.st_value;
		s->size = st.st_size;
		s->weak = GELF_ST_BIND(st.st_info) == STB_WEAK;
		s->type = GELF_ST_TYPE(st.st_info);
		if (st.st_shndx == SHN_UNDEF) {
			s->part = -1;
			if (i == 0)
				continue;
			if (strcmp(name, LC_SYM_TARGET) == 0) {
				s->is_target = 1;
				continue;
			}
			if (!*name)
				return lc_error("%s: payload: undefined symbol %zu has no name", p->what, i);
			s->import = lc_xstrdup(name);
			char *at = strchr(s->import, '@');
			if (at) {
				*at++ = '\0';
				if (*at == '@')
					at++;
				if (!*at || !*s->import)
					return lc_error("%s: payload: bad versioned import '%s'", p->what, name);
				s->version = at;
			}
		} else if (st.st_shndx == SHN_ABS) {
			s->part = -2;
		} else if (st.st_shndx >= SHN_LORESERVE) {
			s->part = -3;
		} else {
			s->part = part_of_shndx(p, st.st_shndx);
			if (s->part < 0)
				s->part = -3;
			else if (s->value > p->parts[s->part].size)
				return lc_error("%s: payload: symbol '%s' lies outside %s", p->what,
						name, lc_part_names[s->part]);
		}
	}
	return 0;
}

/* A call or jump whose rel32 field starts at `off`: e8/e9, or ff 15/ff 25
 * (indirect through a rip-relative slot).  Only these may use a stub. */
static int call_site(const struct lc_part_data *text, uint64_t off, int *indirect)
{
	const uint8_t *b = text->orig;
	if (off >= 1 && (b[off - 1] == 0xe8 || b[off - 1] == 0xe9)) {
		*indirect = 0;
		return 1;
	}
	if (off >= 2 && b[off - 2] == 0xff && (b[off - 1] == 0x15 || b[off - 1] == 0x25)) {
		*indirect = 1;
		return 1;
	}
	return 0;
}

/* A PC32/PLT32 call to something outside the patch may be out of rel32
 * reach once placed: reserve one stub per distinct (symbol, addend, kind). */
static void reserve_stub(struct lc_patch *p, struct lc_rela *r)
{
	const struct lc_sym *s = &p->syms[r->sym];
	int indirect;

	r->stub = -1;
	if (r->part != LC_PART_TEXT || s->part >= 0 ||
	    (r->type != R_X86_64_PC32 && r->type != R_X86_64_PLT32) ||
	    !call_site(&p->parts[LC_PART_TEXT], r->offset, &indirect))
		return;
	for (size_t i = 0; i < p->nstubs; i++) {
		if (p->stubs[i].sym == r->sym && p->stubs[i].addend == r->addend &&
		    p->stubs[i].indirect == indirect) {
			r->stub = (long)i;
			r->indirect = indirect;
			return;
		}
	}
	p->stubs = lc_xrealloc(p->stubs, (p->nstubs + 1) * sizeof(*p->stubs));
	p->stubs[p->nstubs] = (struct lc_stub){ r->sym, r->addend, indirect };
	r->stub = (long)p->nstubs++;
	r->indirect = indirect;
}

static int load_relocs(struct lc_patch *p, Elf_Scn *symtab, Elf_Scn **relas, size_t nrelas)
{
	for (size_t k = 0; k < nrelas; k++) {
		GElf_Shdr sh;
		Elf_Data *data = elf_getdata(relas[k], NULL);
		if (!gelf_getshdr(relas[k], &sh) || !data || sh.sh_entsize != sizeof(Elf64_Rela))
			return lc_error("%s: payload: bad relocation section %zu", p->what,
					elf_ndxscn(relas[k]));
		int part = part_of_shndx(p, sh.sh_info);
		size_t n = data->d_size / sizeof(Elf64_Rela);
		if (n == 0)
			continue;
		if (part < 0 || part == LC_PART_STRTAB)
			return lc_error("%s: payload: relocations for section %u, which is not "
					"%s, %s or %s", p->what, (unsigned)sh.sh_info, LC_SECTION_TEXT,
					LC_SECTION_DATA, LC_SECTION_INFO);
		if (sh.sh_link != elf_ndxscn(symtab))
			return lc_error("%s: payload: relocations for %s use another symbol table",
					p->what, lc_part_names[part]);
		p->relas = lc_xrealloc(p->relas, (p->nrelas + n) * sizeof(*p->relas));
		for (size_t i = 0; i < n; i++) {
			GElf_Rela ra;
			if (!gelf_getrela(data, (int)i, &ra))
				return lc_error("%s: payload: bad relocation %zu", p->what, i);
			struct lc_rela *r = &p->relas[p->nrelas];
			r->part = part;
			r->offset = ra.r_offset;
			r->type = (uint32_t)GELF_R_TYPE(ra.r_info);
			r->sym = (uint32_t)GELF_R_SYM(ra.r_info);
			r->addend = ra.r_addend;
			size_t width = reloc_width(r->type);
			if (!width)
				return lc_error("%s: payload: relocation type %s (%u) at %s+0x%llx is not "
						"supported", p->what, lc_reloc_type_name(r->type), r->type,
						lc_part_names[part], (unsigned long long)r->offset);
			if (r->offset > p->parts[part].size || p->parts[part].size - r->offset < width)
				return lc_error("%s: payload: relocation at %s+0x%llx lies outside the section",
						p->what, lc_part_names[part], (unsigned long long)r->offset);
			if (r->sym >= p->nsyms)
				return lc_error("%s: payload: relocation at %s+0x%llx has bad symbol %u",
						p->what, lc_part_names[part], (unsigned long long)r->offset, r->sym);
			const struct lc_sym *s = &p->syms[r->sym];
			if (s->part == -3 || s->part == LC_PART_INFO || s->part == LC_PART_STRTAB)
				return lc_error("%s: payload: relocation at %s+0x%llx refers to '%s', "
						"which is in no placed section", p->what, lc_part_names[part],
						(unsigned long long)r->offset, s->name);
			if (lc_tls_reloc(r->type) && !s->is_target && !(s->import && s->type == STT_TLS))
				return lc_error("%s: payload: %s relocation at %s+0x%llx against '%s', "
						"which is neither the target nor a thread-local import",
						p->what, lc_reloc_type_name(r->type), lc_part_names[part],
						(unsigned long long)r->offset, s->name);
			if (s->import && s->type == STT_TLS && !lc_tls_reloc(r->type))
				return lc_error("%s: payload: %s relocation at %s+0x%llx against "
						"thread-local '%s'", p->what, lc_reloc_type_name(r->type),
						lc_part_names[part], (unsigned long long)r->offset, s->name);
			if (part == LC_PART_INFO && r->type != R_X86_64_64)
				return lc_error("%s: payload: %s relocation in %s (only R_X86_64_64)",
						p->what, lc_reloc_type_name(r->type), LC_SECTION_INFO);
			p->syms[r->sym].used = 1;
			reserve_stub(p, r);
			p->nrelas++;
		}
	}
	return 0;
}

/* .kpatch.info: whole records, each naming a function in .kpatch.strtab. */
static int load_records(struct lc_patch *p)
{
	const struct lc_part_data *info = &p->parts[LC_PART_INFO];
	const struct lc_part_data *strtab = &p->parts[LC_PART_STRTAB];

	if (info->size % sizeof(struct lc_info_record))
		return lc_error("%s: payload: %s is %zu bytes, not whole records", p->what,
				LC_SECTION_INFO, info->size);
	p->nrecs = info->size / sizeof(struct lc_info_record);
	if (p->nrecs == 0)
		return lc_error("%s: patch replaces no function", p->what);
	for (size_t i = 0; i < p->nrecs; i++) {
		struct lc_info_record rec;
		memcpy(&rec, info->orig + i * sizeof(rec), sizeof(rec));
		if (rec.name >= strtab->size || !memchr(strtab->orig + rec.name, 0, strtab->size - rec.name))
			return lc_error("%s: payload: info record %zu has a bad name offset %u",
					p->what, i, rec.name);
	}
	return 0;
}

static void patch_release(struct lc_patch *p)
{
	for (int i = 0; i < LC_NPARTS; i++) {
		free((void *)p->parts[i].orig);
		free(p->parts[i].bytes);
	}
	for (size_t i = 0; i < p->nsyms; i++) {
		free((void *)p->syms[i].name);
		free(p->syms[i].import);
	}
	free(p->syms);
	free(p->relas);
	free(p->stubs);
	free(p->busy);
	free(p->image);
	free(p->payload);
	free(p);
}

void lc_patch_free(struct lc_patch *p)
{
	if (p)
		patch_release(p);
}

struct lc_patch *lc_patch_load(const void *file, size_t len, const char *what)
{
	const struct lc_patch_header *hdr;
	const void *payload;
	char why[256];
	Elf_Scn *symtab = NULL, **relas = NULL;
	size_t nrelas = 0;

	if (lc_patchfile_check(file, len, &hdr, &payload, why, sizeof(why)) != 0) {
		lc_error("%s: %s", what, why);
		return NULL;
	}
	struct lc_patch *p = lc_xcalloc(1, sizeof(*p));
	p->hdr = *hdr;
	snprintf(p->what, sizeof(p->what), "%s", what);
	p->payload_size = hdr->payload_size;
	p->payload = lc_xmalloc(p->payload_size + 1);
	memcpy(p->payload, payload, p->payload_size);

	elf_version(EV_CURRENT);
	Elf *elf = elf_memory((char *)p->payload, p->payload_size);
	GElf_Ehdr eh;
	int rc = -1;
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh)) {
		lc_error("%s: payload is not an ELF object", what);
	} else if (gelf_getclass(elf) != ELFCLASS64 || eh.e_type != ET_REL ||
		   eh.e_machine != EM_X86_64 || eh.e_ident[EI_DATA] != ELFDATA2LSB) {
		lc_error("%s: payload is not an x86-64 ELF relocatable object", what);
	} else if (load_sections(p, elf, &symtab, &relas, &nrelas) == 0 &&
		   load_symbols(p, elf, symtab) == 0 &&
		   load_relocs(p, symtab, relas, nrelas) == 0 &&
		   load_records(p) == 0 && lc_busy_check(p) == 0 &&
		   lc_layout_compute(p) == 0) {
		rc = 0;
	}
	free(relas);
	if (elf)
		elf_end(elf);
	if (rc) {
		patch_release(p);
		return NULL;
	}
	return p;
}

void lc_patch_set_signer(struct lc_patch *p, const struct lc_signer *s)
{
	memset(p->signer_sha256, 0, sizeof(p->signer_sha256));
	memset(p->signer_key, 0, sizeof(p->signer_key));
	if (!s || !s->is_signed)
		return;
	memcpy(p->signer_sha256, s->key_sha256, sizeof(p->signer_sha256));
	snprintf(p->signer_key, sizeof(p->signer_key), "%s", s->key);
}

const struct lc_patch_header *lc_patch_header(const struct lc_patch *p) { return &p->hdr; }
const struct lc_layout *lc_patch_layout(const struct lc_patch *p) { return &p->layout; }
size_t lc_patch_nfuncs(const struct lc_patch *p) { return p->nrecs; }

const char *lc_patch_func_name(const struct lc_patch *p, size_t i)
{
	struct lc_info_record rec;
	if (i >= p->nrecs)
		return NULL;
	memcpy(&rec, p->parts[LC_PART_INFO].orig + i * sizeof(rec), sizeof(rec));
	return (const char *)p->parts[LC_PART_STRTAB].orig + rec.name;
}

const struct lc_info_record *lc_patch_record(const struct lc_patch *p, size_t i)
{
	return (const struct lc_info_record *)(p->parts[LC_PART_INFO].bytes + i * sizeof(struct lc_info_record));
}

const char *lc_patch_func_at(const struct lc_patch *p, uint64_t off)
{
	for (size_t i = 0; i < p->nsyms; i++) {
		const struct lc_sym *s = &p->syms[i];
		if (s->part == LC_PART_TEXT && s->type == STT_FUNC &&
		    off >= s->value && off - s->value < s->size)
			return s->name;
	}
	return "?";
}

const uint8_t *lc_patch_image(const struct lc_patch *p, size_t *size)
{
	if (!p->linked)
		return NULL;
	if (size)
		*size = p->layout.size;
	return p->image;
}
