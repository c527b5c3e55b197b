/*
 * busy.c - the .kpatch.busy records of a patch (kpatch.h): code of the
 * target that belongs to a replaced function outside its symbol, which the
 * doctor treats as busy.  Optional: patches without them have none.
 * Untrusted like the rest of the payload: checked when loaded.
 */
#include <stdlib.h>
#include <string.h>
#include "libcare/buf.h"
#include "libcare/log.h"
#include "patch.h"

int lc_busy_load(struct lc_patch *p, const void *data, size_t size)
{
	if (p->busy)
		return lc_error("%s: payload has two %s sections", p->what, LC_SECTION_BUSY);
	if (size % sizeof(struct lc_busy_record) || size > (1u << 24))
		return lc_error("%s: payload: %s is %zu bytes, not whole records", p->what,
				LC_SECTION_BUSY, size);
	p->nbusy = size / sizeof(struct lc_busy_record);
	p->busy = lc_xcalloc(p->nbusy ? p->nbusy : 1, sizeof(*p->busy));
	if (size)
		memcpy(p->busy, data, size);
	return 0;
}

/* After the info records are known: each names one, no range wraps. */
int lc_busy_check(const struct lc_patch *p)
{
	for (size_t j = 0; j < p->nbusy; j++) {
		const struct lc_busy_record *b = &p->busy[j];
		if (b->rec >= p->nrecs || b->len == 0 || b->addr + b->len < b->addr)
			return lc_error("%s: payload: %s record %zu is malformed (function %u of %zu, "
					"%u bytes at 0x%llx)", p->what, LC_SECTION_BUSY, j, b->rec,
					p->nrecs, b->len, (unsigned long long)b->addr);
	}
	return 0;
}

size_t lc_patch_nbusy(const struct lc_patch *p)
{
	return p->nbusy;
}

const struct lc_busy_record *lc_patch_busy(const struct lc_patch *p, size_t j)
{
	return j < p->nbusy ? &p->busy[j] : NULL;
}

uint32_t lc_patch_func_flags(const struct lc_patch *p, size_t i)
{
	struct lc_info_record rec;
	if (i >= p->nrecs)
		return 0;
	memcpy(&rec, p->parts[LC_PART_INFO].orig + i * sizeof(rec), sizeof(rec));
	return rec.flags;
}

int lc_busy_short_hunk(struct lc_patch *p, const struct lc_target *t, size_t i,
		       struct lc_region_hunk *hk)
{
	const char *name = lc_patch_func_name(p, i);
	const struct lc_busy_record *pad = NULL;
	for (size_t j = 0; j < p->nbusy; j++)
		if (p->busy[j].rec == i && p->busy[j].kind == LC_BUSY_PADJUMP)
			pad = &p->busy[j];
	if (!pad)
		return 0;
	/* [jmp rel32 at pad] ... [jmp rel8 at the function], one write */
	uint64_t at = t->bias + pad->addr, fn = hk->addr;
	if (pad->len != LC_JMP_SIZE || hk->old_size < 2 || at + LC_JMP_SIZE > fn ||
	    fn + 2 - at > LC_HUNK_MAX_BYTES)
		return lc_error("%s: function '%s' at 0x%llx: its jump at 0x%llx is not in the %d "
				"bytes before it", p->what, name, (unsigned long long)fn,
				(unsigned long long)at, LC_HUNK_MAX_BYTES - 2);
	hk->addr = at;
	hk->len = (uint32_t)(fn + 2 - at);
	if (t->read(t->ctx, at, hk->old_bytes, hk->len) != 0)
		return lc_error("%s: cannot read function '%s' at 0x%llx", p->what, name,
				(unsigned long long)at);
	memcpy(hk->new_bytes, hk->old_bytes, hk->len);
	if (lc_jmp_encode(at, hk->new_addr, hk->new_bytes) != 0)
		return lc_error("%s: function '%s' at 0x%llx is out of jump reach of its "
				"replacement at 0x%llx", p->what, name, (unsigned long long)fn,
				(unsigned long long)hk->new_addr);
	hk->new_bytes[fn - at] = 0xeb;
	hk->new_bytes[fn - at + 1] = (uint8_t)(int8_t)(at - (fn + 2));
	return 1;
}
