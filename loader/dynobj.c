/*
 * dynobj.c - the objects of the program's link namespace, read from their
 * dynamic sections in memory (no file, no libelf): symbol lookup as the
 * dynamic linker binds (GNU or SysV hash, symbol versions), IFUNC results,
 * TLS module facts, and the GOT slots the dynamic linker has yet to fill
 * in an object it has mapped but not relocated (a dlopen in progress).
 *
 * The doctor does the same from the files (doctor/symbols.c); in-process
 * the dynamic linker's own tables are already in memory.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "libcare/buf.h"
#include "libcare/log.h"
#include "engine.h"

/* glibc turns the d_ptr of a writable dynamic section into an address
 * when it maps the object; a read-only one (the vdso) keeps offsets. */
static const void *dyn_ptr(const struct lc_dynobj *o, uint64_t v)
{
	if (o->bias && v < o->bias)
		v += o->bias;
	return (const void *)(uintptr_t)v;
}

static void dynobj_read(struct lc_dynobj *o)
{
	uint64_t relasz = 0, pltrelsz = 0;
	const Elf64_Dyn *d = o->map->l_ld;
	for (; d && d->d_tag != DT_NULL; d++) {
		switch (d->d_tag) {
		case DT_SYMTAB: o->symtab = dyn_ptr(o, d->d_un.d_ptr); break;
		case DT_STRTAB: o->strtab = dyn_ptr(o, d->d_un.d_ptr); break;
		case DT_STRSZ: o->strsz = d->d_un.d_val; break;
		case DT_GNU_HASH: o->gnu_hash = dyn_ptr(o, d->d_un.d_ptr); break;
		case DT_HASH: o->sysv_hash = dyn_ptr(o, d->d_un.d_ptr); break;
		case DT_VERSYM: o->versym = dyn_ptr(o, d->d_un.d_ptr); break;
		case DT_VERDEF: o->verdef = dyn_ptr(o, d->d_un.d_ptr); break;
		case DT_VERDEFNUM: o->verdefnum = d->d_un.d_val; break;
		case DT_RELA: o->rela = dyn_ptr(o, d->d_un.d_ptr); break;
		case DT_RELASZ: relasz = d->d_un.d_val; break;
		case DT_JMPREL: o->jmprel = dyn_ptr(o, d->d_un.d_ptr); break;
		case DT_PLTRELSZ: pltrelsz = d->d_un.d_val; break;
		}
	}
	o->nrela = o->rela ? relasz / sizeof(Elf64_Rela) : 0;
	o->njmprel = o->jmprel ? pltrelsz / sizeof(Elf64_Rela) : 0;
}

void lc_ns_open(struct lc_namespace *ns, struct link_map *head,
		const struct lc_loader_obj *seen, size_t nseen)
{
	memset(ns, 0, sizeof(*ns));
	for (struct link_map *m = head; m; m = m->l_next) {
		ns->objs = lc_xrealloc(ns->objs, (ns->n + 1) * sizeof(*ns->objs));
		struct lc_dynobj *o = &ns->objs[ns->n++];
		memset(o, 0, sizeof(*o));
		o->map = m;
		o->bias = m->l_addr;
		o->name = m->l_name && *m->l_name ? m->l_name : "the program";
		o->relocated = 1;
		for (size_t i = 0; i < nseen; i++)
			if (seen[i].map == m) {
				o->obj = &seen[i];
				o->relocated = seen[i].relocated;
			}
		dynobj_read(o);
	}
}

void lc_ns_close(struct lc_namespace *ns)
{
	free(ns->objs);
	memset(ns, 0, sizeof(*ns));
}

struct lc_dynobj *lc_ns_find(struct lc_namespace *ns, struct link_map *map)
{
	for (size_t i = 0; i < ns->n; i++)
		if (ns->objs[i].map == map)
			return &ns->objs[i];
	return NULL;
}

static uint32_t hash_gnu(const char *s)
{
	uint32_t h = 5381;
	for (; *s; s++)
		h = h * 33 + (unsigned char)*s;
	return h;
}

static uint32_t hash_sysv(const char *s)
{
	uint32_t h = 0, g;
	for (; *s; s++) {
		h = (h << 4) + (unsigned char)*s;
		g = h & 0xf0000000;
		if (g)
			h ^= g >> 24;
		h &= ~g;
	}
	return h;
}

/* The name of version index `ndx` (NULL: the base version or none). */
static const char *version_name(const struct lc_dynobj *o, uint16_t ndx)
{
	const Elf64_Verdef *vd = o->verdef;
	for (size_t i = 0; vd && i < o->verdefnum; i++) {
		if (vd->vd_ndx == ndx) {
			if (vd->vd_flags & VER_FLG_BASE)
				return NULL;
			const Elf64_Verdaux *va = (const void *)((const char *)vd + vd->vd_aux);
			return va->vda_name < o->strsz ? o->strtab + va->vda_name : NULL;
		}
		if (!vd->vd_next)
			break;
		vd = (const void *)((const char *)vd + vd->vd_next);
	}
	return NULL;
}

