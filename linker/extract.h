/*
 * extract.h - turning PATCHED's .kpatch.* sections and their -Wl,-q
 * relocations into a patch payload.
 */
#ifndef LIBCARE_LINKER_EXTRACT_H
#define LIBCARE_LINKER_EXTRACT_H

#include <stddef.h>
#include "obj.h"
#include "payload.h"

struct lc_extract_stats {
	size_t functions;   /* .kpatch.info records */
	size_t imports;     /* distinct imported names */
	size_t relocs;      /* relocations kept in the payload */
};

/*
 * Fills `pay` (already lc_payload_init'ed) from PATCHED.  ORIGINAL gives the
 * sizes of the replaced functions (PATCHED does if ORIGINAL is stripped).
 * Returns 0, or -1 after logging one error line.
 */
int lc_extract(const struct lc_obj *orig, const struct lc_obj *patched,
	       struct lc_payload *pay, struct lc_extract_stats *st);

#endif
