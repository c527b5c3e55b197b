/*
 * patchfile.c - sealing and checking a <BuildID>.kpatch file.  mkpatch
 * seals, the runtime checks; both take the layout from patchfile.h.  The
 * whole file is checked here, every header field included: what passes can
 * be printed and used without further bounds checks on the header.
 */
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include "libcare/patchfile.h"

/*
 * libcrypto started for what LibCare asks of it (SHA-256, Ed25519), before
 * its first use.  Without the system's openssl.cnf: the algorithms are
 * fixed, so the file could only choose who provides them, and reading it
 * (with the error strings and the exit-time cleanup, also left out) was
 * most of the instructions of a doctor's run of `patch -p PID`.  Any other
 * libcrypto user of the same process that started it first keeps its own
 * start (the first call decides).
 */
void lc_crypto_init(void)
{
	static int done;
	if (done)
		return;
	done = 1;
	OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS |
			    OPENSSL_INIT_NO_ATEXIT, NULL);
}

/* SHA-256 fetched once from the default provider: a digest named by
 * EVP_sha256() is looked up again at every EVP_DigestInit_ex, through the
 * engine table first. */
static const EVP_MD *sha256_md(void)
{
	static EVP_MD *md;
	if (!md) {
		lc_crypto_init();
		md = EVP_MD_fetch(NULL, "SHA2-256", NULL);
	}
	return md;
}

void lc_sha256(const void *data, size_t len, uint8_t out[32])
{
	unsigned int n = 0;
	const EVP_MD *md = sha256_md();
	if (!md || EVP_Digest(data, len, out, &n, md, NULL) != 1 || n != 32)
		memset(out, 0, 32);    /* cannot match a real digest by accident */
}

static void patchfile_hash(const struct lc_patch_header *hdr, const void *payload,
			   size_t payload_len, uint8_t out[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int n = 0;
	const EVP_MD *md = sha256_md();
	if (!ctx || !md || EVP_DigestInit_ex(ctx, md, NULL) != 1 ||
	    EVP_DigestUpdate(ctx, hdr, LC_PATCH_HASHED_HEADER) != 1 ||
	    EVP_DigestUpdate(ctx, payload, payload_len) != 1 ||
	    EVP_DigestFinal_ex(ctx, out, &n) != 1 || n != 32)
		memset(out, 0, 32);    /* cannot match a real digest by accident */
	EVP_MD_CTX_free(ctx);
}

void lc_patchfile_seal(struct lc_patch_header *hdr, const void *payload,
		       size_t payload_len)
{
	memcpy(hdr->magic, LC_PATCH_MAGIC, sizeof(hdr->magic));
	hdr->version = LC_PATCH_VERSION;
	hdr->header_size = sizeof(*hdr);
	hdr->payload_size = payload_len;
	patchfile_hash(hdr, payload, payload_len, hdr->sha256);
}

/* A NUL-terminated string filling its field with zeros after the NUL;
 * `ident`: also non-empty, printable ASCII (space included), no '/'. */
static const char *field_bad(const char *f, size_t size, int ident)
{
	const char *nul = memchr(f, 0, size);
	if (!nul)
		return "is not terminated";
	for (const char *p = nul; p < f + size; p++)
		if (*p)
			return "has bytes after its end (non-zero padding)";
	if (!ident)
		return NULL;
	if (nul == f)
		return "is empty";
	for (const char *p = f; p < nul; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e || *p == '/')
			return "has a character other than printable ASCII (or a '/')";
	return NULL;
}

int lc_patchfile_header_fields(const struct lc_patch_header *h, char *why, size_t why_len)
{
	static const struct { size_t off, size; int ident; const char *name; } strs[] = {
		{ offsetof(struct lc_patch_header, target_name), LC_NAME_MAX, 1, "target name" },
		{ offsetof(struct lc_patch_header, id), LC_ID_MAX, 1, "id" },
		{ offsetof(struct lc_patch_header, description), LC_DESC_MAX, 0, "description" },
	};
	if (h->build_id_len == 0 || h->build_id_len > LC_BUILD_ID_MAX) {
		snprintf(why, why_len, "bad target BuildID length %u (1 to %d)", h->build_id_len,
			 LC_BUILD_ID_MAX);
		return -1;
	}
	for (uint32_t i = h->build_id_len; i < LC_BUILD_ID_MAX; i++)
		if (h->build_id[i]) {
			snprintf(why, why_len, "the target BuildID has bytes after its length %u "
				 "(non-zero padding)", h->build_id_len);
			return -1;
		}
	if (h->level == 0) {
		snprintf(why, why_len, "bad patch level 0 (levels start at 1)");
		return -1;
	}
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		const char *bad = field_bad((const char *)h + strs[i].off, strs[i].size,
					    strs[i].ident);
		if (bad) {
			snprintf(why, why_len, "the header's %s %s", strs[i].name, bad);
			return -1;
		}
	}
	return 0;
}

