/* sha256.h - SHA-256 (FIPS 180-4), for the patch file's payload checksum. */
#ifndef LIBCARE_SHA256_H
#define LIBCARE_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct lc_sha256 {
	uint32_t h[8];
	uint64_t bytes;
	uint8_t block[64];
	size_t fill;
};

void lc_sha256_init(struct lc_sha256 *s);
void lc_sha256_update(struct lc_sha256 *s, const void *data, size_t len);
void lc_sha256_final(struct lc_sha256 *s, uint8_t out[32]);
void lc_sha256(const void *data, size_t len, uint8_t out[32]);

#endif
