/*
 * engine.h - the files of libcare-audit-engine.so: the objects of the
 * program's namespace read from memory (dynobj.c), this process's memory
 * (memory.c) and the apply sequence (apply.c).  Not an API.
 */
#ifndef LIBCARE_LOADER_ENGINE_H
#define LIBCARE_LOADER_ENGINE_H

#include "loader.h"
#include "runtime.h"

/* --- dynobj.c: an object's dynamic section, symbols and GOT slots -------- */

struct lc_dynobj {
	struct link_map *map;
	uint64_t bias;
	const char *name;                 /* for messages */
	int relocated;
	const struct lc_loader_obj *obj;  /* NULL if the audit module has no phdrs */
	const Elf64_Sym *symtab;
	const char *strtab;
	size_t strsz;
	const uint32_t *gnu_hash, *sysv_hash;
	const uint16_t *versym;
	const Elf64_Verdef *verdef;
	size_t verdefnum;
	const Elf64_Rela *rela, *jmprel;
	size_t nrela, njmprel;
};

struct lc_namespace {
	struct lc_dynobj *objs;           /* in load order: the program first */
	size_t n;
};

/* Every object of the namespace starting at `head`. */
void lc_ns_open(struct lc_namespace *ns, struct link_map *head,
		const struct lc_loader_obj *seen, size_t nseen);
void lc_ns_close(struct lc_namespace *ns);
struct lc_dynobj *lc_ns_find(struct lc_namespace *ns, struct link_map *map);
/* As the dynamic linker binds name[@version]: first definition in load
 * order, the default version unless one is named.  1, 0, -1 (logged). */
int lc_ns_lookup(struct lc_namespace *ns, const char *name, const char *version,
		 struct lc_import *out);
/* The TLS of `target` (name NULL) or of the object defining `name`. */
int lc_ns_tls(struct lc_namespace *ns, struct lc_dynobj *target, const char *name,
	      const char *version, struct lc_tls *out);
/* Does [addr, addr+len) hold a slot the dynamic linker has yet to fill
 * (an object not relocated yet)?  The object's name in *who if so. */
int lc_ns_unrelocated(struct lc_namespace *ns, uint64_t addr, size_t len, const char **who);

/* --- memory.c: this process's mappings ----------------------------------- */

struct lc_selfmap {
	uint64_t start, end;
	int prot;
};

struct lc_self {
	struct lc_selfmap *maps;
	size_t n;
};

int lc_self_maps(struct lc_self *s);
void lc_self_free(struct lc_self *s);
/* 0 if all of [addr, addr+len) is mapped readable, -1 (logged) if not. */
int lc_self_read(const struct lc_self *s, uint64_t addr, void *buf, size_t len);
/* Writes code bytes (through /proc/self/mem, else by changing the page's
 * protection for the write and back).  0 or -1 (logged). */
int lc_self_write_code(const struct lc_self *s, uint64_t addr, const void *buf, size_t len);

#endif
