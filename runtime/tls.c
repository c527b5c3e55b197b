/*
 * tls.c - thread-local values in patch code.
 *
 * The payload uses the dynamic linker's own TLS relocation types, with the
 * same meaning, against either __libcare_target (a variable of the target
 * object: the addend holds its offset in the object's TLS block) or an
 * import of type STT_TLS (a variable of another object):
 *
 *	R_X86_64_DTPMOD64   module id of the object        (tls_index.ti_module)
 *	R_X86_64_DTPOFF64/32  offset in its block + A      (tls_index.ti_offset)
 *	R_X86_64_TPOFF64/32   offset + A - block's static TLS offset (%fs-relative)
 *
 * The module id and the static offset are facts of the running process,
 * asked of the target (the doctor reads them from the object's own GOT
 * slots in the patient).  Every thread then computes its own address from
 * them, exactly as the original code does.
 */
#include <elf.h>
#include <stdio.h>
#include <string.h>
#include "libcare/log.h"
#include "patch.h"

int lc_tls_reloc(uint32_t type)
{
	switch (type) {
	case R_X86_64_DTPMOD64: case R_X86_64_DTPOFF64: case R_X86_64_DTPOFF32:
	case R_X86_64_TPOFF64: case R_X86_64_TPOFF32:
		return 1;
	default:
		return 0;
	}
}

int lc_tls_apply(struct lc_patch *p, const struct lc_rela *r, const struct lc_target *t,
		 uint8_t *at)
{
	const struct lc_sym *s = &p->syms[r->sym];
	const char *name = s->is_target ? NULL : s->import;
	const char *what = s->is_target ? "the target's thread-local storage" : s->name;
	struct lc_tls tls;
	char where[300];
	memset(&tls, 0, sizeof(tls));
	if (r->part == LC_PART_TEXT)
		snprintf(where, sizeof(where), "function '%s'", lc_patch_func_at(p, r->offset));
	else
		snprintf(where, sizeof(where), "%s+0x%llx", lc_part_names[r->part],
			 (unsigned long long)r->offset);

	if (!t->tls)
		return lc_error("%s: %s relocation for %s: this target cannot tell TLS modules",
				p->what, lc_reloc_type_name(r->type), what);
	int rc = t->tls(t->ctx, name, s->is_target ? NULL : s->version, &tls);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return lc_error("%s: thread-local '%s' used in %s is not defined in any object "
				"of the process", p->what, s->name, where);
	int64_t v;
	switch (r->type) {
	case R_X86_64_DTPMOD64:
		if (!tls.modid)
			return lc_error("%s: the TLS module id of %s is unknown (its code has no "
					"general- or local-dynamic TLS access to copy it from), needed "
					"by %s", p->what, tls.object, where);
		memcpy(at, &tls.modid, 8);
		return 0;
	case R_X86_64_DTPOFF64:
	case R_X86_64_DTPOFF32:
		v = (int64_t)tls.value + r->addend;
		break;
	default:   /* TPOFF64/32 */
		if (!tls.has_offset)
			return lc_error("%s: the static TLS offset of %s is unknown (its code has no "
					"initial-exec TLS access to copy it from, or it was loaded with "
					"dlopen), needed by %s", p->what, tls.object, where);
		v = (int64_t)tls.value + r->addend - tls.offset;
		break;
	}
	if (r->type == R_X86_64_DTPOFF64 || r->type == R_X86_64_TPOFF64) {
		memcpy(at, &v, 8);
		return 0;
	}
	if (v < INT32_MIN || v > INT32_MAX)
		return lc_error("%s: %s value %lld for %s in %s does not fit 32 bits", p->what,
				lc_reloc_type_name(r->type), (long long)v, what, where);
	int32_t v32 = (int32_t)v;
	memcpy(at, &v32, 4);
	return 0;
}
