/*
 * tramp_cfi.c - the unwind information of a trampoline (trampoline.c): an
 * unwinder in the patient (libgcc's, for a C++ exception, pthread_cancel,
 * backtrace()) that meets a return address redirected to a trampoline goes
 * on exactly as it would have at the real return address R.
 *
 * libgcc looks up the FDE for (T - 1), T being the trampoline's address
 * read from the slot, and runs its rows up to T; the personality routine
 * then finds the call site in the LSDA by (T - 1 - the FDE's start).  So
 * each trampoline lives in a window of its own whose FDE (registered once
 * with the area, start W, a fixed length) is, once the trampoline is
 * written at W + (R - F) (F: the start of the caller's FDE):
 *
 *   - a copy of the caller's CIE (alignment factors, return column, initial
 *     instructions; the personality routine as an absolute pointer) and of
 *     the caller's FDE instructions up to the row of R - 1, so the rows at
 *     T - 1 are the caller's rows at R - 1: the same CFA, the same saved
 *     registers, the same DW_CFA_GNU_args_size;
 *   - then rows for the trampoline's own pushes (a CFA on rsp grows by 8 a
 *     word), for a thread interrupted by a signal inside it;
 *   - a copied LSDA that names LPStart = F explicitly, holding the one
 *     call-site entry that covers R - 1 (offsets relative to F, which
 *     equal those relative to W), its action chain, and the type entries
 *     and exception specifications it names, as absolute pointers (the
 *     originals are pc-relative to where they are).  No entry covering
 *     R - 1: none in the copy either (C++ then calls terminate, as it
 *     would have).
 *
 * A caller without an FDE gets one whose return address is undefined: the
 * unwinder ends there, as it would have at R.  What cannot be copied
 * faithfully (a caller's code alignment other than 1, a signal frame's CIE,
 * an augmentation or CFA instruction not known here, R too far into its
 * function for a window, a copy too big for its slot) is refused: the
 * doctor then waits for that frame by looking again later, without a
 * trampoline.
 *
 * Everything is read from the patient's memory, as its unwinder reads it:
 * the caller's object's PT_GNU_EH_FRAME table, or the .kpatch.eh_frame of a
 * patch region.
 */
#include <elf.h>
#include <stdlib.h>
#include <string.h>
#include "libcare/buf.h"
#include "libcare/log.h"
#include "doctor.h"

#define DW_EH_PE_omit 0xff
#define DW_EH_PE_indirect 0x80
#define LSDA_READ_MAX (16 * 1024)
#define CFA_STACK 16

/* Bytes read from the patient, with the address they came from. */
struct pbuf {
	uint8_t *b;
	size_t n;
	uint64_t at;
};

static int pbuf_read(struct lc_proc *pr, uint64_t at, size_t want, struct pbuf *pb)
{
	pb->b = lc_xmalloc(want ? want : 1);
	pb->n = 0;
	pb->at = at;
	/* Page by page, up to the end of what is mapped. */
	while (pb->n < want) {
		size_t chunk = LC_PAGE_SIZE - (size_t)((at + pb->n) % LC_PAGE_SIZE);
		if (chunk > want - pb->n)
			chunk = want - pb->n;
		if (lc_mem_read(pr, at + pb->n, pb->b + pb->n, chunk) != 0)
			break;
		pb->n += chunk;
	}
	return pb->n ? 0 : -1;
}

static uint64_t pb_addr(const struct pbuf *pb, const uint8_t *p)
{
	return pb->at + (uint64_t)(p - pb->b);
}

static size_t enc_size(uint8_t enc)
{
	switch (enc & 0x0f) {
	case 0x00: case 0x04: case 0x0c: return 8;
	case 0x02: case 0x0a: return 2;
	case 0x03: case 0x0b: return 4;
	default: return 0;
	}
}

/* An encoded pointer at *p (in pb): pc-relative to its own address,
 * `datarel` for the eh_frame_hdr's table; indirect ones are read through. */
