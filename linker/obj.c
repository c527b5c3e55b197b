/*
 * obj.c - reading a linked binary into struct lc_obj with libelf: section
 * headers, the .symtab (section indices resolved through SHN_XINDEX) and the
 * needed versions of undefined .dynsym entries.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "libcare/buf.h"
#include "libcare/kpatch.h"
#include "libcare/log.h"
#include "obj.h"

size_t lc_obj_name_base_len(const char *name)
{
	const char *at = strchr(name, '@');
	return at ? (size_t)(at - name) : strlen(name);
}

size_t lc_obj_section_index(const struct lc_obj *o, const char *name)
{
	for (size_t i = 1; i < o->nsec; i++)
		if (o->sec[i].name && strcmp(o->sec[i].name, name) == 0)
			return i;
	return 0;
}

int lc_obj_section_is_kpatch(const struct lc_obj *o, uint32_t shndx)
{
	if (shndx == SHN_UNDEF || shndx >= o->nsec || shndx >= SHN_LORESERVE)
		return 0;
	return o->sec[shndx].name && strncmp(o->sec[shndx].name, ".kpatch.", 8) == 0;
}

int lc_obj_section_is_alloc(const struct lc_obj *o, uint32_t shndx)
{
	if (shndx == SHN_UNDEF || shndx >= o->nsec || shndx >= SHN_LORESERVE)
		return 0;
	return (o->sec[shndx].flags & SHF_ALLOC) != 0;
}

Elf_Data *lc_obj_section_data(const struct lc_obj *o, size_t index)
{
	if (!o->elf || index == 0 || index >= o->nsec)
		return NULL;
	Elf_Scn *scn = elf_getscn(o->elf, index);
	return scn ? elf_getdata(scn, NULL) : NULL;
}

static int obj_read_sections(struct lc_obj *o, const char *what)
{
	size_t shstrndx;
	if (elf_getshdrnum(o->elf, &o->nsec) != 0 || elf_getshdrstrndx(o->elf, &shstrndx) != 0)
		return lc_error("%s '%s': cannot read section headers: %s", what, o->path,
				elf_errmsg(-1));
	o->sec = lc_xcalloc(o->nsec ? o->nsec : 1, sizeof(*o->sec));
	for (size_t i = 1; i < o->nsec; i++) {
		GElf_Shdr sh;
		Elf_Scn *scn = elf_getscn(o->elf, i);
		if (!scn || !gelf_getshdr(scn, &sh))
			return lc_error("%s '%s': bad section header %zu", what, o->path, i);
		struct lc_obj_section *s = &o->sec[i];
		s->name = elf_strptr(o->elf, shstrndx, sh.sh_name);
		if (!s->name)
			s->name = "";
		s->type = sh.sh_type;
		s->flags = sh.sh_flags;
		s->addr = sh.sh_addr;
		s->size = sh.sh_size;
		s->align = sh.sh_addralign;
		s->link = sh.sh_link;
		s->info = sh.sh_info;
	}
	return 0;
}

static Elf_Data *obj_shndx_data(struct lc_obj *o, size_t symtab)
{
	for (size_t i = 1; i < o->nsec; i++)
		if (o->sec[i].type == SHT_SYMTAB_SHNDX && o->sec[i].link == symtab)
			return lc_obj_section_data(o, i);
	return NULL;
}

static int obj_read_symtab(struct lc_obj *o, const char *what)
{
	size_t symtab = 0;
	for (size_t i = 1; i < o->nsec; i++)
		if (o->sec[i].type == SHT_SYMTAB)
			symtab = i;
	if (!symtab)
		return 0;
	Elf_Data *data = lc_obj_section_data(o, symtab);
	Elf_Data *xdata = obj_shndx_data(o, symtab);
	if (!data)
		return lc_error("%s '%s': cannot read .symtab: %s", what, o->path, elf_errmsg(-1));
	size_t n = data->d_size / sizeof(Elf64_Sym);
	o->sym = lc_xcalloc(n ? n : 1, sizeof(*o->sym));
	o->nsym = n;
	for (size_t i = 0; i < n; i++) {
		GElf_Sym st;
		Elf32_Word xndx = 0;
		if (!gelf_getsymshndx(data, xdata, (int)i, &st, &xndx))
			return lc_error("%s '%s': bad symbol %zu", what, o->path, i);
		struct lc_obj_symbol *s = &o->sym[i];
		s->name = elf_strptr(o->elf, o->sec[symtab].link, st.st_name);
		if (!s->name)
			s->name = "";
		s->value = st.st_value;
		s->size = st.st_size;
		s->bind = GELF_ST_BIND(st.st_info);
		s->type = GELF_ST_TYPE(st.st_info);
		s->vis = GELF_ST_VISIBILITY(st.st_other);
		s->shndx = st.st_shndx == SHN_XINDEX ? xndx : st.st_shndx;
	}
	return 0;
}

/* Version name for version index `ndx` from .gnu.version_r, or NULL. */
static const char *obj_verneed_name(struct lc_obj *o, size_t verneed, uint16_t ndx)
{
	Elf_Data *data = lc_obj_section_data(o, verneed);
	size_t off = 0;
	if (!data)
		return NULL;
	/* at most 4096 entries in all: a malformed chain (a zero or cyclic
	 * vna_next, a huge vn_cnt) must not cost O(65535) per symbol */
	int budget = 4096;
	for (int guard = 0; guard < 1000 && budget > 0; guard++) {
		GElf_Verneed vn;
		if (!gelf_getverneed(data, (int)off, &vn))
			return NULL;
		size_t aoff = off + vn.vn_aux;
		for (unsigned j = 0; j < vn.vn_cnt && budget-- > 0; j++) {
			GElf_Vernaux va;
			if (!gelf_getvernaux(data, (int)aoff, &va))
				return NULL;
			if (va.vna_other == ndx)
				return elf_strptr(o->elf, o->sec[verneed].link, va.vna_name);
			if (!va.vna_next)
				break;
			aoff += va.vna_next;
		}
		if (!vn.vn_next)
			return NULL;
		off += vn.vn_next;
	}
	return NULL;
}

