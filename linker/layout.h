/*
 * layout.h - the promise the patched link must keep: every loaded section
 * and every symbol of the original binary at the same address and size.
 */
#ifndef LIBCARE_LINKER_LAYOUT_H
#define LIBCARE_LINKER_LAYOUT_H

#include "libcare/buf.h"
#include "obj.h"

/*
 * Returns 0 if PATCHED keeps ORIGINAL's layout.  Otherwise returns -1 and
 * puts one line into `why` naming the difference at the lowest address (the
 * symbol or section that moved first, with both addresses).  Symbols are
 * compared only if ORIGINAL has a .symtab.
 */
int lc_layout_check(const struct lc_obj *orig, const struct lc_obj *patched,
		    struct lc_buf *why);

#endif
