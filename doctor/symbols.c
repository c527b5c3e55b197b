/*
 * symbols.c - looking up an import of a patch ("name" or "name@VERSION")
 * in the .dynsym of the objects the patient has loaded, as the dynamic
 * linker would bind it: first definition in load order, the default version
 * (`puts@@GLIBC_2.2.5`) unless a version is named.
 *
 * Symbol tables are read from the mapped files on disk (proc.c says which),
 * once per object, on the first lookup.
 *
 * An IFUNC (strlen, memcpy...) is not an address but a resolver the dynamic
 * linker ran in the patient.  Its result is read back from a GOT slot the
 * dynamic linker filled: the defining object's R_X86_64_IRELATIVE slot whose
 * addend is the resolver (libc calls its own IFUNCs that way), else a
 * GLOB_DAT or already-bound JUMP_SLOT for the name in any object.  Only if
 * none exists is the import reported as an IFUNC: the doctor then calls its
 * resolver in the patient (ifunc.c).
 *
 * Thread-local variables: lc_symbols_tls() tells an object's TLS module id
 * and static offset, read back from its own TLS GOT slots (see below).
 */
#include <fcntl.h>
#include <gelf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "libcare/buf.h"
#include "libcare/log.h"
#include "doctor.h"

struct lc_dynsym {
	char *name;
	uint32_t hash;           /* name_hash(name): most names differ in it */
	uint64_t value;
	int type;
	char *version;           /* NULL: unversioned or the base version */
	int hidden;              /* not the default version (name@VER, not @@) */
};

struct lc_dynrel {
	uint64_t offset;         /* vaddr of the GOT slot */
	uint64_t addend;         /* IRELATIVE: the resolver */
	uint32_t type;
	char *name;              /* JUMP_SLOT, GLOB_DAT: the symbol */
	uint64_t symvalue;       /* TPOFF64, DTPMOD64: the symbol's value, */
	int symlocal;            /* and whether it is this object's (sym 0 or defined) */
};

/*
 * The strings a file's symbols and GOT relocations name: one copy of its
 * .dynstr, and after it the version names that live elsewhere (none, in
 * the files ld makes), placed behind the symbol array in the same
 * allocation.  The names are pointers into it: freeing the array frees
 * them (libc has 3000 symbols; a copy of each name and version was two
 * thirds of reading its table, once per file per -p all worker).
 */
struct strtab {
	char *base;
	size_t size;
};

/* The NUL-terminated string at `off`, or NULL if it is outside. */
static char *strtab_at(const struct strtab *t, size_t off)
{
	if (!t->base || off >= t->size || !memchr(t->base + off, '\0', t->size - off))
		return NULL;
	return t->base + off;
}

/* FNV-1a of a name: a lookup compares it before the name (a patch's few
 * imports are looked up in libc's 3000 symbols in every process). */
static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* The dynamic relocations that fill GOT slots, from .rela.dyn/.rela.plt. */
static void dynrels_read(struct lc_object *o, Elf_Scn *scn, Elf_Scn *dynsym,
			 const struct strtab *str)
{
	GElf_Shdr sh;
	Elf_Data *data = elf_getdata(scn, NULL);
	Elf_Data *syms = dynsym ? elf_getdata(dynsym, NULL) : NULL;
	if (!data || !gelf_getshdr(scn, &sh) || sh.sh_entsize != sizeof(Elf64_Rela) || !syms)
		return;
	size_t n = data->d_size / sizeof(Elf64_Rela);
	for (size_t i = 0; i < n; i++) {
		GElf_Rela ra;
		GElf_Sym st;
		if (!gelf_getrela(data, (int)i, &ra))
			break;
		uint32_t type = (uint32_t)GELF_R_TYPE(ra.r_info);
		if (type == R_X86_64_TPOFF64 || type == R_X86_64_DTPMOD64) {
			/* TLS slots: where the module's id and static offset show */
			size_t si = GELF_R_SYM(ra.r_info);
			int local = si == 0;
			uint64_t v = 0;
			char *sn = NULL;
			if (si && gelf_getsym(syms, (int)si, &st)) {
				local = st.st_shndx != SHN_UNDEF;
				v = st.st_value;
				sn = strtab_at(str, st.st_name);
			}
			o->rels = lc_xrealloc(o->rels, (o->nrels + 1) * sizeof(*o->rels));
			o->rels[o->nrels++] = (struct lc_dynrel){ ra.r_offset, (uint64_t)ra.r_addend,
								  type, sn && *sn ? sn : NULL, v, local };
			continue;
		}
		if (type != R_X86_64_IRELATIVE && type != R_X86_64_JUMP_SLOT &&
		    type != R_X86_64_GLOB_DAT)
			continue;
		char *name = NULL;
		if (type != R_X86_64_IRELATIVE) {
			if (!gelf_getsym(syms, (int)GELF_R_SYM(ra.r_info), &st) ||
			    !(name = strtab_at(str, st.st_name)) || !*name)
				continue;
		}
		o->rels = lc_xrealloc(o->rels, (o->nrels + 1) * sizeof(*o->rels));
		o->rels[o->nrels++] = (struct lc_dynrel){ ra.r_offset, (uint64_t)ra.r_addend, type,
							  name, 0, 0 };
	}
}