static int enc_read(struct lc_proc *pr, const struct pbuf *pb, const uint8_t **p,
		    const uint8_t *e, uint8_t enc, uint64_t datarel, uint64_t *v)
{
	uint64_t here = pb_addr(pb, *p), u = 0;
	int64_t s;
	if (enc == DW_EH_PE_omit)
		return -1;
	switch (enc & 0x0f) {
	case 0x01:
		if (lc_rd_uleb(p, e, &u) != 0)
			return -1;
		break;
	case 0x09:
		if (lc_rd_sleb(p, e, &s) != 0)
			return -1;
		u = (uint64_t)s;
		break;
	default: {
		size_t n = enc_size(enc);
		if (!n || (size_t)(e - *p) < n)
			return -1;
		memcpy(&u, *p, n);
		if ((enc & 0x08) && n < 8 && (u >> (8 * n - 1)) & 1)
			u |= ~(uint64_t)0 << (8 * n);   /* signed */
		*p += n;
	}
	}
	if (!u) {               /* zero is no pointer, as libgcc reads it */
		*v = 0;
		return 0;
	}
	switch (enc & 0x70) {
	case 0x00: break;
	case 0x10: u += here; break;
	case 0x30: u += datarel; break;
	default: return -1;     /* textrel, funcrel, aligned: not on x86-64 */
	}
	if (enc & DW_EH_PE_indirect && lc_mem_read(pr, u, &u, sizeof(u)) != 0)
		return -1;
	*v = u;
	return 0;
}

/* A caller's CIE and FDE, read from the patient. */
struct fde_info {
	uint64_t start, range;
	uint64_t caf, ra;
	int64_t daf;
	uint64_t personality;           /* 0: none */
	uint64_t lsda;                  /* 0: none */
	uint8_t fde_enc, lsda_enc;
	uint8_t *cie_insns, *fde_insns; /* copies */
	size_t ncie_insns, nfde_insns;
};

static void fde_info_free(struct fde_info *f)
{
	free(f->cie_insns);
	free(f->fde_insns);
	memset(f, 0, sizeof(*f));
}

/* The CIE at `cie` and the FDE at `fde`: 0, 1 if `fde` is not an FDE
 * covering pc (or a CIE), -1 not understood. */
static int fde_parse(struct lc_proc *pr, uint64_t fde, uint64_t pc, struct fde_info *f)
{
	uint32_t len, id;
	memset(f, 0, sizeof(*f));
	if (lc_mem_read(pr, fde, &len, 4) != 0 || lc_mem_read(pr, fde + 4, &id, 4) != 0 ||
	    len == 0 || len == 0xffffffffu || len > (1u << 20))
		return -1;
	if (id == 0)
		return 1;
	uint64_t cie = fde + 4 - id;
	uint32_t clen;
	if (lc_mem_read(pr, cie, &clen, 4) != 0 || clen == 0 || clen == 0xffffffffu ||
	    clen > (1u << 16))
		return -1;
	struct pbuf c, d;
	if (pbuf_read(pr, cie, 4 + (size_t)clen, &c) != 0)
		return -1;
	if (c.n != 4 + (size_t)clen) {
		free(c.b);
		return -1;
	}
	int rc = -1;
	d.b = NULL;
	const uint8_t *p = c.b + 8, *e = c.b + c.n;
	uint32_t cid;
	memcpy(&cid, c.b + 4, 4);
	if (cid != 0 || p >= e)
		goto out;
	uint8_t version = *p++;
	const char *aug = (const char *)p;
	size_t alen = strnlen(aug, (size_t)(e - p));
	if (alen == (size_t)(e - p) || (version != 1 && version != 3))
		goto out;
	p += alen + 1;
	if (lc_rd_uleb(&p, e, &f->caf) != 0 || lc_rd_sleb(&p, e, &f->daf) != 0)
		goto out;
	if (version == 1) {
		if (p >= e)
			goto out;
		f->ra = *p++;
	} else if (lc_rd_uleb(&p, e, &f->ra) != 0) {
		goto out;
	}
	f->fde_enc = 0;                 /* absptr unless 'R' says otherwise */
	f->lsda_enc = DW_EH_PE_omit;
	if (aug[0] == 'z') {
		uint64_t asz;
		if (lc_rd_uleb(&p, e, &asz) != 0 || asz > (uint64_t)(e - p))
			goto out;
		const uint8_t *ae = p + asz;
		for (size_t i = 1; i < alen; i++) {
			if (p >= ae)
				goto out;
			if (aug[i] == 'P') {
				uint8_t enc = *p++;
				if (enc_read(pr, &c, &p, ae, enc, 0, &f->personality) != 0)
					goto out;
			} else if (aug[i] == 'L') {
				f->lsda_enc = *p++;
			} else if (aug[i] == 'R') {
				f->fde_enc = *p++;
			} else {
				goto out;       /* 'S' (a signal frame), anything else */
			}
		}
		p = ae;
	} else if (alen) {
		goto out;
	}
	f->ncie_insns = (size_t)(e - p);
	f->cie_insns = lc_xmalloc(f->ncie_insns + 1);
	memcpy(f->cie_insns, p, f->ncie_insns);

	if (pbuf_read(pr, fde, 4 + (size_t)len, &d) != 0 || d.n != 4 + (size_t)len)
		goto out;
	p = d.b + 8;
	e = d.b + d.n;
	if (enc_read(pr, &d, &p, e, f->fde_enc, 0, &f->start) != 0 ||
	    enc_read(pr, &d, &p, e, f->fde_enc & 0x0f, 0, &f->range) != 0)
		goto out;
	if (pc < f->start || pc - f->start >= f->range) {
		rc = 1;
		goto out;
	}
	if (aug[0] == 'z') {
		uint64_t asz;
		if (lc_rd_uleb(&p, e, &asz) != 0 || asz > (uint64_t)(e - p))
			goto out;
		const uint8_t *ae = p + asz;
		if (f->lsda_enc != DW_EH_PE_omit &&
		    enc_read(pr, &d, &p, ae, f->lsda_enc, 0, &f->lsda) != 0)
			goto out;
		p = ae;
	}
	f->nfde_insns = (size_t)(e - p);
	f->fde_insns = lc_xmalloc(f->nfde_insns + 1);
	memcpy(f->fde_insns, p, f->nfde_insns);
	rc = 0;
out:
	free(c.b);
	free(d.b);
	if (rc != 0)
		fde_info_free(f);
	return rc;
}

