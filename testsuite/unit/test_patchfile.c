/* The patch file: a sealed file checks; every kind of damage is named; every
 * header field is covered by the hash and range-checked; signatures verify
 * against trusted keys only; files and key directories must be trustworthy. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include "libcare/patchfile.h"
#include "libcare/trust.h"
#include "test.h"

static char why[256];

static int check(const void *f, size_t len)
{
	const struct lc_patch_header *h;
	const void *p;
	return lc_patchfile_check(f, len, &h, &p, why, sizeof(why));
}

static size_t plen;
static char file[4096];

static struct lc_patch_header *hdr(void) { return (struct lc_patch_header *)file; }

static void make(void)
{
	const char payload[] = "\177ELF pretend payload";
	memset(file, 0, sizeof(file));
	plen = sizeof(payload);
	struct lc_patch_header *h = hdr();
	h->build_id_len = 20;
	memset(h->build_id, 0xab, 20);
	h->level = 1;
	strcpy(h->target_name, "server");
	strcpy(h->id, "default");
	strcpy(h->description, "a fix");
	memcpy(file + sizeof(*h), payload, plen);
	lc_patchfile_seal(h, file + sizeof(*h), plen);
}

static void reseal(void) { lc_patchfile_seal(hdr(), file + sizeof(*hdr()), plen); }

static size_t flen(void) { return sizeof(struct lc_patch_header) + plen; }

/* An Ed25519 key pair: private PEM at `priv`, public PEM at `pub`. */
static void keypair(const char *priv, const char *pub)
{
	EVP_PKEY *k = NULL;
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	if (!c || EVP_PKEY_keygen_init(c) != 1 || EVP_PKEY_keygen(c, &k) != 1)
		lc_die("cannot make an Ed25519 key");
	FILE *f = fopen(priv, "w");
	FILE *g = fopen(pub, "w");
	if (!f || !g || PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) != 1 ||
	    PEM_write_PUBKEY(g, k) != 1)
		lc_die("cannot write the keys");
	fclose(f);
	fclose(g);
	EVP_PKEY_free(k);
	EVP_PKEY_CTX_free(c);
}

static void fields(void)
{
	/* every header byte is covered: a flip anywhere is refused */
	for (size_t off = 0; off < sizeof(struct lc_patch_header); off++) {
		make();
		file[off] ^= 0x20;
		CHECK(check(file, flen()) == -1);
	}
	/* resealed (the hash is no MAC): the ranges still hold */
	make(); hdr()->build_id_len = 0; reseal();
	CHECK(check(file, flen()) == -1 && strstr(why, "BuildID length 0"));
	make(); hdr()->build_id_len = 65; reseal();
	CHECK(check(file, flen()) == -1 && strstr(why, "BuildID length 65"));
	make(); hdr()->build_id[30] = 1; reseal();
	CHECK(check(file, flen()) == -1 && strstr(why, "non-zero padding"));
	make(); hdr()->level = 0; reseal();
	CHECK(check(file, flen()) == -1 && strstr(why, "level 0"));
	make(); memset(hdr()->target_name, 'a', LC_NAME_MAX); reseal();
	CHECK(check(file, flen()) == -1 && strstr(why, "target name is not terminated"));
	make(); hdr()->id[40] = 'x'; reseal();
	CHECK(check(file, flen()) == -1 && strstr(why, "id has bytes after its end"));
	make(); strcpy(hdr()->id, "a\033[2Jb"); reseal();
	CHECK(check(file, flen()) == -1 && strstr(why, "id has a character"));
	make(); strcpy(hdr()->target_name, "../libc.so.6"); reseal();
	CHECK(check(file, flen()) == -1 && strstr(why, "target name has a character"));
	make(); memset(hdr()->id, 0, LC_ID_MAX); reseal();
	CHECK(check(file, flen()) == -1 && strstr(why, "id is empty"));
	make(); memset(hdr()->description, 'x', LC_DESC_MAX); reseal();
	CHECK(check(file, flen()) == -1 && strstr(why, "description is not terminated"));
	make(); strcpy(hdr()->description, "tab\tand \033 escape"); reseal();
	CHECK(check(file, flen()) == 0);        /* printed escaped, see lc_escape */
	make(); hdr()->version = 1; reseal(); hdr()->version = 1;
	CHECK(check(file, flen()) == -1 && strstr(why, "version 1") && strstr(why, "make it again"));
	make();
	CHECK(check(file, flen() + 3) == -1 && strstr(why, "trailing bytes"));
	CHECK(check(file, (size_t)LC_PATCH_FILE_MAX + 1) == -1 && strstr(why, "too large"));
}

