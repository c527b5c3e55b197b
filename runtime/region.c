/*
 * region.c - reading back a region header from the patient's memory: what a
 * later doctor run (info, unpatch) trusts only after these bounds checks.
 */
#include <stdio.h>
#include <string.h>
#include "runtime.h"

const struct lc_region_header *lc_region_parse(const void *buf, size_t len,
					       char *why, size_t why_len)
{
	const struct lc_region_header *h = buf;

	if (len < LC_REGION_V1_HEADER_SIZE ||
	    memcmp(h->magic, LC_REGION_MAGIC, sizeof(h->magic)) != 0) {
		snprintf(why, why_len, "no region magic");
		return NULL;
	}
	if (h->version < 1 || h->version > LC_REGION_VERSION) {
		snprintf(why, why_len, "region format version %u (this LibCare reads 1 to %u)",
			 h->version, LC_REGION_VERSION);
		return NULL;
	}
	/* every size and offset checked without overflow: the bytes come from
	 * a process's memory, which its owner can write */
	uint64_t hunks_end = lc_region_header_size(h) +
			     (uint64_t)h->nhunks * sizeof(struct lc_region_hunk);
	if (h->nhunks == 0 || h->nhunks > (1u << 16) || hunks_end > len ||
	    h->strtab_offset < hunks_end || h->strtab_offset > len ||
	    h->strtab_size > len - h->strtab_offset || h->size % LC_PAGE_SIZE ||
	    h->size == 0 || h->size > (1ull << 32) ||
	    h->text_offset > h->size || h->text_size > h->size - h->text_offset ||
	    h->data_offset > h->size || h->data_size > h->size - h->data_offset ||
	    h->text_offset < h->strtab_offset + h->strtab_size ||
	    (lc_region_eh_size(h) && (h->eh_frame_offset < h->text_offset ||
				  h->eh_frame_offset > h->data_offset ||
				  h->eh_frame_size > h->data_offset - h->eh_frame_offset ||
				  h->eh_object_offset < h->data_offset ||
				  h->eh_object_offset > h->size ||
				  LC_EH_OBJECT_SIZE > h->size - h->eh_object_offset))) {
		snprintf(why, why_len, "region header out of bounds");
		return NULL;
	}
	const struct lc_patch_header *ph = &h->patch;
	char fwhy[200];
	if (memcmp(ph->magic, LC_PATCH_MAGIC, sizeof(ph->magic)) != 0 ||
	    lc_patchfile_header_fields(ph, fwhy, sizeof(fwhy)) != 0) {
		snprintf(why, why_len, "its copy of the patch header is malformed");
		return NULL;
	}
	for (size_t i = 0; h->version >= 4 && i < sizeof(h->signer_key) && h->signer_key[i]; i++)
		if (h->signer_key[i] < 0x20 || h->signer_key[i] > 0x7e || i == sizeof(h->signer_key) - 1) {
			snprintf(why, why_len, "its signer name is malformed");
			return NULL;
		}
	for (uint32_t i = 0; i < h->nhunks; i++) {
		const struct lc_region_hunk *hk = lc_region_hunk(h, i);
		if (hk->len == 0 || hk->len > LC_HUNK_MAX_BYTES || hk->name >= h->strtab_size ||
		    hk->addr > UINT64_MAX - hk->len) {
			snprintf(why, why_len, "region hunk %u is malformed", i);
			return NULL;
		}
	}
	if (h->strtab_size && ((const char *)buf)[h->strtab_offset + h->strtab_size - 1] != '\0') {
		snprintf(why, why_len, "region names are not terminated");
		return NULL;
	}
	return h;
}

size_t lc_region_header_size(const struct lc_region_header *h)
{
	return h->version == 1 ? LC_REGION_V1_HEADER_SIZE :
	       h->version == 2 ? LC_REGION_V2_HEADER_SIZE :
	       h->version == 3 ? LC_REGION_V3_HEADER_SIZE : sizeof(*h);
}

uint64_t lc_region_eh_size(const struct lc_region_header *h)
{
	return h->version >= 3 ? h->eh_frame_size : 0;
}

const struct lc_region_hunk *lc_region_hunk(const struct lc_region_header *h, uint32_t i)
{
	return (const struct lc_region_hunk *)((const uint8_t *)h + lc_region_header_size(h)) + i;
}

uint32_t lc_region_state(const struct lc_region_header *h)
{
	return h->version == 1 ? LC_REGION_APPLIED : h->journal.state;
}

const char *lc_region_state_name(uint32_t state)
{
	switch (state) {
	case LC_REGION_PREPARING: return "preparing";
	case LC_REGION_SWITCHING: return "switching";
	case LC_REGION_APPLIED: return "applied";
	case LC_REGION_UNPATCHING: return "unpatching";
	case LC_REGION_RETIRED: return "retired";
	}
	return "unknown";
}

const char *lc_region_name(const struct lc_region_header *h, uint32_t off)
{
	if (off >= h->strtab_size)
		return "?";
	return (const char *)h + h->strtab_offset + off;
}
