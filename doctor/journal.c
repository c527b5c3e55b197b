/*
 * journal.c - the state of an operation, kept in the patient's region
 * header (struct lc_region_journal in include/libcare/region.h) and
 * written there before each step it describes:
 *
 *   patch:    PREPARING (in the image as it is written)
 *             -> SWITCHING, done = jumps written so far -> APPLIED
 *   upgrade:  the old level's region -> UNPATCHING (other = the new one)
 *   unpatch:  UNPATCHING, done = hunks restored so far; then the region goes
 *
 * `done` only informs (info's "half applied"): it is not written after the
 * last jump or restore, which APPLIED or the region's end follows at once
 * (one write less in the stop).
 *
 * A doctor killed at any instant thus leaves a state the next one reads;
 * the bytes at each hunk (its old bytes or its jump) are the final truth.
 * Each write is one pwrite of 48 bytes inside the header's first page, so
 * it lands whole or not at all.
 */
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include "libcare/log.h"
#include "doctor.h"

int lc_journal_write(struct lc_proc *pr, uint64_t addr, const struct lc_region_header *h,
		     uint32_t state, uint32_t done, uint64_t other)
{
	/* A version 1 region has no journal: its hunks are where it would be. */
	if (h && h->version < 2)
		return 0;
	struct lc_region_journal j;
	memset(&j, 0, sizeof(j));
	j.state = state;
	j.done = done;
	j.doctor = (uint32_t)getpid();
	j.other = other;
	return lc_mem_write(pr, addr + offsetof(struct lc_region_header, journal), &j, sizeof(j));
}

uint32_t lc_journal_jumps(struct lc_proc *pr, const struct lc_region_header *h)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < h->nhunks; i++) {
		const struct lc_region_hunk *hk = lc_region_hunk(h, i);
		uint8_t now[LC_HUNK_MAX_BYTES];
		if (lc_mem_read(pr, hk->addr, now, hk->len) == 0 &&
		    memcmp(now, hk->new_bytes, hk->len) == 0)
			n++;
	}
	return n;
}