/* Is symbol `i` a definition of name[@version] this lookup binds to? */
static int sym_matches(const struct lc_dynobj *o, uint32_t i, const char *name,
		       const char *version)
{
	const Elf64_Sym *s = &o->symtab[i];
	int bind = ELF64_ST_BIND(s->st_info);
	if (s->st_shndx == SHN_UNDEF || (bind != STB_GLOBAL && bind != STB_WEAK &&
					 bind != STB_GNU_UNIQUE) ||
	    s->st_name >= o->strsz || strcmp(o->strtab + s->st_name, name) != 0)
		return 0;
	if (!o->versym)
		return version == NULL;
	uint16_t vs = o->versym[i];
	if (!version)
		return !(vs & 0x8000);
	const char *vn = version_name(o, vs & 0x7fff);
	return vn && strcmp(vn, version) == 0;
}

/* The index of name[@version] in o's .dynsym, or 0. */
static uint32_t sym_find(const struct lc_dynobj *o, const char *name, const char *version)
{
	if (!o->symtab || !o->strtab)
		return 0;
	if (o->gnu_hash) {
		const uint32_t *h = o->gnu_hash;
		uint32_t nbuckets = h[0], symoffset = h[1], bloom_size = h[2];
		if (!nbuckets)
			return 0;
		const uint32_t *buckets = (const uint32_t *)((const uint64_t *)(h + 4) + bloom_size);
		const uint32_t *chain = buckets + nbuckets;
		uint32_t hash = hash_gnu(name);
		uint32_t i = buckets[hash % nbuckets];
		if (i < symoffset)
			return 0;
		for (;; i++) {
			uint32_t ch = chain[i - symoffset];
			if ((ch | 1) == (hash | 1) && sym_matches(o, i, name, version))
				return i;
			if (ch & 1)
				return 0;
		}
	}
	if (o->sysv_hash) {
		const uint32_t *h = o->sysv_hash;
		uint32_t nbucket = h[0], nchain = h[1];
		if (!nbucket)
			return 0;
		const uint32_t *bucket = h + 2, *chain = bucket + nbucket;
		for (uint32_t i = bucket[hash_sysv(name) % nbucket]; i && i < nchain; i = chain[i])
			if (sym_matches(o, i, name, version))
				return i;
	}
	return 0;
}

/* What the dynamic linker resolved IFUNC `s` of `o` to: the slot of its
 * own R_X86_64_IRELATIVE for that resolver, else the resolver's answer
 * (as dlsym would ask it).  0 if `o` is not relocated yet. */
static uint64_t ifunc_resolved(const struct lc_dynobj *o, const Elf64_Sym *s)
{
	if (!o->relocated)
		return 0;
	const Elf64_Rela *tabs[2] = { o->rela, o->jmprel };
	size_t ns[2] = { o->nrela, o->njmprel };
	for (int t = 0; t < 2; t++)
		for (size_t i = 0; i < ns[t]; i++) {
			const Elf64_Rela *r = &tabs[t][i];
			if (ELF64_R_TYPE(r->r_info) != R_X86_64_IRELATIVE ||
			    (uint64_t)r->r_addend != s->st_value)
				continue;
			uint64_t slot = *(const uint64_t *)(uintptr_t)(o->bias + r->r_offset);
			if (slot && slot != o->bias + s->st_value)
				return slot;
		}
	uint64_t (*resolver)(void) = (uint64_t (*)(void))(uintptr_t)(o->bias + s->st_value);
	return resolver();
}

int lc_ns_lookup(struct lc_namespace *ns, const char *name, const char *version,
		 struct lc_import *out)
{
	for (size_t k = 0; k < ns->n; k++) {
		const struct lc_dynobj *o = &ns->objs[k];
		uint32_t i = sym_find(o, name, version);
		if (!i)
			continue;
		const Elf64_Sym *s = &o->symtab[i];
		if (ELF64_ST_TYPE(s->st_info) == STT_TLS)
			return lc_error("import '%s' is a thread-local variable of %s: not supported",
					name, o->name);
		out->addr = o->bias + s->st_value;
		out->ifunc = ELF64_ST_TYPE(s->st_info) == STT_GNU_IFUNC;
		if (out->ifunc) {
			uint64_t impl = ifunc_resolved(o, s);
			if (impl) {
				out->addr = impl;
				out->ifunc = 0;
			}
		}
		return 1;
	}
	return 0;
}

/*
 * TLS facts of `o`: the module id the dynamic linker gave it (dlinfo) and
 * its static TLS offset: the program's block ends at the thread pointer
 * (the first module); a library's shows in its own TPOFF64 slots (initial
 * exec), read once it is relocated.
 */
