/*
 * The runtime against an in-memory target: relocation arithmetic for each
 * type, far-call stubs, overflow errors, hunk bytes, and the refusal of
 * truncated, corrupted and non-patch files.  Payloads are assembled with
 * `as` from data/runtime/NAME.s at test time and sealed as a patch file.
 */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include "libcare/buf.h"
#include "libcare/log.h"
#include "runtime.h"
#include "test.h"
#include "runtime_fixture.h"

static char tmpdir[] = "/tmp/lc-test-runtime.XXXXXX";

/* --- an in-memory target ------------------------------------------------ */

struct mem_sym { const char *name, *version; uint64_t addr; int ifunc; };

struct mem_target {
	uint64_t base;                   /* memory image at base.. */
	uint8_t bytes[0x2000];
	uint64_t ptr_addr, ptr_value;    /* one 8-byte cell elsewhere */
	struct mem_sym syms[16];
	int nsyms;
	char last_version[64];
};

static int mem_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct mem_target *m = ctx;
	if (addr == m->ptr_addr && len == 8) {
		memcpy(buf, &m->ptr_value, 8);
		return 0;
	}
	if (addr < m->base || addr + len > m->base + sizeof(m->bytes))
		return lc_error("test target: no memory at 0x%llx", (unsigned long long)addr);
	memcpy(buf, m->bytes + (addr - m->base), len);
	return 0;
}

static int mem_lookup(void *ctx, const char *name, const char *version, struct lc_import *out)
{
	struct mem_target *m = ctx;
	for (int i = 0; i < m->nsyms; i++) {
		const struct mem_sym *s = &m->syms[i];
		if (strcmp(s->name, name) != 0)
			continue;
		if ((version == NULL) != (s->version == NULL) ||
		    (version && strcmp(version, s->version) != 0))
			continue;
		snprintf(m->last_version, sizeof(m->last_version), "%s", version ? version : "");
		out->addr = s->addr;
		out->ifunc = s->ifunc;
		return 1;
	}
	return 0;
}

static void mem_set(struct mem_target *m, const char *name, uint64_t addr, int ifunc)
{
	for (int i = 0; i < m->nsyms; i++)
		if (strcmp(m->syms[i].name, name) == 0) {
			m->syms[i].addr = addr;
			m->syms[i].ifunc = ifunc;
			return;
		}
	m->syms[m->nsyms++] = (struct mem_sym){ name, NULL, addr, ifunc };
}

/* --- patch files from assembly ------------------------------------------ */

static void make_patch(const char *src, struct lc_buf *file)
{
	fixture_make_patch(tmpdir, src, "server", 0xab, file);
}


static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* --- the low (non-PIE) target used by reloc.s ----------------------------- */

#define REGION   0x10000000ull
#define FAR_FUNC 0x7ffff7a00000ull
#define FAR_PTR  0x7ffff7e00010ull

static void low_target(struct mem_target *m, struct lc_target *t)
{
	memset(m, 0, sizeof(*m));
	m->base = 0x401000;
	static const uint8_t prologue[] = { 0x55, 0x48, 0x89, 0xe5, 0x48, 0x83 };
	memcpy(m->bytes + 0x139, prologue, sizeof(prologue));
	memcpy(m->bytes + 0x200, "\xf3\x0f\x1e\xfa\x41", 5);
	m->ptr_addr = FAR_PTR;
	m->ptr_value = 0x1122334455667788ull;
	mem_set(m, "near_func", 0x7f000000, 0);
	mem_set(m, "far_func", FAR_FUNC, 0);
	mem_set(m, "far_ptr", FAR_PTR, 0);
	mem_set(m, "abs32", 0xfffff000, 0);          /* fits 32, not 32S */
	mem_set(m, "abs32s", 0xffffffffffff8000ull, 0);  /* fits 32S, not 32 */
	mem_set(m, "near_data", 0x601040, 0);
	m->syms[m->nsyms++] = (struct mem_sym){ "memcpy", "GLIBC_2.14", 0x7e000000, 0 };
	memset(t, 0, sizeof(*t));       /* no tls, extent not checked (lo = hi = 0) */
	t->ctx = m;
	t->bias = 0x400000;
	t->read = mem_read;
	t->lookup = mem_lookup;
}

