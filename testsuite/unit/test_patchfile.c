/* The patch file header: a sealed file checks; every kind of damage is named. */
#include <stdlib.h>
#include "libcare/patchfile.h"
#include "test.h"

static int check(const void *f, size_t len, char *why)
{
	const struct lc_patch_header *h;
	const void *p;
	return lc_patchfile_check(f, len, &h, &p, why, 256);
}

int main(void)
{
	const char payload[] = "\177ELF pretend payload";
	size_t plen = sizeof(payload), len = sizeof(struct lc_patch_header) + plen;
	char *file = calloc(1, len), why[256];
	struct lc_patch_header *h = (struct lc_patch_header *)file;

	h->build_id_len = 20;
	h->level = 1;
	strcpy(h->target_name, "server");
	memcpy(file + sizeof(*h), payload, plen);
	lc_patchfile_seal(h, file + sizeof(*h), plen);

	CHECK(check(file, len, why) == 0);
	CHECK(check(file, len - 1, why) == -1 && strstr(why, "truncated"));
	CHECK(check(file, 100, why) == -1 && strstr(why, "truncated header"));
	file[len - 3] ^= 0x10;
	CHECK(check(file, len, why) == -1 && strstr(why, "checksum"));
	file[len - 3] ^= 0x10;
	CHECK(check(file, len, why) == 0);
	h->magic[0] = 'X';
	CHECK(check(file, len, why) == -1 && strstr(why, "not a LibCare patch"));
	h->magic[0] = 'L';
	h->version = 7;
	CHECK(check(file, len, why) == -1 && strstr(why, "version 7"));
	CHECK(check("#!/bin/sh\n", 10, why) == -1 && strstr(why, "not a LibCare patch"));
	free(file);
	return TEST_DONE();
}