static void signing(const char *tmp)
{
	char priv[600], pub[600], keys[512], other[600], otherpub[600], path[600];
	struct lc_signer s;
	struct lc_buf b = LC_BUF_INIT;

	snprintf(keys, sizeof(keys), "%s/keys", tmp);
	mkdir(keys, 0755);
	snprintf(priv, sizeof(priv), "%s/signing.pem", tmp);
	snprintf(pub, sizeof(pub), "%s/vendor.pem", keys);
	keypair(priv, pub);
	snprintf(other, sizeof(other), "%s/other.pem", tmp);
	snprintf(otherpub, sizeof(otherpub), "%s/other.pub", tmp);
	keypair(other, otherpub);

	make();
	lc_buf_add(&b, file, flen());
	CHECK(lc_patchfile_verify(b.data, b.len, keys, 0, &s, why, sizeof(why)) == -1 &&
	      strstr(why, "not signed") && strstr(why, "--allow-unsigned"));
	CHECK(lc_patchfile_verify(b.data, b.len, keys, LC_VERIFY_ALLOW_UNSIGNED, &s, why,
				  sizeof(why)) == 0 && !s.is_signed);
	CHECK(lc_patchfile_sign(&b, priv, why, sizeof(why)) == 0);
	CHECK(b.len == flen() + sizeof(struct lc_patch_sig));
	CHECK(check(b.data, b.len) == 0);
	CHECK(lc_patchfile_verify(b.data, b.len, keys, 0, &s, why, sizeof(why)) == 0 &&
	      s.is_signed && strcmp(s.key, "vendor.pem") == 0);
	char fpr[LC_FPR_HEX_LEN];
	lc_fpr_hex(s.key_sha256, fpr);
	CHECK(strncmp(fpr, "SHA256:", 7) == 0 && strlen(fpr) == 71);
	/* the signature covers the header: reseal a changed level, still refused */
	struct lc_patch_header *h = (struct lc_patch_header *)b.data;
	h->level = 9;
	lc_patchfile_seal(h, b.data + sizeof(*h), plen);
	CHECK(lc_patchfile_verify(b.data, b.len, keys, 0, &s, why, sizeof(why)) == -1 &&
	      strstr(why, "bad signature") && strstr(why, "vendor.pem"));
	CHECK(lc_patchfile_verify(b.data, b.len, keys, LC_VERIFY_ALLOW_UNSIGNED, &s, why,
				  sizeof(why)) == -1 && strstr(why, "bad signature"));
	h->level = 1;
	lc_patchfile_seal(h, b.data + sizeof(*h), plen);
	CHECK(lc_patchfile_verify(b.data, b.len, keys, 0, &s, why, sizeof(why)) == 0);
	b.data[b.len - 1] ^= 1;                 /* the signature itself */
	CHECK(lc_patchfile_verify(b.data, b.len, keys, 0, &s, why, sizeof(why)) == -1 &&
	      strstr(why, "bad signature"));
	b.data[b.len - 1] ^= 1;
	/* signed by a key that is not trusted */
	lc_buf_reset(&b);
	lc_buf_add(&b, file, flen());
	CHECK(lc_patchfile_sign(&b, other, why, sizeof(why)) == 0);
	CHECK(lc_patchfile_verify(b.data, b.len, keys, 0, &s, why, sizeof(why)) == -1 &&
	      strstr(why, "not among the trusted keys"));
	snprintf(path, sizeof(path), "%s/none", tmp);
	CHECK(lc_patchfile_verify(b.data, b.len, path, 0, &s, why, sizeof(why)) == -1 &&
	      strstr(why, "no trusted key directory"));
	/* the trusted directory must be trustworthy */
	chmod(keys, 0777);
	CHECK(lc_patchfile_verify(b.data, b.len, keys, 0, &s, why, sizeof(why)) == -1 &&
	      strstr(why, "writable by others") && strstr(why, "0777"));
	chmod(keys, 0755);
	chmod(pub, 0666);
	CHECK(lc_patchfile_verify(b.data, b.len, keys, 0, &s, why, sizeof(why)) == -1 &&
	      strstr(why, "vendor.pem is writable by others"));
	chmod(pub, 0644);
	/* a private key is no trusted key */
	snprintf(path, sizeof(path), "%s/private.pem", keys);
	link(priv, path);
	CHECK(lc_patchfile_verify(b.data, b.len, keys, 0, &s, why, sizeof(why)) == -1 &&
	      strstr(why, "not an Ed25519 public key"));
	unlink(path);
	CHECK(lc_patchfile_sign(&b, pub, why, sizeof(why)) == -1 && strstr(why, "private key"));
	lc_buf_free(&b);
}