static void test_relocations(void)
{
	struct lc_buf file = LC_BUF_INIT;
	struct mem_target m;
	struct lc_target t;
	size_t size;

	make_patch("reloc", &file);
	low_target(&m, &t);
	struct lc_patch *p = lc_patch_load(file.data, file.len, "reloc.kpatch");
	CHECK(p != NULL);
	if (!p)
		return;
	const struct lc_layout *l = lc_patch_layout(p);
	CHECK(l->needs_low == 1);
	/* near_func, far_func, far_ptr (slot), memcpy: only calls to imports */
	CHECK(l->nstubs == 4);
	CHECK(l->text_offset == 4096);
	CHECK(l->stubs_offset == 4096 + 208);
	CHECK(l->data_offset == 8192 && l->data_size == 24);
	CHECK(l->size == 12288);
	CHECK(lc_patch_nfuncs(p) == 2);
	CHECK_STR(lc_patch_func_name(p, 0), "foo");
	CHECK_STR(lc_patch_func_name(p, 1), "bar");
	CHECK(lc_patch_image(p, NULL) == NULL);

	int rc = lc_patch_link(p, &t, REGION);
	CHECK(rc == 0);
	const uint8_t *img = lc_patch_image(p, &size);
	CHECK(img != NULL && size == 12288);
	if (rc || !img)
		goto out;
	const uint8_t *text = img + 4096;
	uint64_t T = REGION + 4096, D = REGION + 8192;
	uint64_t stub1 = REGION + l->stubs_offset + LC_STUB_SIZE, stub2 = stub1 + LC_STUB_SIZE;

	/* 0: call near_func, PLT32 in reach: S + A - P */
	CHECK(get32(text + 1) == (uint32_t)(0x7f000000 - 4 - (T + 1)));
	/* 16, 32: call/jmp far_func through the stub, which jumps to far_func */
	CHECK(get32(text + 17) == (uint32_t)(stub1 - (T + 17 + 4)));
	CHECK(get32(text + 33) == (uint32_t)(stub1 - (T + 33 + 4)));
	CHECK(memcmp(text + 224, "\xff\x25\0\0\0\0", 6) == 0);
	CHECK(get64(text + 224 + 6) == FAR_FUNC);
	/* 48: call *far_ptr(%rip) through the slot holding the pointer's value */
	CHECK(get32(text + 50) == (uint32_t)(stub2 + 6 - (T + 50 + 4)));
	CHECK(get64(text + 240 + 6) == 0x1122334455667788ull);
	/* the stubs of calls in reach stay unused */
	CHECK(get64(text + 208 + 6) == 0 && get64(text + 256 + 6) == 0);
	/* 64: R_X86_64_32, 80: R_X86_64_32S */
	CHECK(get32(text + 65) == 0xfffff000u);
	CHECK(get32(text + 83) == 0xffff8000u);
	/* 96: PC32 to bias + 0x2000; 112: R_X86_64_64 bias + 0x3000 */
	CHECK(get32(text + 99) == (uint32_t)(0x402000 - 4 - (T + 99)));
	CHECK(get64(text + 114) == 0x403000);
	/* 128: PC32 into .kpatch.data + 8 */
	CHECK(get32(text + 131) == (uint32_t)(D + 8 - 4 - (T + 131)));
	/* 144: PC32 to a data import */
	CHECK(get32(text + 147) == (uint32_t)(0x601040 - 4 - (T + 147)));
	/* 160: versioned import memcpy@GLIBC_2.14 */
	CHECK(get32(text + 161) == (uint32_t)(0x7e000000 - 4 - (T + 161)));
	CHECK_STR(m.last_version, "GLIBC_2.14");
	/* data: PC64, R_X86_64_64, unresolved weak = 0 */
	CHECK(get64(img + 8192) == FAR_FUNC - D);
	CHECK(get64(img + 8192 + 8) == 0x401139);
	CHECK(get64(img + 8192 + 16) == 0);

	/* the region header and the hunks */
	const struct lc_region_header *h = (const void *)img;
	char why[128];
	CHECK(lc_region_parse(img, 4096, why, sizeof(why)) == h);
	CHECK(memcmp(h->magic, LC_REGION_MAGIC, 8) == 0 && h->nhunks == 2);
	CHECK(h->size == 12288 && h->text_offset == 4096 && h->data_offset == 8192);
	CHECK(strcmp(h->patch.target_name, "server") == 0);
	const struct lc_region_hunk *h0 = lc_region_hunk(h, 0), *h1 = lc_region_hunk(h, 1);
	CHECK(h0->addr == 0x401139 && h0->new_addr == T && h0->len == 5);
	CHECK(h0->old_size == 0x40 && h0->new_size == 0xb1);
	CHECK(memcmp(h0->old_bytes, "\x55\x48\x89\xe5\x48", 5) == 0);
	CHECK(h0->new_bytes[0] == 0xe9 && get32(h0->new_bytes + 1) == (uint32_t)(T - (0x401139 + 5)));
	CHECK(h1->addr == 0x401200 && h1->new_addr == T + 0xc0);
	CHECK(memcmp(h1->old_bytes, "\xf3\x0f\x1e\xfa\x41", 5) == 0);
	CHECK_STR(lc_region_name(h, h0->name), "foo");
	CHECK_STR(lc_region_name(h, h1->name), "bar");
	/* a damaged header is refused */
	uint8_t copy[4096];
	memcpy(copy, img, sizeof(copy));
	((struct lc_region_header *)copy)->nhunks = 1000;
	CHECK(lc_region_parse(copy, sizeof(copy), why, sizeof(why)) == NULL);
	/* the journal: a fresh image is "preparing"; a version 1 region (no
	 * journal, hunks right after the patch header) still reads, as applied */
	CHECK(lc_region_state(h) == LC_REGION_PREPARING);
	CHECK_STR(lc_region_state_name(lc_region_state(h)), "preparing");
	size_t jsz = sizeof(*h) - LC_REGION_V1_HEADER_SIZE;     /* journal, unwind info, signer */
	memcpy(copy, img, LC_REGION_V1_HEADER_SIZE);
	memcpy(copy + LC_REGION_V1_HEADER_SIZE, img + sizeof(*h), sizeof(copy) - sizeof(*h));
	struct lc_region_header *v1 = (struct lc_region_header *)copy;
	v1->version = 1;
	v1->strtab_offset -= jsz;
	CHECK(lc_region_parse(copy, sizeof(copy), why, sizeof(why)) == v1);
	CHECK(lc_region_state(v1) == LC_REGION_APPLIED);
	CHECK(lc_region_hunk(v1, 0)->addr == 0x401139 && lc_region_hunk(v1, 1)->addr == 0x401200);
	CHECK_STR(lc_region_name(v1, lc_region_hunk(v1, 1)->name), "bar");
	CHECK(lc_region_eh_size(v1) == 0);
	v1->version = LC_REGION_VERSION + 1;
	CHECK(lc_region_parse(copy, sizeof(copy), why, sizeof(why)) == NULL);
	/* a version 2 region (a journal, no unwind information) reads too */
	memcpy(copy, img, LC_REGION_V2_HEADER_SIZE);
	memcpy(copy + LC_REGION_V2_HEADER_SIZE, img + sizeof(*h), sizeof(copy) - sizeof(*h));
	struct lc_region_header *v2 = (struct lc_region_header *)copy;
	v2->version = 2;
	v2->strtab_offset -= sizeof(*h) - LC_REGION_V2_HEADER_SIZE;
	CHECK(lc_region_parse(copy, sizeof(copy), why, sizeof(why)) == v2);
	CHECK(lc_region_state(v2) == LC_REGION_PREPARING && lc_region_eh_size(v2) == 0);
	CHECK_STR(lc_region_name(v2, lc_region_hunk(v2, 1)->name), "bar");

	/* relinking at another address gives another image */
	CHECK(lc_patch_link(p, &t, REGION + 0x100000) == 0);
	img = lc_patch_image(p, &size);
	CHECK(get32(img + 4096 + 1) == (uint32_t)(0x7f000000 - 4 - (T + 0x100000 + 1)));
out:
	lc_patch_free(p);
	lc_buf_free(&file);
}

