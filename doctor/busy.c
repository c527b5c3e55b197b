/*
 * busy.c - the code ranges in which a thread is "inside" the functions a
 * patch replaces (stack.c checks every thread against them):
 *
 *   - each function from its second byte to its end: a thread at its first
 *     byte takes the jump into the replacement, unless the function's own
 *     code jumps back to its entry (LC_INFO_ENTRY_BUSY: the entry is a loop
 *     head, a thread there may be mid-loop): then from its first byte;
 *   - the pieces of it that live elsewhere (.kpatch.busy: `foo.cold`, ...),
 *     found by mkpatch from the original's decoded code.
 *
 *   - a short function's hunk (a `jmp rel8` to a jump in the filler before
 *     it): all its bytes, the filler jump included.
 *
 * A patch file from before these records gives the hunks alone.  On
 * unpatch (lc_region_busy_ranges) the replacement code is busy, and the
 * jump in the filler of a short function: a thread about to run it would
 * run filler once it is restored.
 */
#include "libcare/kpatch.h"
#include "doctor.h"

size_t lc_patch_busy_count(const struct lc_patch *p, const struct lc_region_header *h)
{
	return h->nhunks + lc_patch_nbusy(p);
}

size_t lc_patch_busy_ranges(const struct lc_patch *p, const struct lc_region_header *h,
			    struct lc_range *out)
{
	size_t n = 0;
	for (uint32_t i = 0; i < h->nhunks; i++) {
		const struct lc_region_hunk *hk = lc_region_hunk(h, i);
		int entry = (lc_patch_func_flags(p, i) & LC_INFO_ENTRY_BUSY) != 0;
		if (hk->len != LC_JMP_SIZE)     /* a short jump and its pad: all of it */
			out[n++] = (struct lc_range){ hk->addr, hk->addr + hk->len,
						      lc_patch_func_name(p, i), 0 };
		else
			out[n++] = (struct lc_range){ hk->addr + (entry ? 0 : 1),
						      hk->addr + hk->old_size,
						      lc_patch_func_name(p, i), 0 };
	}
	for (size_t j = 0; j < lc_patch_nbusy(p); j++) {
		const struct lc_busy_record *b = lc_patch_busy(p, j);
		if (b->rec >= h->nhunks || b->kind == LC_BUSY_PADJUMP)
			continue;
		out[n++] = (struct lc_range){ h->target_bias + b->addr,
					      h->target_bias + b->addr + b->len,
					      lc_patch_func_name(p, b->rec), 0 };
	}
	return n;
}

size_t lc_region_busy_ranges(const struct lc_region_header *h, struct lc_range *out)
{
	size_t n = 0;
	for (uint32_t i = 0; i < h->nhunks; i++) {
		const struct lc_region_hunk *hk = lc_region_hunk(h, i);
		if (hk->len != LC_JMP_SIZE)
			out[n++] = (struct lc_range){ hk->addr, hk->addr + hk->len,
						      lc_region_name(h, hk->name), 0 };
	}
	return n;
}
