/*
 * obj.h - a linked binary as mkpatch sees it: its sections (by ELF index),
 * its .symtab and the versions of the symbols it imports through .dynsym.
 *
 * The arrays are plain data so that the layout check and the relocation
 * rules can be unit-tested on hand-made objects (elf == NULL).
 */
#ifndef LIBCARE_LINKER_OBJ_H
#define LIBCARE_LINKER_OBJ_H

#include <stddef.h>
#include <stdint.h>
#include <libelf.h>
#include <gelf.h>

struct lc_obj_section {
	const char *name;
	uint32_t type;                  /* SHT_* */
	uint64_t flags, addr, size, align;
	uint32_t link, info;
};

struct lc_obj_symbol {
	const char *name;
	uint64_t value, size;
	unsigned char bind, type, vis; /* STB_*, STT_*, STV_* */
	uint32_t shndx;                 /* section index or SHN_UNDEF/ABS/COMMON */
};

/* An undefined .dynsym entry and the version it needs (.gnu.version_r). */
struct lc_obj_dynver {
	const char *name;
	const char *version;
};

struct lc_obj {
	const char *path;
	int fd;
	Elf *elf;                       /* NULL for hand-made objects */
	unsigned type;                  /* ET_EXEC or ET_DYN */
	struct lc_obj_section *sec;     /* indexed by ELF section index */
	size_t nsec;
	struct lc_obj_symbol *sym;      /* .symtab, entry 0 included */
	size_t nsym;
	struct lc_obj_dynver *dynver;
	size_t ndynver;
	const char *dynsym_ext;         /* a `*.kpatch_ext` exported in .dynsym, or NULL */
	struct lc_obj *debug;           /* the debug file .symtab came from (debuginfo.c) */
};

/* Opens an x86-64 ELF executable or shared object; errors name `what` and the path. */
int lc_obj_open(struct lc_obj *o, const char *what, const char *path);
void lc_obj_close(struct lc_obj *o);
/* Sections and .symtab only (a separate debug file, whose .dynsym is NOBITS). */
int lc_obj_open_symbols(struct lc_obj *o, const char *what, const char *path);

/* Index of the section called `name`, 0 if there is none. */
size_t lc_obj_section_index(const struct lc_obj *o, const char *name);
/* Whether section `shndx` is one of the .kpatch.* sections. */
int lc_obj_section_is_kpatch(const struct lc_obj *o, uint32_t shndx);
/* Whether section `shndx` is a real section that is loaded (SHF_ALLOC). */
int lc_obj_section_is_alloc(const struct lc_obj *o, uint32_t shndx);
/* The raw bytes of section `index` (NULL for hand-made objects or NOBITS). */
Elf_Data *lc_obj_section_data(const struct lc_obj *o, size_t index);

/* Length of the part of `name` before the first '@' (symbol version). */
size_t lc_obj_name_base_len(const char *name);

#endif
