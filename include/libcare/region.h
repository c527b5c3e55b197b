/*
 * region.h - the start of a patch region in the patient's memory.
 *
 * The region is the doctor's only footprint in the patient besides the jump
 * hunks.  It records what was applied, so `info` and `unpatch` from a later
 * doctor run see the truth:
 *
 *   [struct lc_region_header][struct lc_region_hunk x nhunks][strtab]  page(s) r--
 *   [.kpatch.text, far-call stubs, .kpatch.eh_frame + 4 zero bytes]      page(s) r-x
 *   [.kpatch.data, GOT slots, libgcc's object for the eh_frame]          page(s) rw-
 */
#ifndef LIBCARE_REGION_H
#define LIBCARE_REGION_H

#include <stddef.h>
#include <stdint.h>
#include "libcare/patchfile.h"

#define LC_REGION_MAGIC   "LCREGION"
#define LC_REGION_VERSION 4               /* 1: no journal (read as applied);
                                           * 2: no unwind information; 3: no signer */
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

/*
 * The journal: what the doctor that wrote the region was doing, written
 * into the patient BEFORE each step it describes, so that a doctor killed
 * at any instant leaves a state the next one understands (transition.c
 * repairs it).  The code bytes at each hunk stay the final truth: a hunk
 * holds either its old bytes or its jump.
 */
enum lc_region_state {
	LC_REGION_PREPARING = 1,  /* mapped and filled; no jump written yet */
	LC_REGION_SWITCHING = 2,  /* jumps being written: `done` of nhunks so far */
	LC_REGION_APPLIED = 3,    /* every jump written */
	LC_REGION_UNPATCHING = 4, /* old bytes being written back (`done` so far),
	                           * or replaced by a higher level (`other`) */
	LC_REGION_RETIRED = 5,    /* no jump leads here any more; kept mapped
	                           * because patched code may still be referenced */
};

struct lc_region_journal {
	uint32_t state;                         /* enum lc_region_state */
	uint32_t done;                          /* hunks switched (or restored) so far */
	uint32_t doctor;                        /* PID of the doctor that wrote it */
	uint32_t reserved;
	uint64_t other;                         /* SWITCHING: the region of the level this
	                                         * one replaces; UNPATCHING: the region
	                                         * replacing this one; 0: none */
	uint64_t reserved2[3];
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
	struct lc_region_journal journal;       /* version >= 2 */
	/* Version >= 3: unwind information of the patch code (size 0: none), registered
	 * with the patient's libgcc when it has one: the object libgcc links
	 * is then at eh_object_offset, non-zero while registered. */
	uint64_t eh_frame_offset, eh_frame_size;
	uint64_t eh_object_offset;
	uint8_t  signer_sha256[32];             /* version >= 4: the signing key's
	                                         * fingerprint; all zero: applied unsigned */
	char     signer_key[64];                /* its file name among the trusted keys */
};

/* A version 1 header ends before the journal, a version 2 header before
 * the unwind information, a version 3 one before the signer; their hunks
 * follow there. */
#define LC_REGION_V1_HEADER_SIZE offsetof(struct lc_region_header, journal)
#define LC_REGION_V2_HEADER_SIZE offsetof(struct lc_region_header, eh_frame_offset)
#define LC_REGION_V3_HEADER_SIZE offsetof(struct lc_region_header, signer_sha256)

#endif
