/*
 * verify_main.c - libcare-verify ORIGINAL PLAIN_PATCHED PATCH: the
 * independent cross-check of a live patch (verify.h, docs/plugin.md).
 *
 * PATCH is the patch file (<BuildID>.kpatch) or the plugin's PATCHED link
 * (-Wl,-q, with .kpatch.info): either says which functions the patch
 * replaces.  Every function that differs between ORIGINAL and PLAIN_PATCHED
 * must be one of them.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "libcare/buf.h"
#include "libcare/kpatch.h"
#include "libcare/log.h"
#include "libcare/patchfile.h"
#include "debuginfo.h"
#include "obj.h"
#include "verify.h"
#include "vimage.h"

static const char usage_text[] =
	"usage: libcare-verify [-v] [--debug-file FILE] [--debug-dir DIR] "
	"ORIGINAL PLAIN_PATCHED PATCH\n"
	"\n"
	"Cross-checks a live patch without trusting the plugin: every function whose\n"
	"code or read-only data differs between ORIGINAL and PLAIN_PATCHED (the patched\n"
	"source built without the plugin) must be replaced by PATCH (the .kpatch file\n"
	"or the plugin's PATCHED link); a writable object whose initial value differs\n"
	"is a miss too.  Exit 0 when all is covered, 1 naming each miss.\n"
	"\n"
	"  --debug-file FILE  symbols of a stripped ORIGINAL from FILE\n"
	"  --debug-dir DIR    look for ORIGINAL's DIR/.build-id/xx/yyyy.debug\n"
	"                     (default: $LIBCARE_DEBUG_ROOT, else /usr/lib/debug)\n"
	"  --dump DIR         write both normalised images to DIR/original.txt and\n"
	"                     DIR/plain.txt (to see why a function differs)\n"
	"  -v, --verbose      list every difference and why (-vv: debug)\n"
	"  -h, --help         show this help\n";

struct verify_opts {
	const char *orig, *plain, *patch, *dump;
	struct lc_debug_opts dbg;
};

static int verify_parse(int argc, char **argv, struct verify_opts *o)
{
	static const struct option longopts[] = {
		{ "debug-file", required_argument, NULL, 'f' },
		{ "debug-dir", required_argument, NULL, 'D' },
		{ "dump", required_argument, NULL, 'u' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, verbose = 0;
	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': o->dbg.file = optarg; break;
		case 'D': o->dbg.dir = optarg; break;
		case 'u': o->dump = optarg; break;
		case 'v': verbose++; break;
		case 'h': fputs(usage_text, stdout); exit(0);
		default: return lc_error("bad option (see libcare-verify --help)");
		}
	}
	lc_log_set_level(verbose);
	if (argc - optind != 3)
		return lc_error("expected ORIGINAL, PLAIN_PATCHED and PATCH (see libcare-verify --help)");
	o->orig = argv[optind];
	o->plain = argv[optind + 1];
	o->patch = argv[optind + 2];
	return 0;
}

/* The records of .kpatch.info: name (in .kpatch.strtab at +24) and daddr (+0). */
static int verify_records(const unsigned char *info, size_t ilen, const char *strtab, size_t slen,
			  const uint64_t *daddr, struct lc_vreplaced *r, const char *path)
{
	for (size_t off = 0; off + sizeof(struct lc_info_record) <= ilen;
	     off += sizeof(struct lc_info_record)) {
		struct lc_info_record rec;
		memcpy(&rec, info + off, sizeof(rec));
		if (rec.name >= slen || !memchr(strtab + rec.name, 0, slen - rec.name))
			return lc_error("'%s': .kpatch.info record %zu names offset %" PRIu32
					" outside .kpatch.strtab", path, off / sizeof(rec), rec.name);
		lc_vreplaced_add(r, strtab + rec.name,
				 daddr ? daddr[off / sizeof(rec)] : rec.daddr);
	}
	return 0;
}

/* From the plugin's PATCHED link: .kpatch.info as linked (daddr resolved). */
static int verify_from_patched(const char *path, struct lc_vreplaced *r)
{
	struct lc_obj p;
	int ret = -1;
	if (lc_obj_open(&p, "PATCH", path) < 0)
		goto out;
	size_t ii = lc_obj_section_index(&p, LC_SECTION_INFO);
	size_t si = lc_obj_section_index(&p, LC_SECTION_STRTAB);
	Elf_Data *id = ii ? lc_obj_section_data(&p, ii) : NULL;
	Elf_Data *sd = si ? lc_obj_section_data(&p, si) : NULL;
	if (!id || !sd || !id->d_buf || !sd->d_buf) {
		/* The plugin found nothing to replace: whatever differs is a miss. */
		lc_info("PATCH '%s' has no .kpatch.info: it replaces no function", path);
		ret = 0;
		goto out;
	}
	ret = verify_records(id->d_buf, id->d_size, sd->d_buf, sd->d_size, NULL, r, path);
out:
	lc_obj_close(&p);
	return ret;
}

