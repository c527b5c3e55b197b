/*
 * trust.h - what a patch file must prove before anything uses it: that it
 * comes from a place only root (or the invoking user) can write, and that
 * a trusted key signed it.  Shared by libcare-doctor and any other loader
 * of patch files (docs/signing.md).  Code: common/trust.c, common/sign.c,
 * OpenSSL libcrypto for Ed25519 and SHA-256.
 */
#ifndef LIBCARE_TRUST_H
#define LIBCARE_TRUST_H

#include <stddef.h>
#include <stdint.h>
#include "libcare/buf.h"
#include "libcare/patchfile.h"

#define LC_KEYS_DIR        "/etc/libcare/keys"
#define LC_KEY_NAME_MAX    64

/* Who signed a verified file. */
struct lc_signer {
	int      is_signed;                     /* 0: accepted unsigned (allowed) */
	uint8_t  key_sha256[32];                /* the key's fingerprint */
	char     key[LC_KEY_NAME_MAX];          /* the trusted key's file name */
};

/* "SHA256:" + 64 hex digits + NUL */
#define LC_FPR_HEX_LEN (7 + 64 + 1)
void lc_fpr_hex(const uint8_t sha[32], char out[LC_FPR_HEX_LEN]);

#define LC_VERIFY_ALLOW_UNSIGNED 1

/*
 * Verifies a patch file held in memory: lc_patchfile_check (structure,
 * hash, header fields), then its Ed25519 signature against the PEM public
 * keys (*.pem) of `keysdir` (NULL: LC_KEYS_DIR), which must be trustworthy
 * (lc_trust_path).  An unsigned file is refused unless
 * flags & LC_VERIFY_ALLOW_UNSIGNED.  0 and *signer filled, or -1 with a
 * one-line reason in why[].  Does not log.
 */
int lc_patchfile_verify(const void *file, size_t len, const char *keysdir, int flags,
			struct lc_signer *signer, char *why, size_t why_len);

/* Appends the signature trailer to `file` (header + payload, sealed) with
 * the Ed25519 private key in PEM file `keyfile`.  0, or -1 with why[]. */
int lc_patchfile_sign(struct lc_buf *file, const char *keyfile, char *why, size_t why_len);

/*
 * May a root tool trust `path`?  It and every directory above it (after
 * resolving symlinks) must be owned by root or the effective user and not
 * writable by group or others; a group/other-writable directory passes
 * only if it is sticky (/tmp) and the entry in it is owned by root or the
 * effective user.  0, or -1 with why[] naming the path and its mode.
 */
int lc_trust_path(const char *path, char *why, size_t why_len);

/*
 * Reads a file a root tool acts on: lc_trust_path, then opened with
 * O_NOFOLLOW | O_NONBLOCK (a FIFO does not block), which must be a regular
 * file of at most `max` bytes, trusted as above.  0 with the bytes in
 * *out, or -1 with why[] (no errno needed).
 */
int lc_trust_read(const char *path, size_t max, struct lc_buf *out, char *why, size_t why_len);

/* `s` (at most `max` bytes, up to a NUL) with control characters, '\\'
 * and non-ASCII bytes escaped (\n, \x1b ...), into out[out_len]: safe
 * for a terminal.  Returns out. */
char *lc_escape(const char *s, size_t max, char *out, size_t out_len);

#endif
