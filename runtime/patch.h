/*
 * patch.h - the inside of a loaded patch, shared by the runtime's files
 * (load, layout, symbol, reloc, hunk).  Not part of the runtime's API.
 */
#ifndef LIBCARE_RUNTIME_PATCH_H
#define LIBCARE_RUNTIME_PATCH_H

#include <stdint.h>
#include "libcare/kpatch.h"
#include "runtime.h"

/* The payload sections the runtime places or reads. */
enum lc_part { LC_PART_TEXT, LC_PART_DATA, LC_PART_INFO, LC_PART_STRTAB, LC_PART_EH,
	       LC_NPARTS };

struct lc_part_data {
	size_t shndx;            /* 0: absent */
	uint8_t *bytes;          /* copy, relocated in place at link time */
	const uint8_t *orig;     /* the payload's bytes, for relinking */
	size_t size;
	size_t align;
};

struct lc_sym {
	const char *name;        /* points into the payload copy */
	char *import;            /* import name without @VERSION (owned) */
	const char *version;     /* points into `import`'s allocation or NULL */
	int part;                /* enum lc_part, -1 undefined, -2 absolute, -3 other */
	int is_target;           /* LC_SYM_TARGET */
	int weak, type;
	int used;                /* referenced by a relocation */
	uint64_t value, size;
	uint64_t addr;           /* resolved at link time */
};

struct lc_rela {
	int part;                /* section it applies to */
	uint64_t offset;
	uint32_t type;
	uint32_t sym;
	int64_t addend;
	long stub;               /* index of its reserved stub, -1 none */
	int indirect;            /* ff 15 / ff 25: stub slot holds *target */
};

struct lc_stub {
	uint32_t sym;
	int64_t addend;
	int indirect;
};

struct lc_patch {
	struct lc_patch_header hdr;
	uint8_t signer_sha256[32];      /* lc_patch_set_signer: recorded in the region */
	char signer_key[64];
	char what[256];
	uint8_t *payload;        /* private copy handed to libelf */
	size_t payload_size;
	struct lc_part_data parts[LC_NPARTS];
	struct lc_sym *syms;
	size_t nsyms;
	struct lc_rela *relas;
	size_t nrelas;
	struct lc_stub *stubs;
	size_t nstubs;
	size_t nrecs;            /* info records */
	struct lc_busy_record *busy;   /* .kpatch.busy (busy.c), may be none */
	size_t nbusy;
	struct lc_layout layout;
	uint8_t *image;
	int linked;
};

extern const char *const lc_part_names[LC_NPARTS];

int lc_layout_compute(struct lc_patch *p);
int lc_symbols_resolve(struct lc_patch *p, const struct lc_target *t, uint64_t addr);
int lc_relocs_apply(struct lc_patch *p, const struct lc_target *t, uint64_t addr);
int lc_hunks_build(struct lc_patch *p, const struct lc_target *t, uint64_t addr);
const char *lc_reloc_type_name(uint32_t type);
/* tls.c: whether `type` is a thread-local value, and applying one. */
int lc_tls_reloc(uint32_t type);
int lc_tls_apply(struct lc_patch *p, const struct lc_rela *r, const struct lc_target *t,
		 uint8_t *at);
/* The FUNC symbol of .kpatch.text that contains `off`, or "?". */
const char *lc_patch_func_at(const struct lc_patch *p, uint64_t off);
/* busy.c: .kpatch.busy, read while the sections are (load_sections) and
 * checked once the records are. */
int lc_busy_load(struct lc_patch *p, const void *data, size_t size);
int lc_busy_check(const struct lc_patch *p);
/* The hunk of short function `i` (its record's dlen < 5) from its
 * LC_BUSY_PADJUMP record; `hk` has addr, new_addr and the sizes.  1 built,
 * 0 no such record, -1 error (logged). */
int lc_busy_short_hunk(struct lc_patch *p, const struct lc_target *t, size_t i,
		       struct lc_region_hunk *hk);
/* The info record `i` (relocated copy after a link). */
const struct lc_info_record *lc_patch_record(const struct lc_patch *p, size_t i);

#endif
