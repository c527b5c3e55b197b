/*
 * Where the region goes: below a PIE program (closest first), below 2 GiB
 * for a non-PIE one with 32-bit relocations, above when nothing fits below,
 * always within rel32 reach of the whole object, never over a mapping nor
 * touching one (a free guard page on each side).
 */
#include <stdint.h>
#include "runtime.h"
#include "test.h"

#define MB (1ull << 20)
#define GB (1ull << 30)

/* Every byte of [a, a+size) within rel32 reach of every byte of [lo, hi). */
static int within_reach(uint64_t a, size_t size, uint64_t lo, uint64_t hi)
{
	int64_t up = (int64_t)(a + size - lo), down = (int64_t)(hi - a);
	return up < 0x80000000ll && down < 0x80000000ll;
}

/* Overlaps or touches a used range. */
static int overlaps(const struct lc_span *u, size_t n, uint64_t a, size_t size)
{
	for (size_t i = 0; i < n; i++)
		if (a <= u[i].end && u[i].start <= a + size)
			return 1;
	return 0;
}

int main(void)
{
	uint64_t a = 0;

	/* PIE program, heap above it, libraries far up: right below it. */
	struct lc_span pie[] = {
		{ 0x555555554000ull, 0x555555559000ull },      /* the program */
		{ 0x55555555a000ull, 0x55555557b000ull },      /* [heap] */
		{ 0x7ffff7d80000ull, 0x7ffff7fff000ull },      /* libc, ld.so */
		{ 0x7ffffffde000ull, 0x7ffffffff000ull },      /* [stack] */
	};
	CHECK(lc_gap_choose(pie, 4, 0x555555554000ull, 0x555555559000ull, 3 * 4096, 0, &a) == 0);
	CHECK(a == 0x555555554000ull - 4096 - 3 * 4096);

	/* Something mapped just below: the next gap down, a guard page apart. */
	struct lc_span pie2[] = {
		{ 0x555555550000ull, 0x555555552000ull },
		{ 0x555555554000ull, 0x555555559000ull },
		{ 0x7ffff7d80000ull, 0x7ffff7fff000ull },
	};
	CHECK(lc_gap_choose(pie2, 3, 0x555555554000ull, 0x555555559000ull, 3 * 4096, 0, &a) == 0);
	CHECK(a == 0x555555550000ull - 4096 - 3 * 4096 && !overlaps(pie2, 3, a, 3 * 4096));
	/* the 2-page gap cannot hold a page and its two guards: next gap down */
	CHECK(lc_gap_choose(pie2, 3, 0x555555554000ull, 0x555555559000ull, 4096, 0, &a) == 0);
	CHECK(a == 0x555555550000ull - 2 * 4096);
	/* a 3-page gap can */
	struct lc_span pie3[] = {
		{ 0x555555550000ull, 0x555555551000ull },
		{ 0x555555554000ull, 0x555555559000ull },
	};
	CHECK(lc_gap_choose(pie3, 2, 0x555555554000ull, 0x555555559000ull, 4096, 0, &a) == 0);
	CHECK(a == 0x555555552000ull);

	/* Non-PIE at 0x400000 with 32-bit relocations: below it, below 2 GiB. */
	struct lc_span nopie[] = {
		{ 0x400000, 0x405000 }, { 0x405000, 0x426000 },
		{ 0x7ffff7d80000ull, 0x7ffff7fff000ull },
	};
	CHECK(lc_gap_choose(nopie, 3, 0x400000, 0x405000, 8192, 1, &a) == 0);
	CHECK(a == 0x400000 - 4096 - 8192);

	/* Nothing free below (down to the minimum address): above, at the top
	 * of the first gap that fits, within reach. */
	struct lc_span full[] = {
		{ 0x10000, 0x400000 }, { 0x400000, 0x405000 }, { 0x405000, 0x426000 },
		{ 0x7ffff7d80000ull, 0x7ffff7fff000ull },
	};
	CHECK(lc_gap_choose(full, 4, 0x400000, 0x405000, 8192, 1, &a) == 0);
	CHECK(a + 8192 == 0x80000000ull && !overlaps(full, 4, a, 8192));
	CHECK(lc_gap_choose(full, 4, 0x400000, 0x405000, 8192, 0, &a) == 0);
	CHECK(within_reach(a, 8192, 0x400000, 0x405000) && !overlaps(full, 4, a, 8192) && a >= 0x426000);

	/* A library far up with everything around it used within reach: none. */
	uint64_t lib = 0x7f0000000000ull;
	struct lc_span crowded[] = {
		{ lib - 3 * GB, lib }, { lib, lib + 2 * MB }, { lib + 2 * MB, lib + 3 * GB },
	};
	CHECK(lc_gap_choose(crowded, 3, lib, lib + 2 * MB, 4096, 0, &a) == -1);
	/* ... and with 32-bit relocations, a library far up cannot be reached */
	struct lc_span lonely[] = { { lib, lib + 2 * MB } };
	CHECK(lc_gap_choose(lonely, 1, lib, lib + 2 * MB, 4096, 1, &a) == -1);
	CHECK(lc_gap_choose(lonely, 1, lib, lib + 2 * MB, 4096, 0, &a) == 0 && a == lib - 2 * 4096);

	/* A huge object: the region must reach both its ends. */
	struct lc_span big[] = { { 0x10000000, 0x10000000 + GB + GB / 2 } };
	CHECK(lc_gap_choose(big, 1, 0x10000000, 0x10000000 + GB + GB / 2, 4096, 0, &a) == 0);
	CHECK(within_reach(a, 4096, 0x10000000, 0x10000000 + GB + GB / 2));

	/* Sizes that are not whole pages are refused. */
	CHECK(lc_gap_choose(pie, 4, 0x555555554000ull, 0x555555559000ull, 100, 0, &a) == -1);
	return TEST_DONE();
}
