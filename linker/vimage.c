/*
 * vimage.c - a linked binary as libcare-verify compares it (verify.h).
 *
 * Functions are disassembled with libopcodes; each address an instruction
 * holds becomes the name of what it points to, so that a function that only
 * moved (its neighbour grew) reads the same:
 *
 *	call 1139 <helper>                 -> call helper
 *	lea 0x2ed6(%rip),%rdi # 4010       -> lea (%rip),%rdi # {"hello\n"}
 *	jne 1160 (inside the function)     -> jne .+0x20
 *	call 1030 (a PLT entry)            -> call puts@plt
 *	mov 0x2fc8(%rip),%rax # (GOT slot) -> mov (%rip),%rax # stdout@got
 *	movl $0x404028,%edi (non-PIE)      -> movl $counter,%edi
 *
 * An address inside a symbol is "key+0xOFF" (key: "file.c:name" for a local,
 * with a trailing ".N" counter as ".#" when the base name is unique in the
 * unit: count.0 and count.1 pair).  An address in read-only data without a
 * symbol (a `.LC` literal, a jump table) is its content: a string in quotes,
 * other bytes in hex up to the next referenced address, jump-table entries
 * as ".+0xOFF" in the function.  Data objects are dumped 8 bytes a line with
 * pointer slots (dynamic relocations; in a non-PIE executable, values that
 * fall in a section) named the same way.
 */
#define PACKAGE "libcare"          /* bfd.h, included by dis-asm.h, wants it */
#define PACKAGE_VERSION "0"
#include <dis-asm.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "libcare/log.h"
#include "vimage.h"

struct vsym {
	uint64_t value, size;
	const struct lc_obj_symbol *s;
	char *key;
	int rank;               /* 0 global, 1 weak, 2 local: the name an alias goes by */
	size_t item;            /* SIZE_MAX: none (alias or not compared) */
	int exec;
};

struct vrel {
	uint64_t off;
	uint32_t type;
	const char *name;       /* NULL: no symbol */
	int64_t addend;
};

/* A function's instructions before names are resolved: addresses as \1hex\2. */
struct vraw {
	size_t item;
	uint64_t start, end;
	char *text;
	uint32_t *insn;         /* offset of each instruction kept (nops dropped) */
	size_t ninsn;
};

struct vb {
	const struct lc_obj *o;
	const char *what;
	struct lc_vimage *im;
	struct vsym *sym;       /* deduplicated by address, sorted by value */
	size_t nsym;
	struct vrel *rel;       /* sorted by offset */
	size_t nrel;
	uint64_t *bound;        /* addresses where an anonymous datum ends */
	size_t nbound;
	struct vraw *raw;
	size_t nraw;
	struct disassemble_info di;
	disassembler_ftype dis;
	struct lc_buf *out;     /* where the disassembler prints */
	uint64_t first_addr;    /* the first address printed (PLT entries) */
	int naddr;
};

/* --- sections ----------------------------------------------------------------- */

static size_t vb_section_of(const struct vb *b, uint64_t addr)
{
	const struct lc_obj *o = b->o;
	for (size_t i = 1; i < o->nsec; i++) {
		const struct lc_obj_section *s = &o->sec[i];
		if ((s->flags & SHF_ALLOC) && s->size && addr >= s->addr && addr < s->addr + s->size &&
		    !(s->flags & SHF_TLS))
			return i;
	}
	return 0;
}

static const unsigned char *vb_bytes(const struct vb *b, size_t sec, uint64_t addr, uint64_t *avail)
{
	const struct lc_obj_section *s = &b->o->sec[sec];
	Elf_Data *d = s->type == SHT_NOBITS ? NULL : lc_obj_section_data(b->o, sec);
	*avail = 0;
	if (!d || !d->d_buf || addr < s->addr || addr - s->addr >= d->d_size)
		return NULL;
	*avail = d->d_size - (addr - s->addr);
	return (const unsigned char *)d->d_buf + (addr - s->addr);
}

static int vb_is_prefix(const char *name, const char *prefix)
{
	return strncmp(name, prefix, strlen(prefix)) == 0;
}

