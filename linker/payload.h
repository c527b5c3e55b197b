/*
 * payload.h - the ET_REL payload of a patch file, assembled in memory and
 * written with libelf.  Section and symbol conventions: patchfile.h and
 * docs/patch-format.md.
 */
#ifndef LIBCARE_LINKER_PAYLOAD_H
#define LIBCARE_LINKER_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>
#include "libcare/buf.h"

/* The payload's sections, in file order; each is followed by its .rela. */
enum lc_payload_sec {
	LC_PAY_TEXT,        /* .kpatch.text */
	LC_PAY_DATA,        /* .kpatch.data */
	LC_PAY_INFO,        /* .kpatch.info */
	LC_PAY_STRTAB,      /* .kpatch.strtab (no relocations) */
	LC_PAY_EH,          /* .kpatch.eh_frame */
	LC_PAY_NSEC
};

struct lc_payload_rela {
	uint64_t offset;
	uint32_t type;
	uint32_t sym;       /* lc_payload symbol id, 0 = none */
	int64_t addend;
};

struct lc_payload_sym {
	char *name;
	uint64_t value, size;
	unsigned char bind, type;
	int sec;            /* enum lc_payload_sec, or -1 for undefined */
};

struct lc_payload {
	struct lc_buf data[LC_PAY_NSEC];
	uint64_t align[LC_PAY_NSEC];
	struct lc_payload_rela *rela[LC_PAY_NSEC];
	size_t nrela[LC_PAY_NSEC];
	struct lc_payload_sym *sym;     /* id 0 = none; 1..LC_PAY_NSEC = section symbols */
	size_t nsym;
	struct lc_buf busy;             /* struct lc_busy_record[]: section 11, if any */
};

const char *lc_payload_section_name(enum lc_payload_sec s);
/* -1 if `name` is not one of the .kpatch sections. */
int lc_payload_section_by_name(const char *name);

void lc_payload_init(struct lc_payload *p);
void lc_payload_free(struct lc_payload *p);
/* The section symbol of section `s`. */
uint32_t lc_payload_section_sym(enum lc_payload_sec s);
/* A local FUNC/OBJECT symbol defined in section `s`. */
uint32_t lc_payload_add_local(struct lc_payload *p, const char *name, int sec,
			      unsigned char type, uint64_t value, uint64_t size);
/* An undefined symbol (LC_SYM_TARGET or an import); one per name. */
uint32_t lc_payload_add_undef(struct lc_payload *p, const char *name, int weak);
void lc_payload_add_rela(struct lc_payload *p, enum lc_payload_sec s, uint64_t offset,
			 uint32_t type, uint32_t sym, int64_t addend);
/* Writes the ELF image into `out`; -1 with the reason logged. */
int lc_payload_write(const struct lc_payload *p, struct lc_buf *out);

#endif
