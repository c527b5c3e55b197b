/*
 * cfi_unwind.c - one frame of patch code unwound with the region's own
 * unwind information: the doctor's stack check knows where a thread leaves
 * a patch function instead of guessing it from the stack words (stack.c).
 *
 * libdwfl knows the objects of /proc/PID/maps, not the anonymous patch
 * region: its unwinding stops at a patch frame, or goes on by the frame
 * pointer, a guess.  The registers it had in that frame (rsp, rbp:
 * unwind.c keeps them) are given here, with the region the busy range lies
 * in (struct lc_range).  Its .kpatch.eh_frame is read through
 * /proc/PID/mem and the FDE for the pc interpreted up to the pc.  Only what
 * the plugin writes is understood (asm_cfi.c: absolute pointers; def_cfa, def_cfa_offset,
 * def_cfa_register, offset, restore, remember/restore_state, advance_loc*;
 * a CFA given by expression is not); anything else is "unknown", and the
 * caller guesses as before.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "libcare/buf.h"
#include "libcare/log.h"
#include "doctor.h"

#define CFI_EH_MAX (1u << 20)

struct cfi_state {
	uint64_t cfa_reg, cfa_off;
};

/* LEB128 readers of DWARF CFI and LSDA bytes (cfi_unwind.c, tramp_cfi.c):
 * 0, or -1 when the number runs past e. */
int lc_rd_uleb(const uint8_t **p, const uint8_t *e, uint64_t *v)
{
	unsigned shift = 0;
	*v = 0;
	while (*p < e && shift < 64) {
		uint8_t b = *(*p)++;
		*v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80))
			return 0;
	}
	return -1;
}

int lc_rd_sleb(const uint8_t **p, const uint8_t *e, int64_t *v)
{
	unsigned shift = 0;
	uint8_t b = 0x80;
	uint64_t u = 0;
	while (*p < e && (b & 0x80) && shift < 64) {
		b = *(*p)++;
		u |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
	}
	if (b & 0x80)
		return -1;
	if (shift < 64 && (b & 0x40))
		u |= ~(uint64_t)0 << shift;
	*v = (int64_t)u;
	return 0;
}

/* Runs the instructions [p, e) from location `loc` up to `pc` (exclusive of
 * instructions for later locations).  0, or -1 for anything not understood. */
static int cfi_run(const uint8_t *p, const uint8_t *e, uint64_t loc, uint64_t pc,
		   struct cfi_state *s)
{
	struct cfi_state stack[16];
	int depth = 0;
	while (p < e) {
		uint8_t op = *p++;
		uint64_t a, b;
		int64_t sb;
		uint32_t d4;
		switch (op & 0xc0) {
		case 0x40:              /* advance_loc */
			loc += op & 0x3f;
			if (loc > pc)
				return 0;
			continue;
		case 0x80:              /* offset: a saved register, not needed */
			if (lc_rd_uleb(&p, e, &a) != 0)
				return -1;
			continue;
		case 0xc0:              /* restore */
			continue;
		}
		switch (op) {
		case 0x00:              /* nop */
			break;
		case 0x02: case 0x03: case 0x04:   /* advance_loc1/2/4 */
			if (e - p < (op == 0x02 ? 1 : op == 0x03 ? 2 : 4))
				return -1;
			d4 = 0;
			memcpy(&d4, p, op == 0x02 ? 1 : op == 0x03 ? 2 : 4);
			p += op == 0x02 ? 1 : op == 0x03 ? 2 : 4;
			loc += d4;
			if (loc > pc)
				return 0;
			break;
		case 0x05:              /* offset_extended */
			if (lc_rd_uleb(&p, e, &a) != 0 || lc_rd_uleb(&p, e, &b) != 0)
				return -1;
			break;
		case 0x06: case 0x07: case 0x08:   /* restore_ext, undefined, same_value */
			if (lc_rd_uleb(&p, e, &a) != 0)
				return -1;
			break;
		case 0x09:              /* register */
			if (lc_rd_uleb(&p, e, &a) != 0 || lc_rd_uleb(&p, e, &b) != 0)
				return -1;
			break;
		case 0x0a:
			if (depth == 16)
				return -1;
			stack[depth++] = *s;
			break;
		case 0x0b:
			if (depth == 0)
				return -1;
			*s = stack[--depth];
			break;
		case 0x0c:              /* def_cfa */
			if (lc_rd_uleb(&p, e, &s->cfa_reg) != 0 || lc_rd_uleb(&p, e, &s->cfa_off) != 0)
				return -1;
			break;
		case 0x0d:
			if (lc_rd_uleb(&p, e, &s->cfa_reg) != 0)
				return -1;
			break;
		case 0x0e:
			if (lc_rd_uleb(&p, e, &s->cfa_off) != 0)
				return -1;
			break;
		case 0x11:              /* offset_extended_sf */
			if (lc_rd_uleb(&p, e, &a) != 0 || lc_rd_sleb(&p, e, &sb) != 0)
				return -1;
			break;
		default:
			return -1;      /* expressions, GNU extensions: not ours */
		}
	}
	return 0;
}

