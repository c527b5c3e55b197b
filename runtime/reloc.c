/*
 * reloc.c - applying the payload's relocations into the local copies of
 * its sections, for a region at a given address.
 *
 * A PC32/PLT32 call or jump (e8/e9, ff 15/ff 25) whose target is out of
 * rel32 reach goes through its stub in the text part:
 *
 *	stub:	ff 25 00 00 00 00	jmp *slot(%rip)
 *	slot:	.quad target
 *
 * A direct call is redirected to the stub; an indirect one (through a
 * pointer at M) is pointed at the slot, which then holds the pointer read
 * from M at link time.  Any other overflow is an error naming the
 * relocation, the symbol and the function.
 */
#include <elf.h>
#include <string.h>
#include "libcare/log.h"
#include "patch.h"

static uint64_t part_addr(const struct lc_patch *p, int part, uint64_t region)
{
	switch (part) {
	case LC_PART_TEXT: return region + p->layout.text_offset;
	case LC_PART_DATA: return region + p->layout.data_offset;
	case LC_PART_EH: return region + p->layout.eh_offset;
	default: return 0;
	}
}

static int fits_s32(int64_t v) { return v >= INT32_MIN && v <= INT32_MAX; }

static void put32(uint8_t *at, uint32_t v) { memcpy(at, &v, 4); }
static void put64(uint8_t *at, uint64_t v) { memcpy(at, &v, 8); }

static int reloc_overflow(const struct lc_patch *p, const struct lc_rela *r, uint64_t value)
{
	const struct lc_sym *s = &p->syms[r->sym];
	const char *func = r->part == LC_PART_TEXT ? lc_patch_func_at(p, r->offset) : "-";
	return lc_error("%s: relocation %s at %s+0x%llx against '%s'%+lld in function '%s' "
			"overflows (value 0x%llx)", p->what, lc_reloc_type_name(r->type),
			lc_part_names[r->part], (unsigned long long)r->offset,
			*s->name ? s->name : "(section)", (long long)r->addend, func,
			(unsigned long long)value);
}

/* Fills the stub of r and returns the address its rel32 must reach. */
static int stub_fill(struct lc_patch *p, const struct lc_rela *r, const struct lc_target *t,
		     uint64_t region, uint64_t target, uint64_t *dest)
{
	size_t off = p->layout.stubs_offset + (size_t)r->stub * LC_STUB_SIZE;
	uint8_t *stub = p->image + off;
	uint64_t slot_value = target;

	if (r->indirect && t->read(t->ctx, target, &slot_value, 8) != 0)
		return lc_error("%s: cannot read the pointer at 0x%llx for the indirect call at "
				"%s+0x%llx in function '%s'", p->what, (unsigned long long)target,
				lc_part_names[r->part], (unsigned long long)r->offset,
				lc_patch_func_at(p, r->offset));
	static const uint8_t jmp[6] = { 0xff, 0x25, 0, 0, 0, 0 };
	memcpy(stub, jmp, sizeof(jmp));
	put64(stub + 6, slot_value);
	memset(stub + 14, 0xcc, LC_STUB_SIZE - 14);
	*dest = region + off + (r->indirect ? 6 : 0);
	return 0;
}

static int reloc_apply(struct lc_patch *p, const struct lc_rela *r, const struct lc_target *t,
		       uint64_t region)
{
	uint8_t *at = p->parts[r->part].bytes + r->offset;
	uint64_t S = p->syms[r->sym].addr, A = (uint64_t)r->addend;
	uint64_t P = part_addr(p, r->part, region) + r->offset;
	uint64_t v;

	if (lc_tls_reloc(r->type))
		return lc_tls_apply(p, r, t, at);
	if (p->syms[r->sym].is_target && t->hi) {
		/* "the target's code or data at V": inside the target object (a
		 * PC-relative field's addend is V - 4 - the bytes after it) */
		uint64_t at_v = S + A;
		if (at_v + 8 < t->lo || at_v > t->hi)
			return lc_error("%s: relocation %s at %s+0x%llx points to 0x%llx, outside the "
					"target object (0x%llx-0x%llx); refused", p->what,
					lc_reloc_type_name(r->type), lc_part_names[r->part],
					(unsigned long long)r->offset, (unsigned long long)at_v,
					(unsigned long long)t->lo, (unsigned long long)t->hi);
	}
	switch (r->type) {
	case R_X86_64_64:
		put64(at, S + A);
		return 0;
	case R_X86_64_PC64:
		put64(at, S + A - P);
		return 0;
	case R_X86_64_32:
		v = S + A;
		if (v > UINT32_MAX)
			return reloc_overflow(p, r, v);
		put32(at, (uint32_t)v);
		return 0;
	case R_X86_64_32S:
		v = S + A;
		if (!fits_s32((int64_t)v))
			return reloc_overflow(p, r, v);
		put32(at, (uint32_t)v);
		return 0;
	case R_X86_64_PC32:
	case R_X86_64_PLT32:
		v = S + A - P;
		if (fits_s32((int64_t)v)) {
			put32(at, (uint32_t)v);
			return 0;
		}
		if (r->stub < 0)
			return reloc_overflow(p, r, v);
		/* The field ends the instruction: its target is P + 4 + v. */
		uint64_t dest = 0;
		if (stub_fill(p, r, t, region, S + A + 4, &dest) != 0)
			return -1;
		v = dest - (P + 4);
		if (!fits_s32((int64_t)v))
			return reloc_overflow(p, r, v);
		put32(at, (uint32_t)v);
		return 0;
	}
	return lc_error("%s: relocation type %u not supported", p->what, r->type);
}

int lc_relocs_apply(struct lc_patch *p, const struct lc_target *t, uint64_t region)
{
	for (int i = 0; i < LC_NPARTS; i++)
		if (p->parts[i].size)
			memcpy(p->parts[i].bytes, p->parts[i].orig, p->parts[i].size);
	for (size_t i = 0; i < p->nrelas; i++)
		if (reloc_apply(p, &p->relas[i], t, region) != 0)
			return -1;
	return 0;
}