/* The FDE for pc through an object's PT_GNU_EH_FRAME (the table the
 * dynamic linker's users binary-search).  0 found, 1 none, -1 unknown. */
static int fde_find_object(struct lc_proc *pr, const struct lc_object *o, uint64_t pc,
			   struct fde_info *f)
{
	Elf64_Ehdr eh;
	uint64_t base = o->first_map;
	if (lc_mem_read(pr, base, &eh, sizeof(eh)) != 0 || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > 256)
		return -1;
	uint64_t hdr = 0;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		if (lc_mem_read(pr, base + eh.e_phoff + i * sizeof(ph), &ph, sizeof(ph)) != 0)
			return -1;
		if (ph.p_type == PT_GNU_EH_FRAME)
			hdr = ph.p_vaddr + o->bias;
	}
	if (!hdr)
		return 1;       /* no unwind table: the unwinder finds nothing either */
	uint8_t h4[4];
	uint64_t ehp, count;
	uint8_t rest[16];
	if (lc_mem_read(pr, hdr, h4, 4) != 0 || h4[0] != 1 || h4[3] != 0x3b ||
	    lc_mem_read(pr, hdr + 4, rest, sizeof(rest)) != 0)
		return -1;
	struct pbuf rb = { rest, sizeof(rest), hdr + 4 };
	const uint8_t *p = rest;
	if (enc_read(pr, &rb, &p, rest + sizeof(rest), h4[1], hdr, &ehp) != 0 ||
	    enc_read(pr, &rb, &p, rest + sizeof(rest), h4[2], hdr, &count) != 0)
		return -1;
	uint64_t table = hdr + 4 + (uint64_t)(p - rest);
	/* The last entry whose initial location is <= pc. */
	uint64_t lo = 0, hi = count;
	int32_t ent[2];
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (lc_mem_read(pr, table + 8 * mid, ent, 8) != 0)
			return -1;
		if (hdr + (uint64_t)(int64_t)ent[0] <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return 1;
	if (lc_mem_read(pr, table + 8 * (lo - 1), ent, 8) != 0)
		return -1;
	return fde_parse(pr, hdr + (uint64_t)(int64_t)ent[1], pc, f);
}

