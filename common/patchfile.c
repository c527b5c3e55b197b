/*
 * patchfile.c - sealing and checking the header of a <BuildID>.kpatch file.
 * mkpatch seals, the runtime checks; both take the layout from patchfile.h.
 */
#include <stdio.h>
#include <string.h>
#include "libcare/patchfile.h"
#include "libcare/sha256.h"

void lc_patchfile_seal(struct lc_patch_header *hdr, const void *payload,
		       size_t payload_len)
{
	memcpy(hdr->magic, LC_PATCH_MAGIC, sizeof(hdr->magic));
	hdr->version = LC_PATCH_VERSION;
	hdr->header_size = sizeof(*hdr);
	hdr->payload_size = payload_len;
	lc_sha256(payload, payload_len, hdr->payload_sha256);
}

int lc_patchfile_check(const void *file, size_t len,
		       const struct lc_patch_header **hdr, const void **payload,
		       char *why, size_t why_len)
{
	const struct lc_patch_header *h = file;
	uint8_t sum[32];

	if (len < sizeof(h->magic) || memcmp(h->magic, LC_PATCH_MAGIC, sizeof(h->magic)) != 0) {
		snprintf(why, why_len, "not a LibCare patch (bad magic)");
		return -1;
	}
	if (len < sizeof(*h)) {
		snprintf(why, why_len, "truncated header (%zu of %zu bytes)", len, sizeof(*h));
		return -1;
	}
	if (h->version != LC_PATCH_VERSION || h->header_size != sizeof(*h)) {
		snprintf(why, why_len, "unsupported patch format version %u (header %u bytes); "
			 "this LibCare reads version %u", h->version, h->header_size,
			 LC_PATCH_VERSION);
		return -1;
	}
	if (h->build_id_len == 0 || h->build_id_len > LC_BUILD_ID_MAX) {
		snprintf(why, why_len, "bad target BuildID length %u", h->build_id_len);
		return -1;
	}
	if (h->payload_size != len - sizeof(*h)) {
		snprintf(why, why_len, "%s: payload is %zu bytes, header says %llu",
			 h->payload_size > len - sizeof(*h) ? "truncated" : "trailing bytes",
			 len - sizeof(*h), (unsigned long long)h->payload_size);
		return -1;
	}
	lc_sha256((const char *)file + sizeof(*h), len - sizeof(*h), sum);
	if (memcmp(sum, h->payload_sha256, sizeof(sum)) != 0) {
		snprintf(why, why_len, "checksum mismatch: the payload is corrupt");
		return -1;
	}
	/* Strings must be terminated within their fields. */
	if (!memchr(h->target_name, 0, sizeof(h->target_name)) ||
	    !memchr(h->id, 0, sizeof(h->id)) ||
	    !memchr(h->description, 0, sizeof(h->description))) {
		snprintf(why, why_len, "unterminated string in the header");
		return -1;
	}
	*hdr = h;
	*payload = (const char *)file + sizeof(*h);
	return 0;
}