/* Each failure is one error line naming what is wrong. */
static const char *link_error(struct mem_target *m, struct lc_target *t, uint64_t addr)
{
	struct lc_buf file = LC_BUF_INIT;
	make_patch("reloc", &file);
	struct lc_patch *p = lc_patch_load(file.data, file.len, "reloc.kpatch");
	capture_begin();
	int rc = p ? lc_patch_link(p, t, addr) : 0;
	const char *err = capture_end();
	lc_patch_free(p);
	lc_buf_free(&file);
	return rc == -1 ? err : "(linked)";
	(void)m;
}

static void test_overflows(void)
{
	struct mem_target m;
	struct lc_target t;
	const char *e;

	low_target(&m, &t);
	mem_set(&m, "abs32", 0x100000000ull, 0);
	e = link_error(&m, &t, REGION);
	CHECK(strstr(e, "R_X86_64_32 ") && strstr(e, "'abs32'") && strstr(e, "'foo.kpatch'") &&
	      strstr(e, "overflows"));

	low_target(&m, &t);
	mem_set(&m, "abs32s", 0x80000000ull, 0);
	e = link_error(&m, &t, REGION);
	CHECK(strstr(e, "R_X86_64_32S") && strstr(e, "'abs32s'") && strstr(e, "overflows"));

	low_target(&m, &t);
	mem_set(&m, "near_data", 0x7fff00000000ull, 0);     /* lea, not a call: no stub */
	e = link_error(&m, &t, REGION);
	CHECK(strstr(e, "R_X86_64_PC32") && strstr(e, "'near_data'") && strstr(e, "overflows"));

	low_target(&m, &t);
	mem_set(&m, "near_func", 0x7f000000, 1);
	e = link_error(&m, &t, REGION);
	CHECK(strstr(e, "import 'near_func' is an IFUNC: not supported yet") != NULL);

	low_target(&m, &t);
	m.nsyms--;                                            /* no memcpy@GLIBC_2.14 */
	e = link_error(&m, &t, REGION);
	CHECK(strstr(e, "'memcpy@GLIBC_2.14' is not defined") != NULL);

	low_target(&m, &t);
	e = link_error(&m, &t, 0x7ffff000);                   /* ends above 2 GiB */
	CHECK(strstr(e, "below 2 GiB") != NULL);

	low_target(&m, &t);
	e = link_error(&m, &t, REGION + 12);
	CHECK(strstr(e, "not page aligned") != NULL);
}

