/*
 * loader.h - what the two halves of the in-process loader share.
 *
 * libcare-audit.so (audit.c) is the LD_AUDIT module every process under
 * LD_AUDIT loads: it only reads the BuildID of each object the dynamic
 * linker maps (from memory) and looks for DIR/<BuildID>.kpatch.  Only when
 * a patch file exists does it dlopen libcare-audit-engine.so (apply.c,
 * object.c, symbols.c, memory.c), which links the runtime, libelf and the
 * verification code: a process with no patch to apply never loads them.
 *
 * Both halves live in the audit module's own link namespace; the objects
 * they patch are in the program's (LM_ID_BASE), reached through the
 * struct link_map the dynamic linker hands to la_objopen.
 */
#ifndef LIBCARE_LOADER_H
#define LIBCARE_LOADER_H

#include <elf.h>
#include <link.h>
#include <stddef.h>
#include <stdint.h>

#define LC_LOADER_ENGINE "libcare-audit-engine.so"
#define LC_LOADER_APPLY  "lc_loader_apply"
#define LC_PATCH_DIR_DEFAULT "/var/lib/libcare/patches"
#define LC_KEYS_DIR_DEFAULT  "/etc/libcare/keys"

/* One object of the program's namespace, as the audit module saw it. */
struct lc_loader_obj {
	struct link_map *map;
	const Elf64_Phdr *phdr;   /* its program headers in memory */
	size_t phnum;
	int relocated;            /* the dynamic linker has relocated it */
	uint8_t build_id[64];
	size_t build_id_len;
	char build_id_hex[129];
};

/* A patch to apply now: the dynamic linker has mapped every object of the
 * current load (la_activity LA_ACT_CONSISTENT) and no code of `target`
 * has run yet. */
struct lc_loader_req {
	const struct lc_loader_obj *target;
	const char *file;         /* DIR/<BuildID>.kpatch */
	const char *keys;         /* trusted keys directory */
	int allow_unsigned;       /* LIBCARE_ALLOW_UNSIGNED=1: unsigned files too */
	struct link_map *head;    /* the namespace's first object (the program) */
	const struct lc_loader_obj *objs;   /* every object seen, with phdrs */
	size_t nobjs;
	int verbose;              /* LIBCARE_AUDIT_VERBOSE: say what was applied */
	char why[512];            /* out: the reason it was not applied */
	char report[1024];        /* out, verbose: what was applied (one line) */
	uint64_t region;          /* out: where the patch region went, */
	size_t region_size;       /* and its size (unmapped when the object goes) */
};

/* 0 applied (region and jumps in place), -1 not applied: the process is
 * exactly as before and req->why says why. */
typedef int (*lc_loader_apply_fn)(struct lc_loader_req *req);
int lc_loader_apply(struct lc_loader_req *req);

#endif
