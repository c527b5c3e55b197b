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
#include <sys/stat.h>
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

/*
 * A file verified once is not read and verified again in the same run
 * (-p all reads the same patch file for every process that has its
 * object): its verified bytes are kept with its identity, and used while
 * stat(2) shows the same file (device, inode, size, modification and
 * change times: a chmod, chown or rewrite changes one of them).  The bytes
 * are loaded once too: the loaded patch is lent to one run at a time
 * (lc_patch_release gives it back; it is linked anew for each process, and
 * a second run using the same file meanwhile gets a fresh load).
 * Only while lc_verify_cache is on (patch -p all): a long-running server
 * reads the file, and the trusted keys, anew each time.
 */
struct verified {
	char *path;
	struct stat st;
	struct lc_buf bytes;
	struct lc_signer signer;
	struct lc_patch *loaded;        /* or NULL */
	int lent;                       /* loaded is in use */
};
static struct verified *verified;
static size_t nverified;
static int cache_on;

void lc_verify_cache(int on)
{
	cache_on = on;
	if (on)
		return;
	for (size_t i = 0; i < nverified; i++) {
		free(verified[i].path);
		lc_buf_free(&verified[i].bytes);
		lc_patch_free(verified[i].loaded);
	}
	free(verified);
	verified = NULL;
	nverified = 0;
}

static int same_identity(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mode == b->st_mode && a->st_uid == b->st_uid && a->st_gid == b->st_gid &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

void lc_patch_release(struct lc_patch *p)
{
	for (size_t i = 0; p && i < nverified; i++)
		if (verified[i].loaded == p) {
			verified[i].lent = 0;
			return;
		}
	lc_patch_free(p);
}

static void patch_said(const char *path, const struct lc_signer *s)
{
	if (s->is_signed) {
		char fpr[LC_FPR_HEX_LEN];
		lc_fpr_hex(s->key_sha256, fpr);
		lc_info("%s: signed by %s (%s)", path, s->key, fpr);
	} else {
		lc_info("%s: not verified (--allow-unsigned)", path);
	}
}

static struct verified *verified_find(const char *path, const struct stat *st)
{
	for (size_t i = 0; i < nverified; i++)
		if (strcmp(verified[i].path, path) == 0 && same_identity(&verified[i].st, st))
			return &verified[i];
	return NULL;
}

static struct lc_patch *patch_from(const char *path, const struct lc_buf *b,
				   const struct lc_signer *s, struct lc_signer *signer)
{
	struct lc_patch *p = lc_patch_load(b->data, b->len, path);
	if (!p)
		return NULL;
	lc_patch_set_signer(p, s);
	patch_said(path, s);
	if (signer)
		*signer = *s;
	return p;
}

struct lc_patch *lc_patch_read(const char *path, struct lc_signer *signer)
{
	struct lc_buf b = LC_BUF_INIT;
	struct lc_signer s;
	char why[512];
	struct lc_patch *p = NULL;
	struct stat before, after;

	int known = cache_on && stat(path, &before) == 0;
	struct verified *v = known ? verified_find(path, &before) : NULL;
	if (v && v->loaded && !v->lent) {
		v->lent = 1;
		patch_said(path, &v->signer);
		if (signer)
			*signer = v->signer;
		return v->loaded;
	}
	if (v)
		return patch_from(path, &v->bytes, &v->signer, signer);
	if (lc_trust_read(path, LC_PATCH_FILE_MAX, &b, why, sizeof(why)) != 0) {
		lc_error("cannot use %s: %s", path, why);
	} else if (lc_patchfile_verify(b.data, b.len, lc_keys_dir(),
				       lc_verify_opts.allow_unsigned ? LC_VERIFY_ALLOW_UNSIGNED : 0,
				       &s, why, sizeof(why)) != 0) {
		lc_error("%s: %s", path, why);
	} else if ((p = patch_from(path, &b, &s, signer)) != NULL && known &&
		   stat(path, &after) == 0 && same_identity(&before, &after)) {
		/* the same file before and after the read: these are its bytes */
		verified = lc_xrealloc(verified, (nverified + 1) * sizeof(*verified));
		verified[nverified++] = (struct verified){ lc_xstrdup(path), after, b, s, p, 1 };
		return p;
	}
	lc_buf_free(&b);
	return p;
}