/* Read-only once relocated: .rodata, .eh_frame, and RELRO .data.rel.ro. */
static int vb_readonly(const struct lc_obj_section *s)
{
	return !(s->flags & SHF_WRITE) || vb_is_prefix(s->name, ".data.rel.ro");
}

/* --- symbols -------------------------------------------------------------------- */

static size_t vb_counter_base(const char *name)
{
	size_t n = strlen(name), i = n;
	while (i > 0 && name[i - 1] >= '0' && name[i - 1] <= '9')
		i--;
	return i < n && i > 1 && name[i - 1] == '.' ? i - 1 : n;
}

static int vsym_cmp(const void *a, const void *b)
{
	const struct vsym *x = a, *y = b;
	if (x->value != y->value)
		return x->value < y->value ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank - y->rank;
	if (x->size != y->size)
		return x->size > y->size ? -1 : 1;
	return strcmp(x->s->name, y->s->name);
}

/* The bytes of a local object in a read-only section, or NULL. */
static const unsigned char *vb_ro_bytes(const struct vb *b, const struct lc_obj_symbol *s)
{
	uint64_t avail;
	const struct lc_obj_section *S = &b->o->sec[s->shndx];
	if (s->type != STT_OBJECT || !s->size || !vb_readonly(S) || (S->flags & SHF_EXECINSTR))
		return NULL;
	const unsigned char *p = vb_bytes(b, s->shndx, s->value, &avail);
	return p && avail >= s->size ? p : NULL;
}

/* "base.#{hex}" (at most 48 bytes shown, then the size). */
static void vb_content_key(const struct vb *b, const struct lc_obj_symbol *s, size_t base,
			   struct lc_buf *k)
{
	const unsigned char *p = vb_ro_bytes(b, s);
	lc_buf_addf(k, "%.*s.#{", (int)base, s->name);
	for (uint64_t i = 0; i < s->size && i < 48; i++)
		lc_buf_addf(k, "%02x", p[i]);
	lc_buf_addf(k, "/%" PRIu64 "}", s->size);
}

/* Keys: locals qualified by their unit's STT_FILE name, counters made ".#". */
static void vb_symbols(struct vb *b)
{
	const struct lc_obj *o = b->o;
	struct vsym *v = lc_xcalloc(o->nsym ? o->nsym : 1, sizeof(*v));
	const char **file = lc_xcalloc(o->nsym ? o->nsym : 1, sizeof(*file));
	const char *cur = "";
	size_t n = 0;
	for (size_t i = 1; i < o->nsym; i++) {
		const struct lc_obj_symbol *s = &o->sym[i];
		if (s->type == STT_FILE)
			cur = s->name;
		if (s->type != STT_FUNC && s->type != STT_OBJECT && s->type != STT_GNU_IFUNC &&
		    s->type != STT_NOTYPE)
			continue;
		if (!*s->name || !lc_obj_section_is_alloc(o, s->shndx) ||
		    (o->sec[s->shndx].flags & SHF_TLS) || vb_is_prefix(s->name, ".L"))
			continue;
		file[n] = s->bind == STB_LOCAL ? cur : NULL;
		v[n++] = (struct vsym){ s->value, s->size, s, NULL,
					s->bind == STB_GLOBAL ? 0 : s->bind == STB_WEAK ? 1 : 2,
					SIZE_MAX, (o->sec[s->shndx].flags & SHF_EXECINSTR) != 0 };
	}
	for (size_t i = 0; i < n; i++) {
		const char *name = v[i].s->name;
		struct lc_buf k = LC_BUF_INIT;
		if (!file[i]) {
			lc_buf_adds(&k, name);
		} else {
			size_t base = vb_counter_base(name), same = 0;
			for (size_t j = 0; j < n && base < strlen(name); j++)
				if (file[j] && strcmp(file[j], file[i]) == 0 &&
				    vb_counter_base(v[j].s->name) == base &&
				    strncmp(v[j].s->name, name, base) == 0)
					same++;
			lc_buf_addf(&k, "%s:", file[i]);
			if (same == 1)
				lc_buf_addf(&k, "%.*s.#", (int)base, name);
			else if (base < strlen(name) && vb_ro_bytes(b, v[i].s))
				/* several of one base (__PRETTY_FUNCTION__.3, .5 ...):
				 * read-only, so named by their content */
				vb_content_key(b, v[i].s, base, &k);
			else
				lc_buf_adds(&k, name);
		}
		v[i].key = k.data;
	}
	free(file);
	qsort(v, n, sizeof(*v), vsym_cmp);
	/* One entry per address: the alias with the best rank names it. */
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (m && v[m - 1].value == v[i].value && (v[i].s->type == STT_NOTYPE ||
		    v[m - 1].s->type != STT_NOTYPE || !v[i].size)) {
			free(v[i].key);
			continue;
		}
		v[m++] = v[i];
	}
	b->sym = v;
	b->nsym = m;
}

