/*
 * asm_ifunc.c - IFUNCs a unit defines.
 *
 * A call from patched code to an IFUNC of its own unit cannot keep the
 * original's name: ld aborts on a relocation against an STT_GNU_IFUNC
 * symbol in a non-allocated section.  Such references are treated like
 * external ones (twice -> twice.kpatch_ext); mkpatch then binds them to the
 * GOT slot the dynamic linker filled with the resolver's choice.
 *
 *	.type	twice, @gnu_indirect_function
 *	.set	twice,resolve_twice
 */
#include <string.h>
#include "asm.h"

int lc_unit_is_ifunc(const struct lc_asm_unit *u, const char *name, size_t len)
{
	for (size_t i = 0; i < u->nlines; i++) {
		struct lc_line_info li;
		const struct lc_asm_line *l = &u->lines[i];
		lc_line_classify(l->s, l->len, &li);
		if (li.kind != LC_LINE_DIRECTIVE || !lc_line_is(&li, ".type") || li.args_len <= len ||
		    memcmp(li.args, name, len) != 0)
			continue;
		const char *a = li.args + len, *end = li.args + li.args_len;
		while (a < end && (*a == ' ' || *a == '\t' || *a == ','))
			a++;
		if (end - a >= 22 && memcmp(a + 1, "gnu_indirect_function", 21) == 0)
			return 1;
	}
	return 0;
}