/* Version index -> name, from SHT_GNU_verdef: (*offs)[index] is the name's
 * offset in the strings (SIZE_MAX: none) for indexes below *n; a name
 * outside .dynstr (`dynstr`, section index) is added to `extra`, whose
 * offsets follow .dynstr's `dynstr_size` bytes. */
static void verdefs_read(Elf *elf, Elf_Scn *scn, size_t dynstr, size_t dynstr_size,
			 struct lc_buf *extra, size_t **offs, size_t *n)
{
	GElf_Shdr sh;
	Elf_Data *data = elf_getdata(scn, NULL);
	*offs = NULL;
	*n = 0;
	if (!data || !gelf_getshdr(scn, &sh))
		return;
	for (int pass = 0; pass < 2; pass++) {
		size_t off = 0;
		if (pass == 1) {
			*offs = lc_xmalloc((*n ? *n : 1) * sizeof(**offs));
			for (size_t i = 0; i < *n; i++)
				(*offs)[i] = SIZE_MAX;
		}
		for (size_t i = 0; i < sh.sh_info; i++) {
			GElf_Verdef vd;
			GElf_Verdaux va;
			if (!gelf_getverdef(data, (int)off, &vd))
				break;
			if (pass == 0 && vd.vd_ndx < 0x8000 && vd.vd_ndx + 1u > *n)
				*n = vd.vd_ndx + 1u;
			if (pass == 1 && vd.vd_ndx < *n && !(vd.vd_flags & VER_FLG_BASE) &&
			    (*offs)[vd.vd_ndx] == SIZE_MAX &&
			    gelf_getverdaux(data, (int)(off + vd.vd_aux), &va)) {
				const char *name = elf_strptr(elf, sh.sh_link, va.vda_name);
				if (name && sh.sh_link == dynstr && va.vda_name < dynstr_size) {
					(*offs)[vd.vd_ndx] = va.vda_name;
				} else if (name) {
					(*offs)[vd.vd_ndx] = dynstr_size + extra->len;
					lc_buf_add(extra, name, strlen(name) + 1);
				}
			}
			if (!vd.vd_next)
				break;
			off += vd.vd_next;
		}
	}
}

