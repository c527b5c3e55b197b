/*
 * payload.c - building the patch payload: an ELF ET_REL with exactly
 *
 *	[1] .kpatch.text   [2] .rela.kpatch.text
 *	[3] .kpatch.data   [4] .rela.kpatch.data
 *	[5] .kpatch.info   [6] .rela.kpatch.info
 *	[7] .kpatch.strtab
 *	[8] .kpatch.eh_frame [9] .rela.kpatch.eh_frame
 *	[10] .symtab [11] .strtab [12] .shstrtab
 *
 * always present (possibly empty), so a reader never guesses.  Symbols are
 * written locals first (null, the section symbols, functions and
 * objects), then the undefined globals; .symtab's sh_info is the first
 * global.  libelf lays the file out, into an anonymous temporary file that
 * is read back: the payload has to be hashed before the header is written.
 */
#include <errno.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "libcare/kpatch.h"
#include "libcare/log.h"
#include "payload.h"

static const char *const payload_names[LC_PAY_NSEC] = {
	LC_SECTION_TEXT, LC_SECTION_DATA, LC_SECTION_INFO, LC_SECTION_STRTAB,
	LC_SECTION_EH_FRAME,
};

const char *lc_payload_section_name(enum lc_payload_sec s)
{
	return payload_names[s];
}

int lc_payload_section_by_name(const char *name)
{
	for (int i = 0; i < LC_PAY_NSEC; i++)
		if (strcmp(payload_names[i], name) == 0)
			return i;
	return -1;
}

uint32_t lc_payload_section_sym(enum lc_payload_sec s)
{
	return 1 + (uint32_t)s;
}

static uint32_t payload_push(struct lc_payload *p, struct lc_payload_sym sym)
{
	p->sym = lc_xrealloc(p->sym, (p->nsym + 1) * sizeof(*p->sym));
	p->sym[p->nsym] = sym;
	return (uint32_t)p->nsym++;
}

void lc_payload_init(struct lc_payload *p)
{
	memset(p, 0, sizeof(*p));
	payload_push(p, (struct lc_payload_sym){ lc_xstrdup(""), 0, 0, STB_LOCAL, STT_NOTYPE, -1 });
	for (int s = 0; s < LC_PAY_NSEC; s++) {
		p->align[s] = 1;
		payload_push(p, (struct lc_payload_sym){ lc_xstrdup(""), 0, 0, STB_LOCAL,
							 STT_SECTION, s });
	}
}

void lc_payload_free(struct lc_payload *p)
{
	for (int s = 0; s < LC_PAY_NSEC; s++) {
		lc_buf_free(&p->data[s]);
		free(p->rela[s]);
	}
	lc_buf_free(&p->busy);
	for (size_t i = 0; i < p->nsym; i++)
		free(p->sym[i].name);
	free(p->sym);
	memset(p, 0, sizeof(*p));
}

uint32_t lc_payload_add_local(struct lc_payload *p, const char *name, int sec,
			      unsigned char type, uint64_t value, uint64_t size)
{
	return payload_push(p, (struct lc_payload_sym){ lc_xstrdup(name), value, size,
							STB_LOCAL, type, sec });
}

uint32_t lc_payload_add_undef(struct lc_payload *p, const char *name, int weak)
{
	for (size_t i = 1; i < p->nsym; i++) {
		struct lc_payload_sym *s = &p->sym[i];
		if (s->sec == -1 && strcmp(s->name, name) == 0) {
			if (!weak)      /* one strong use makes the import required */
				s->bind = STB_GLOBAL;
			return (uint32_t)i;
		}
	}
	return payload_push(p, (struct lc_payload_sym){ lc_xstrdup(name), 0, 0,
							weak ? STB_WEAK : STB_GLOBAL,
							STT_NOTYPE, -1 });
}

void lc_payload_add_rela(struct lc_payload *p, enum lc_payload_sec s, uint64_t offset,
			 uint32_t type, uint32_t sym, int64_t addend)
{
	p->rela[s] = lc_xrealloc(p->rela[s], (p->nrela[s] + 1) * sizeof(*p->rela[s]));
	p->rela[s][p->nrela[s]++] = (struct lc_payload_rela){ offset, type, sym, addend };
}

/* ELF section index of payload section `s` (its .rela follows it, but for
 * .kpatch.strtab); LC_PAY_NSEC: of .symtab, followed by .strtab, .shstrtab. */