/* The FDE for pc in a patch region's .kpatch.eh_frame. */
static int fde_find_region(struct lc_proc *pr, const struct lc_applied *a, uint64_t pc,
			   struct fde_info *f)
{
	const struct lc_region_header *h = a->hdr;
	uint64_t at = a->addr + h->eh_frame_offset, end = at + h->eh_frame_size;
	while (at + 8 <= end) {
		uint32_t len;
		if (lc_mem_read(pr, at, &len, 4) != 0 || len == 0 || len == 0xffffffffu)
			return 1;
		int rc = fde_parse(pr, at, pc, f);
		if (rc <= 0)
			return rc;
		at += 4 + (uint64_t)len;
	}
	return 1;
}

static int fde_find(struct lc_proc *pr, uint64_t pc, struct fde_info *f)
{
	for (size_t i = 0; i < pr->nobjs; i++)
		if (pc >= pr->objs[i].lo && pc < pr->objs[i].hi)
			return fde_find_object(pr, &pr->objs[i], pc, f);
	struct lc_applied *a = NULL;
	size_t n = 0;
	int rc = 1;
	if (lc_regions_scan(pr, &a, &n) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct lc_region_header *h = a[i].hdr;
		if (pc >= a[i].addr + h->text_offset && pc < a[i].addr + h->text_offset + h->text_size) {
			rc = lc_region_eh_size(h) ? fde_find_region(pr, &a[i], pc, f) : 1;
			break;
		}
	}
	lc_regions_free(a, n);
	return rc;
}

/* The CFA rule as the instructions leave it. */
struct cfa_rule {
	uint64_t reg;
	int64_t off;
	int expr;
};

/* Runs CFA instructions [p, e) from relative location *loc; stops before
 * the first advance that reaches `stop` (*cut: bytes run).  0, -1 for an
 * instruction not known. */
static int cfa_scan(const uint8_t *b, size_t n, uint64_t caf, int64_t daf, uint64_t *loc,
		    uint64_t stop, struct cfa_rule *r, struct cfa_rule *stack, int *depth,
		    size_t *cut)
{
	const uint8_t *p = b, *e = b + n;
	while (p < e) {
		const uint8_t *at = p;
		uint8_t op = *p++;
		uint64_t a, c, d4;
		int64_t s;
		if ((op & 0xc0) == 0x40 || (op >= 0x02 && op <= 0x04)) {
			if ((op & 0xc0) == 0x40) {
				d4 = op & 0x3f;
			} else {
				size_t k = op == 0x02 ? 1 : op == 0x03 ? 2 : 4;
				if ((size_t)(e - p) < k)
					return -1;
				d4 = 0;
				memcpy(&d4, p, k);
				p += k;
			}
			if (*loc + d4 * caf >= stop) {
				*cut = (size_t)(at - b);
				return 0;
			}
			*loc += d4 * caf;
			continue;
		}
		if ((op & 0xc0) == 0x80) {      /* offset */
			if (lc_rd_uleb(&p, e, &a) != 0)
				return -1;
			continue;
		}
		if ((op & 0xc0) == 0xc0)        /* restore */
			continue;
		switch (op) {
		case 0x00: case 0x2d:           /* nop, GNU_window_save */
			break;
		case 0x05: case 0x09:           /* offset_extended, register */
			if (lc_rd_uleb(&p, e, &a) != 0 || lc_rd_uleb(&p, e, &c) != 0)
				return -1;
			break;
		case 0x06: case 0x07: case 0x08: case 0x2e:
			/* restore_extended, undefined, same_value, GNU_args_size */
			if (lc_rd_uleb(&p, e, &a) != 0)
				return -1;
			break;
		case 0x0a:
			if (*depth == CFA_STACK)
				return -1;
			stack[(*depth)++] = *r;
			break;
		case 0x0b:
			if (*depth == 0)
				return -1;
			*r = stack[--*depth];
			break;
		case 0x0c:
			if (lc_rd_uleb(&p, e, &r->reg) != 0 || lc_rd_uleb(&p, e, &a) != 0)
				return -1;
			r->off = (int64_t)a;
			r->expr = 0;
			break;
		case 0x0d:
			if (lc_rd_uleb(&p, e, &r->reg) != 0)
				return -1;
			r->expr = 0;
			break;
		case 0x0e:
			if (lc_rd_uleb(&p, e, &a) != 0)
				return -1;
			r->off = (int64_t)a;
			break;
		case 0x0f:                      /* def_cfa_expression */
			if (lc_rd_uleb(&p, e, &a) != 0 || a > (uint64_t)(e - p))
				return -1;
			p += a;
			r->expr = 1;
			break;
		case 0x10: case 0x16:           /* expression, val_expression */
			if (lc_rd_uleb(&p, e, &a) != 0 || lc_rd_uleb(&p, e, &c) != 0 ||
			    c > (uint64_t)(e - p))
				return -1;
			p += c;
			break;
		case 0x11: case 0x14: case 0x15: case 0x2f:
			/* offset_extended_sf, val_offset(_sf), GNU_negative_offset_extended */
			if (lc_rd_uleb(&p, e, &a) != 0 ||
			    (op == 0x14 || op == 0x2f ? lc_rd_uleb(&p, e, &c) : lc_rd_sleb(&p, e, &s)) != 0)
				return -1;
			break;
		case 0x12:                      /* def_cfa_sf */
			if (lc_rd_uleb(&p, e, &r->reg) != 0 || lc_rd_sleb(&p, e, &s) != 0)
				return -1;
			r->off = s * daf;
			r->expr = 0;
			break;
		case 0x13:                      /* def_cfa_offset_sf */
			if (lc_rd_sleb(&p, e, &s) != 0)
				return -1;
			r->off = s * daf;
			break;
		default:
			return -1;              /* set_loc and anything unknown */
		}
	}
	*cut = n;
	return 0;
}

