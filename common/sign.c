/*
 * sign.c - Ed25519 signatures of patch files (OpenSSL libcrypto, EVP).
 *
 * mkpatch appends struct lc_patch_sig to the sealed file: the signature of
 * every byte before it and the fingerprint of the key (SHA-256 of its DER
 * SubjectPublicKeyInfo, what `openssl pkey -pubin -outform DER | sha256sum`
 * prints).  A verifier looks for that fingerprint among the PEM public keys
 * of its trusted directory and checks the signature with that key.
 * docs/signing.md tells how keys are made and shipped.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include "libcare/trust.h"

#define KEY_FILE_MAX (64u << 10)

void lc_fpr_hex(const uint8_t sha[32], char out[LC_FPR_HEX_LEN])
{
	memcpy(out, "SHA256:", 7);
	for (int i = 0; i < 32; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", sha[i]);
}

/* SHA-256 of the public key's DER SubjectPublicKeyInfo. */
static int key_fingerprint(EVP_PKEY *k, uint8_t out[32])
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(k, &der);
	if (n <= 0)
		return -1;
	lc_sha256(der, (size_t)n, out);
	OPENSSL_free(der);
	return 0;
}

int lc_patchfile_sign(struct lc_buf *file, const char *keyfile, char *why, size_t why_len)
{
	struct lc_patch_sig sig;
	FILE *f = fopen(keyfile, "r");
	if (!f) {
		snprintf(why, why_len, "cannot read the signing key %s: %s", keyfile, strerror(errno));
		return -1;
	}
	EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!k || EVP_PKEY_id(k) != EVP_PKEY_ED25519) {
		snprintf(why, why_len, "%s is not an Ed25519 private key in PEM (make one with: "
			 "openssl genpkey -algorithm ed25519 -out KEY.pem)", keyfile);
		EVP_PKEY_free(k);
		return -1;
	}
	memset(&sig, 0, sizeof(sig));
	memcpy(sig.magic, LC_SIG_MAGIC, sizeof(sig.magic));
	sig.algorithm = LC_SIG_ED25519;
	sig.size = sizeof(sig);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t n = sizeof(sig.signature);
	int ok = ctx && key_fingerprint(k, sig.key_sha256) == 0 &&
		 EVP_DigestSignInit(ctx, NULL, NULL, NULL, k) == 1 &&
		 EVP_DigestSign(ctx, sig.signature, &n, (const unsigned char *)file->data,
				file->len) == 1 && n == sizeof(sig.signature);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(k);
	if (!ok) {
		snprintf(why, why_len, "signing with %s failed", keyfile);
		return -1;
	}
	lc_buf_add(file, &sig, sizeof(sig));
	return 0;
}

/* The trusted key with this fingerprint in `dir`: 1 found (*key set), 0 not,
 * -1 a key file or the directory is not trustworthy or not a key. */
static int key_find(const char *dir, const uint8_t fpr[32], EVP_PKEY **key, char *name,
		    char *why, size_t why_len)
{
	struct lc_buf path = LC_BUF_INIT, pem = LC_BUF_INIT;
	int found = 0;
	if (lc_trust_path(dir, why, why_len) != 0)
		return -1;
	DIR *d = opendir(dir);
	if (!d) {
		snprintf(why, why_len, "cannot read the trusted keys %s: %s", dir, strerror(errno));
		return -1;
	}
	struct dirent *de;
	while (!found && (de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len < 5 || strcmp(de->d_name + len - 4, ".pem") != 0)
			continue;
		lc_buf_reset(&path);
		lc_buf_addf(&path, "%s/%s", dir, de->d_name);
		if (lc_trust_read(path.data, KEY_FILE_MAX, &pem, why, why_len) != 0) {
			found = -1;
			break;
		}
		BIO *bio = BIO_new_mem_buf(pem.data, (int)pem.len);
		EVP_PKEY *k = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
		BIO_free(bio);
		uint8_t kf[32];
		if (!k || EVP_PKEY_id(k) != EVP_PKEY_ED25519 || key_fingerprint(k, kf) != 0) {
			snprintf(why, why_len, "%s is not an Ed25519 public key in PEM (openssl pkey "
				 "-in KEY.pem -pubout)", path.data);
			EVP_PKEY_free(k);
			found = -1;
			break;
		}
		if (memcmp(kf, fpr, 32) == 0) {
			*key = k;
			snprintf(name, LC_KEY_NAME_MAX, "%s", de->d_name);
			found = 1;
		} else {
			EVP_PKEY_free(k);
		}
	}
	closedir(d);
	lc_buf_free(&path);
	lc_buf_free(&pem);
	return found;
}

int lc_patchfile_verify(const void *file, size_t len, const char *keysdir, int flags,
			struct lc_signer *signer, char *why, size_t why_len)
{
	const struct lc_patch_header *h;
	const void *payload;
	char fpr[LC_FPR_HEX_LEN], name[LC_KEY_NAME_MAX] = "";
	EVP_PKEY *key = NULL;
	int allow = flags & LC_VERIFY_ALLOW_UNSIGNED;

	memset(signer, 0, sizeof(*signer));
	if (!keysdir)
		keysdir = LC_KEYS_DIR;
	if (lc_patchfile_check(file, len, &h, &payload, why, why_len) != 0)
		return -1;
	struct lc_patch_sig sig;
	const struct lc_patch_sig *s = &sig;
	if (!lc_patchfile_sig(file, len, &sig)) {
		if (allow)
			return 0;
		snprintf(why, why_len, "not signed (sign it with libcare-mkpatch --sign KEY.pem, "
			 "or apply it with --allow-unsigned)");
		return -1;
	}
	lc_fpr_hex(s->key_sha256, fpr);
	struct stat st;
	if (stat(keysdir, &st) != 0 && errno == ENOENT) {
		/* no trusted keys at all: an unsigned-allowed run goes on unsigned */
		if (allow)
			return 0;
		snprintf(why, why_len, "signed by key %s, but there is no trusted key directory %s "
			 "(docs/signing.md; or --keys DIR)", fpr, keysdir);
		return -1;
	}
	int found = key_find(keysdir, s->key_sha256, &key, name, why, why_len);
	if (found < 0)
		return -1;
	if (found == 0) {
		if (allow)
			return 0;       /* an unknown signer is as good as none */
		snprintf(why, why_len, "signed by key %s, which is not among the trusted keys in %s",
			 fpr, keysdir);
		return -1;
	}
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) == 1 &&
		 EVP_DigestVerify(ctx, s->signature, sizeof(s->signature),
				  (const unsigned char *)file, len - sizeof(*s)) == 1;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(key);
	if (!ok) {
		snprintf(why, why_len, "bad signature: the file was changed after key %s (%s) "
			 "signed it", name, fpr);
		return -1;
	}
	signer->is_signed = 1;
	memcpy(signer->key_sha256, s->key_sha256, 32);
	snprintf(signer->key, sizeof(signer->key), "%s", name);
	return 0;
}