/* 0, or -1 (warned) if the file cannot be opened. */
static int symbols_read(struct lc_object *o)
{
	int fd = open(o->file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		lc_warn("cannot open %s to read its symbols", o->path);
		return -1;
	}
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	Elf_Scn *scn = NULL, *dynsym = NULL, *versym = NULL, *verdef = NULL, *relas[8];
	size_t nrelas = 0;
	while (elf && (scn = elf_nextscn(elf, scn)) != NULL) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_DYNSYM)
			dynsym = scn;
		else if (sh.sh_type == SHT_GNU_versym)
			versym = scn;
		else if (sh.sh_type == SHT_GNU_verdef)
			verdef = scn;
		else if (sh.sh_type == SHT_RELA && (sh.sh_flags & SHF_ALLOC) && nrelas < 8)
			relas[nrelas++] = scn;
	}
	size_t nph = 0;
	if (elf && elf_getphdrnum(elf, &nph) == 0)
		for (size_t i = 0; i < nph; i++) {
			GElf_Phdr ph;
			if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_TLS) {
				o->tls_memsz = ph.p_memsz;
				o->tls_align = ph.p_align ? ph.p_align : 1;
				o->tls_firstbyte = ph.p_vaddr & (o->tls_align - 1);
				o->has_tls = 1;
			}
		}
	GElf_Shdr sh;
	Elf_Data *data = dynsym ? elf_getdata(dynsym, NULL) : NULL;
	if (!data || !gelf_getshdr(dynsym, &sh))
		goto out;
	/* the symbol array, then the strings (struct strtab) */
	Elf_Scn *strscn = elf_getscn(elf, sh.sh_link);
	GElf_Shdr strsh;
	Elf_Data *sdata = strscn && gelf_getshdr(strscn, &strsh) && strsh.sh_type == SHT_STRTAB ?
			  elf_getdata(strscn, NULL) : NULL;
	size_t dynstr_size = sdata && sdata->d_buf ? sdata->d_size : 0;
	struct lc_buf extra = LC_BUF_INIT;
	size_t *veroffs = NULL, nver = 0;
	if (verdef)
		verdefs_read(elf, verdef, sh.sh_link, dynstr_size, &extra, &veroffs, &nver);
	size_t n = data->d_size / sizeof(Elf64_Sym);
	size_t strs_size = dynstr_size + extra.len;
	o->syms = lc_xmalloc(n * sizeof(*o->syms) + (strs_size ? strs_size : 1));
	struct strtab str = { (char *)(o->syms + n), strs_size };
	if (dynstr_size)
		memcpy(str.base, sdata->d_buf, dynstr_size);
	if (extra.len)
		memcpy(str.base + dynstr_size, extra.data, extra.len);
	lc_buf_free(&extra);
	for (size_t i = 0; i < nrelas; i++)
		dynrels_read(o, relas[i], dynsym, &str);
	Elf_Data *vdata = versym ? elf_getdata(versym, NULL) : NULL;
	for (size_t i = 1; i < n; i++) {
		GElf_Sym st;
		if (!gelf_getsym(data, (int)i, &st) || st.st_shndx == SHN_UNDEF ||
		    GELF_ST_BIND(st.st_info) == STB_LOCAL)
			continue;
		char *name = strtab_at(&str, st.st_name);
		if (!name || !*name)
			continue;
		struct lc_dynsym *d = &o->syms[o->nsyms++];
		memset(d, 0, sizeof(*d));
		d->name = name;
		d->hash = name_hash(name);
		d->value = st.st_value;
		d->type = GELF_ST_TYPE(st.st_info);
		GElf_Versym vs;
		if (vdata && gelf_getversym(vdata, (int)i, &vs)) {
			d->hidden = (vs & 0x8000) != 0;
			if ((size_t)(vs & 0x7fff) < nver && veroffs[vs & 0x7fff] != SIZE_MAX)
				d->version = strtab_at(&str, veroffs[vs & 0x7fff]);
		}
	}
	free(veroffs);
out:
	if (elf)
		elf_end(elf);
	close(fd);
	return 0;
}

/*
 * -p all looks up the same imports in the same files (libc's 3000 symbols)
 * for process after process: while proc.c's cache is on, each file's
 * symbols and GOT relocations (file values, the bias is added at lookup)
 * are read once and shared by the objects of that file (file_key).
 */
struct symcache {
	const void *key;
	struct lc_dynsym *syms;
	size_t nsyms;
	struct lc_dynrel *rels;
	size_t nrels;
	int has_tls;
	uint64_t tls_memsz, tls_align, tls_firstbyte;
};
static struct symcache *symcache;
static size_t nsymcache;

static void symcache_to(const struct symcache *c, struct lc_object *o)
{
	o->syms = c->syms;
	o->nsyms = c->nsyms;
	o->rels = c->rels;
	o->nrels = c->nrels;
	o->has_tls = c->has_tls;
	o->tls_memsz = c->tls_memsz;
	o->tls_align = c->tls_align;
	o->tls_firstbyte = c->tls_firstbyte;
	o->syms_shared = 1;
}