static size_t put_uleb(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	do {
		uint8_t b = v & 0x7f;
		v >>= 7;
		p[n++] = b | (v ? 0x80 : 0);
	} while (v);
	return n;
}

static size_t put_sleb(uint8_t *p, int64_t v)
{
	size_t n = 0;
	for (;;) {
		uint8_t b = v & 0x7f;
		v >>= 7;
		if ((v == 0 && !(b & 0x40)) || (v == -1 && (b & 0x40))) {
			p[n++] = b;
			return n;
		}
		p[n++] = b | 0x80;
	}
}

/* A uleb128 of exactly 4 bytes (padded), for fields whose value depends on
 * the layout after them. */
static void put_uleb4(uint8_t *p, uint64_t v)
{
	p[0] = (uint8_t)((v & 0x7f) | 0x80);
	p[1] = (uint8_t)(((v >> 7) & 0x7f) | 0x80);
	p[2] = (uint8_t)(((v >> 14) & 0x7f) | 0x80);
	p[3] = (uint8_t)((v >> 21) & 0x7f);
}

/* The CIE of a window: fixed size, nop-padded, augmentation "zPLR" with
 * absolute pointers, so that its layout never changes what libgcc cached
 * (the FDE encoding) at registration. */
static int cie_write(uint8_t *out, uint64_t caf, int64_t daf, uint64_t ra, uint64_t personality,
		     const uint8_t *insns, size_t ninsns)
{
	uint8_t *p = out;
	memset(out, 0, LC_TRAMP_CIE_SIZE);
	uint32_t len = LC_TRAMP_CIE_SIZE - 4, id = 0;
	memcpy(p, &len, 4);
	memcpy(p + 4, &id, 4);
	p += 8;
	*p++ = 1;                                       /* version */
	memcpy(p, "zPLR", 5);
	p += 5;
	p += put_uleb(p, caf);
	p += put_sleb(p, daf);
	if (ra > 255)
		return -1;
	*p++ = (uint8_t)ra;
	*p++ = 11;                                      /* augmentation data */
	*p++ = 0x00;                                    /* P: absptr */
	memcpy(p, &personality, 8);
	p += 8;
	*p++ = 0x00;                                    /* L: absptr */
	*p++ = 0x00;                                    /* R: absptr */
	if ((size_t)(out + LC_TRAMP_CIE_SIZE - p) < ninsns)
		return -1;
	memcpy(p, insns, ninsns);
	return 0;                                       /* the rest: DW_CFA_nop */
}

/* The FDE of a window: start W, the window's length, the LSDA pointer,
 * the instructions. */
