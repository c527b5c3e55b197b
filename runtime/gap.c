/*
 * gap.c - where a region of a given size can go in an address space: a
 * free, page-aligned gap within rel32 reach of the whole target object (so
 * every call and jump between the two reaches), and below 2 GiB when the
 * patch has 32-bit absolute relocations.
 *
 * Below the object is preferred (the gap under a program is usually empty,
 * and above it the heap grows); the closest fitting address wins.  A free
 * guard page is kept on both sides: an anonymous neighbour with the same
 * protection would otherwise merge with a part of the region into one
 * mapping, and the region header would no longer start a mapping, where
 * the doctor looks for it.  Used by
 * the doctor with /proc/PID/maps, and by any loader with its own map.
 */
#include "libcare/log.h"
#include "runtime.h"

#define REACH     0x7fff0000ull          /* rel32 reach, with a margin */
#define LOW_LIMIT 0x80000000ull
#define USER_TOP  0x7ffffffff000ull
#define MIN_ADDR  0x10000ull

static uint64_t page_down(uint64_t v) { return v & ~(uint64_t)(LC_PAGE_SIZE - 1); }

int lc_gap_choose(const struct lc_span *used, size_t n, uint64_t lo, uint64_t hi,
		  size_t size, int low, uint64_t *addr)
{
	uint64_t min = hi > REACH ? hi - REACH : 0;
	uint64_t max_end = lo + REACH;
	if (min < MIN_ADDR)
		min = MIN_ADDR;
	if (max_end > USER_TOP)
		max_end = USER_TOP;
	if (low && max_end > LOW_LIMIT)
		max_end = LOW_LIMIT;
	if (size == 0 || size % LC_PAGE_SIZE)
		return -1;

	uint64_t below = 0, above = 0, prev_end = 0;
	int have_below = 0, have_above = 0;
	for (size_t i = 0; i <= n; i++) {
		uint64_t gs = prev_end, ge = i < n ? used[i].start : USER_TOP;
		if (i < n && used[i].end > prev_end)
			prev_end = used[i].end;
		if (ge > USER_TOP)
			ge = USER_TOP;
		gs += LC_PAGE_SIZE;     /* guard pages */
		ge = ge > LC_PAGE_SIZE ? ge - LC_PAGE_SIZE : 0;
		if (gs < min)
			gs = min;
		uint64_t top = ge < max_end ? ge : max_end;
		if (top <= gs || top - gs < size)
			continue;
		uint64_t a = page_down(top - size);
		if (a < gs)
			continue;
		if (a + size <= lo) {
			if (!have_below || a > below)
				below = a, have_below = 1;
		} else if (a >= hi) {
			if (!have_above || a < above)
				above = a, have_above = 1;
		}
	}
	if (!have_below && !have_above)
		return -1;
	*addr = have_below ? below : above;
	return 0;
}
