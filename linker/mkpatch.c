/*
 * mkpatch.c - libcare-mkpatch: ORIGINAL + PATCHED (-Wl,-q) -> <BuildID>.kpatch.
 *
 * The steps, each in its own file: read both binaries (obj.c), prove the
 * patched link kept the original layout (layout.c), rewrite the .kpatch
 * sections into a relocatable payload (extract.c, reloc.c, payload.c), put
 * the header in front (header.c) and write the file atomically.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "libcare/buildid.h"
#include "libcare/kpatch.h"
#include "libcare/log.h"
#include "libcare/patchfile.h"
#include "debuginfo.h"
#include "libcare/trust.h"
#include "extract.h"
#include "header.h"
#include "layout.h"
#include "obj.h"
#include "payload.h"
#include "textrel.h"

static const char usage_text[] =
	"usage: libcare-mkpatch [-o OUT] [--level N] [--id TEXT] [--desc TEXT] [--sign KEY.pem]\n"
	"                       [-v] ORIGINAL PATCHED\n"
	"\n"
	"Makes a live patch for the running binary ORIGINAL from PATCHED, the same\n"
	"program built with -fplugin-arg-libcare-stage=patched and linked with -Wl,-q.\n"
	"\n"
	"  -o, --output OUT  write the patch to OUT (default: <BuildID of ORIGINAL>.kpatch)\n"
	"      --level N     patch level, higher replaces lower (default 1)\n"
	"      --id TEXT     patch id (default \"default\")\n"
	"      --desc TEXT   description stored in the patch\n"
	"      --debug-file FILE  symbols of a stripped ORIGINAL from FILE\n"
	"      --debug-dir DIR    look for ORIGINAL's DIR/.build-id/xx/yyyy.debug\n"
	"                    (default: $LIBCARE_DEBUG_ROOT, else /usr/lib/debug)\n"
	"      --sign KEY.pem  sign the whole file with this Ed25519 private key (PEM;\n"
	"                    default: $LIBCARE_SIGN_KEY if set; docs/signing.md)\n"
	"  -v, --verbose     list replaced functions and imports (-vv: debug)\n"
	"  -h, --help        show this help\n";

struct mkpatch_opts {
	const char *out, *id, *desc, *orig, *patched, *sign;
	uint32_t level;
	struct lc_debug_opts dbg;
};

static int mkpatch_parse(int argc, char **argv, struct mkpatch_opts *o)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "level", required_argument, NULL, 'l' },
		{ "id", required_argument, NULL, 'i' },
		{ "desc", required_argument, NULL, 'd' },
		{ "debug-file", required_argument, NULL, 'f' },
		{ "debug-dir", required_argument, NULL, 'D' },
		{ "sign", required_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, verbose = 0;
	char *end;

	while ((c = getopt_long(argc, argv, "o:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': o->out = optarg; break;
		case 'i': o->id = optarg; break;
		case 'd': o->desc = optarg; break;
		case 'f': o->dbg.file = optarg; break;
		case 'D': o->dbg.dir = optarg; break;
		case 's': o->sign = optarg; break;
		case 'v': verbose++; break;
		case 'h': fputs(usage_text, stdout); exit(0);
		case 'l': {
			errno = 0;
			unsigned long v = strtoul(optarg, &end, 10);
			if (errno || *end || !*optarg || *optarg == '-' || v == 0 || v > UINT32_MAX)
				return lc_error("--level '%s' is not a number from 1 to %" PRIu32,
						optarg, UINT32_MAX);
			o->level = (uint32_t)v;
			break;
		}
		default:
			return lc_error("bad option (see libcare-mkpatch --help)");
		}
	}
	lc_log_set_level(verbose);
	if (argc - optind != 2)
		return lc_error("expected ORIGINAL and PATCHED (see libcare-mkpatch --help)");
	o->orig = argv[optind];
	o->patched = argv[optind + 1];
	return 0;
}

static int mkpatch_has_kpatch(const struct lc_obj *p)
{
	return lc_obj_section_index(p, LC_SECTION_TEXT) || lc_obj_section_index(p, LC_SECTION_INFO);
}

/* The whole file to a temporary file beside `path`, then rename. */
static int mkpatch_write(const char *path, const struct lc_buf *whole)
{
	struct lc_buf tmp = LC_BUF_INIT;
	lc_buf_addf(&tmp, "%s.XXXXXX", path);
	int fd = mkstemp(tmp.data), ret = -1;
	if (fd < 0) {
		lc_error("cannot create a file beside '%s': %s", path, strerror(errno));
		goto out;
	}
	FILE *f = fdopen(fd, "wb");
	if (!f) {
		close(fd);
		lc_error("cannot write '%s': %s", tmp.data, strerror(errno));
		goto unlink;
	}
	mode_t mask = umask(0);
	umask(mask);
	fchmod(fd, 0666 & ~mask);
	size_t ok = fwrite(whole->data, 1, whole->len, f);
	if (fclose(f) != 0 || ok != whole->len) {
		lc_error("cannot write '%s': %s", tmp.data, strerror(errno));
		goto unlink;
	}
	if (rename(tmp.data, path) != 0) {
		lc_error("cannot rename '%s' to '%s': %s", tmp.data, path, strerror(errno));
		goto unlink;
	}
	ret = 0;
	goto out;
unlink:
	unlink(tmp.data);
out:
	lc_buf_free(&tmp);
	return ret;
}