static size_t payload_shndx(int s)
{
	size_t i = 1;
	for (int t = 0; t < s; t++)
		i += t == LC_PAY_STRTAB ? 1 : 2;
	return i;
}

struct payload_image {
	Elf64_Sym *syms;
	Elf64_Rela *rela[LC_PAY_NSEC];
	struct lc_buf strtab, shstrtab;
	uint32_t *order;        /* payload symbol id -> ELF symbol index */
	size_t first_global;
};

static void payload_image_free(struct payload_image *im)
{
	free(im->syms);
	for (int s = 0; s < LC_PAY_NSEC; s++)
		free(im->rela[s]);
	lc_buf_free(&im->strtab);
	lc_buf_free(&im->shstrtab);
	free(im->order);
}

/* Locals before globals, each group in the order added. */
static void payload_image_symbols(const struct lc_payload *p, struct payload_image *im)
{
	size_t n = 0;
	im->syms = lc_xcalloc(p->nsym, sizeof(*im->syms));
	im->order = lc_xcalloc(p->nsym, sizeof(*im->order));
	lc_buf_addz(&im->strtab, 1);
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1)
			im->first_global = n;
		for (size_t i = 0; i < p->nsym; i++) {
			const struct lc_payload_sym *s = &p->sym[i];
			if ((s->bind == STB_LOCAL) != (pass == 0))
				continue;
			Elf64_Sym *e = &im->syms[n];
			im->order[i] = (uint32_t)n++;
			if (*s->name) {
				e->st_name = (Elf64_Word)im->strtab.len;
				lc_buf_add(&im->strtab, s->name, strlen(s->name) + 1);
			}
			e->st_info = ELF64_ST_INFO(s->bind, s->type);
			e->st_shndx = s->sec < 0 ? SHN_UNDEF : (Elf64_Section)payload_shndx(s->sec);
			e->st_value = s->value;
			e->st_size = s->size;
		}
	}
	for (int s = 0; s < LC_PAY_NSEC; s++) {
		im->rela[s] = lc_xcalloc(p->nrela[s] ? p->nrela[s] : 1, sizeof(Elf64_Rela));
		for (size_t i = 0; i < p->nrela[s]; i++) {
			const struct lc_payload_rela *r = &p->rela[s][i];
			im->rela[s][i].r_offset = r->offset;
			im->rela[s][i].r_info = ELF64_R_INFO(im->order[r->sym], r->type);
			im->rela[s][i].r_addend = r->addend;
		}
	}
}

static uint32_t payload_shname(struct payload_image *im, const char *name)
{
	uint32_t off = (uint32_t)im->shstrtab.len;
	lc_buf_add(&im->shstrtab, name, strlen(name) + 1);
	return off;
}

static int payload_scn(Elf *elf, struct payload_image *im, const char *name, uint32_t type,
		       uint64_t flags, void *buf, size_t size, Elf_Type dtype, uint64_t align,
		       uint32_t link, uint32_t info, uint64_t entsize)
{
	Elf_Scn *scn = elf_newscn(elf);
	Elf_Data *d = scn ? elf_newdata(scn) : NULL;
	GElf_Shdr sh;
	if (!d || !gelf_getshdr(scn, &sh))
		return -1;
	d->d_buf = size ? buf : NULL;
	d->d_size = size;
	d->d_type = dtype;
	d->d_align = align;
	d->d_version = EV_CURRENT;
	sh.sh_name = payload_shname(im, name);
	sh.sh_type = type;
	sh.sh_flags = flags;
	sh.sh_addralign = align;
	sh.sh_link = link;
	sh.sh_info = info;
	sh.sh_entsize = entsize;
	return gelf_update_shdr(scn, &sh) ? 0 : -1;
}