static void test_position_independent(void)
{
	struct lc_buf file = LC_BUF_INIT;
	struct mem_target m;
	struct lc_target t;
	size_t size;

	make_patch("high", &file);
	memset(&m, 0, sizeof(m));
	m.base = 0x555555555000ull;
	memcpy(m.bytes + 0x139, "\x48\x83\xec\x08\xe8", 5);
	mem_set(&m, "puts", 0x7ffff7e50000ull, 0);           /* far: through a stub */
	t = (struct lc_target){ &m, 0x555555554000ull, mem_read, mem_lookup, NULL, 0, 0 };
	struct lc_patch *p = lc_patch_load(file.data, file.len, "high.kpatch");
	CHECK(p != NULL);
	if (!p)
		return;
	const struct lc_layout *l = lc_patch_layout(p);
	CHECK(l->needs_low == 0 && l->nstubs == 1);
	uint64_t region = 0x555555554000ull - 0x10000;
	CHECK(lc_patch_link(p, &t, region) == 0);
	const uint8_t *img = lc_patch_image(p, &size);
	if (img) {
		uint64_t T = region + l->text_offset, stub = region + l->stubs_offset;
		CHECK(get32(img + l->text_offset + 1) == (uint32_t)(stub - (T + 5)));
		CHECK(get64(img + l->stubs_offset + 6) == 0x7ffff7e50000ull);
		const struct lc_region_hunk *hk = lc_region_hunk((const void *)img, 0);
		CHECK(hk->addr == 0x555555555139ull && hk->new_addr == T);
		CHECK(memcmp(hk->old_bytes, "\x48\x83\xec\x08\xe8", 5) == 0);
		CHECK(((const struct lc_region_header *)img)->target_bias == 0x555555554000ull);
	}
	/* out of jump reach of the function: refused, naming it */
	capture_begin();
	int rc = lc_patch_link(p, &t, 0x10000);
	const char *e = capture_end();
	CHECK(rc == -1 && strstr(e, "'main'") && strstr(e, "out of jump reach"));
	lc_patch_free(p);
	lc_buf_free(&file);
}