static int fde_write(uint8_t *out, uint64_t fde_at, uint64_t cie_at, uint64_t win,
		     uint64_t win_size, uint64_t lsda, const uint8_t *insns, size_t ninsns)
{
	uint8_t *p = out;
	memset(out, 0, LC_TRAMP_FDE_SIZE);
	uint32_t len = LC_TRAMP_FDE_SIZE - 4, id = (uint32_t)(fde_at + 4 - cie_at);
	memcpy(p, &len, 4);
	memcpy(p + 4, &id, 4);
	memcpy(p + 8, &win, 8);
	memcpy(p + 16, &win_size, 8);
	p[24] = 8;                                      /* augmentation data */
	memcpy(p + 25, &lsda, 8);
	p += 33;
	if ((size_t)(out + LC_TRAMP_FDE_SIZE - p) < ninsns)
		return -1;
	if (ninsns)                                     /* a blank window has none */
		memcpy(p, insns, ninsns);
	return 0;
}

void lc_tramp_cfi_blank(const struct lc_tramp_cfi_place *w, uint8_t *cie, uint8_t *fde)
{
	/* CFA = rsp + 8, the return address undefined: the outermost frame. */
	static const uint8_t insns[] = { 0x0c, 0x07, 0x08, 0x07, 0x10 };
	cie_write(cie, 1, -8, 16, 0, insns, sizeof(insns));
	fde_write(fde, w->fde_at, w->cie_at, w->win, w->win_size, 0, NULL, 0);
}

/* The LSDA of the caller cut down to the call site of ip_off (R - 1 - F),
 * written to out (at address out_at).  Its length, or -1. */
