/*
 * symbol.c - giving every payload symbol its run-time address:
 * section-relative symbols from the region address, LC_SYM_TARGET from the
 * target's load bias, imports ("name" or "name@VERSION") through the
 * target's lookup callback.
 */
#include <elf.h>
#include "libcare/log.h"
#include "patch.h"

static uint64_t part_addr(const struct lc_patch *p, int part, uint64_t region)
{
	switch (part) {
	case LC_PART_TEXT: return region + p->layout.text_offset;
	case LC_PART_DATA: return region + p->layout.data_offset;
	case LC_PART_EH: return region + p->layout.eh_offset;
	default: return 0;      /* info and strtab are not placed */
	}
}

static int symbol_import(const struct lc_patch *p, struct lc_sym *s, const struct lc_target *t)
{
	struct lc_import imp = { 0, 0 };
	if (s->type == STT_GNU_IFUNC && s->value) {
		/* the target's own IFUNC: what its GOT slot at link-time value holds */
		uint64_t slot = 0;
		if (t->read(t->ctx, t->bias + s->value, &slot, 8) != 0)
			return -1;
		if (!slot)
			return lc_error("%s: IFUNC '%s': its GOT slot at 0x%llx is empty", p->what,
					s->import, (unsigned long long)(t->bias + s->value));
		s->addr = slot;
		return 0;
	}
	int rc = t->lookup(t->ctx, s->import, s->version, &imp);

	if (rc < 0)
		return -1;
	if (rc == 0) {
		if (s->weak) {
			s->addr = 0;
			return 0;
		}
		return lc_error("%s: import '%s%s%s' is not defined in any object of the process",
				p->what, s->import, s->version ? "@" : "", s->version ? s->version : "");
	}
	if (imp.ifunc)
		return lc_error("%s: import '%s' is an IFUNC: not supported yet", p->what, s->name);
	s->addr = imp.addr;
	return 0;
}

int lc_symbols_resolve(struct lc_patch *p, const struct lc_target *t, uint64_t region)
{
	for (size_t i = 0; i < p->nsyms; i++) {
		struct lc_sym *s = &p->syms[i];
		if (s->part >= 0)
			s->addr = part_addr(p, s->part, region) + s->value;
		else if (s->part == -2)
			s->addr = s->value;
		else if (s->is_target)
			s->addr = t->bias;
		else if (s->import && s->used && s->type != STT_TLS) {   /* TLS: tls.c */
			if (symbol_import(p, s, t) != 0)
				return -1;
		} else
			s->addr = 0;
	}
	return 0;
}
