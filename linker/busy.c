/*
 * busy.c - the busy code of each replaced function and the refusals that
 * need ORIGINAL's decoded code (busy.h says what and why).
 *
 * The object's code is swept linearly, section by section, restarting at
 * every function symbol (GCC puts no data in .text, so a sweep that
 * restarts at symbols stays in step).  Only direct branches are known:
 * switch tables are indirect jumps whose targets this does not see (GCC
 * puts their targets inside the function, never at bytes 1..4 of its
 * entry in practice; the doctor's stack check still sees a thread there).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "libcare/log.h"
#include "busy.h"
#include "decode.h"

struct fsym {
	uint64_t lo, hi;
	const char *name;
};

struct piece {
	uint64_t lo, hi;
	const char *name;        /* the symbol it is, or NULL (code without one) */
};

struct busy {
	const struct lc_code *c;
	struct fsym *fs;         /* FUNC symbols in code, sorted by lo */
	size_t nfs;
};

static int fsym_cmp(const void *a, const void *b)
{
	const struct fsym *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo ? 1 : (x->hi < y->hi) - (x->hi > y->hi);
}

static const struct lc_code_sec *code_sec_of(const struct lc_code *c, uint64_t addr)
{
	for (size_t i = 0; i < c->nsec; i++)
		if (addr >= c->sec[i].addr && addr - c->sec[i].addr < c->sec[i].size)
			return &c->sec[i];
	return NULL;
}

static void busy_init(struct busy *b, const struct lc_code *c)
{
	b->c = c;
	b->fs = lc_xcalloc(c->nsym ? c->nsym : 1, sizeof(*b->fs));
	b->nfs = 0;
	for (size_t i = 0; i < c->nsym; i++) {
		const struct lc_obj_symbol *y = &c->sym[i];
		if (y->type != STT_FUNC || y->shndx == SHN_UNDEF || !code_sec_of(c, y->value))
			continue;
		b->fs[b->nfs++] = (struct fsym){ y->value, y->value + y->size, y->name };
	}
	qsort(b->fs, b->nfs, sizeof(*b->fs), fsym_cmp);
}