static long lsda_copy(struct lc_proc *pr, uint64_t lsda, uint64_t F, uint64_t ip_off,
		      uint8_t *out, uint64_t out_at)
{
	struct pbuf b;
	long rc = -1;
	if (pbuf_read(pr, lsda, LSDA_READ_MAX, &b) != 0)
		return -1;
	const uint8_t *p = b.b, *e = b.b + b.n;
	uint64_t lpstart = F, ttype = 0, cs_len, v;
	if (p >= e)
		goto out;
	uint8_t lp_enc = *p++;
	if (lp_enc != DW_EH_PE_omit && enc_read(pr, &b, &p, e, lp_enc, 0, &lpstart) != 0)
		goto out;
	if (p >= e)
		goto out;
	uint8_t tt_enc = *p++;
	if (tt_enc != DW_EH_PE_omit) {
		if (lc_rd_uleb(&p, e, &v) != 0)
			goto out;
		ttype = pb_addr(&b, p) + v;
	}
	if (p >= e)
		goto out;
	uint8_t cs_enc = *p++;
	if ((cs_enc & 0x70) || lc_rd_uleb(&p, e, &cs_len) != 0 || cs_len > (uint64_t)(e - p))
		goto out;
	const uint8_t *cs = p, *actions = p + cs_len;
	/* The first entry covering ip_off, as the personality routines look. */
	int found = 0;
	uint64_t c_start = 0, c_len = 0, c_lp = 0, c_action = 0;
	while (p < actions) {
		uint64_t s, l, lp, act;
		if (enc_read(pr, &b, &p, actions, cs_enc, 0, &s) != 0 ||
		    enc_read(pr, &b, &p, actions, cs_enc, 0, &l) != 0 ||
		    enc_read(pr, &b, &p, actions, cs_enc, 0, &lp) != 0 || lc_rd_uleb(&p, actions, &act) != 0)
			goto out;
		if (ip_off < s)
			break;
		if (ip_off < s + l) {
			found = 1;
			c_start = s, c_len = l, c_lp = lp, c_action = act;
			break;
		}
	}
	(void)cs;
	/* Its action chain. */
	int64_t filters[64];
	int nf = 0;
	if (found && c_action) {
		const uint8_t *a = actions + c_action - 1;
		for (;;) {
			int64_t filter, disp;
			if (nf == 64 || a < actions || a >= e || lc_rd_sleb(&a, e, &filter) != 0)
				goto out;
			const uint8_t *dp = a;
			if (lc_rd_sleb(&a, e, &disp) != 0)
				goto out;
			filters[nf++] = filter;
			if (!disp)
				break;
			a = dp + disp;
		}
	}
	/* The types and specifications they name. */
	size_t tsz = tt_enc == DW_EH_PE_omit ? 0 : enc_size(tt_enc);
	uint64_t types[256];
	uint64_t spec_idx[64][16];
	int spec_n[64];
	size_t ntypes = 0;
	memset(types, 0, sizeof(types));
	for (int i = 0; i < nf; i++) {
		spec_n[i] = 0;
		if (filters[i] == 0)
			continue;
		if (!tsz)
			goto out;
		uint64_t idx[16];
		int ni = 0;
		if (filters[i] > 0) {
			idx[ni++] = (uint64_t)filters[i];
		} else {
			uint64_t at = ttype + (uint64_t)(-filters[i] - 1);
			if (at < b.at || at >= b.at + b.n)
				goto out;
			const uint8_t *q = b.b + (at - b.at);
			for (;;) {
				uint64_t k;
				if (lc_rd_uleb(&q, e, &k) != 0 || ni == 16)
					goto out;
				if (!k)
					break;
				idx[ni++] = k;
				spec_idx[i][spec_n[i]++] = k;
			}
		}
		for (int k = 0; k < ni; k++) {
			uint64_t at = ttype - idx[k] * tsz;
			if (idx[k] >= 256 || at < b.at || at + tsz > b.at + b.n)
				goto out;
			const uint8_t *q = b.b + (at - b.at);
			if (enc_read(pr, &b, &q, e, tt_enc, 0, &types[idx[k]]) != 0)
				goto out;
			if (idx[k] > ntypes)
				ntypes = idx[k];
		}
	}
	/* The copy:  lpstart_enc absptr, F; ttype_enc absptr, ttype offset
	 * (4-byte uleb); cs_enc uleb128, cs length (4-byte uleb); the entry;
	 * the actions; the types (entry i at TType - 8 i); the
	 * specifications after TType. */
	uint8_t *q = out, *end = out + LC_TRAMP_LSDA_SIZE;
	int need_tt = ntypes > 0;
	for (int i = 0; i < nf; i++)
		need_tt |= filters[i] < 0;
	*q++ = 0x00;
	memcpy(q, &lpstart, 8);
	q += 8;
	*q++ = need_tt ? 0x00 : DW_EH_PE_omit;
	uint8_t *tt_field = q;
	if (need_tt)
		q += 4;
	*q++ = 0x01;
	uint8_t *cs_field = q;
	q += 4;
	uint8_t *cs_begin = q;
	uint8_t entry[64];
	size_t elen = 0;
	if (found) {
		elen += put_uleb(entry + elen, c_start);
		elen += put_uleb(entry + elen, c_len);
		elen += put_uleb(entry + elen, c_lp);
		elen += put_uleb(entry + elen, nf ? 1 : 0);
	}
	memcpy(q, entry, elen);
	q += elen;
	put_uleb4(cs_field, (uint64_t)(q - cs_begin));
	/* Actions: each record (filter, disp to the next) follows the one
	 * before, so disp is 1 (its own byte) or 0 for the last.  Negative
	 * filters name their specification's offset from TType + 1. */
	size_t spec_bytes = 0;
	int64_t newf[64];
	for (int i = 0; i < nf; i++) {
		if (filters[i] >= 0) {
			newf[i] = filters[i];
			continue;
		}
		newf[i] = -(int64_t)spec_bytes - 1;
		for (int k = 0; k < spec_n[i]; k++) {
			uint8_t tmp[10];
			spec_bytes += put_uleb(tmp, spec_idx[i][k]);
		}
		spec_bytes += 1;
	}
	for (int i = 0; i < nf; i++) {
		if (end - q < 12)
			goto out;
		q += put_sleb(q, newf[i]);
		*q++ = i + 1 < nf ? 1 : 0;
	}
	if (need_tt) {
		if ((size_t)(end - q) < ntypes * 8 + spec_bytes)
			goto out;
		for (size_t i = ntypes; i >= 1; i--) {
			memcpy(q, &types[i], 8);
			q += 8;
		}
		put_uleb4(tt_field, (uint64_t)(q - (tt_field + 4)));
		for (int i = 0; i < nf; i++) {
			if (filters[i] >= 0)
				continue;
			for (int k = 0; k < spec_n[i]; k++)
				q += put_uleb(q, spec_idx[i][k]);
			*q++ = 0;
		}
	}
	rc = (long)(q - out);
	lc_debug("process %d: LSDA at 0x%llx copied to 0x%llx (%ld bytes): call site %s, %d "
		 "action(s), %zu type(s)", (int)pr->pid, (unsigned long long)lsda,
		 (unsigned long long)out_at, rc, found ? "found" : "none", nf, ntypes);
out:
	free(b.b);
	return rc;
}

