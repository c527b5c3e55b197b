/*
 * layout.c - where the parts of a patch go inside its region:
 *
 *   [region header | hunks | names]   r--   page aligned
 *   [.kpatch.text | far-call stubs | .kpatch.eh_frame, 0]   r-x   page aligned
 *   [.kpatch.data | libgcc's object for the eh_frame]     rw-   page aligned
 *                                                 (absent if both are empty)
 *
 * Stubs are reserved here (one per distinct call target outside the patch,
 * see load.c) because the region's address, hence which calls reach their
 * target, is only known at link time.
 */
#include <elf.h>
#include "libcare/log.h"
#include "patch.h"

static size_t align_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

int lc_layout_compute(struct lc_patch *p)
{
	struct lc_layout *l = &p->layout;
	size_t strtab = p->parts[LC_PART_STRTAB].size;

	l->header_size = align_up(sizeof(struct lc_region_header) +
				  p->nrecs * sizeof(struct lc_region_hunk) + strtab, LC_PAGE_SIZE);
	l->text_offset = l->header_size;
	l->stubs_offset = align_up(p->parts[LC_PART_TEXT].size, LC_STUB_SIZE);
	l->nstubs = p->nstubs;
	l->text_size = l->stubs_offset + p->nstubs * LC_STUB_SIZE;
	l->stubs_offset += l->text_offset;
	/* unwind information: read only, terminated by a zero length */
	l->eh_offset = l->text_offset + align_up(l->text_size, 8);
	l->eh_size = p->parts[LC_PART_EH].size ? p->parts[LC_PART_EH].size + 4 : 0;
	l->data_offset = l->text_offset + align_up(l->eh_offset + l->eh_size - l->text_offset,
						   LC_PAGE_SIZE);
	l->data_size = p->parts[LC_PART_DATA].size;
	l->eh_object_offset = l->eh_size ? l->data_offset + align_up(l->data_size, 16) : 0;
	l->size = l->data_offset + align_up(l->eh_size ? l->eh_object_offset - l->data_offset +
					    LC_EH_OBJECT_SIZE : l->data_size, LC_PAGE_SIZE);
	l->needs_low = 0;
	/* what a later doctor accepts back from the patient (lc_region_parse) */
	if (p->nrecs > (1u << 16) || l->size > (256u << 20))
		return lc_error("%s: the patch is too large (%zu functions, a %zu-byte region)",
				p->what, p->nrecs, l->size);
	/* a 32-bit absolute address; not a constant (symbol 0 or SHN_ABS, e.g.
	 * the TP offset of a variable of the program) */
	for (size_t i = 0; i < p->nrelas; i++)
		if ((p->relas[i].type == R_X86_64_32 || p->relas[i].type == R_X86_64_32S) &&
		    p->relas[i].sym != 0 && p->syms[p->relas[i].sym].part != -2)
			l->needs_low = 1;
	return 0;
}
