/*
 * verify.c - the doctor reads a patch file only through here: from a
 * trustworthy place (lc_trust_read: owner, modes, no FIFO, size cap), then
 * verified (lc_patchfile_verify: structure, hash, header fields, the
 * signature against the trusted keys) before anything else looks at it.
 * `--keys DIR` (default $LIBCARE_KEYS, else /etc/libcare/keys) and
 * `--allow-unsigned` set lc_verify_opts (patch, check).
 */
#include <stdlib.h>
#include <string.h>
#include "libcare/log.h"
#include "libcare/trust.h"
#include "doctor.h"

struct lc_verify_opts lc_verify_opts;

const char *lc_keys_dir(void)
{
	const char *env = getenv("LIBCARE_KEYS");
	if (lc_verify_opts.keys)
		return lc_verify_opts.keys;
	return env && *env ? env : LC_KEYS_DIR;
}

struct lc_patch *lc_patch_read(const char *path, struct lc_signer *signer)
{
	struct lc_buf b = LC_BUF_INIT;
	struct lc_signer s;
	char why[512];
	struct lc_patch *p = NULL;

	if (lc_trust_read(path, LC_PATCH_FILE_MAX, &b, why, sizeof(why)) != 0) {
		lc_error("cannot use %s: %s", path, why);
	} else if (lc_patchfile_verify(b.data, b.len, lc_keys_dir(),
				       lc_verify_opts.allow_unsigned ? LC_VERIFY_ALLOW_UNSIGNED : 0,
				       &s, why, sizeof(why)) != 0) {
		lc_error("%s: %s", path, why);
	} else if ((p = lc_patch_load(b.data, b.len, path)) != NULL) {
		lc_patch_set_signer(p, &s);
		if (s.is_signed) {
			char fpr[LC_FPR_HEX_LEN];
			lc_fpr_hex(s.key_sha256, fpr);
			lc_info("%s: signed by %s (%s)", path, s.key, fpr);
		} else {
			lc_info("%s: not verified (--allow-unsigned)", path);
		}
		if (signer)
			*signer = s;
	}
	lc_buf_free(&b);
	return p;
}