/* The text of a file (at most 4 KiB), NUL-terminated. */
static void slurp(const char *path, char *out, size_t max)
{
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(out, 1, max - 1, f) : 0;
	out[n] = '\0';
	if (f)
		fclose(f);
}

static void spit(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f || fputs(text, f) < 0)
		lc_die("cannot write %s", path);
	fclose(f);
	chmod(path, 0644);
}

/* The trusted key files (sign.c: libcrypto's plain PEM reader, then the
 * Ed25519 form compared): what a PEM text may hold around the key, and
 * every other key refused. */
static void key_files(const char *tmp)
{
	char keys[512], priv[600], pub[600], pem[4096], text[8192];
	struct lc_signer s;
	struct lc_buf b = LC_BUF_INIT;

	snprintf(keys, sizeof(keys), "%s/keys2", tmp);
	mkdir(keys, 0755);
	snprintf(priv, sizeof(priv), "%s/signing2.pem", tmp);
	snprintf(pub, sizeof(pub), "%s/vendor.pem", keys);
	keypair(priv, pub);
	make();
	lc_buf_add(&b, file, flen());
	CHECK(lc_patchfile_sign(&b, priv, why, sizeof(why)) == 0);
	slurp(pub, pem, sizeof(pem));
	CHECK(strncmp(pem, "-----BEGIN PUBLIC KEY-----\n", 27) == 0);

	/* text before and after the block, CR LF line ends: the same key */
	char *p = text;
	p += sprintf(p, "the vendor's key, from openssl pkey -pubout\r\n");
	for (const char *c = pem; *c; c++)
		p += *c == '\n' ? sprintf(p, "\r\n") : sprintf(p, "%c", *c);
	sprintf(p, "ED25519 Public-Key:\n");
	spit(pub, text);
	CHECK(lc_patchfile_verify(b.data, b.len, keys, 0, &s, why, sizeof(why)) == 0 &&
	      s.is_signed && strcmp(s.key, "vendor.pem") == 0);
	/* base64 lines split anywhere */
	const char *body = pem + 27;
	snprintf(text, sizeof(text), "-----BEGIN PUBLIC KEY-----\n%.10s\n  %s", body, body + 10);
	spit(pub, text);
	CHECK(lc_patchfile_verify(b.data, b.len, keys, 0, &s, why, sizeof(why)) == 0);

	/* damaged: a character that is no base64, a key cut short, no end line */
	snprintf(text, sizeof(text), "%s", pem);
	text[30] = '*';
	spit(pub, text);
	CHECK(lc_patchfile_verify(b.data, b.len, keys, 0, &s, why, sizeof(why)) == -1 &&
	      strstr(why, "vendor.pem is not an Ed25519 public key"));
	snprintf(text, sizeof(text), "-----BEGIN PUBLIC KEY-----\n%.56s\n-----END PUBLIC KEY-----\n",
		 body);
	spit(pub, text);
	CHECK(lc_patchfile_verify(b.data, b.len, keys, 0, &s, why, sizeof(why)) == -1 &&
	      strstr(why, "not an Ed25519 public key"));
	snprintf(text, sizeof(text), "%.88s", pem);
	spit(pub, text);
	CHECK(lc_patchfile_verify(b.data, b.len, keys, 0, &s, why, sizeof(why)) == -1 &&
	      strstr(why, "not an Ed25519 public key"));
	/* a bit of the key changed: another key, not the signer */
	snprintf(text, sizeof(text), "%s", pem);
	text[70] = text[70] == 'A' ? 'B' : 'A';
	spit(pub, text);
	CHECK(lc_patchfile_verify(b.data, b.len, keys, 0, &s, why, sizeof(why)) == -1 &&
	      strstr(why, "not among the trusted keys"));

	/* an X25519 key has the same length and another algorithm */
	EVP_PKEY *k = NULL;
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(EVP_PKEY_X25519, NULL);
	FILE *f = fopen(pub, "w");
	CHECK(c && EVP_PKEY_keygen_init(c) == 1 && EVP_PKEY_keygen(c, &k) == 1 && f &&
	      PEM_write_PUBKEY(f, k) == 1);
	if (f)
		fclose(f);
	EVP_PKEY_free(k);
	EVP_PKEY_CTX_free(c);
	slurp(pub, text, sizeof(text));
	CHECK(strlen(text) == strlen(pem));
	CHECK(lc_patchfile_verify(b.data, b.len, keys, 0, &s, why, sizeof(why)) == -1 &&
	      strstr(why, "not an Ed25519 public key"));
	unlink(pub);
	rmdir(keys);
	lc_buf_free(&b);
}

