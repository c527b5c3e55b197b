/*
 * debuginfo.h - the symbols of a stripped binary from its separate debug
 * file (a Debian -dbgsym package's /usr/lib/debug/.build-id/xx/yyyy.debug,
 * or `objcopy --only-keep-debug` output), found by GNU BuildID.
 */
#ifndef LIBCARE_LINKER_DEBUGINFO_H
#define LIBCARE_LINKER_DEBUGINFO_H

#include "libcare/buf.h"
#include "obj.h"

/*
 * Where to look: `file` (--debug-file) if given, else the build-id tree of
 * `dir` (--debug-dir), else of $LIBCARE_DEBUG_ROOT, else of /usr/lib/debug,
 * then the .gnu_debuglink name beside the binary and in its .debug/.
 */
struct lc_debug_opts {
	const char *file;
	const char *dir;
};

/*
 * If `o` has no .symtab, loads it from the debug file whose BuildID is the
 * binary's, with section indices mapped to `o`'s sections by name.
 * Returns 1 if symbols were loaded, 0 if `o` needs none or no debug file
 * was found (`looked` then lists where), -1 on an error (logged: a given
 * --debug-file that is missing or belongs to another build).
 */
int lc_debuginfo_load(struct lc_obj *o, const char *what, const struct lc_debug_opts *opts,
		      struct lc_buf *looked);

#endif