/* From a patch file: the payload's .kpatch.info; daddr is __libcare_target + V. */
static int verify_from_patchfile(const struct lc_buf *file, const char *path,
				 struct lc_vreplaced *r)
{
	const struct lc_patch_header *h;
	const void *payload;
	char why[256];
	if (lc_patchfile_check(file->data, file->len, &h, &payload, why, sizeof(why)) < 0)
		return lc_error("patch file '%s': %s", path, why);
	elf_version(EV_CURRENT);
	Elf *e = elf_memory((char *)payload, h->payload_size);
	size_t shstrndx, nsec, ii = 0, si = 0, ri = 0, symi = 0;
	int ret = -1;
	uint64_t *daddr = NULL;
	if (!e || elf_getshdrstrndx(e, &shstrndx) || elf_getshdrnum(e, &nsec)) {
		lc_error("patch file '%s': the payload is not ELF", path);
		goto out;
	}
	for (size_t i = 1; i < nsec; i++) {
		GElf_Shdr sh;
		if (!gelf_getshdr(elf_getscn(e, i), &sh))
			continue;
		const char *n = elf_strptr(e, shstrndx, sh.sh_name);
		if (!n)
			continue;
		if (!strcmp(n, LC_SECTION_INFO))
			ii = i;
		else if (!strcmp(n, LC_SECTION_STRTAB))
			si = i;
		else if (sh.sh_type == SHT_SYMTAB)
			symi = i;
		else if (sh.sh_type == SHT_RELA && !strcmp(n, ".rela" LC_SECTION_INFO))
			ri = i;
	}
	Elf_Data *id = ii ? elf_getdata(elf_getscn(e, ii), NULL) : NULL;
	Elf_Data *sd = si ? elf_getdata(elf_getscn(e, si), NULL) : NULL;
	if (!id || !sd || !id->d_buf || !sd->d_buf) {
		lc_error("patch file '%s' has no .kpatch.info", path);
		goto out;
	}
	size_t nrec = id->d_size / sizeof(struct lc_info_record);
	daddr = lc_xcalloc(nrec ? nrec : 1, sizeof(*daddr));
	Elf_Data *rd = ri ? elf_getdata(elf_getscn(e, ri), NULL) : NULL;
	Elf_Data *yd = symi ? elf_getdata(elf_getscn(e, symi), NULL) : NULL;
	GElf_Shdr ysh;
	gelf_getshdr(elf_getscn(e, symi), &ysh);
	for (size_t j = 0; rd && yd && j < rd->d_size / sizeof(Elf64_Rela); j++) {
		GElf_Rela rel;
		GElf_Sym sym;
		if (!gelf_getrela(rd, (int)j, &rel) || rel.r_offset % sizeof(struct lc_info_record) ||
		    !gelf_getsym(yd, (int)GELF_R_SYM(rel.r_info), &sym))
			continue;
		const char *n = elf_strptr(e, ysh.sh_link, sym.st_name);
		if (n && !strcmp(n, LC_SYM_TARGET) && rel.r_offset / sizeof(struct lc_info_record) < nrec)
			daddr[rel.r_offset / sizeof(struct lc_info_record)] = (uint64_t)rel.r_addend;
	}
	ret = verify_records(id->d_buf, id->d_size, sd->d_buf, sd->d_size, daddr, r, path);
out:
	free(daddr);
	if (e)
		elf_end(e);
	return ret;
}

static int verify_replaced_of(const char *path, struct lc_vreplaced *r)
{
	struct lc_buf file = LC_BUF_INIT;
	if (lc_buf_read_file(&file, path) < 0) {
		lc_buf_free(&file);
		return lc_error("cannot read PATCH '%s'", path);
	}
	int ret = file.len >= 8 && memcmp(file.data, LC_PATCH_MAGIC, 8) == 0
			  ? verify_from_patchfile(&file, path, r)
			  : verify_from_patched(path, r);
	lc_buf_free(&file);
	return ret;
}

static int verify_dump(const struct lc_vimage *im, const char *dir, const char *name)
{
	struct lc_buf path = LC_BUF_INIT;
	lc_buf_addf(&path, "%s/%s", dir, name);
	FILE *f = fopen(path.data, "w");
	if (!f) {
		lc_buf_free(&path);
		return lc_error("cannot write '%s/%s'", dir, name);
	}
	static const char *const kinds[] = { "function", "rodata", "data" };
	for (size_t i = 0; i < im->n; i++) {
		const struct lc_vitem *it = &im->item[i];
		fprintf(f, "== %s %s (%s) uses:", kinds[it->kind], it->key, it->name);
		for (size_t r = 0; r < it->nrefs; r++)
			fprintf(f, " %s", im->item[it->refs[r]].key);
		fprintf(f, "\n%s", it->text);
	}
	fclose(f);
	lc_buf_free(&path);
	return 0;
}

