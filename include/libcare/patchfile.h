/*
 * patchfile.h - the <BuildID>.kpatch file: a fixed header, then an ELF
 * ET_REL payload, then (signed files) a signature trailer.  Written by
 * libcare-mkpatch, read by the runtime.  docs/patch-format.md and
 * docs/signing.md describe it.
 *
 *   [struct lc_patch_header][payload: payload_size bytes][struct lc_patch_sig]
 *
 * `sha256` covers the header up to that field and the payload: any changed
 * byte of either is detected.  The trailer's Ed25519 signature covers every
 * byte before it (header and payload).  An unsigned file has no trailer.
 *
 * All integers little-endian.  Strings are NUL-padded (zero after the NUL).
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
#define LC_PATCH_VERSION   2            /* 1: the hash covered the payload only */
#define LC_PATCH_FILE_MAX  (64u << 20)  /* larger files are refused unread */
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
	uint8_t  sha256[32];                    /* of the 680 bytes before it + payload */
};

_Static_assert(sizeof(struct lc_patch_header) == 712, "patch header layout");
#define LC_PATCH_HASHED_HEADER offsetof(struct lc_patch_header, sha256)

/* The trailer of a signed file. */
#define LC_SIG_MAGIC     "LCSIGNED"             /* 8 bytes, no NUL */
#define LC_SIG_ED25519   1
struct lc_patch_sig {
	char     magic[8];                      /* LC_SIG_MAGIC */
	uint32_t algorithm;                     /* LC_SIG_ED25519 */
	uint32_t size;                          /* sizeof(struct lc_patch_sig) */
	uint8_t  key_sha256[32];                /* SHA-256 of the signing key's public
	                                         * key, DER SubjectPublicKeyInfo */
	uint8_t  signature[64];                 /* Ed25519 of every byte before the trailer */
};

_Static_assert(sizeof(struct lc_patch_sig) == 112, "signature trailer layout");

/*
 * Checks a whole patch file held in memory: size cap, magic, version, header
 * size, payload length against the file length (truncation, trailing
 * bytes, a signature trailer's frame), SHA-256 of header and payload, then
 * every header field's range (BuildID length and zero padding, level >= 1,
 * strings terminated, zero-padded, target name and id without control
 * characters or '/').  Does NOT check the signature (lc_patchfile_verify).
 * On success sets *hdr and *payload (pointers into `file`) and returns 0;
 * otherwise writes a one-line reason naming what is wrong into why[why_len]
 * and returns -1.  Does not log: the caller adds the file name.
 */
int lc_patchfile_check(const void *file, size_t len,
		       const struct lc_patch_header **hdr, const void **payload,
		       char *why, size_t why_len);

/* The header field checks of lc_patchfile_check alone (for a copy of a
 * header found elsewhere, e.g. in a patch region). */
int lc_patchfile_header_fields(const struct lc_patch_header *h, char *why, size_t why_len);

/* The signature trailer of a file that passed lc_patchfile_check, copied
 * into *out (it may be unaligned): 1, or 0 if the file is unsigned. */
int lc_patchfile_sig(const void *file, size_t len, struct lc_patch_sig *out);

/* Fills magic, version, header_size, payload_size and sha256 (over the
 * other header fields, so fill them first, and the payload). */
void lc_patchfile_seal(struct lc_patch_header *hdr, const void *payload,
		       size_t payload_len);

/* SHA-256 (OpenSSL libcrypto); all zeros if libcrypto cannot. */
void lc_sha256(const void *data, size_t len, uint8_t out[32]);

/* Starts libcrypto as LibCare uses it (no openssl.cnf, no error strings,
 * no exit-time cleanup); the functions here and in trust.h call it. */
void lc_crypto_init(void);

#endif
