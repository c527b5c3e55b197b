/*
 * fuzz_patchfile.c - libFuzzer harness for what reads a patch file: the
 * whole-file check (lc_patchfile_check), the payload parser and linker of
 * the runtime (lc_patch_load, lc_patch_link against an in-memory target),
 * and the region-header parser a later doctor applies to a patient's memory
 * (lc_region_parse), on the same bytes.
 *
 * The input's hash is recomputed before loading (an attacker can reseal a
 * file; only a signature stops them, and the doctor may run with
 * --allow-unsigned), so the fuzzer reaches the payload parser.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "libcare/log.h"
#include "libcare/patchfile.h"
#include "runtime.h"

struct fz_target {
	uint8_t code[0x4000];
};

static int fz_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct fz_target *t = ctx;
	if (addr < 0x400000 || addr - 0x400000 > sizeof(t->code) ||
	    len > sizeof(t->code) - (addr - 0x400000))
		return -1;
	memcpy(buf, t->code + (addr - 0x400000), len);
	return 0;
}

static int fz_lookup(void *ctx, const char *name, const char *version, struct lc_import *out)
{
	(void)ctx;
	(void)version;
	if (!name[0] || name[0] == 'z')
		return 0;                       /* some imports do not resolve */
	out->addr = 0x7f0000000000ull + (uint64_t)(unsigned char)name[0] * 0x1000;
	out->ifunc = name[0] == 'i';
	return 1;
}

static int fz_tls(void *ctx, const char *name, const char *version, struct lc_tls *out)
{
	(void)ctx;
	(void)version;
	memset(out, 0, sizeof(*out));
	out->modid = 1;
	out->offset = -64;
	out->has_offset = !name || name[0] != 'n';
	out->value = 16;
	return 1;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	lc_log_set_level(-1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct lc_patch_header *h;
	const void *payload;
	char why[256];

	/* as it comes: every refusal is an answer, never a crash */
	lc_patchfile_check(data, size, &h, &payload, why, sizeof(why));
	lc_region_parse(data, size, why, sizeof(why));

	/* resealed, so that the payload parser sees it */
	if (size < sizeof(struct lc_patch_header) + 1 || size > (4u << 20))
		return 0;
	uint8_t *f = malloc(size);
	memcpy(f, data, size);
	struct lc_patch_header *fh = (struct lc_patch_header *)f;
	size_t plen = size - sizeof(*fh);
	lc_patchfile_seal(fh, f + sizeof(*fh), plen);
	struct lc_patch *p = lc_patch_load(f, size, "fuzz.kpatch");
	if (p) {
		static struct fz_target t;
		memset(t.code, 0x90, sizeof(t.code));
		struct lc_target tg = { &t, 0x400000 - 0x1000, fz_read, fz_lookup, fz_tls, 0, 0 };
		const struct lc_layout *l = lc_patch_layout(p);
		uint64_t addr = l->needs_low ? 0x10000000ull : 0x7e0000000000ull;
		if (lc_patch_link(p, &tg, addr) == 0) {
			size_t n;
			const uint8_t *img = lc_patch_image(p, &n);
			lc_region_parse(img, n, why, sizeof(why));
		}
		for (size_t i = 0; i < lc_patch_nfuncs(p); i++)
			(void)lc_patch_func_name(p, i);
		lc_patch_free(p);
	}
	free(f);
	return 0;
}
