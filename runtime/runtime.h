/*
 * runtime.h - the patch-loading engine: read and verify a patch file, lay it
 * out as a region, resolve its symbols, apply its relocations into a local
 * image for a given region address and produce the jump hunks.
 *
 * Pure computation over a target interface (struct lc_target): the runtime
 * never knows whether the target is another process (the doctor, through
 * ptrace and /proc) or memory of a unit test.
 *
 * Use:
 *	p = lc_patch_load(file, len, "foo.kpatch");      verify + parse
 *	lc_patch_layout(p)->size, ->needs_low              choose an address
 *	lc_patch_link(p, &target, addr)                    relocate + hunks
 *	lc_patch_image(p, &size)                           bytes for the region
 *	lc_patch_free(p)
 *
 * The image starts with struct lc_region_header (region.h) followed by the
 * hunks and the names: the same bytes a later doctor run reads back from the
 * patient (lc_region_parse) to see what is applied.
 */
#ifndef LIBCARE_RUNTIME_H
#define LIBCARE_RUNTIME_H

#include <stddef.h>
#include <stdint.h>
#include "libcare/kpatch.h"
#include "libcare/patchfile.h"
#include "libcare/region.h"

/* What the runtime asks about the address space it patches. */
struct lc_import {
	uint64_t addr;
	int ifunc;               /* STT_GNU_IFUNC: addr is its resolver (refused) */
};

/* The thread-local storage of an object in the address space. */
struct lc_tls {
	uint64_t modid;          /* its TLS module id (DTPMOD64); 0: unknown */
	int64_t offset;          /* TP minus the start of its block (static TLS) */
	int has_offset;          /* offset known */
	uint64_t value;          /* a named variable: its offset in the block */
	char object[256];        /* the object's path, for messages */
};

struct lc_target {
	void *ctx;
	uint64_t bias;           /* load bias of the target object (LC_SYM_TARGET) */
	/* Reads len bytes at addr.  0 on success, -1 (logged) on failure. */
	int (*read)(void *ctx, uint64_t addr, void *buf, size_t len);
	/* Looks up an import; version NULL = the default version.
	 * 1 found, 0 not found, -1 error (logged). */
	int (*lookup)(void *ctx, const char *name, const char *version,
		      struct lc_import *out);
	/* The TLS of the target object (name NULL) or of the object defining
	 * thread-local variable name[@version].  1 found, 0 not, -1 error
	 * (logged).  May be NULL: patches using TLS are then refused. */
	int (*tls)(void *ctx, const char *name, const char *version, struct lc_tls *out);
	/* The target object's run-time extent [lo, hi): relocations against
	 * LC_SYM_TARGET must stay inside it.  hi == 0: not checked. */
	uint64_t lo, hi;
};

/* Where each part of the region goes, as offsets from its start. */
struct lc_layout {
	size_t size;             /* whole region, page aligned */
	size_t header_size;      /* r--: header, hunks, names (page aligned) */
	size_t text_offset;      /* r-x: .kpatch.text, then the stubs */
	size_t text_size;        /* .kpatch.text + stubs, not page aligned */
	size_t stubs_offset;
	size_t nstubs;           /* reserved far-call stubs */
	size_t data_offset;      /* rw-: .kpatch.data */
	size_t data_size;
	size_t eh_offset;        /* r-x, after the stubs: .kpatch.eh_frame + */
	size_t eh_size;          /* a 4-byte terminator; 0: no unwind information */
	size_t eh_object_offset; /* rw-, after .kpatch.data: LC_EH_OBJECT_SIZE bytes
	                          * for libgcc's `struct object` (doctor/cfi.c) */
	int needs_low;           /* R_X86_64_32/32S: region must end below 2 GiB */
};

#define LC_PAGE_SIZE 4096
#define LC_STUB_SIZE 16          /* ff 25 00 00 00 00 + 8-byte address, padded */
#define LC_JMP_SIZE  5           /* e9 rel32 */
#define LC_EH_OBJECT_SIZE 128    /* libgcc's struct object: 7 words in GCC 12 */

struct lc_patch;

/* Checks (lc_patchfile_check: structure, hash, header fields) and parses a
 * patch file held in memory.  `what` names the file in error messages.
 * NULL (logged) on any defect.  The signature is lc_patchfile_verify's
 * business (libcare/trust.h): call it first on the same bytes. */
struct lc_patch *lc_patch_load(const void *file, size_t len, const char *what);
void lc_patch_free(struct lc_patch *p);
/* Who signed it (lc_patchfile_verify), recorded in the region header;
 * NULL or unsigned: zeros. */
struct lc_signer;
void lc_patch_set_signer(struct lc_patch *p, const struct lc_signer *s);

const struct lc_patch_header *lc_patch_header(const struct lc_patch *p);
const struct lc_layout *lc_patch_layout(const struct lc_patch *p);
size_t lc_patch_nfuncs(const struct lc_patch *p);
const char *lc_patch_func_name(const struct lc_patch *p, size_t i);
/* The LC_INFO_* flags of replaced function `i` (kpatch.h). */
uint32_t lc_patch_func_flags(const struct lc_patch *p, size_t i);
/* The .kpatch.busy records: more code of the target that belongs to a
 * replaced function (link-time addresses: add the load bias). */
size_t lc_patch_nbusy(const struct lc_patch *p);
const struct lc_busy_record *lc_patch_busy(const struct lc_patch *p, size_t j);

/* Resolves every symbol through `t`, applies the relocations for a region
 * at `addr` and builds the region image with its hunks (old bytes read
 * through `t`).  0 on success, -1 (logged) otherwise; may be called again
 * with another address. */
int lc_patch_link(struct lc_patch *p, const struct lc_target *t, uint64_t addr);

/* The linked image (lc_patch_layout()->size bytes), NULL before a link. */
const uint8_t *lc_patch_image(const struct lc_patch *p, size_t *size);

/* A region header read back from memory, checked for sane bounds.  `buf`
 * holds at least the region's header part (`len` bytes).  Returns the header
 * or NULL with the reason in why[]. */
const struct lc_region_header *lc_region_parse(const void *buf, size_t len,
					       char *why, size_t why_len);
const struct lc_region_hunk *lc_region_hunk(const struct lc_region_header *h, uint32_t i);
/* Bytes of the header proper (version 1 had no journal). */
size_t lc_region_header_size(const struct lc_region_header *h);
/* The size of the region's unwind information: 0 if none (or version < 3). */
uint64_t lc_region_eh_size(const struct lc_region_header *h);
/* The journal's state (enum lc_region_state; version 1: applied), and its name. */
uint32_t lc_region_state(const struct lc_region_header *h);
const char *lc_region_state_name(uint32_t state);
const char *lc_region_name(const struct lc_region_header *h, uint32_t off);

/* A used range of an address space, [start, end). */
struct lc_span {
	uint64_t start, end;
};

/* Chooses a page-aligned address for `size` bytes (a multiple of the page
 * size) in the gaps between `used` (sorted by start), with every byte
 * within rel32 reach of [lo, hi) (the target object), ending below 2 GiB if
 * `low`; the closest gap below the object first.  0, or -1 if none. */
int lc_gap_choose(const struct lc_span *used, size_t n, uint64_t lo, uint64_t hi,
		  size_t size, int low, uint64_t *addr);

/* The 5 bytes of `jmp to` placed at `from`; -1 if out of rel32 reach. */
int lc_jmp_encode(uint64_t from, uint64_t to, uint8_t out[LC_JMP_SIZE]);

#endif