static void tls_of(const struct lc_dynobj *o, struct lc_tls *out)
{
	size_t modid = 0;
	snprintf(out->object, sizeof(out->object), "%s", o->name);
	if (dlinfo(o->map, RTLD_DI_TLS_MODID, &modid) == 0)
		out->modid = modid;
	if (o->map->l_prev == NULL && o->obj) {
		for (size_t i = 0; i < o->obj->phnum; i++) {
			const Elf64_Phdr *ph = &o->obj->phdr[i];
			if (ph->p_type != PT_TLS)
				continue;
			uint64_t a = ph->p_align ? ph->p_align : 1, fb = ph->p_vaddr & (a - 1);
			out->offset = (int64_t)((ph->p_memsz - fb + a - 1) / a * a + fb);
			out->has_offset = 1;
		}
		return;
	}
	if (!o->relocated)
		return;
	const Elf64_Rela *tabs[2] = { o->rela, o->jmprel };
	size_t ns[2] = { o->nrela, o->njmprel };
	for (int t = 0; t < 2 && !out->has_offset; t++)
		for (size_t i = 0; i < ns[t] && !out->has_offset; i++) {
			const Elf64_Rela *r = &tabs[t][i];
			uint32_t si = (uint32_t)ELF64_R_SYM(r->r_info);
			if (ELF64_R_TYPE(r->r_info) != R_X86_64_TPOFF64 ||
			    (si && o->symtab[si].st_shndx == SHN_UNDEF))
				continue;
			uint64_t v = si ? o->symtab[si].st_value : 0;
			uint64_t slot = *(const uint64_t *)(uintptr_t)(o->bias + r->r_offset);
			out->offset = (int64_t)(v + (uint64_t)r->r_addend - slot);
			out->has_offset = 1;
		}
}

/* Another object's initial-exec access to `name` (a TPOFF64 slot naming it,
 * e.g. in the program) also tells the defining module's static offset:
 * slot = value + addend - offset. */
static void tls_offset_from_users(const struct lc_namespace *ns, const char *name,
				  uint64_t value, struct lc_tls *out)
{
	for (size_t k = 0; k < ns->n && !out->has_offset; k++) {
		const struct lc_dynobj *o = &ns->objs[k];
		const Elf64_Rela *tabs[2] = { o->rela, o->jmprel };
		size_t n[2] = { o->nrela, o->njmprel };
		if (!o->relocated || !o->symtab)
			continue;
		for (int t = 0; t < 2 && !out->has_offset; t++)
			for (size_t i = 0; i < n[t] && !out->has_offset; i++) {
				const Elf64_Rela *r = &tabs[t][i];
				uint32_t si = (uint32_t)ELF64_R_SYM(r->r_info);
				const Elf64_Sym *s = &o->symtab[si];
				if (ELF64_R_TYPE(r->r_info) != R_X86_64_TPOFF64 || !si ||
				    s->st_name >= o->strsz || strcmp(o->strtab + s->st_name, name) != 0)
					continue;
				uint64_t slot = *(const uint64_t *)(uintptr_t)(o->bias + r->r_offset);
				out->offset = (int64_t)(value + (uint64_t)r->r_addend - slot);
				out->has_offset = 1;
			}
	}
}

int lc_ns_tls(struct lc_namespace *ns, struct lc_dynobj *target, const char *name,
	      const char *version, struct lc_tls *out)
{
	memset(out, 0, sizeof(*out));
	if (!name) {
		tls_of(target, out);
		return 1;
	}
	for (size_t k = 0; k < ns->n; k++) {
		const struct lc_dynobj *o = &ns->objs[k];
		uint32_t i = sym_find(o, name, version);
		if (!i)
			continue;
		if (ELF64_ST_TYPE(o->symtab[i].st_info) != STT_TLS)
			return lc_error("'%s' of %s is not a thread-local variable", name, o->name);
		tls_of(o, out);
		out->value = o->symtab[i].st_value;
		if (!out->has_offset)
			tls_offset_from_users(ns, name, out->value, out);
		return 1;
	}
	return 0;
}

int lc_ns_unrelocated(struct lc_namespace *ns, uint64_t addr, size_t len, const char **who)
{
	for (size_t k = 0; k < ns->n; k++) {
		const struct lc_dynobj *o = &ns->objs[k];
		if (o->relocated)
			continue;
		const Elf64_Rela *tabs[2] = { o->rela, o->jmprel };
		size_t n[2] = { o->nrela, o->njmprel };
		for (int t = 0; t < 2; t++)
			for (size_t i = 0; i < n[t]; i++) {
				uint64_t slot = o->bias + tabs[t][i].r_offset;
				if (slot < addr + len && addr < slot + 8) {
					*who = o->name;
					return 1;
				}
			}
	}
	return 0;
}
