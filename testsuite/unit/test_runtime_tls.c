/*
 * Thread-local values in a patch (runtime/tls.c) against an in-memory
 * target: the TPOFF/DTPOFF/DTPMOD arithmetic for the target's own
 * variables and another object's, and the refusals when the target cannot
 * tell a module id or a static offset.  The payload is assembled with `as`
 * from data/runtime/tls.s at test time.
 */
#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include "libcare/buf.h"
#include "libcare/log.h"
#include "runtime.h"
#include "test.h"
#include "runtime_fixture.h"

static char tmpdir[] = "/tmp/lc-test-tls.XXXXXX";

#define BIAS   0x555555554000ull
#define REGION 0x555555000000ull

struct tls_target {
	uint8_t bytes[0x2000];           /* the target object at BIAS */
	struct lc_tls own, ext;          /* what the process would tell */
	int own_found, ext_found;
	char asked[64];
};

static int tt_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct tls_target *t = ctx;
	if (addr < BIAS || addr + len > BIAS + sizeof(t->bytes))
		return lc_error("test target: no memory at 0x%llx", (unsigned long long)addr);
	memcpy(buf, t->bytes + (addr - BIAS), len);
	return 0;
}

static int tt_lookup(void *ctx, const char *name, const char *version, struct lc_import *out)
{
	(void)ctx, (void)name, (void)version, (void)out;
	return 0;
}

static int tt_tls(void *ctx, const char *name, const char *version, struct lc_tls *out)
{
	struct tls_target *t = ctx;
	(void)version;
	snprintf(t->asked, sizeof(t->asked), "%s", name ? name : "(target)");
	if (!name) {
		*out = t->own;
		return t->own_found;
	}
	if (strcmp(name, "ext_tv") != 0)
		return 0;
	*out = t->ext;
	return t->ext_found;
}

static void make_patch(const char *src, struct lc_buf *file)
{
	fixture_make_patch(tmpdir, src, "libtls.so", 0xcd, file);
}


static int64_t get_s32(const uint8_t *p) { int32_t v; memcpy(&v, p, 4); return v; }
static int64_t get_s64(const uint8_t *p) { int64_t v; memcpy(&v, p, 8); return v; }

static void target_init(struct tls_target *tt, struct lc_target *t)
{
	memset(tt, 0, sizeof(*tt));
	memset(tt->bytes, 0x90, sizeof(tt->bytes));
	tt->own = (struct lc_tls){ .modid = 3, .offset = 0x100, .has_offset = 1 };
	snprintf(tt->own.object, sizeof(tt->own.object), "/lib/libtls.so");
	tt->ext = (struct lc_tls){ .modid = 5, .offset = 0x200, .has_offset = 1, .value = 0x20 };
	snprintf(tt->ext.object, sizeof(tt->ext.object), "/lib/libother.so");
	tt->own_found = tt->ext_found = 1;
	*t = (struct lc_target){ tt, BIAS, tt_read, tt_lookup, tt_tls, 0, 0 };
}

/* Links tls.s; returns the error text, or "" with the image in *img. */
static const char *link_tls(const struct lc_target *t, const uint8_t **img,
			    const struct lc_layout **l, struct lc_patch **pp)
{
	struct lc_buf file = LC_BUF_INIT;
	make_patch("tls", &file);
	struct lc_patch *p = lc_patch_load(file.data, file.len, "tls.kpatch");
	lc_buf_free(&file);
	if (!p)
		return "(not loaded)";
	capture_begin();
	int rc = lc_patch_link(p, t, REGION);
	const char *err = capture_end();
	if (rc != 0) {
		lc_patch_free(p);
		return err;
	}
	*img = lc_patch_image(p, NULL);
	*l = lc_patch_layout(p);
	*pp = p;
	return "";
}

static void test_values(void)
{
	struct tls_target tt;
	struct lc_target t;
	const uint8_t *img = NULL;
	const struct lc_layout *l = NULL;
	struct lc_patch *p = NULL;

	target_init(&tt, &t);
	const char *e = link_tls(&t, &img, &l, &p);
	CHECK_STR(e, "");
	if (!p)
		return;
	CHECK(!l->needs_low);
	const uint8_t *text = img + l->text_offset, *data = img + l->data_offset;
	/* the target's variable at 0x10 of its block, block 0x100 below the TP */
	CHECK(get_s32(text + 4) == 0x10 - 0x100);
	CHECK(get_s64(data + 0x00) == 0x8 - 0x100);             /* initial-exec slot */
	CHECK(get_s64(data + 0x08) == 3);                       /* tls_index: module */
	CHECK(get_s64(data + 0x10) == 0x8);                     /* ... and offset */
	/* another object's ext_tv: its module 5, value 0x20 in its block */
	CHECK(get_s64(data + 0x18) == 5);
	CHECK(get_s64(data + 0x20) == 0x20 + 4);
	CHECK(get_s64(data + 0x28) == 0x20 - 0x200);
	lc_patch_free(p);
}

static void test_refusals(void)
{
	struct tls_target tt;
	struct lc_target t;
	const uint8_t *img;
	const struct lc_layout *l;
	struct lc_patch *p = NULL;
	const char *e;

	target_init(&tt, &t);
	tt.own.modid = 0;          /* no DTPMOD64 slot to copy it from */
	e = link_tls(&t, &img, &l, &p);
	CHECK(strstr(e, "TLS module id of /lib/libtls.so is unknown") &&
	      strstr(e, "needed by .kpatch.data+0x8"));

	target_init(&tt, &t);
	tt.ext.has_offset = 0;     /* dlopen()ed without static TLS */
	e = link_tls(&t, &img, &l, &p);
	CHECK(strstr(e, "static TLS offset of /lib/libother.so is unknown") &&
	      strstr(e, "needed by .kpatch.data+0x28"));

	target_init(&tt, &t);
	tt.own.has_offset = 0;     /* the text's TPOFF32 names its function */
	e = link_tls(&t, &img, &l, &p);
	CHECK(strstr(e, "static TLS offset of /lib/libtls.so") &&
	      strstr(e, "needed by function 'f.kpatch'"));

	target_init(&tt, &t);
	tt.ext_found = 0;
	e = link_tls(&t, &img, &l, &p);
	CHECK(strstr(e, "thread-local 'ext_tv'") && strstr(e, "not defined in any object"));

	target_init(&tt, &t);
	t.tls = NULL;
	e = link_tls(&t, &img, &l, &p);
	CHECK(strstr(e, "cannot tell TLS modules") != NULL);

	/* a TLS relocation against an ordinary import: a bad payload */
	struct lc_buf file = LC_BUF_INIT;
	make_patch("tls_bad", &file);
	capture_begin();
	p = lc_patch_load(file.data, file.len, "tls_bad.kpatch");
	e = capture_end();
	CHECK(p == NULL && strstr(e, "R_X86_64_DTPMOD64") && strstr(e, "'plain_var'") &&
	      strstr(e, "neither the target nor a thread-local import"));
	lc_patch_free(p);
	lc_buf_free(&file);
}

int main(void)
{
	if (!mkdtemp(tmpdir))
		lc_die("mkdtemp: %s", strerror(errno));
	test_values();
	test_refusals();
	rmdir(tmpdir);
	return TEST_DONE();
}
