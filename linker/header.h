/* header.h - filling the patch file header from mkpatch's inputs and options. */
#ifndef LIBCARE_LINKER_HEADER_H
#define LIBCARE_LINKER_HEADER_H

#include <stddef.h>
#include <stdint.h>
#include "libcare/buf.h"
#include "libcare/patchfile.h"

struct lc_header_opts {
	const char *target_path;    /* ORIGINAL; its basename is recorded */
	const uint8_t *build_id;
	size_t build_id_len;
	uint32_t level;
	const char *id;
	const char *description;
	uint64_t created;
};

/*
 * Fills everything but the seal (lc_patchfile_seal adds magic, version,
 * sizes and checksum).  Returns -1 with a one-line reason in `why` if a
 * string does not fit its field.
 */
int lc_header_fill(struct lc_patch_header *h, const struct lc_header_opts *o,
		   struct lc_buf *why);

/* $SOURCE_DATE_EPOCH if set (reproducible builds), else the current time. */
int lc_header_created(uint64_t *created, struct lc_buf *why);

#endif