/* Index of the first function symbol starting after `addr`. */
static size_t fsym_after(const struct busy *b, uint64_t addr)
{
	size_t lo = 0, hi = b->nfs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (b->fs[mid].lo <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The function symbol containing `addr` (the innermost sized one). */
static const struct fsym *fsym_at(const struct busy *b, uint64_t addr)
{
	const struct fsym *best = NULL;
	for (size_t i = fsym_after(b, addr); i-- > 0;) {
		if (addr < b->fs[i].hi && (!best || b->fs[i].lo >= best->lo))
			best = &b->fs[i];
		if (best && b->fs[i].lo < best->lo)
			break;
	}
	return best;
}

/* "name+0x1c" for an address of the object, "0x401234" if no symbol names it. */
static void busy_where(const struct busy *b, uint64_t addr, struct lc_buf *out)
{
	const struct fsym *f = fsym_at(b, addr);
	if (!f) {       /* the closest symbol before it in the same section */
		const struct lc_code_sec *s = code_sec_of(b->c, addr);
		size_t i = fsym_after(b, addr);
		if (s && i > 0 && b->fs[i - 1].lo >= s->addr)
			f = &b->fs[i - 1];
	}
	if (f && addr == f->lo)
		lc_buf_adds(out, f->name);
	else if (f)
		lc_buf_addf(out, "%s+0x%" PRIx64, f->name, addr - f->lo);
	else
		lc_buf_addf(out, "0x%" PRIx64, addr);
}

/* The first function start after `addr`, or `end` if it comes first. */
static uint64_t next_sync(const struct busy *b, uint64_t addr, uint64_t end)
{
	size_t i = fsym_after(b, addr);
	return i < b->nfs && b->fs[i].lo < end ? b->fs[i].lo : end;
}

typedef int (*insn_fn)(void *arg, const struct lc_insn *in);

/* Decodes [lo, hi) of one code section, restarting at function starts;
 * undecodable bytes are skipped up to the next start.  Stops at the first
 * callback returning non-zero and returns it. */
static int sweep(const struct busy *b, uint64_t lo, uint64_t hi, insn_fn fn, void *arg)
{
	const struct lc_code_sec *s = code_sec_of(b->c, lo);
	if (!s)
		return 0;
	uint64_t end = s->addr + s->size < hi ? s->addr + s->size : hi;
	uint64_t pc = lo, sync = next_sync(b, pc, end);
	while (pc < end) {
		struct lc_insn in;
		if (pc >= sync)
			sync = next_sync(b, pc, end);
		uint32_t n = lc_insn_decode(s->bytes, s->size, s->addr, pc, &in);
		if (n == 0 || pc + n > sync) {
			pc = sync;
			continue;
		}
		int rc = fn(arg, &in);
		if (rc)
			return rc;
		pc += n;
	}
	return 0;
}

/* --- the jump sites: no branch lands inside one ---------------------------- */

struct site_scan {
	const struct busy *b;
	const struct lc_busy_func *f;
	size_t nf;
};

static int site_check(void *arg, const struct lc_insn *in)
{
	const struct site_scan *s = arg;
	if (!in->target)
		return 0;
	for (size_t k = 0; k < s->nf; k++) {
		const struct lc_busy_func *f = &s->f[k];
		if (f->pad && in->target >= f->pad_lo && in->target < f->pad + 5) {
			struct lc_buf from = LC_BUF_INIT;
			busy_where(s->b, in->addr, &from);
			lc_error("function '%s' cannot be replaced: a branch at %s (0x%" PRIx64 ") "
				 "targets 0x%" PRIx64 ", in the filler before it where its jump would "
				 "go", f->name, from.data, in->addr, in->target);
			lc_buf_free(&from);
			return -1;
		}
		if (in->target <= f->addr || in->target >= f->addr + f->site)
			continue;
		/* From the function's own code (a loop at -O0 right after the
		 * 4-byte `push %rbp; mov %rsp,%rbp`): only a thread inside the
		 * function runs that branch, and any doctor waits until none is
		 * (its range was always busy).  Not so for its .cold pieces with
		 * a doctor that does not know .kpatch.busy: those are refused. */
		if (in->addr >= f->addr && in->addr < f->addr + f->size)
			continue;
		struct lc_buf from = LC_BUF_INIT;
		busy_where(s->b, in->addr, &from);
		lc_error("function '%s' cannot be replaced: a branch at %s (0x%" PRIx64 ") targets "
			 "%s+0x%" PRIx64 ", inside the %" PRIu64 " bytes its jump overwrites", f->name,
			 from.data, in->addr, f->name, in->target - f->addr, f->site);
		lc_buf_free(&from);
		return -1;
	}
	return 0;
}

/* --- a short function: its jump runs into the filler after it --------------- */

struct last_insn {
	struct lc_insn last;
	int any;
};

static int last_keep(void *arg, const struct lc_insn *in)
{
	struct last_insn *l = arg;
	l->last = *in;
	l->any = 1;
	return 0;
}

struct filler_scan {
	uint64_t bad;            /* first non-filler address */
	char text[96];
};

static int filler_check(void *arg, const struct lc_insn *in)
{
	struct filler_scan *s = arg;
	if (in->kind == LC_INSN_FILLER)
		return 0;
	s->bad = in->addr;
	snprintf(s->text, sizeof(s->text), "%s", in->text);
	return 1;
}

static int busy_check_filler(const struct busy *b, const struct lc_busy_func *f)
{
	uint64_t pad = f->addr + f->size, end = f->addr + f->site;
	struct last_insn l = { .any = 0 };
	if (f->size)
		sweep(b, f->addr, pad, last_keep, &l);
	if (!l.any || l.last.addr + l.last.len != pad)
		return lc_error("function '%s' cannot be replaced: it is %" PRIu64 " bytes, its jump "
				"needs %" PRIu64 ", and its code cannot be decoded to its end", f->name,
				f->size, f->site);
	if (lc_insn_falls_through(l.last.kind))
		return lc_error("function '%s' cannot be replaced: it is %" PRIu64 " bytes, its jump "
				"needs %" PRIu64 ", and its last instruction (%s) runs on into the "
				"bytes after it", f->name, f->size, f->site, l.last.text);
	/* The filler must decode as such; the bytes right after it too: an
	 * instruction may straddle the end of the jump. */
	struct filler_scan s = { .bad = 0 };
	const struct lc_code_sec *sec = code_sec_of(b->c, pad);
	if (!sec || end > sec->addr + sec->size)
		return lc_error("function '%s' cannot be replaced: it is %" PRIu64 " bytes, its jump "
				"needs %" PRIu64 ", and its section ends first", f->name, f->size,
				f->site);
	for (uint64_t pc = pad; pc < end && !s.bad;) {
		struct lc_insn in;
		uint32_t n = lc_insn_decode(sec->bytes, sec->size, sec->addr, pc, &in);
		if (n == 0) {
			s.bad = pc;
			snprintf(s.text, sizeof(s.text), "bytes that are no instruction");
			break;
		}
		filler_check(&s, &in);
		pc += n;
	}
	if (s.bad)
		return lc_error("function '%s' cannot be replaced: it is %" PRIu64 " bytes, its jump "
				"needs %" PRIu64 ", and the bytes after it are not alignment filler "
				"(0x%" PRIx64 ": %s)", f->name, f->size, f->site, s.bad, s.text);
	return 0;
}

/* --- a 2..4-byte function with no room: a jump in the filler before it ---- */

/* The 5 bytes before `f` are unreachable filler: the code before it ends
 * with an instruction that does not run on, every byte from there to `f`
 * decodes as filler, and no symbol starts in between (branches into any of
 * it are refused by site_check: a multi-byte nop may straddle the jump).  0, or -1 with the reason in `why`. */
static int busy_find_pad(const struct busy *b, struct lc_busy_func *f, struct lc_buf *why)
{
	const struct lc_code_sec *sec = code_sec_of(b->c, f->addr);
	const struct fsym *prev = NULL;
	/* the symbol before f whose code ends closest to it */
	for (size_t j = 0; j < b->nfs && b->fs[j].lo < f->addr; j++)
		if (b->fs[j].hi <= f->addr && b->fs[j].lo >= sec->addr &&
		    (!prev || b->fs[j].hi > prev->hi))
			prev = &b->fs[j];
	if (!prev || prev->hi == prev->lo) {
		lc_buf_adds(why, "no function ends before it");
		return -1;
	}
	if (f->addr - prev->hi < 5) {
		lc_buf_addf(why, "%" PRIu64 " bytes of filler after %s", f->addr - prev->hi, prev->name);
		return -1;
	}
	for (size_t j = 0; j < b->nfs; j++)
		if (b->fs[j].lo >= prev->hi && b->fs[j].lo < f->addr) {
			lc_buf_addf(why, "%s starts in between", b->fs[j].name);
			return -1;
		}
	struct last_insn l = { .any = 0 };
	sweep(b, prev->lo, prev->hi, last_keep, &l);
	if (!l.any || l.last.addr + l.last.len != prev->hi || lc_insn_falls_through(l.last.kind)) {
		lc_buf_addf(why, "%s may run on into the filler", prev->name);
		return -1;
	}
	for (uint64_t pc = prev->hi; pc < f->addr;) {
		struct lc_insn in;
		uint32_t n = lc_insn_decode(sec->bytes, sec->size, sec->addr, pc, &in);
		if (n == 0 || in.kind != LC_INSN_FILLER || pc + n > f->addr) {
			lc_buf_addf(why, "0x%" PRIx64 " is no filler", pc);
			return -1;
		}
		pc += n;
	}
	f->pad = f->addr - 5;
	f->pad_lo = prev->hi;
	return 0;
}

/* --- the pieces of one function and its loop head ------------------------- */

struct pieces {
	const struct busy *b;
	struct lc_busy_func *f;
	struct piece *p;
	size_t n;
};

static int piece_has(const struct pieces *ps, uint64_t a)
{
	for (size_t i = 0; i < ps->n; i++)
		if (a >= ps->p[i].lo && a < ps->p[i].hi)
			return 1;
	return 0;
}

static void piece_add(struct pieces *ps, uint64_t lo, uint64_t hi, const char *name)
{
	ps->p = lc_xrealloc(ps->p, (ps->n + 1) * sizeof(*ps->p));
	ps->p[ps->n++] = (struct piece){ lo, hi, name };
}

/* `sym` is a part GCC split off `fn`: fn.cold, fn.cold.N, fn.part.N (a
 * .cold anywhere: only a jump of fn's code leads here). */
static int piece_name(const char *sym, const char *fn)
{
	size_t n = strlen(fn);
	if (strncmp(sym, fn, n) == 0 && strncmp(sym + n, ".part.", 6) == 0)
		return 1;
	const char *c = strstr(sym, ".cold");
	return c && (c[5] == '\0' || c[5] == '.');
}

static int piece_insn(void *arg, const struct lc_insn *in)
{
	struct pieces *ps = arg;
	const struct busy *b = ps->b;
	uint64_t t = in->target;
	if (!t || (in->kind != LC_INSN_JUMP && in->kind != LC_INSN_CONDJUMP))
		return 0;
	if (t == ps->f->addr) {
		ps->f->flags |= LC_INFO_ENTRY_BUSY;
		return 0;
	}
	if (piece_has(ps, t))
		return 0;
	const struct fsym *s = fsym_at(b, t);
	if (s) {
		if (piece_name(s->name, ps->f->name))
			piece_add(ps, s->lo, s->hi, s->name);
		return 0;       /* a tail call, or into another function */
	}
	/* Code without a symbol, in the function's own section (not a PLT):
	 * from the end of the function before it to the start of the next. */
	const struct lc_code_sec *sec = code_sec_of(b->c, t);
	if (!sec || sec != code_sec_of(b->c, ps->f->addr))
		return 0;
	uint64_t lo = sec->addr, hi = sec->addr + sec->size;
	for (size_t i = 0; i < b->nfs; i++) {
		if (b->fs[i].hi <= t && b->fs[i].hi > lo && b->fs[i].lo >= sec->addr)
			lo = b->fs[i].hi;
		if (b->fs[i].lo > t && b->fs[i].lo < hi)
			hi = b->fs[i].lo;
	}
	piece_add(ps, lo, hi, NULL);
	return 0;
}

static void busy_pieces(const struct busy *b, struct lc_busy_func *f, size_t k,
			struct lc_buf *records)
{
	struct pieces ps = { b, f, NULL, 0 };
	piece_add(&ps, f->addr, f->addr + f->size, f->name);
	for (size_t i = 0; i < ps.n; i++)
		sweep(b, ps.p[i].lo, ps.p[i].hi, piece_insn, &ps);
	for (size_t i = 1; i < ps.n; i++) {
		struct lc_busy_record r = { ps.p[i].lo, (uint32_t)(ps.p[i].hi - ps.p[i].lo),
					    (uint32_t)k, LC_BUSY_PIECE, 0 };
		lc_buf_add(records, &r, sizeof(r));
		lc_info("%s: busy also in %s (0x%" PRIx64 ", %" PRIu32 " bytes)", f->name,
			ps.p[i].name ? ps.p[i].name : "code without a symbol", r.addr, r.len);
	}
	if (f->flags & LC_INFO_ENTRY_BUSY)
		lc_info("%s: its own code jumps back to its entry (a loop head): a thread there "
			"is busy", f->name);
	free(ps.p);
}

int lc_busy_analyze(const struct lc_code *code, struct lc_busy_func *f, size_t nf,
		    struct lc_buf *records)
{
	struct busy b;
	int ret = -1;

	busy_init(&b, code);
	for (size_t k = 0; k < nf; k++) {
		f[k].flags = 0;
		if (!code_sec_of(code, f[k].addr)) {
			lc_debug("%s: not in a code section of ORIGINAL: not decoded", f[k].name);
			continue;
		}
		if (f[k].site > f[k].size && busy_check_filler(&b, &f[k]) < 0)
			goto out;
		if (f[k].short_jump) {
			struct lc_buf why = LC_BUF_INIT;
			int rc = busy_find_pad(&b, &f[k], &why);
			if (rc < 0)
				lc_error("function '%s' is too small to patch (%" PRIu64 " bytes, %" PRIu64
					 " up to the next symbol; a jump needs 5) and the bytes before it "
					 "cannot take the jump (%s)", f[k].name, f[k].size, f[k].room,
					 why.data);
			lc_buf_free(&why);
			if (rc < 0)
				goto out;
			struct lc_busy_record r = { f[k].pad, 5, (uint32_t)k, LC_BUSY_PADJUMP, 0 };
			lc_buf_add(records, &r, sizeof(r));
			lc_info("%s: %" PRIu64 " bytes, no room after it: a 2-byte jump to a 5-byte "
				"jump in the filler before it at 0x%" PRIx64, f[k].name, f[k].size,
				f[k].pad);
		}
	}
	struct site_scan ss = { &b, f, nf };
	for (size_t i = 0; i < code->nsec; i++)
		if (sweep(&b, code->sec[i].addr, code->sec[i].addr + code->sec[i].size,
			  site_check, &ss) < 0)
			goto out;
	for (size_t k = 0; k < nf; k++)
		if (code_sec_of(code, f[k].addr))
			busy_pieces(&b, &f[k], k, records);
	ret = 0;
out:
	free(b.fs);
	return ret;
}

void lc_code_from_obj(struct lc_code *c, const struct lc_obj *o, const struct lc_obj *syms)
{
	struct lc_code_sec *sec = lc_xcalloc(o->nsec ? o->nsec : 1, sizeof(*sec));
	size_t n = 0;
	for (size_t i = 1; i < o->nsec; i++) {
		const struct lc_obj_section *s = &o->sec[i];
		if (s->type != SHT_PROGBITS || !(s->flags & SHF_ALLOC) ||
		    !(s->flags & SHF_EXECINSTR) || !s->size)
			continue;
		Elf_Data *d = lc_obj_section_data(o, i);
		if (!d || !d->d_buf || d->d_size != s->size)
			continue;
		sec[n++] = (struct lc_code_sec){ s->addr, d->d_buf, s->size };
	}
	c->sec = sec;
	c->nsec = n;
	/* Function symbols of loaded sections only (not PATCHED's .kpatch.text). */
	struct lc_obj_symbol *sym = lc_xcalloc(syms->nsym ? syms->nsym : 1, sizeof(*sym));
	n = 0;
	for (size_t i = 1; i < syms->nsym; i++)
		if (syms->sym[i].type == STT_FUNC && lc_obj_section_is_alloc(syms, syms->sym[i].shndx))
			sym[n++] = syms->sym[i];
	c->sym = sym;
	c->nsym = n;
}

void lc_code_free(struct lc_code *c)
{
	free((void *)c->sec);
	free((void *)c->sym);
	memset(c, 0, sizeof(*c));
}