int lc_cfi_frame_exit(int memfd, uint64_t base, uint64_t pc, uint64_t sp, uint64_t bp,
		      uint64_t *ret, uint64_t *slot)
{
	struct lc_region_header h;
	*ret = 0;
	*slot = 0;
	if (memfd < 0 || pread(memfd, &h, sizeof(h), (off_t)base) != (ssize_t)sizeof(h) ||
	    memcmp(h.magic, LC_REGION_MAGIC, sizeof(h.magic)) != 0 ||
	    h.version != LC_REGION_VERSION || !h.eh_frame_size ||
	    h.eh_frame_size > CFI_EH_MAX || pc < base + h.text_offset ||
	    pc >= base + h.text_offset + h.text_size)
		return -1;
	uint8_t *eh = lc_xmalloc(h.eh_frame_size);
	int rc = -1;
	if (pread(memfd, eh, h.eh_frame_size, (off_t)(base + h.eh_frame_offset)) !=
	    (ssize_t)h.eh_frame_size)
		goto out;
	for (size_t off = 0; off + 8 <= h.eh_frame_size;) {
		uint32_t len, id;
		memcpy(&len, eh + off, 4);
		if (len == 0 || len == 0xffffffffu || len > h.eh_frame_size - off - 4)
			break;
		memcpy(&id, eh + off + 4, 4);
		const uint8_t *body = eh + off + 8, *end = eh + off + 4 + len;
		if (id != 0 && id <= off + 4 && end - body >= 16) {
			/* an FDE: its CIE is `id` bytes back from the id field */
			uint64_t begin, range;
			memcpy(&begin, body, 8);
			memcpy(&range, body + 8, 8);
			if (pc >= begin && pc < begin + range) {
				size_t cie = off + 4 - id;
				const uint8_t *cp = eh + cie, *ce;
				uint32_t clen;
				memcpy(&clen, cp, 4);
				if (clen == 0 || clen > h.eh_frame_size - cie - 4)
					goto out;
				ce = cp + 4 + clen;
				cp += 9;                /* length, id, version */
				const char *aug = (const char *)cp;
				size_t alen = strnlen(aug, (size_t)(ce - cp));
				uint64_t caf, raf, augsz, fsz;
				int64_t daf;
				cp += alen + 1;
				if (aug[0] != 'z' || lc_rd_uleb(&cp, ce, &caf) != 0 ||
				    lc_rd_sleb(&cp, ce, &daf) != 0 || lc_rd_uleb(&cp, ce, &raf) != 0 ||
				    lc_rd_uleb(&cp, ce, &augsz) != 0 || augsz > (uint64_t)(ce - cp) ||
				    caf != 1 || raf != 16)
					goto out;
				cp += augsz;
				struct cfi_state s = { 7, 8 };
				const uint8_t *fp = body + 16;
				if (lc_rd_uleb(&fp, end, &fsz) != 0 || fsz > (uint64_t)(end - fp))
					goto out;
				fp += fsz;
				if (cfi_run(cp, ce, begin, pc, &s) != 0 || cfi_run(fp, end, begin, pc, &s) != 0)
					goto out;
				if (s.cfa_reg != 7 && s.cfa_reg != 6)
					goto out;
				uint64_t cfa = (s.cfa_reg == 7 ? sp : bp) + s.cfa_off;
				if (pread(memfd, ret, 8, (off_t)(cfa - 8)) != 8)
					goto out;
				*slot = cfa - 8;
				rc = 0;
				goto out;
			}
		}
		off += 4 + len;
	}
out:
	free(eh);
	if (rc == 0)
		lc_debug("patch frame at 0x%llx: returns to 0x%llx (its CFI)", (unsigned long long)pc,
			 (unsigned long long)*ret);
	return rc;
}
