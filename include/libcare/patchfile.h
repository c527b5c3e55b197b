/*
 * patchfile.h - the <BuildID>.kpatch file: a fixed header, then an ELF
 * ET_REL payload.  Written by libcare-mkpatch, read by the runtime.
 *
 * All integers little-endian.  Strings are NUL-padded.
 *
 * The payload (ET_REL, EM_X86_64, ELFCLASS64) holds the sections of
 * kpatch.h (.kpatch.text, .kpatch.data, .kpatch.info, .kpatch.strtab), their
 * .rela.* sections, .symtab, .strtab, .shstrtab.  Its symbols are:
 *   - section symbols and local FUNC/OBJECT symbols of those sections
 *     (value = offset in the section);
 *   - LC_SYM_TARGET, undefined: its value is the load bias of the target
 *     object, so "original symbol at link-time vaddr V" is a relocation
 *     against LC_SYM_TARGET with addend V + A;
 *   - every other undefined symbol is an import resolved by name in the
 *     objects the process has loaded: "name" (default version) or
 *     "name@VERSION"; STB_WEAK imports may stay unresolved (value 0).
 * Relocation types: R_X86_64_64, PC32, PLT32, 32, 32S, PC64.  Anything else
 * is refused by the runtime with the type named.
 */
#ifndef LIBCARE_PATCHFILE_H
#define LIBCARE_PATCHFILE_H

#include <stddef.h>
#include <stdint.h>

#define LC_PATCH_MAGIC     "LCPATCH1"   /* 8 bytes, no NUL */
#define LC_PATCH_VERSION   1
#define LC_SYM_TARGET      "__libcare_target"
#define LC_BUILD_ID_MAX    64
#define LC_NAME_MAX        256
#define LC_ID_MAX          64
#define LC_DESC_MAX        256

struct lc_patch_header {
	char     magic[8];                      /* LC_PATCH_MAGIC */
	uint32_t version;                       /* LC_PATCH_VERSION */
	uint32_t header_size;                   /* sizeof(struct lc_patch_header) */
	uint8_t  build_id[LC_BUILD_ID_MAX];     /* target's NT_GNU_BUILD_ID */
	uint32_t build_id_len;
	uint32_t level;                         /* --level, default 1 */
	char     target_name[LC_NAME_MAX];      /* basename of the target */
	char     id[LC_ID_MAX];                 /* --id, default "default" */
	char     description[LC_DESC_MAX];      /* --desc */
	uint64_t created;                       /* unix seconds */
	uint64_t payload_size;                  /* bytes after the header */
	uint8_t  payload_sha256[32];
};

_Static_assert(sizeof(struct lc_patch_header) == 712, "patch header layout");

/*
 * Checks a whole patch file held in memory: magic, version, header size,
 * payload length against the file length (truncation), SHA-256.  On success
 * sets *hdr and *payload (pointers into `file`) and returns 0; otherwise
 * writes a one-line reason naming what is wrong into why[why_len] and
 * returns -1.  Does not log: the caller adds the file name.
 */
int lc_patchfile_check(const void *file, size_t len,
		       const struct lc_patch_header **hdr, const void **payload,
		       char *why, size_t why_len);

/* Fills magic, version, header_size, payload_size and payload_sha256. */
void lc_patchfile_seal(struct lc_patch_header *hdr, const void *payload,
		       size_t payload_len);

#endif