static void symbols_load(struct lc_object *o)
{
	o->syms_loaded = 1;
	for (size_t i = 0; o->file_key && i < nsymcache; i++)
		if (symcache[i].key == o->file_key) {
			symcache_to(&symcache[i], o);
			return;
		}
	if (symbols_read(o) != 0 || !o->file_key)
		return;
	symcache = lc_xrealloc(symcache, (nsymcache + 1) * sizeof(*symcache));
	symcache[nsymcache++] = (struct symcache){ o->file_key, o->syms, o->nsyms, o->rels,
						   o->nrels, o->has_tls, o->tls_memsz,
						   o->tls_align, o->tls_firstbyte };
	o->syms_shared = 1;
}

/* The names are in the symbol array's allocation (struct strtab). */
static void syms_release(struct lc_dynsym *syms, struct lc_dynrel *rels)
{
	free(rels);
	free(syms);
}

void lc_symbols_cache_clear(void)
{
	for (size_t i = 0; i < nsymcache; i++)
		syms_release(symcache[i].syms, symcache[i].rels);
	free(symcache);
	symcache = NULL;
	nsymcache = 0;
}

void lc_symbols_free(struct lc_object *o)
{
	if (o->syms_shared) {
		o->syms = NULL;
		o->nsyms = 0;
		o->rels = NULL;
		o->nrels = 0;
		o->syms_loaded = 0;
		o->syms_shared = 0;
		return;
	}
	syms_release(o->syms, o->rels);
	o->syms = NULL;
	o->nsyms = 0;
	o->rels = NULL;
	o->nrels = 0;
	o->syms_loaded = 0;
}

/* The address the dynamic linker resolved IFUNC `d` of `def` to, or 0. */
static uint64_t ifunc_resolved(struct lc_proc *pr, struct lc_object *def, const struct lc_dynsym *d)
{
	uint64_t slot;
	for (size_t i = 0; i < def->nrels; i++) {
		const struct lc_dynrel *r = &def->rels[i];
		if (r->type == R_X86_64_IRELATIVE && r->addend == d->value &&
		    lc_mem_read(pr, def->bias + r->offset, &slot, 8) == 0 &&
		    slot && slot != def->bias + d->value)
			return slot;
	}
	for (size_t k = 0; k < pr->nobjs; k++) {
		struct lc_object *o = &pr->objs[k];
		if (!o->syms_loaded)
			symbols_load(o);
		for (size_t i = 0; i < o->nrels; i++) {
			const struct lc_dynrel *r = &o->rels[i];
			if (!r->name || strcmp(r->name, d->name) != 0 ||
			    lc_mem_read(pr, o->bias + r->offset, &slot, 8) != 0)
				continue;
			/* a lazy JUMP_SLOT still points into its own object's PLT */
			if (slot && slot != def->bias + d->value && (slot < o->lo || slot >= o->hi))
				return slot;
		}
	}
	return 0;
}

int lc_symbols_lookup(struct lc_proc *pr, const char *name, const char *version,
		      struct lc_import *out)
{
	uint32_t h = name_hash(name);
	for (size_t k = 0; k < pr->nobjs; k++) {
		struct lc_object *o = &pr->objs[k];
		if (!o->syms_loaded)
			symbols_load(o);
		for (size_t i = 0; i < o->nsyms; i++) {
			const struct lc_dynsym *d = &o->syms[i];
			if (d->hash != h || strcmp(d->name, name) != 0)
				continue;
			if (version ? !d->version || strcmp(d->version, version) != 0 : d->hidden)
				continue;
			if (d->type == STT_TLS)
				return lc_error("process %d: import '%s' is a thread-local variable of %s: "
						"not supported", (int)pr->pid, name, o->path);
			out->addr = o->bias + d->value;
			out->ifunc = d->type == STT_GNU_IFUNC;
			if (out->ifunc) {
				uint64_t impl = ifunc_resolved(pr, o, d);
				if (impl) {
					lc_debug("import %s is an IFUNC, resolved to 0x%llx", name,
						 (unsigned long long)impl);
					out->addr = impl;
					out->ifunc = 0;
				}
			}
			lc_debug("import %s%s%s = 0x%llx in %s", name, version ? "@" : "",
				 version ? version : "", (unsigned long long)out->addr, o->path);
			return 1;
		}
	}
	return 0;
}

