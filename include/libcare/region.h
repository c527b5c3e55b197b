/*
 * region.h - the start of a patch region in the patient's memory.
 *
 * The region is the doctor's only footprint in the patient besides the jump
 * hunks.  It records what was applied, so `info` and `unpatch` from a later
 * doctor run see the truth:
 *
 *   [struct lc_region_header][struct lc_region_hunk x nhunks][strtab]  page(s) r--
 *   [.kpatch.text, far-call stubs]                                       page(s) r-x
 *   [.kpatch.data, GOT slots]                                            page(s) rw-
 */
#ifndef LIBCARE_REGION_H
#define LIBCARE_REGION_H

#include <stdint.h>
#include "libcare/patchfile.h"

#define LC_REGION_MAGIC   "LCREGION"
#define LC_REGION_VERSION 1
#define LC_HUNK_MAX_BYTES 16

struct lc_region_hunk {
	uint64_t addr;                          /* where the jump is written */
	uint64_t new_addr;                      /* the replacement function */
	uint32_t len;                           /* bytes replaced (5 for jmp rel32) */
	uint32_t old_size;                      /* size of the original function */
	uint32_t new_size;
	uint32_t name;                          /* offset in the region's strtab */
	uint8_t  old_bytes[LC_HUNK_MAX_BYTES];
	uint8_t  new_bytes[LC_HUNK_MAX_BYTES];
};

struct lc_region_header {
	char     magic[8];                      /* LC_REGION_MAGIC */
	uint32_t version;
	uint32_t nhunks;
	uint64_t size;                          /* whole region, page aligned */
	uint64_t target_bias;                   /* load bias of the target object */
	uint64_t applied;                       /* unix seconds */
	uint64_t text_offset, text_size;        /* from the region start */
	uint64_t data_offset, data_size;
	uint64_t strtab_offset, strtab_size;
	struct lc_patch_header patch;           /* copy of the file's header */
};

#endif