static int mkpatch_run(const struct mkpatch_opts *o, struct lc_obj *orig, struct lc_obj *p)
{
	uint8_t id[LC_BUILD_ID_MAX];
	char hex[2 * LC_BUILD_ID_MAX + 1];
	struct lc_buf why = LC_BUF_INIT, payload = LC_BUF_INIT, out = LC_BUF_INIT;
	struct lc_buf whole = LC_BUF_INIT;
	struct lc_payload pay;
	struct lc_extract_stats st;
	struct lc_patch_header h;
	struct lc_header_opts ho;
	int ret = -1;

	lc_payload_init(&pay);
	if (lc_obj_open(orig, "ORIGINAL", o->orig) < 0 || lc_textrel_check(orig, "ORIGINAL") < 0)
		goto out;
	int idlen = lc_buildid_from_elf(orig->elf, id);
	if (idlen <= 0) {
		lc_error("ORIGINAL '%s' has no GNU BuildID (link it with -Wl,--build-id)", o->orig);
		goto out;
	}
	lc_buildid_hex(id, (size_t)idlen, hex);
	if (lc_obj_open(p, "PATCHED", o->patched) < 0)
		goto out;
	if (orig->type != p->type) {
		lc_error("ORIGINAL '%s' is %s but PATCHED '%s' is %s: link both the same way",
			 o->orig, orig->type == ET_EXEC ? "a non-PIE executable" : "PIE or a library",
			 o->patched, p->type == ET_EXEC ? "a non-PIE executable" : "PIE or a library");
		goto out;
	}
	if (!mkpatch_has_kpatch(p)) {
		lc_error("PATCHED '%s' has no .kpatch sections: was it built with "
			 "-specs=libcare.specs and LIBCARE_STAGE=patched (or "
			 "-fplugin-arg-libcare-stage=patched)?", o->patched);
		goto out;
	}
	int dl = lc_debuginfo_load(orig, "ORIGINAL", &o->dbg, &why);
	if (dl < 0)
		goto out;
	if (dl > 0)
		lc_info("ORIGINAL '%s' is stripped: symbols from debug file '%s'", o->orig,
			orig->debug->path);
	else if (!orig->nsym)
		lc_warn("ORIGINAL '%s' has no .symtab (stripped) and no debug file was found (looked "
			"in %s; install its -dbgsym package or give --debug-file): checking its "
			"sections only", o->orig, why.data);
	lc_buf_reset(&why);
	if (lc_layout_check(orig, p, &why) < 0) {
		lc_error("PATCHED '%s' does not keep the layout of ORIGINAL '%s': %s", o->patched,
			 o->orig, why.data);
		goto out;
	}
	if (lc_extract(orig, p, &pay, &st) < 0 || lc_payload_write(&pay, &payload) < 0)
		goto out;
	ho = (struct lc_header_opts){ o->orig, id, (size_t)idlen, o->level, o->id, o->desc, 0 };
	if (lc_header_created(&ho.created, &why) < 0 || lc_header_fill(&h, &ho, &why) < 0) {
		lc_error("%s", why.data);
		goto out;
	}
	lc_patchfile_seal(&h, payload.data, payload.len);
	lc_buf_add(&whole, &h, sizeof(h));
	lc_buf_add(&whole, payload.data, payload.len);
	/* what the doctor will check: refuse here what it would refuse there */
	const struct lc_patch_header *ch;
	const void *cp;
	char cwhy[256];
	if (lc_patchfile_check(whole.data, whole.len, &ch, &cp, cwhy, sizeof(cwhy)) != 0) {
		lc_error("the patch would be refused: %s", cwhy);
		goto out;
	}
	if (o->sign && lc_patchfile_sign(&whole, o->sign, cwhy, sizeof(cwhy)) != 0) {
		lc_error("%s", cwhy);
		goto out;
	}
	if (o->out)
		lc_buf_adds(&out, o->out);
	else
		lc_buf_addf(&out, "%s.kpatch", hex);
	if (mkpatch_write(out.data, &whole) < 0)
		goto out;
	lc_info("%s: %zu function%s replaced, %zu import%s, %zu relocation%s, payload %zu bytes%s",
		out.data, st.functions, st.functions == 1 ? "" : "s", st.imports,
		st.imports == 1 ? "" : "s", st.relocs, st.relocs == 1 ? "" : "s", payload.len,
		o->sign ? ", signed" : "");
	ret = 0;
out:
	lc_payload_free(&pay);
	lc_buf_free(&why);
	lc_buf_free(&payload);
	lc_buf_free(&whole);
	lc_buf_free(&out);
	return ret;
}

int main(int argc, char **argv)
{
	struct mkpatch_opts o = { .id = "default", .desc = "", .level = 1 };
	const char *env_key = getenv("LIBCARE_SIGN_KEY");
	if (env_key && *env_key)
		o.sign = env_key;
	struct lc_obj orig, patched;

	lc_log_init("libcare-mkpatch");
	if (mkpatch_parse(argc, argv, &o) < 0)
		return 1;
	memset(&orig, 0, sizeof(orig));
	memset(&patched, 0, sizeof(patched));
	orig.fd = patched.fd = -1;
	int ret = mkpatch_run(&o, &orig, &patched);
	lc_obj_close(&patched);
	lc_obj_close(&orig);
	return ret < 0 ? 1 : 0;
}
