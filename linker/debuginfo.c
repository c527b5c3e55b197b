/*
 * debuginfo.c - a stripped ORIGINAL checked in full: its .symtab taken from
 * the debug file that carries the same GNU BuildID.
 *
 *	/usr/bin/memcached (stripped, BuildID 3f1c...)
 *	-> /usr/lib/debug/.build-id/3f/1c....debug   (memcached-dbgsym)
 *
 * The debug file has the same section headers (contents NOBITS); its symbols
 * name sections by index, mapped here to the binary's sections by name.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "libcare/buildid.h"
#include "libcare/log.h"
#include "debuginfo.h"

static int debug_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The .gnu_debuglink file name of `o`, or NULL. */
static const char *debug_link_name(const struct lc_obj *o)
{
	size_t i = lc_obj_section_index(o, ".gnu_debuglink");
	Elf_Data *d = i ? lc_obj_section_data(o, i) : NULL;
	if (!d || !d->d_buf || !d->d_size || !memchr(d->d_buf, 0, d->d_size))
		return NULL;
	return d->d_buf;
}

/* Symbols of `dbg` moved into `o`, section indices by name; unmapped ones dropped. */
static void debug_take_symbols(struct lc_obj *o, struct lc_obj *dbg)
{
	o->sym = lc_xcalloc(dbg->nsym ? dbg->nsym : 1, sizeof(*o->sym));
	o->nsym = 0;
	for (size_t i = 0; i < dbg->nsym; i++) {
		struct lc_obj_symbol s = dbg->sym[i];
		if (i && s.shndx != SHN_UNDEF && s.shndx < SHN_LORESERVE) {
			size_t j = s.shndx < dbg->nsec ? lc_obj_section_index(o, dbg->sec[s.shndx].name) : 0;
			if (!j)
				continue;
			s.shndx = (uint32_t)j;
		}
		o->sym[o->nsym++] = s;
	}
}

/* Opens `path` as the debug file of `o`: its BuildID must be `hex`. */
static int debug_try(struct lc_obj *o, const char *what, const char *path, const char *hex,
		     int must)
{
	struct lc_obj *dbg = lc_xcalloc(1, sizeof(*dbg));
	struct lc_buf why = LC_BUF_INIT;
	char *own = lc_xstrdup(path);   /* freed with o (lc_obj_close) */
	uint8_t id[LC_BUILD_ID_MAX];
	char dhex[2 * LC_BUILD_ID_MAX + 1];
	int n;
	if (lc_obj_open_symbols(dbg, "debug file", own) < 0)
		goto fail;
	n = lc_buildid_from_elf(dbg->elf, id);
	if (n <= 0) {
		lc_buf_addf(&why, "debug file '%s' has no GNU BuildID: it cannot be matched to %s '%s'",
			    path, what, o->path);
		goto fail;
	}
	lc_buildid_hex(id, (size_t)n, dhex);
	if (strcmp(dhex, hex) != 0) {
		lc_buf_addf(&why, "debug file '%s' has BuildID %s but %s '%s' has %s: it belongs to "
			    "another build", path, dhex, what, o->path, hex);
		goto fail;
	}
	if (!dbg->nsym) {
		lc_buf_addf(&why, "debug file '%s' has no .symtab", path);
		goto fail;
	}
	free(o->sym);
	debug_take_symbols(o, dbg);
	o->debug = dbg;
	return 1;
fail:
	if (why.data && must)
		lc_error("%s", why.data);
	else if (why.data)
		lc_warn("%s", why.data);
	lc_buf_free(&why);
	lc_obj_close(dbg);
	free(dbg);
	free(own);
	return must ? -1 : 0;
}

int lc_debuginfo_load(struct lc_obj *o, const char *what, const struct lc_debug_opts *opts,
		      struct lc_buf *looked)
{
	uint8_t id[LC_BUILD_ID_MAX];
	char hex[2 * LC_BUILD_ID_MAX + 1];
	struct lc_buf path = LC_BUF_INIT;
	int ret = 0;

	if (o->nsym)
		return 0;
	int n = o->elf ? lc_buildid_from_elf(o->elf, id) : 0;
	if (n <= 0) {
		lc_buf_adds(looked, "(no GNU BuildID to look it up by)");
		if (opts->file)
			return lc_error("%s '%s' has no GNU BuildID: debug file '%s' cannot be matched",
					what, o->path, opts->file);
		return 0;
	}
	lc_buildid_hex(id, (size_t)n, hex);
	if (opts->file) {
		if (!debug_exists(opts->file))
			return lc_error("debug file '%s': %s", opts->file, strerror(errno ? errno : ENOENT));
		return debug_try(o, what, opts->file, hex, 1);
	}
	const char *root = opts->dir;
	if (!root || !*root)
		root = getenv("LIBCARE_DEBUG_ROOT");
	if (!root || !*root)
		root = "/usr/lib/debug";
	lc_buf_addf(&path, "%s/.build-id/%.2s/%s.debug", root, hex, hex + 2);
	lc_buf_adds(looked, path.data);
	if (debug_exists(path.data) && (ret = debug_try(o, what, path.data, hex, 0)) != 0)
		goto out;
	const char *link = debug_link_name(o);
	if (link && !strchr(link, '/')) {
		const char *slash = strrchr(o->path, '/');
		int dl = slash ? (int)(slash - o->path) : 1;
		const char *dir = slash ? o->path : ".";
		const char *fmts[] = { "%.*s/%s", "%.*s/.debug/%s" };
		for (size_t i = 0; i < 2; i++) {
			lc_buf_reset(&path);
			lc_buf_addf(&path, fmts[i], dl, dir, link);
			if (strcmp(path.data, o->path) == 0)
				continue;
			lc_buf_addf(looked, ", %s", path.data);
			if (debug_exists(path.data) && (ret = debug_try(o, what, path.data, hex, 0)) != 0)
				goto out;
		}
	}
out:
	lc_buf_free(&path);
	return ret;
}