/* The symbol whose extent holds `addr` (or that starts there), else NULL. */
static const struct vsym *vb_sym_at(const struct vb *b, uint64_t addr, int nearest)
{
	size_t lo = 0, hi = b->nsym;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (b->sym[mid].value <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i > 0 && lo - i < 8; i--) {
		const struct vsym *s = &b->sym[i - 1];
		if (addr == s->value || addr < s->value + s->size)
			return s;
		if (nearest && b->o->sec[s->s->shndx].addr <= addr &&
		    addr < b->o->sec[s->s->shndx].addr + b->o->sec[s->s->shndx].size)
			return s;
	}
	return NULL;
}

/* --- dynamic relocations ------------------------------------------------------------ */

static int vrel_cmp(const void *a, const void *b)
{
	const struct vrel *x = a, *y = b;
	return x->off < y->off ? -1 : x->off > y->off;
}

static void vb_dynrels(struct vb *b)
{
	const struct lc_obj *o = b->o;
	for (size_t i = 1; i < o->nsec; i++) {
		const struct lc_obj_section *s = &o->sec[i];
		if (s->type != SHT_RELA || !(s->flags & SHF_ALLOC))
			continue;
		Elf_Data *d = lc_obj_section_data(o, i);
		Elf_Data *sd = s->link && s->link < o->nsec ? lc_obj_section_data(o, s->link) : NULL;
		if (!d)
			continue;
		size_t n = d->d_size / sizeof(Elf64_Rela);
		b->rel = lc_xrealloc(b->rel, (b->nrel + n + 1) * sizeof(*b->rel));
		for (size_t j = 0; j < n; j++) {
			GElf_Rela r;
			GElf_Sym sym;
			if (!gelf_getrela(d, (int)j, &r))
				continue;
			const char *name = NULL;
			size_t si = GELF_R_SYM(r.r_info);
			if (si && sd && gelf_getsym(sd, (int)si, &sym))
				name = elf_strptr(o->elf, o->sec[s->link].link, sym.st_name);
			b->rel[b->nrel++] = (struct vrel){ r.r_offset, (uint32_t)GELF_R_TYPE(r.r_info),
							   name && *name ? name : NULL, r.r_addend };
		}
	}
	if (b->nrel)
		qsort(b->rel, b->nrel, sizeof(*b->rel), vrel_cmp);
}

