/*
 * sign.c - Ed25519 signatures of patch files (OpenSSL libcrypto, EVP).
 *
 * mkpatch appends struct lc_patch_sig to the sealed file: the signature of
 * every byte before it and the fingerprint of the key (SHA-256 of its DER
 * SubjectPublicKeyInfo, what `openssl pkey -pubin -outform DER | sha256sum`
 * prints).  A verifier looks for that fingerprint among the PEM public keys
 * of its trusted directory and checks the signature with that key.
 * docs/signing.md tells how keys are made and shipped.
 *
 * The trusted keys are read with libcrypto's plain PEM reader, not its
 * key decoders: an Ed25519 SubjectPublicKeyInfo is 44 bytes of fixed form
 * (RFC 8410), and OpenSSL 3's decoders (with the encoders that gave the
 * fingerprint) were 7.8 M of the 14.8 M instructions of a first
 * verification.  libcrypto still checks every signature.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include "libcare/trust.h"

#define KEY_FILE_MAX (64u << 10)

/* DER SubjectPublicKeyInfo of an Ed25519 key: this, then the key's 32 bytes */
static const uint8_t ed25519_spki[12] = {
	0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
};
#define ED25519_SPKI_LEN (sizeof(ed25519_spki) + 32)

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
	lc_crypto_init();
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

/* The first PUBLIC KEY block of a PEM text, if it is an Ed25519 key: 0 and
 * its DER SubjectPublicKeyInfo in der[], or -1.  libcrypto's plain PEM
 * reader (PEM_read_bio: the base64 and the armour lines, no decoder) gives
 * the DER; the fixed form is compared here. */
static int ed25519_pem(const char *text, size_t len, uint8_t der[ED25519_SPKI_LEN])
{
	BIO *bio = len <= KEY_FILE_MAX ? BIO_new_mem_buf(text, (int)len) : NULL;
	char *name = NULL, *header = NULL;
	unsigned char *data = NULL;
	long n = 0;
	int rc = -1;
	while (bio && PEM_read_bio(bio, &name, &header, &data, &n) == 1) {
		int is_key = strcmp(name, PEM_STRING_PUBLIC) == 0;
		if (is_key && n == (long)ED25519_SPKI_LEN &&
		    memcmp(data, ed25519_spki, sizeof(ed25519_spki)) == 0) {
			memcpy(der, data, ED25519_SPKI_LEN);
			rc = 0;
		}
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_free(data);
		if (is_key)
			break;
	}
	ERR_clear_error();      /* the reader's "no start line" at the end */
	BIO_free(bio);
	return rc;
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
		uint8_t der[ED25519_SPKI_LEN], kf[32];
		if (ed25519_pem(pem.data, pem.len, der) != 0) {
			snprintf(why, why_len, "%s is not an Ed25519 public key in PEM (openssl pkey "
				 "-in KEY.pem -pubout)", path.data);
			found = -1;
			break;
		}
		lc_sha256(der, sizeof(der), kf);
		if (memcmp(kf, fpr, 32) != 0)
			continue;
		*key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, der + sizeof(ed25519_spki),
						   32);
		if (!*key) {
			snprintf(why, why_len, "%s: libcrypto cannot make an Ed25519 key of it",
				 path.data);
			found = -1;
			break;
		}
		snprintf(name, LC_KEY_NAME_MAX, "%s", de->d_name);
		found = 1;
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
	lc_crypto_init();
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