int lc_patchfile_check(const void *file, size_t len,
		       const struct lc_patch_header **hdr, const void **payload,
		       char *why, size_t why_len)
{
	const struct lc_patch_header *h = file;
	uint8_t sum[32];

	if (len > LC_PATCH_FILE_MAX) {
		snprintf(why, why_len, "too large for a patch (%zu bytes, at most %u)", len,
			 LC_PATCH_FILE_MAX);
		return -1;
	}
	if (len < sizeof(h->magic) || memcmp(h->magic, LC_PATCH_MAGIC, sizeof(h->magic)) != 0) {
		snprintf(why, why_len, "not a LibCare patch (bad magic)");
		return -1;
	}
	if (len < sizeof(*h)) {
		snprintf(why, why_len, "truncated header (%zu of %zu bytes)", len, sizeof(*h));
		return -1;
	}
	if (h->version == 1) {
		snprintf(why, why_len, "patch format version 1 (before signed patches: its "
			 "header is not checksummed); make it again with this libcare-mkpatch");
		return -1;
	}
	if (h->version == LC_PATCH_VERSION && h->header_size != sizeof(*h)) {
		snprintf(why, why_len, "bad header size %u (version %u has %zu)", h->header_size,
			 h->version, sizeof(*h));
		return -1;
	}
	if (h->version != LC_PATCH_VERSION) {
		snprintf(why, why_len, "unsupported patch format version %u (header %u bytes); "
			 "this LibCare reads version %u", h->version, h->header_size,
			 LC_PATCH_VERSION);
		return -1;
	}
	size_t rest = len - sizeof(*h);
	if (h->payload_size == 0) {
		snprintf(why, why_len, "empty payload (the header says 0 bytes)");
		return -1;
	}
	if (h->payload_size > rest) {
		snprintf(why, why_len, "truncated: payload is %zu bytes, header says %llu", rest,
			 (unsigned long long)h->payload_size);
		return -1;
	}
	size_t after = rest - h->payload_size;
	if (after != 0) {
		/* copied: the trailer follows a payload of any length (unaligned) */
		struct lc_patch_sig sig;
		const char *at = (const char *)file + sizeof(*h) + h->payload_size;
		if (after >= sizeof(sig))
			memcpy(&sig, at, sizeof(sig));
		if (after < sizeof(sig) || memcmp(sig.magic, LC_SIG_MAGIC, sizeof(sig.magic)) != 0) {
			snprintf(why, why_len, "trailing bytes: %zu after the payload of %llu, and no "
				 "signature", after, (unsigned long long)h->payload_size);
			return -1;
		}
		if (after != sizeof(sig) || sig.size != sizeof(sig) || sig.algorithm != LC_SIG_ED25519) {
			snprintf(why, why_len, "malformed signature trailer (%zu bytes, algorithm %u, "
				 "size %u); this LibCare reads Ed25519 trailers of %zu bytes", after,
				 sig.algorithm, sig.size, sizeof(sig));
			return -1;
		}
	}
	patchfile_hash(h, (const char *)file + sizeof(*h), h->payload_size, sum);
	if (memcmp(sum, h->sha256, sizeof(sum)) != 0) {
		snprintf(why, why_len, "checksum mismatch: the header or payload is corrupt");
		return -1;
	}
	if (lc_patchfile_header_fields(h, why, why_len) != 0)
		return -1;
	*hdr = h;
	*payload = (const char *)file + sizeof(*h);
	return 0;
}

int lc_patchfile_sig(const void *file, size_t len, struct lc_patch_sig *out)
{
	const struct lc_patch_header *h = file;
	if (len < sizeof(*h) + sizeof(*out) || len - sizeof(*h) - sizeof(*out) != h->payload_size)
		return 0;
	memcpy(out, (const char *)file + len - sizeof(*out), sizeof(*out));
	return 1;
}