/*
 * The module id and static TLS offset of `o`, from the patient:
 *  - the program (module 1): its block ends at the thread pointer, as the
 *    dynamic linker lays out the first module (roundup(memsz - firstbyte,
 *    align) + firstbyte below the TP);
 *  - a library: copied from its own GOT slots, which the dynamic linker
 *    filled when it loaded it: a DTPMOD64 slot holds the module id; a
 *    TPOFF64 slot for a variable v of the object holds v + addend - offset.
 */
static void tls_of_object(struct lc_proc *pr, struct lc_object *o, struct lc_tls *out)
{
	snprintf(out->object, sizeof(out->object), "%s", o->path);
	if (o->is_exec) {
		uint64_t a = o->tls_align ? o->tls_align : 1, fb = o->tls_firstbyte;
		out->modid = 1;
		out->offset = (int64_t)((o->tls_memsz - fb + a - 1) / a * a + fb);
		out->has_offset = 1;
		return;
	}
	for (size_t i = 0; i < o->nrels; i++) {
		const struct lc_dynrel *r = &o->rels[i];
		uint64_t slot;
		if (!r->symlocal || lc_mem_read(pr, o->bias + r->offset, &slot, 8) != 0)
			continue;
		if (r->type == R_X86_64_DTPMOD64 && !out->modid && slot)
			out->modid = slot;
		if (r->type == R_X86_64_TPOFF64 && !out->has_offset) {
			out->offset = (int64_t)(r->symvalue + r->addend - slot);
			out->has_offset = 1;
		}
	}
	lc_debug("process %d: TLS of %s: module %llu, static offset %s%lld", (int)pr->pid,
		 o->path, (unsigned long long)out->modid, out->has_offset ? "" : "unknown ",
		 (long long)out->offset);
}

/* Another object's initial-exec access to variable `d` (a TPOFF64 slot
 * naming it, e.g. in the program) also tells the defining module's static
 * offset: slot = value + addend - offset. */
static void tls_offset_from_users(struct lc_proc *pr, const struct lc_dynsym *d,
				  struct lc_tls *out)
{
	for (size_t k = 0; k < pr->nobjs && !out->has_offset; k++) {
		struct lc_object *o = &pr->objs[k];
		uint64_t slot;
		for (size_t i = 0; i < o->nrels && !out->has_offset; i++) {
			const struct lc_dynrel *r = &o->rels[i];
			if (r->type != R_X86_64_TPOFF64 || !r->name || strcmp(r->name, d->name) != 0 ||
			    lc_mem_read(pr, o->bias + r->offset, &slot, 8) != 0)
				continue;
			out->offset = (int64_t)(d->value + r->addend - slot);
			out->has_offset = 1;
			lc_debug("process %d: static TLS offset of %s from %s's slot for %s: %lld",
				 (int)pr->pid, out->object, o->path, d->name, (long long)out->offset);
		}
	}
}

int lc_symbols_tls(struct lc_proc *pr, struct lc_object *target, const char *name,
		   const char *version, struct lc_tls *out)
{
	memset(out, 0, sizeof(*out));
	if (!name) {
		if (!target->syms_loaded)
			symbols_load(target);
		if (!target->has_tls)
			return lc_error("process %d: %s has no thread-local storage (no PT_TLS)",
					(int)pr->pid, target->path);
		tls_of_object(pr, target, out);
		return 1;
	}
	uint32_t h = name_hash(name);
	for (size_t k = 0; k < pr->nobjs; k++) {
		struct lc_object *o = &pr->objs[k];
		if (!o->syms_loaded)
			symbols_load(o);
		for (size_t i = 0; i < o->nsyms; i++) {
			const struct lc_dynsym *d = &o->syms[i];
			if (d->hash != h || strcmp(d->name, name) != 0)
				continue;
			if (version ? !d->version || strcmp(d->version, version) != 0 : d->hidden)
				continue;
			if (d->type != STT_TLS)
				return lc_error("process %d: '%s' of %s is not a thread-local variable",
						(int)pr->pid, name, o->path);
			tls_of_object(pr, o, out);
			out->value = d->value;
			if (!out->has_offset)
				tls_offset_from_users(pr, d, out);
			return 1;
		}
	}
	return 0;
}