static int payload_elf(const struct lc_payload *p, struct payload_image *im, Elf *elf)
{
	static const uint64_t flags[LC_PAY_NSEC] = {
		SHF_ALLOC | SHF_EXECINSTR, SHF_ALLOC | SHF_WRITE, 0, 0, SHF_ALLOC,
	};
	const uint32_t symtab = (uint32_t)payload_shndx(LC_PAY_NSEC);
	GElf_Ehdr eh;
	if (!gelf_newehdr(elf, ELFCLASS64) || !gelf_getehdr(elf, &eh))
		return -1;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_type = ET_REL;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_shstrndx = symtab + 2;
	if (!gelf_update_ehdr(elf, &eh))
		return -1;
	lc_buf_addz(&im->shstrtab, 1);
	for (int s = 0; s < LC_PAY_NSEC; s++) {
		char rname[64];
		if (payload_scn(elf, im, payload_names[s], SHT_PROGBITS, flags[s], p->data[s].data,
				p->data[s].len, ELF_T_BYTE, p->align[s], 0, 0, 0) < 0)
			return -1;
		if (s == LC_PAY_STRTAB)
			continue;
		snprintf(rname, sizeof(rname), ".rela%s", payload_names[s]);
		if (payload_scn(elf, im, rname, SHT_RELA, SHF_INFO_LINK, im->rela[s],
				p->nrela[s] * sizeof(Elf64_Rela), ELF_T_RELA, 8, symtab,
				(uint32_t)payload_shndx(s), sizeof(Elf64_Rela)) < 0)
			return -1;
	}
	if (payload_scn(elf, im, ".symtab", SHT_SYMTAB, 0, im->syms, p->nsym * sizeof(Elf64_Sym),
			ELF_T_SYM, 8, symtab + 1, (uint32_t)im->first_global, sizeof(Elf64_Sym)) < 0 ||
	    payload_scn(elf, im, ".strtab", SHT_STRTAB, 0, im->strtab.data, im->strtab.len,
			ELF_T_BYTE, 1, 0, 0, 0) < 0)
		return -1;
	/* .shstrtab's own name (and that of the section after it) must be in
	 * it before its size is taken. */
	uint32_t busy_name = p->busy.len ? payload_shname(im, LC_SECTION_BUSY) : 0;
	uint32_t self = payload_shname(im, ".shstrtab");
	Elf_Scn *scn = elf_newscn(elf);
	Elf_Data *d = scn ? elf_newdata(scn) : NULL;
	GElf_Shdr sh;
	if (!d || !gelf_getshdr(scn, &sh))
		return -1;
	d->d_buf = im->shstrtab.data;
	d->d_size = im->shstrtab.len;
	d->d_type = ELF_T_BYTE;
	d->d_align = 1;
	sh.sh_name = self;
	sh.sh_type = SHT_STRTAB;
	sh.sh_addralign = 1;
	if (!gelf_update_shdr(scn, &sh))
		return -1;
	/* After .shstrtab, so that the sections of a payload without it keep
	 * their indices (and old readers, which find sections by name, skip it). */
	if (p->busy.len) {
		scn = elf_newscn(elf);
		d = scn ? elf_newdata(scn) : NULL;
		if (!d || !gelf_getshdr(scn, &sh))
			return -1;
		d->d_buf = p->busy.data;
		d->d_size = p->busy.len;
		d->d_type = ELF_T_BYTE;
		d->d_align = 8;
		sh.sh_name = busy_name;
		sh.sh_type = SHT_PROGBITS;
		sh.sh_addralign = 8;
		sh.sh_entsize = sizeof(struct lc_busy_record);
		if (!gelf_update_shdr(scn, &sh))
			return -1;
	}
	return elf_update(elf, ELF_C_WRITE) < 0 ? -1 : 0;
}

int lc_payload_write(const struct lc_payload *p, struct lc_buf *out)
{
	struct payload_image im;
	FILE *tmp = tmpfile();
	int ret = -1;

	memset(&im, 0, sizeof(im));
	if (!tmp)
		return lc_error("cannot create a temporary file for the payload: %s", strerror(errno));
	payload_image_symbols(p, &im);
	elf_version(EV_CURRENT);
	Elf *elf = elf_begin(fileno(tmp), ELF_C_WRITE, NULL);
	if (!elf || payload_elf(p, &im, elf) < 0) {
		lc_error("cannot write the payload ELF: %s", elf_errmsg(-1));
		goto out;
	}
	off_t size = lseek(fileno(tmp), 0, SEEK_END);
	lc_buf_reset(out);
	lc_buf_grow(out, (size_t)size);
	if (size < 0 || pread(fileno(tmp), out->data, (size_t)size, 0) != size) {
		lc_error("cannot read back the payload: %s", strerror(errno));
		goto out;
	}
	out->len = (size_t)size;
	out->data[out->len] = '\0';
	ret = 0;
out:
	if (elf)
		elf_end(elf);
	fclose(tmp);
	payload_image_free(&im);
	return ret;
}
