/*
 * hunk.c - the jumps that divert each replaced function, and the region
 * header that records them (with the bytes they overwrite) in the image.
 *
 * One hunk per .kpatch.info record: `jmp rel32` (e9) written over the first
 * five bytes of the original function, to its replacement in the region.
 * A function of 2 to 4 bytes without room after it gets a `jmp rel8` to
 * such a jump in the filler before it, both in one hunk (busy.c).
 */
#include <stdlib.h>
#include <string.h>
#include "libcare/buf.h"
#include "libcare/log.h"
#include "patch.h"

int lc_jmp_encode(uint64_t from, uint64_t to, uint8_t out[LC_JMP_SIZE])
{
	int64_t rel = (int64_t)(to - (from + LC_JMP_SIZE));
	if (rel < INT32_MIN || rel > INT32_MAX)
		return -1;
	uint32_t r32 = (uint32_t)rel;
	out[0] = 0xe9;
	memcpy(out + 1, &r32, 4);
	return 0;
}

int lc_hunks_build(struct lc_patch *p, const struct lc_target *t, uint64_t region)
{
	const struct lc_layout *l = &p->layout;
	struct lc_region_header *h = (struct lc_region_header *)p->image;
	struct lc_region_hunk *hunks = (struct lc_region_hunk *)(h + 1);
	uint64_t text = region + l->text_offset;
	size_t strtab_off = sizeof(*h) + p->nrecs * sizeof(*hunks);

	memcpy(h->magic, LC_REGION_MAGIC, sizeof(h->magic));
	h->version = LC_REGION_VERSION;
	h->nhunks = (uint32_t)p->nrecs;
	h->size = l->size;
	h->target_bias = t->bias;
	h->applied = 0;
	memset(&h->journal, 0, sizeof(h->journal));
	h->journal.state = LC_REGION_PREPARING;  /* the doctor moves it on */
	h->text_offset = l->text_offset;
	h->text_size = l->text_size;
	h->data_offset = l->data_offset;
	h->data_size = l->data_size;
	h->strtab_offset = strtab_off;
	h->strtab_size = p->parts[LC_PART_STRTAB].size;
	h->eh_frame_offset = l->eh_offset;
	h->eh_frame_size = l->eh_size;
	h->eh_object_offset = l->eh_object_offset;
	h->patch = p->hdr;
	memcpy(h->signer_sha256, p->signer_sha256, sizeof(h->signer_sha256));
	memcpy(h->signer_key, p->signer_key, sizeof(h->signer_key));
	if (h->strtab_size)
		memcpy(p->image + strtab_off, p->parts[LC_PART_STRTAB].orig, h->strtab_size);

	for (size_t i = 0; i < p->nrecs; i++) {
		const struct lc_info_record *rec = lc_patch_record(p, i);
		struct lc_region_hunk *hk = &hunks[i];
		const char *name = lc_patch_func_name(p, i);

		if (rec->daddr > UINT64_MAX - LC_HUNK_MAX_BYTES || rec->daddr < t->bias)
			return lc_error("%s: function '%s' has a bad address 0x%llx", p->what, name,
					(unsigned long long)rec->daddr);
		if (rec->saddr < text || rec->saddr >= text + l->text_size ||
		    (uint64_t)rec->slen > text + l->text_size - rec->saddr)
			return lc_error("%s: replacement of '%s' lies outside %s", p->what, name,
					LC_SECTION_TEXT);
		memset(hk, 0, sizeof(*hk));
		hk->addr = rec->daddr;
		hk->new_addr = rec->saddr;
		hk->len = LC_JMP_SIZE;
		hk->old_size = rec->dlen;
		hk->new_size = rec->slen;
		hk->name = rec->name;
		if (rec->dlen < LC_JMP_SIZE) {
			/* a short function: jmp rel8 to the jump in the filler (busy.c) */
			int rc = lc_busy_short_hunk(p, t, i, hk);
			if (rc < 0)
				return -1;
			if (rc == 0)
				return lc_error("%s: function '%s' is %u bytes, too small for a %d-byte "
						"jump", p->what, name, rec->dlen, LC_JMP_SIZE);
		} else {
			if (lc_jmp_encode(hk->addr, hk->new_addr, hk->new_bytes) != 0)
				return lc_error("%s: function '%s' at 0x%llx is out of jump reach of its "
						"replacement at 0x%llx", p->what, name,
						(unsigned long long)hk->addr, (unsigned long long)hk->new_addr);
			if (t->read(t->ctx, hk->addr, hk->old_bytes, LC_JMP_SIZE) != 0)
				return lc_error("%s: cannot read function '%s' at 0x%llx", p->what, name,
						(unsigned long long)hk->addr);
		}
		for (size_t j = 0; j < i; j++)
			if (hunks[j].addr < hk->addr + hk->len && hk->addr < hunks[j].addr + hunks[j].len)
				return lc_error("%s: functions '%s' and '%s' overlap at 0x%llx", p->what,
						lc_patch_func_name(p, j), name,
						(unsigned long long)rec->daddr);
	}
	return 0;
}

int lc_patch_link(struct lc_patch *p, const struct lc_target *t, uint64_t addr)
{
	const struct lc_layout *l = &p->layout;

	p->linked = 0;
	if (addr % LC_PAGE_SIZE)
		return lc_error("%s: region address 0x%llx is not page aligned", p->what,
				(unsigned long long)addr);
	if (l->needs_low && addr + l->size > 0x80000000ull)
		return lc_error("%s: the patch has 32-bit absolute relocations and needs a region "
				"below 2 GiB, not at 0x%llx", p->what, (unsigned long long)addr);
	free(p->image);
	p->image = lc_xcalloc(1, l->size);
	if (lc_symbols_resolve(p, t, addr) != 0 || lc_relocs_apply(p, t, addr) != 0 ||
	    lc_hunks_build(p, t, addr) != 0)
		return -1;
	memcpy(p->image + l->text_offset, p->parts[LC_PART_TEXT].bytes, p->parts[LC_PART_TEXT].size);
	if (l->data_size)
		memcpy(p->image + l->data_offset, p->parts[LC_PART_DATA].bytes, l->data_size);
	if (l->eh_size)         /* the terminator is the image's zero */
		memcpy(p->image + l->eh_offset, p->parts[LC_PART_EH].bytes, l->eh_size - 4);
	p->linked = 1;
	return 0;
}