/* "'foo' (x.c)" for a local, "'foo'" for a global. */
static void verify_what(const struct lc_vitem *it, struct lc_buf *b)
{
	const char *colon = strchr(it->key, ':');
	lc_buf_addf(b, "'%s'", it->name);
	if (colon && colon != it->key)
		lc_buf_addf(b, " (%.*s)", (int)(colon - it->key), it->key);
}

static int verify_run(const struct verify_opts *o)
{
	struct lc_obj orig, plain;
	struct lc_vimage io, ip;
	struct lc_vdiffs d = { 0 };
	struct lc_vreplaced rep = { 0 };
	struct lc_buf looked = LC_BUF_INIT, what = LC_BUF_INIT;
	int ret = -1;
	size_t misses = 0, funcs = 0, covered = 0;

	lc_vimage_init(&io);
	lc_vimage_init(&ip);
	memset(&plain, 0, sizeof(plain));
	plain.fd = -1;
	if (lc_obj_open(&orig, "ORIGINAL", o->orig) < 0)
		goto out;
	int dl = lc_debuginfo_load(&orig, "ORIGINAL", &o->dbg, &looked);
	if (dl < 0)
		goto out;
	if (!orig.nsym) {
		lc_error("ORIGINAL '%s' is stripped and no debug file was found (looked in %s): install "
			 "its -dbgsym package or give --debug-file", o->orig, looked.data);
		goto out;
	}
	if (dl > 0)
		lc_info("ORIGINAL '%s': symbols from debug file '%s'", o->orig, orig.debug->path);
	if (lc_obj_open(&plain, "PLAIN_PATCHED", o->plain) < 0)
		goto out;
	if (lc_obj_section_index(&plain, LC_SECTION_TEXT) || lc_obj_section_index(&plain, LC_SECTION_INFO)) {
		lc_error("PLAIN_PATCHED '%s' has .kpatch sections: it must be the patched source built "
			 "without the plugin (the plugin's build holds the original code)", o->plain);
		goto out;
	}
	if (!plain.nsym) {
		lc_error("PLAIN_PATCHED '%s' has no .symtab: do not strip it", o->plain);
		goto out;
	}
	if (orig.type != plain.type) {
		lc_error("ORIGINAL '%s' and PLAIN_PATCHED '%s' are not linked the same way (PIE or not)",
			 o->orig, o->plain);
		goto out;
	}
	if (verify_replaced_of(o->patch, &rep) < 0)
		goto out;
	if (lc_vimage_build(&io, &orig, "ORIGINAL") < 0 || lc_vimage_build(&ip, &plain, "PLAIN_PATCHED") < 0)
		goto out;
	if (o->dump && (verify_dump(&io, o->dump, "original.txt") < 0 ||
			verify_dump(&ip, o->dump, "plain.txt") < 0))
		goto out;
	lc_verify_diff(&io, &ip, &d);
	for (size_t i = 0; i < d.n; i++) {
		const struct lc_vitem *it = &io.item[d.d[i].item];
		lc_buf_reset(&what);
		verify_what(it, &what);
		if (d.d[i].kind == LC_VRWDATA) {
			lc_error("data %s differs (%s): a live patch keeps the value the process has, "
				 "so this change cannot be made live", what.data, d.d[i].reason);
			misses++;
			continue;
		}
		funcs++;
		if (lc_verify_covered(&rep, &io, it)) {
			covered++;
			lc_info("%s differs, replaced by the patch: %s", what.data, d.d[i].reason);
			continue;
		}
		lc_error("function %s differs but the patch does not replace it: %s", what.data,
			 d.d[i].reason);
		misses++;
	}
	printf("libcare-verify: %zu function%s differ%s from ORIGINAL, %zu replaced by the patch "
	       "(%zu record%s), %zu new in PLAIN_PATCHED; %zu miss%s\n",
	       funcs, funcs == 1 ? "" : "s", funcs == 1 ? "s" : "", covered,
	       rep.n, rep.n == 1 ? "" : "s", d.only_patched, misses, misses == 1 ? "" : "es");
	ret = misses ? 1 : 0;
out:
	lc_vdiffs_free(&d);
	lc_vreplaced_free(&rep);
	lc_vimage_free(&io);
	lc_vimage_free(&ip);
	lc_buf_free(&looked);
	lc_buf_free(&what);
	lc_obj_close(&plain);
	lc_obj_close(&orig);
	return ret;
}

int main(int argc, char **argv)
{
	struct verify_opts o;
	memset(&o, 0, sizeof(o));
	lc_log_init("libcare-verify");
	if (verify_parse(argc, argv, &o) < 0)
		return 2;
	int ret = verify_run(&o);
	return ret < 0 ? 2 : ret;
}