static const struct vrel *vb_rel_at(const struct vb *b, uint64_t off)
{
	size_t lo = 0, hi = b->nrel;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (b->rel[mid].off < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < b->nrel && b->rel[lo].off == off ? &b->rel[lo] : NULL;
}

/* --- the disassembler ---------------------------------------------------------------- */

static int vb_printf(void *stream, const char *fmt, ...)
{
	struct vb *b = stream;
	va_list ap;
	char tmp[256];
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (b->out)
		lc_buf_adds(b->out, tmp);
	return n;
}

static int vb_styled_printf(void *stream, enum disassembler_style style, const char *fmt, ...)
{
	struct vb *b = stream;
	va_list ap;
	char tmp[256];
	(void)style;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (b->out)
		lc_buf_adds(b->out, tmp);
	return n;
}

static void vb_print_address(bfd_vma addr, struct disassemble_info *di)
{
	struct vb *b = di->stream;
	if (!b->naddr++)
		b->first_addr = addr;
	if (b->out)
		lc_buf_addf(b->out, "\1%" PRIx64 "\2", (uint64_t)addr);
}

static void vb_dis_section(struct vb *b, size_t sec)
{
	uint64_t avail;
	const struct lc_obj_section *s = &b->o->sec[sec];
	const unsigned char *p = vb_bytes(b, sec, s->addr, &avail);
	b->di.buffer = (bfd_byte *)p;
	b->di.buffer_vma = s->addr;
	b->di.buffer_length = p ? avail : 0;
}

static int vb_dis_init(struct vb *b)
{
	init_disassemble_info(&b->di, b, vb_printf, vb_styled_printf);
	b->di.arch = bfd_arch_i386;
	b->di.mach = bfd_mach_x86_64;
	b->di.print_address_func = vb_print_address;
	disassemble_init_for_target(&b->di);
	b->dis = disassembler(bfd_arch_i386, 0, bfd_mach_x86_64, NULL);
	if (!b->dis)
		return lc_error("libopcodes has no x86-64 disassembler");
	return 0;
}

/*
 * One instruction's text as normalised before names: the displacement of a
 * %rip operand dropped (its target follows as an address), and in a
 * non-PIE executable every number that falls in a section made an address.
 */
static void vb_fix_line(const struct vb *b, struct lc_buf *line)
{
	struct lc_buf o = LC_BUF_INIT;
	const char *t = line->data ? line->data : "";
	for (size_t i = 0; t[i];) {
		if (t[i] == '\1') {
			size_t e = i + strcspn(t + i, "\2");
			lc_buf_add(&o, t + i, e - i + (t[e] != 0));
			i = e + (t[e] != 0);
			continue;
		}
		if (t[i] == '0' && t[i + 1] == 'x' && (i == 0 || !isalnum((unsigned char)t[i - 1]))) {
			char *end;
			uint64_t v = strtoull(t + i, &end, 16);
			size_t len = (size_t)(end - (t + i));
			if (strncmp(end, "(%rip)", 6) == 0) {
				if (o.len && o.data[o.len - 1] == '-')
					o.data[--o.len] = 0;
				i += len;
				continue;
			}
			if (b->o->type == ET_EXEC && v && vb_section_of(b, v)) {
				lc_buf_addf(&o, "\1%" PRIx64 "\2", v);
				i += len;
				continue;
			}
			lc_buf_add(&o, t + i, len);
			i += len;
			continue;
		}
		/* collapse the disassembler's column padding */
		if (t[i] == ' ' && o.len && o.data[o.len - 1] == ' ') {
			i++;
			continue;
		}
		lc_buf_add(&o, t + i, 1);
		i++;
	}
	while (o.len && o.data[o.len - 1] == ' ')
		o.data[--o.len] = 0;
	lc_buf_reset(line);
	if (o.len)
		lc_buf_add(line, o.data, o.len);
	lc_buf_free(&o);
}

/*
 * Padding: `nop`, `nopw 0x0(%rax,%rax,1)`, `xchg %ax,%ax`, `data16 cs nopw ...`.
 * GCC's `.p2align 4,,10` inside a function pads to the address, so the same
 * code at another address has other nops: they are no part of the text.
 */
static int vb_is_nop(const char *line)
{
	if (!strcmp(line, "xchg %ax,%ax"))
		return 1;
	for (const char *w = line; *w;) {
		size_t n = strcspn(w, " ");
		if (!strncmp(w, "nop", 3))
			return 1;
		if (strncmp(w, "data16", n) && strncmp(w, "cs", n) && strncmp(w, "ds", n) &&
		    strncmp(w, "rex", 3))
			return 0;
		w += n;
		while (*w == ' ')
			w++;
	}
	return 0;
}

static void vb_disassemble(struct vb *b, uint64_t start, uint64_t end, struct lc_buf *text,
			   struct vraw *raw)
{
	struct lc_buf line = LC_BUF_INIT;
	size_t cap = 0;
	for (uint64_t pc = start; pc < end;) {
		lc_buf_reset(&line);
		b->out = &line;
		b->naddr = 0;
		int n = b->dis(pc, &b->di);
		b->out = NULL;
		if (n <= 0) {
			lc_buf_addf(text, "(undecodable at .+0x%" PRIx64 ")\n", pc - start);
			break;
		}
		vb_fix_line(b, &line);
		if (!vb_is_nop(line.data ? line.data : "")) {
			if (raw->ninsn == cap)
				raw->insn = lc_xrealloc(raw->insn, (cap = cap ? 2 * cap : 64) * sizeof(*raw->insn));
			raw->insn[raw->ninsn++] = (uint32_t)(pc - start);
			lc_buf_add(text, line.data ? line.data : "", line.len);
			lc_buf_adds(text, "\n");
		}
		pc += (uint64_t)n;
	}
	lc_buf_free(&line);
}

/* --- names of addresses ---------------------------------------------------------------- */

struct vctx {
	uint64_t fstart, fend;  /* the function being rendered (0, 0 for data) */
	const struct vraw *fn;  /* its instructions */
	size_t from;            /* the item that references */
};

static void vb_name(struct vb *b, uint64_t addr, const struct vctx *c, int depth, struct lc_buf *out);

/*
 * A target inside the function being rendered: ".I12", the 12th instruction
 * that is not padding (the first one at or after the target), so that
 * padding that changed with the address does not move it; ".+0xOFF" when
 * the instructions are not known.
 */
static void vb_local(const struct vctx *c, uint64_t addr, struct lc_buf *out)
{
	uint64_t off = addr - c->fstart;
	if (!c->fn || !c->fn->ninsn) {
		lc_buf_addf(out, ".+0x%" PRIx64, off);
		return;
	}
	size_t lo = 0, hi = c->fn->ninsn;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (c->fn->insn[mid] < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	lc_buf_addf(out, ".I%zu", lo);
}

static int vb_bound_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t vb_next_bound(const struct vb *b, uint64_t addr)
{
	size_t lo = 0, hi = b->nbound;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (b->bound[mid] <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < b->nbound ? b->bound[lo] : UINT64_MAX;
}

/* Length of valid UTF-8 text before a NUL within `n` bytes, or 0 if it is not text. */
static size_t vb_text_len(const unsigned char *p, uint64_t n)
{
	size_t i = 0;
	while (i < n && p[i]) {
		unsigned char c = p[i];
		if (c < 0x20 && !strchr("\a\b\t\n\v\f\r\033", c))
			return 0;
		if (c == 0x7f)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		int extra = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2
			  : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
		if (extra < 0)
			return 0;
		for (int k = 1; k <= extra; k++)
			if (i + (size_t)k >= n || (p[i + (size_t)k] & 0xc0) != 0x80)
				return 0;
		i += (size_t)extra + 1;
	}
	return i < n ? i : 0;
}

static void vb_quote(const unsigned char *p, size_t n, struct lc_buf *out)
{
	lc_buf_adds(out, "\"");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];
		if (c == '"' || c == '\\')
			lc_buf_addf(out, "\\%c", c);
		else if (c < 0x20)
			lc_buf_addf(out, "\\%03o", c);
		else
			lc_buf_add(out, &c, 1);
	}
	lc_buf_adds(out, "\"");
}

/* Whether the 8 bytes at `addr` are a pointer we can name: "&target" into out. */
static int vb_pointer(struct vb *b, uint64_t addr, const unsigned char *p, uint64_t avail,
		      const struct vctx *c, int depth, struct lc_buf *out)
{
	const struct vrel *r = vb_rel_at(b, addr);
	if (r) {
		if (r->name)
			lc_buf_addf(out, "&%s%+" PRId64, r->name, r->addend);
		else if (r->type == R_X86_64_RELATIVE || r->type == R_X86_64_IRELATIVE) {
			lc_buf_adds(out, r->type == R_X86_64_IRELATIVE ? "&ifunc:" : "&");
			vb_name(b, (uint64_t)r->addend, c, depth + 1, out);
		} else
			lc_buf_addf(out, "&reloc%" PRIu32 "%+" PRId64, r->type, r->addend);
		return 1;
	}
	if (b->o->type != ET_EXEC || avail < 8 || addr % 8)
		return 0;
	uint64_t v;
	memcpy(&v, p, 8);
	if (!v || !vb_section_of(b, v))
		return 0;
	lc_buf_adds(out, "&");
	vb_name(b, v, c, depth + 1, out);
	return 1;
}

/*
 * Anonymous read-only data at `addr` as its content.  A string ends at its
 * NUL; other bytes at the next address something names, at most 16 unless
 * they are a jump table of the function (entries ".+0xOFF").
 */
static void vb_content(struct vb *b, size_t sec, uint64_t addr, const struct vctx *c, int depth,
		       struct lc_buf *out)
{
	uint64_t avail;
	const unsigned char *p = vb_bytes(b, sec, addr, &avail);
	uint64_t bound = vb_next_bound(b, addr);
	uint64_t n = avail;
	if (bound != UINT64_MAX && bound - addr < n)
		n = bound - addr;
	if (n > 4096)
		n = 4096;
	if (!p || !n) {
		lc_buf_addf(out, "{%s}", b->o->sec[sec].name);
		return;
	}
	/* a jump table of this function first: its entry may look like "n" */
	int table = 0;
	if (c->fend && n >= 4) {
		int32_t w;
		memcpy(&w, p, 4);
		uint64_t t = addr + (uint64_t)(int64_t)w;
		table = t >= c->fstart && t < c->fend;
		if (!table && b->o->type == ET_EXEC && n >= 8) {
			uint64_t v;
			memcpy(&v, p, 8);
			table = v >= c->fstart && v < c->fend;
		}
	}
	/* a string ends at its NUL, whatever else points into it (tail merging) */
	size_t tl = table ? 0 : vb_text_len(p, avail < 4096 ? avail : 4096);
	lc_buf_adds(out, "{");
	if (tl) {
		vb_quote(p, tl, out);
		lc_buf_adds(out, "}");
		return;
	}
	table = 1;
	int entries = 0;
	for (uint64_t i = 0; i < n;) {
		if (i >= 16 && !table)
			break;
		if (i)
			lc_buf_adds(out, " ");
		if (depth < 2 && vb_pointer(b, addr + i, p + i, n - i, c, depth, out)) {
			i += 8;
			continue;
		}
		if (c->fend && n - i >= 4) {
			int32_t w;
			memcpy(&w, p + i, 4);
			uint64_t t = addr + (uint64_t)(int64_t)w;
			if (t >= c->fstart && t < c->fend) {
				vb_local(c, t, out);
				entries++;
				i += 4;
				continue;
			}
		}
		/* a jump table ends at its last entry (what follows is padding) */
		if (entries) {
			if (out->len && out->data[out->len - 1] == ' ')
				out->data[--out->len] = 0;
			break;
		}
		table = 0;
		for (uint64_t k = i; k < i + 4 && k < n; k++)
			lc_buf_addf(out, "%02x", p[k]);
		i += 4;
	}
	lc_buf_adds(out, "}");
}

/* The entry of .plt/.plt.sec/.plt.got at `addr`: "name@plt" from its GOT slot. */
static int vb_plt(struct vb *b, uint64_t addr, size_t sec, struct lc_buf *out)
{
	vb_dis_section(b, sec);
	uint64_t pc = addr;
	for (int k = 0; k < 3; k++) {
		b->naddr = 0;
		int n = b->dis(pc, &b->di);
		if (n <= 0)
			break;
		if (b->naddr) {
			const struct vrel *r = vb_rel_at(b, b->first_addr);
			if (r && r->name) {
				lc_buf_addf(out, "%s@plt", r->name);
				return 1;
			}
			break;
		}
		pc += (uint64_t)n;
	}
	return 0;
}

static void vb_name(struct vb *b, uint64_t addr, const struct vctx *c, int depth, struct lc_buf *out)
{
	if (c->fend && addr >= c->fstart && addr < c->fend) {
		vb_local(c, addr, out);
		return;
	}
	const struct vsym *s = vb_sym_at(b, addr, 0);
	size_t sec = vb_section_of(b, addr);
	if (s) {
		lc_buf_adds(out, s->key);
		if (addr != s->value)
			lc_buf_addf(out, "+0x%" PRIx64, addr - s->value);
		if (s->item != SIZE_MAX && c->from != SIZE_MAX && s->item != c->from &&
		    b->im->item[s->item].kind != LC_VFUNC)
			lc_vimage_ref(b->im, c->from, s->item);
		return;
	}
	if (!sec) {
		lc_buf_adds(out, "{nowhere}");
		return;
	}
	const struct lc_obj_section *S = &b->o->sec[sec];
	if (vb_is_prefix(S->name, ".plt")) {
		struct lc_buf tmp = LC_BUF_INIT;
		struct lc_buf *saved = b->out;
		b->out = NULL;
		int ok = vb_plt(b, addr, sec, &tmp);
		b->out = saved;
		lc_buf_adds(out, ok ? tmp.data : "{.plt}");
		lc_buf_free(&tmp);
		return;
	}
	if (vb_is_prefix(S->name, ".got")) {
		uint64_t avail;
		const unsigned char *p = vb_bytes(b, sec, addr, &avail);
		const struct vrel *r = vb_rel_at(b, addr);
		if (r && r->name && (r->type == R_X86_64_GLOB_DAT || r->type == R_X86_64_JUMP_SLOT ||
				     r->type == R_X86_64_64))
			lc_buf_addf(out, "%s@got", r->name);
		else if (depth < 3 && p && vb_pointer(b, addr, p, avail, c, depth, out))
			lc_buf_adds(out, "@got");
		else if (r)
			lc_buf_addf(out, "{got:reloc%" PRIu32 "}", r->type);
		else
			lc_buf_adds(out, "{.got}");
		return;
	}
	if (S->flags & SHF_EXECINSTR) {
		s = vb_sym_at(b, addr, 1);
		if (s)
			lc_buf_addf(out, "%s+0x%" PRIx64, s->key, addr - s->value);
		else
			lc_buf_addf(out, "{%s}", S->name);
		return;
	}
	if (S->type == SHT_NOBITS || !vb_readonly(S) || depth >= 3) {
		lc_buf_addf(out, "{%s}", S->name);
		return;
	}
	vb_content(b, sec, addr, c, depth, out);
}

/* Replaces each \1hex\2 of `raw` by the name of that address. */
static char *vb_resolve(struct vb *b, const char *raw, const struct vctx *c)
{
	struct lc_buf o = LC_BUF_INIT;
	lc_buf_adds(&o, "");
	for (const char *t = raw; *t;) {
		const char *m = strchr(t, '\1');
		if (!m) {
			lc_buf_adds(&o, t);
			break;
		}
		lc_buf_add(&o, t, (size_t)(m - t));
		char *end;
		uint64_t addr = strtoull(m + 1, &end, 16);
		vb_name(b, addr, c, 0, &o);
		t = *end == '\2' ? end + 1 : end;
	}
	return o.data;
}

/* Every address that a function names in anonymous data ends the datum before it. */
static void vb_collect_bounds(struct vb *b)
{
	size_t cap = b->nsym + 64;
	b->bound = lc_xmalloc(cap * sizeof(*b->bound));
	for (size_t i = 0; i < b->nsym; i++) {
		b->bound[b->nbound++] = b->sym[i].value;
		if (b->sym[i].size)
			b->bound[b->nbound++] = b->sym[i].value + b->sym[i].size;
		if (b->nbound + 2 >= cap)
			b->bound = lc_xrealloc(b->bound, (cap *= 2) * sizeof(*b->bound));
	}
	for (size_t i = 0; i < b->nraw; i++) {
		for (const char *m = strchr(b->raw[i].text, '\1'); m; m = strchr(m + 1, '\1')) {
			uint64_t a = strtoull(m + 1, NULL, 16);
			if (b->nbound + 1 >= cap)
				b->bound = lc_xrealloc(b->bound, (cap *= 2) * sizeof(*b->bound));
			b->bound[b->nbound++] = a;
		}
	}
	qsort(b->bound, b->nbound, sizeof(*b->bound), vb_bound_cmp);
}

/* A data object: 8 bytes a line, pointer slots named. */
static char *vb_object_text(struct vb *b, const struct vsym *s, size_t sec)
{
	struct lc_buf o = LC_BUF_INIT;
	const struct lc_obj_section *S = &b->o->sec[sec];
	struct vctx c = { 0, 0, NULL, s->item };
	lc_buf_adds(&o, "");
	if (S->type == SHT_NOBITS) {
		lc_buf_addf(&o, "zero[%" PRIu64 "]\n", s->size);
		return o.data;
	}
	uint64_t avail;
	const unsigned char *p = vb_bytes(b, sec, s->value, &avail);
	uint64_t n = s->size < avail ? s->size : avail;
	for (uint64_t i = 0; p && i < n;) {
		lc_buf_addf(&o, "+0x%" PRIx64 ": ", i);
		if (n - i >= 8 && vb_pointer(b, s->value + i, p + i, n - i, &c, 0, &o)) {
			lc_buf_adds(&o, "\n");
			i += 8;
			continue;
		}
		/* up to the next 8-byte boundary of the address, or a relocation */
		uint64_t k = i;
		do {
			lc_buf_addf(&o, "%02x", p[k]);
			k++;
		} while (k < n && (s->value + k) % 8 && !vb_rel_at(b, s->value + k));
		lc_buf_adds(&o, "\n");
		i = k;
	}
	return o.data;
}

static void vb_free(struct vb *b)
{
	for (size_t i = 0; i < b->nsym; i++)
		free(b->sym[i].key);
	for (size_t i = 0; i < b->nraw; i++) {
		free(b->raw[i].text);
		free(b->raw[i].insn);
	}
	free(b->sym);
	free(b->rel);
	free(b->bound);
	free(b->raw);
}

int lc_vimage_build(struct lc_vimage *im, const struct lc_obj *o, const char *what)
{
	struct vb b;
	memset(&b, 0, sizeof(b));
	b.o = o;
	b.what = what;
	b.im = im;
	lc_vimage_init(im);
	if (!o->nsym)
		return lc_error("%s '%s' has no symbols (.symtab): nothing to compare by name", what,
				o->path);
	if (vb_dis_init(&b) < 0)
		return -1;
	vb_symbols(&b);
	vb_dynrels(&b);
	/* The items: every sized function and object, functions disassembled. */
	b.raw = lc_xcalloc(b.nsym ? b.nsym : 1, sizeof(*b.raw));
	for (size_t i = 0; i < b.nsym; i++) {
		struct vsym *s = &b.sym[i];
		const struct lc_obj_section *S = &o->sec[s->s->shndx];
		if (!s->size || s->s->type == STT_NOTYPE)
			continue;
		int kind = s->exec ? LC_VFUNC : vb_readonly(S) ? LC_VRODATA : LC_VRWDATA;
		if (kind == LC_VFUNC && s->s->type == STT_OBJECT)
			continue;
		s->item = lc_vimage_add(im, s->key, s->s->name, s->value, s->size, kind, NULL);
		if (kind != LC_VFUNC)
			continue;
		struct lc_buf text = LC_BUF_INIT;
		lc_buf_adds(&text, "");
		vb_dis_section(&b, s->s->shndx);
		uint64_t end = s->value + s->size;
		if (end > S->addr + S->size)
			end = S->addr + S->size;
		struct vraw *r = &b.raw[b.nraw++];
		*r = (struct vraw){ s->item, s->value, end, NULL, NULL, 0 };
		vb_disassemble(&b, s->value, end, &text, r);
		r->text = text.data;
	}
	vb_collect_bounds(&b);
	for (size_t i = 0; i < b.nraw; i++) {
		struct vctx c = { b.raw[i].start, b.raw[i].end, &b.raw[i], b.raw[i].item };
		struct lc_vitem *it = &im->item[b.raw[i].item];
		char *t = vb_resolve(&b, b.raw[i].text, &c);
		free(it->text);
		im->item[b.raw[i].item].text = t;
	}
	for (size_t i = 0; i < b.nsym; i++) {
		const struct vsym *s = &b.sym[i];
		if (s->item == SIZE_MAX || im->item[s->item].kind == LC_VFUNC)
			continue;
		char *t = vb_object_text(&b, s, s->s->shndx);
		free(im->item[s->item].text);
		im->item[s->item].text = t;
	}
	vb_free(&b);
	return 0;
}
