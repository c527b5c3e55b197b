/*
 * textrel.c - refusing an ORIGINAL with text relocations.
 *
 * A shared library built without -fPIC (gcc -fno-pic -mcmodel=large
 * -shared, or hand-written assembly) gets DT_TEXTREL: the dynamic linker
 * writes addresses into its code when it loads it.  Its text in a process
 * is then not the text of the file: the bytes a jump replaces and the code
 * a patch is made from differ per process, and the pages may be shared
 * only until written.  Such an object is refused by name, before anything
 * else is compared.
 */
#include <gelf.h>
#include "libcare/log.h"
#include "textrel.h"

int lc_textrel_check(const struct lc_obj *o, const char *what)
{
	size_t dyn = lc_obj_section_index(o, ".dynamic");
	Elf_Data *d = dyn ? lc_obj_section_data(o, dyn) : NULL;
	for (size_t i = 0; d && i < d->d_size / sizeof(Elf64_Dyn); i++) {
		GElf_Dyn e;
		if (!gelf_getdyn(d, (int)i, &e))
			break;
		if (e.d_tag == DT_TEXTREL || (e.d_tag == DT_FLAGS && (e.d_un.d_val & DF_TEXTREL)))
			return lc_error("%s '%s' has text relocations (DT_TEXTREL): its code is "
					"rewritten when it is loaded and cannot be live-patched; "
					"build it with -fPIC", what, o->path);
	}
	return 0;
}