int lc_tramp_cfi_make(struct lc_proc *pr, uint64_t ret, const struct lc_tramp_cfi_place *w,
		      const uint8_t (*pushes)[2], size_t npushes, uint32_t *off, uint8_t *cie,
		      uint8_t *fde, uint8_t *lsda)
{
	struct fde_info f;
	int rc = fde_find(pr, ret - 1, &f);
	if (rc < 0) {
		lc_debug("process %d: the unwind information of 0x%llx is not understood: no "
			 "trampoline", (int)pr->pid, (unsigned long long)ret);
		return -1;
	}
	if (rc > 0) {
		/* No FDE: the unwinder stops at this frame, and at the trampoline. */
		lc_tramp_cfi_blank(w, cie, fde);
		*off = 16;
		return 0;
	}
	rc = -1;
	uint64_t o = ret - f.start;
	uint8_t insns[LC_TRAMP_FDE_SIZE];
	size_t cut, ni;
	struct cfa_rule r = { 7, 8, 0 }, stack[CFA_STACK];
	int depth = 0;
	uint64_t loc = 0;
	if (f.caf != 1 || o + LC_TRAMP_BYTES > w->win_size) {
		lc_debug("process %d: 0x%llx: code alignment %llu, %llu bytes into its function: "
			 "no trampoline", (int)pr->pid, (unsigned long long)ret,
			 (unsigned long long)f.caf, (unsigned long long)o);
		goto out;
	}
	if (cfa_scan(f.cie_insns, f.ncie_insns, 1, f.daf, &loc, UINT64_MAX, &r, stack, &depth,
		     &cut) != 0 ||
	    cfa_scan(f.fde_insns, f.nfde_insns, 1, f.daf, &loc, o, &r, stack, &depth, &cut) != 0 ||
	    cut + 12 * npushes > sizeof(insns)) {
		lc_debug("process %d: the unwind information of 0x%llx is not understood: no "
			 "trampoline", (int)pr->pid, (unsigned long long)ret);
		goto out;
	}
	memcpy(insns, f.fde_insns, cut);
	ni = cut;
	/* The trampoline's own pushes: rows at o + from (a thread stopped by a
	 * signal there is unwound at its pc). */
	uint64_t at = loc;      /* where the copied rows left the location */
	for (size_t i = 0; i < npushes && !r.expr && r.reg == 7; i++) {
		uint64_t to = o + pushes[i][0];
		if (to <= o)
			continue;
		uint32_t d = (uint32_t)(to - at);
		insns[ni++] = 0x04;     /* advance_loc4 */
		memcpy(insns + ni, &d, 4);
		ni += 4;
		at = to;
		insns[ni++] = 0x0e;     /* def_cfa_offset */
		ni += put_uleb(insns + ni, (uint64_t)(r.off + 8 * pushes[i][1]));
	}
	long llen = 0;
	uint64_t lsda_at = 0;
	if (f.lsda) {
		llen = lsda_copy(pr, f.lsda, f.start, o - 1, lsda, w->lsda_at);
		if (llen < 0) {
			lc_debug("process %d: the LSDA at 0x%llx (for 0x%llx) is not understood: no "
				 "trampoline", (int)pr->pid, (unsigned long long)f.lsda,
				 (unsigned long long)ret);
			goto out;
		}
		lsda_at = w->lsda_at;
	}
	if (cie_write(cie, f.caf, f.daf, f.ra, f.personality, f.cie_insns, f.ncie_insns) != 0 ||
	    fde_write(fde, w->fde_at, w->cie_at, w->win, w->win_size, lsda_at, insns, ni) != 0) {
		lc_debug("process %d: the unwind information of 0x%llx does not fit a trampoline's",
			 (int)pr->pid, (unsigned long long)ret);
		goto out;
	}
	*off = (uint32_t)o;
	rc = 0;
	lc_debug("process %d: trampoline for 0x%llx: its caller's FDE at 0x%llx (+0x%llx), %zu of "
		 "%zu instruction bytes, CFA r%llu%+lld%s%s", (int)pr->pid, (unsigned long long)ret,
		 (unsigned long long)f.start, (unsigned long long)o, cut, f.nfde_insns,
		 (unsigned long long)r.reg, (long long)r.off, r.expr ? " (expression)" : "",
		 f.lsda ? ", with its LSDA" : "");
out:
	fde_info_free(&f);
	return rc;
}