static void obj_read_dynver(struct lc_obj *o)
{
	size_t dynsym = 0, versym = 0, verneed = 0;
	for (size_t i = 1; i < o->nsec; i++) {
		if (o->sec[i].type == SHT_DYNSYM)
			dynsym = i;
		else if (o->sec[i].type == SHT_GNU_versym)
			versym = i;
		else if (o->sec[i].type == SHT_GNU_verneed)
			verneed = i;
	}
	if (!dynsym)
		return;
	Elf_Data *sd = lc_obj_section_data(o, dynsym);
	Elf_Data *vd = versym && verneed ? lc_obj_section_data(o, versym) : NULL;
	if (!sd)
		return;
	size_t n = sd->d_size / sizeof(Elf64_Sym);
	o->dynver = lc_xcalloc(n ? n : 1, sizeof(*o->dynver));
	for (size_t i = 1; i < n; i++) {
		GElf_Sym st;
		GElf_Versym vs;
		if (!gelf_getsym(sd, (int)i, &st) || st.st_shndx != SHN_UNDEF)
			continue;
		const char *name = elf_strptr(o->elf, o->sec[dynsym].link, st.st_name);
		size_t n = name ? strlen(name) : 0, m = strlen(LC_EXTERN_SUFFIX);
		if (n > m && strcmp(name + n - m, LC_EXTERN_SUFFIX) == 0 && !o->dynsym_ext)
			o->dynsym_ext = name;
		if (!vd || !gelf_getversym(vd, (int)i, &vs))
			continue;
		const char *ver = obj_verneed_name(o, verneed, vs & 0x7fff);
		if (ver && name)
			o->dynver[o->ndynver++] = (struct lc_obj_dynver){ name, ver };
	}
}

static int obj_open(struct lc_obj *o, const char *what, const char *path, int dynver)
{
	memset(o, 0, sizeof(*o));
	o->fd = -1;
	o->path = path;
	o->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (o->fd < 0)
		return lc_error("cannot open %s '%s': %s", what, path, strerror(errno));
	elf_version(EV_CURRENT);
	o->elf = elf_begin(o->fd, ELF_C_READ_MMAP, NULL);
	GElf_Ehdr eh;
	if (!o->elf || elf_kind(o->elf) != ELF_K_ELF || !gelf_getehdr(o->elf, &eh))
		return lc_error("%s '%s' is not an ELF file", what, path);
	if (gelf_getclass(o->elf) != ELFCLASS64 || eh.e_machine != EM_X86_64)
		return lc_error("%s '%s' is not an x86-64 ELF object", what, path);
	if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)
		return lc_error("%s '%s' is not a linked executable or shared object", what, path);
	o->type = eh.e_type;
	if (obj_read_sections(o, what) < 0 || obj_read_symtab(o, what) < 0)
		return -1;
	if (dynver)
		obj_read_dynver(o);
	return 0;
}

int lc_obj_open(struct lc_obj *o, const char *what, const char *path)
{
	return obj_open(o, what, path, 1);
}

/* A separate debug file: its sections are NOBITS but for notes and debug. */
int lc_obj_open_symbols(struct lc_obj *o, const char *what, const char *path)
{
	return obj_open(o, what, path, 0);
}

void lc_obj_close(struct lc_obj *o)
{
	if (o->debug) {
		char *path = (char *)o->debug->path;   /* owned: see debuginfo.c */
		lc_obj_close(o->debug);
		free(o->debug);
		free(path);
	}
	free(o->sec);
	free(o->sym);
	free(o->dynver);
	if (o->elf)
		elf_end(o->elf);
	if (o->fd >= 0)
		close(o->fd);
	memset(o, 0, sizeof(*o));
	o->fd = -1;
}