static void test_jmp_encode(void)
{
	uint8_t b[5];
	CHECK(lc_jmp_encode(0x1000, 0x2000, b) == 0);
	CHECK(memcmp(b, "\xe9\xfb\x0f\x00\x00", 5) == 0);
	CHECK(lc_jmp_encode(0x2000, 0x1000, b) == 0);
	CHECK(memcmp(b, "\xe9\xfb\xef\xff\xff", 5) == 0);
	CHECK(lc_jmp_encode(0x1000, 0x1000 + 0x80000005ull, b) == -1);
}

static const char *load_error(const void *data, size_t len)
{
	capture_begin();
	struct lc_patch *p = lc_patch_load(data, len, "bad.kpatch");
	const char *e = capture_end();
	if (p) {
		lc_patch_free(p);
		return "(loaded)";
	}
	return e;
}

static void test_rejections(void)
{
	struct lc_buf file = LC_BUF_INIT;
	struct mem_target m;
	struct lc_target t;
	const char *e;

	make_patch("reloc", &file);
	e = load_error(file.data, file.len - 7);
	CHECK(strstr(e, "bad.kpatch: truncated") != NULL);
	file.data[file.len - 100] ^= 1;
	e = load_error(file.data, file.len);
	CHECK(strstr(e, "checksum mismatch") != NULL);
	file.data[file.len - 100] ^= 1;
	e = load_error("\177ELF\2\1\1\0\0\0\0\0\0\0\0\0", 16);
	CHECK(strstr(e, "not a LibCare patch") != NULL);
	e = load_error("", 0);
	CHECK(strstr(e, "not a LibCare patch") != NULL);

	/* a sealed payload that is not ELF */
	struct lc_patch_header h;
	memcpy(&h, file.data, sizeof(h));
	struct lc_buf junk = LC_BUF_INIT;
	lc_patchfile_seal(&h, "hello, world", 12);
	lc_buf_add(&junk, &h, sizeof(h));
	lc_buf_add(&junk, "hello, world", 12);
	e = load_error(junk.data, junk.len);
	CHECK(strstr(e, "payload is not an ELF object") != NULL);

	make_patch("gotpcrel", &junk);
	e = load_error(junk.data, junk.len);
	CHECK(strstr(e, "R_X86_64_REX_GOTPCRELX") && strstr(e, "not supported"));

	make_patch("tiny", &junk);
	struct lc_patch *p = lc_patch_load(junk.data, junk.len, "tiny.kpatch");
	low_target(&m, &t);
	capture_begin();
	int rc = p ? lc_patch_link(p, &t, REGION) : 0;
	e = capture_end();
	CHECK(rc == -1 && strstr(e, "function 'tiny' is 3 bytes, too small"));
	lc_patch_free(p);

	/* The same function with an LC_BUSY_PADJUMP record: one hunk from the
	 * filler before it, jmp rel32 there and jmp rel8 back at the function. */
	make_patch("tiny-pad", &junk);
	p = lc_patch_load(junk.data, junk.len, "tiny-pad.kpatch");
	CHECK(p && lc_patch_nbusy(p) == 1 && lc_patch_busy(p, 0)->kind == LC_BUSY_PADJUMP);
	low_target(&m, &t);
	memset(m.bytes + 0x130, 0x90, 9);
	CHECK(p && lc_patch_link(p, &t, REGION) == 0);
	const uint8_t *img = p ? lc_patch_image(p, NULL) : NULL;
	if (img) {
		const struct lc_region_hunk *hk = lc_region_hunk((const void *)img, 0);
		uint64_t text = REGION + lc_patch_layout(p)->text_offset;
		CHECK(hk->addr == 0x401134 && hk->len == 7 && hk->old_size == 3);
		CHECK(memcmp(hk->old_bytes, "\x90\x90\x90\x90\x90\x55\x48", 7) == 0);
		CHECK(hk->new_bytes[0] == 0xe9 && get32(hk->new_bytes + 1) == (uint32_t)(text - 0x401139));
		CHECK(hk->new_bytes[5] == 0xeb && hk->new_bytes[6] == 0xf9);
	}
	lc_patch_free(p);
	make_patch("tiny-far", &junk);
	p = lc_patch_load(junk.data, junk.len, "tiny-far.kpatch");
	capture_begin();
	rc = p ? lc_patch_link(p, &t, REGION) : 0;
	e = capture_end();
	CHECK(rc == -1 && strstr(e, "function 'tiny' at 0x401139: its jump at 0x401100 is not in"));
	lc_patch_free(p);
	make_patch("tiny-bad", &junk);
	e = load_error(junk.data, junk.len);
	CHECK(strstr(e, ".kpatch.busy record 0 is malformed (function 5 of 1"));

	/* Damage the payload anywhere, reseal: every load is an answer, never a crash. */
	size_t hs = sizeof(struct lc_patch_header), plen = file.len - hs;
	struct lc_buf f = LC_BUF_INIT;
	unsigned seed = 12345, loaded = 0, refused = 0;
	for (int i = 0; i < 3000; i++) {
		lc_buf_reset(&f);
		lc_buf_add(&f, file.data, file.len);
		size_t cut = plen;
		if (i % 10 == 0)
			cut = (seed = seed * 1103515245 + 12345) % plen;
		for (int k = 0; k < 1 + i % 4; k++) {
			seed = seed * 1103515245 + 12345;
			size_t at = (seed >> 8) % cut;
			f.data[hs + at] ^= (char)(1u << (seed % 8));
		}
		memcpy(&h, f.data, hs);
		lc_patchfile_seal(&h, f.data + hs, cut);
		memcpy(f.data, &h, hs);
		capture_begin();
		struct lc_patch *q = lc_patch_load(f.data, hs + cut, "fuzz.kpatch");
		if (q) {
			low_target(&m, &t);
			lc_patch_link(q, &t, REGION);
			loaded++;
		} else
			refused++;
		capture_end();
		lc_patch_free(q);
	}
	CHECK(loaded > 0 && refused > 0);
	printf("fuzz: %u loaded, %u refused\n", loaded, refused);
	lc_buf_free(&f);
	lc_buf_free(&junk);
	lc_buf_free(&file);
}

int main(void)
{
	lc_log_init("test_runtime");
	if (!mkdtemp(tmpdir))
		lc_die("mkdtemp: %s", tmpdir);
	test_jmp_encode();
	test_relocations();
	test_overflows();
	test_position_independent();
	test_rejections();
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	return TEST_DONE();
}