static void reads(const char *tmp)
{
	char p[512], q[512];
	struct lc_buf b = LC_BUF_INIT;

	snprintf(p, sizeof(p), "%s/plain", tmp);
	FILE *f = fopen(p, "w");
	fputs("0123456789", f);
	fclose(f);
	chmod(p, 0644);
	CHECK(lc_trust_read(p, 100, &b, why, sizeof(why)) == 0 && b.len == 10);
	CHECK(lc_trust_read(p, 5, &b, why, sizeof(why)) == -1 && strstr(why, "too large"));
	chmod(p, 0664);
	CHECK(lc_trust_read(p, 100, &b, why, sizeof(why)) == -1 && strstr(why, "by its group"));
	chmod(p, 0644);
	snprintf(q, sizeof(q), "%s/link", tmp);
	symlink(p, q);
	CHECK(lc_trust_read(q, 100, &b, why, sizeof(why)) == -1 && strstr(why, "symbolic link"));
	snprintf(q, sizeof(q), "%s/fifo", tmp);
	mkfifo(q, 0644);
	CHECK(lc_trust_read(q, 100, &b, why, sizeof(why)) == -1 && strstr(why, "FIFO"));
	CHECK(lc_trust_read("/dev/zero", 100, &b, why, sizeof(why)) == -1 &&
	      strstr(why, "character device"));
	CHECK(lc_trust_read(tmp, 100, &b, why, sizeof(why)) == -1 && strstr(why, "directory"));
	/* a world-writable directory on the way; sticky passes for a root entry */
	snprintf(q, sizeof(q), "%s/open", tmp);
	mkdir(q, 0755);
	chmod(q, 0777);
	snprintf(p, sizeof(p), "%s/open/f", tmp);
	f = fopen(p, "w");
	fclose(f);
	chmod(p, 0644);
	CHECK(lc_trust_read(p, 100, &b, why, sizeof(why)) == -1 && strstr(why, "/open is writable") &&
	      strstr(why, "0777"));
	chmod(q, 01777);
	CHECK(lc_trust_read(p, 100, &b, why, sizeof(why)) == 0);
	CHECK(lc_trust_path(q, why, sizeof(why)) == -1);   /* the sticky dir itself, as the target */
	if (geteuid() == 0) {
		chown(p, 12345, 12345);
		CHECK(lc_trust_read(p, 100, &b, why, sizeof(why)) == -1 && strstr(why, "uid 12345"));
	}
	char out[64];
	CHECK_STR(lc_escape("a\033[2J\nb\\", 100, out, sizeof(out)), "a\\x1b[2J\\nb\\\\");
	lc_buf_free(&b);
}

int main(void)
{
	char tmp[] = "/tmp/lc-test-patchfile.XXXXXX";
	make();
	CHECK(check(file, flen()) == 0);
	CHECK(check(file, flen() - 1) == -1 && strstr(why, "truncated"));
	CHECK(check(file, 100) == -1 && strstr(why, "truncated header"));
	file[flen() - 3] ^= 0x10;
	CHECK(check(file, flen()) == -1 && strstr(why, "checksum"));
	file[flen() - 3] ^= 0x10;
	CHECK(check(file, flen()) == 0);
	hdr()->magic[0] = 'X';
	CHECK(check(file, flen()) == -1 && strstr(why, "not a LibCare patch"));
	hdr()->magic[0] = 'L';
	hdr()->version = 7;
	CHECK(check(file, flen()) == -1 && strstr(why, "version 7"));
	CHECK(check("#!/bin/sh\n", 10) == -1 && strstr(why, "not a LibCare patch"));
	fields();
	if (!mkdtemp(tmp))
		lc_die("mkdtemp");
	chmod(tmp, 0755);
	signing(tmp);
	key_files(tmp);
	reads(tmp);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	if (system(cmd) != 0)
		return 1;
	return TEST_DONE();
}
