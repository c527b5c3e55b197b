/*
 * gensrc.c - the whole comparison of a unit: parse both builds, pair names,
 * decide what changed, and emit the original text followed by the .kpatch
 * sections.  Shared by the plugin's patched stage and libcare-gensrc.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "asm.h"

/* Pieces the stored original is read in. */
#define GENSRC_CHUNK ((size_t)1 << 20)

/* The .kpatch sections, after a newline if the original text (whose last
 * byte is `last`) lacks a final one. */
static int gensrc_sections(const char *orig, size_t orig_len, char last, const char *patched,
			   size_t patched_len, struct lc_buf *out, struct lc_buf *report,
			   struct lc_buf *err)
{
	struct lc_asm_unit uo, up;
	struct lc_symmap map;
	struct lc_match m;
	int ret = -1;

	if (lc_vars_compare(orig, orig_len, patched, patched_len, err) < 0)
		return -1;
	lc_unit_parse(&uo, orig, orig_len, err);
	lc_unit_parse(&up, patched, patched_len, err);
	lc_symmap_build(&map, &uo, &up, report);
	if (lc_match_units(&m, &uo, &up, &map, report, err) < 0)
		goto out;
	if (last != '\n')
		lc_buf_adds(out, "\n");
	if (!m.nchanged && !m.nnew && !m.nnewobj) {
		lc_buf_adds(report, "no change: the original text alone\n");
		ret = 0;
		goto out;
	}
	ret = lc_emit_kpatch(&uo, &up, &map, &m, out, err);
out:
	lc_match_free(&m);
	lc_symmap_free(&map);
	lc_unit_free(&uo);
	lc_unit_free(&up);
	return ret;
}

int lc_gensrc_kpatch(const char *orig, size_t orig_len, const char *patched, size_t patched_len,
		     struct lc_buf *out, struct lc_buf *report, struct lc_buf *err)
{
	return gensrc_sections(orig, orig_len, orig_len ? orig[orig_len - 1] : '\n', patched,
			       patched_len, out, report, err);
}

int lc_gensrc(const char *orig, size_t orig_len, const char *patched, size_t patched_len,
	      struct lc_buf *out, struct lc_buf *report, struct lc_buf *err)
{
	size_t start = out->len;
	lc_buf_add(out, orig, orig_len);
	if (lc_gensrc_kpatch(orig, orig_len, patched, patched_len, out, report, err) == 0)
		return 0;
	out->len = start;   /* as before: nothing appended on failure */
	if (out->data)
		out->data[start] = '\0';
	return -1;
}

int lc_gensrc_fd(int fd, const char *patched, size_t patched_len, FILE *out,
		 struct lc_buf *report, struct lc_buf *err)
{
	struct lc_nodebug orig;
	struct lc_buf sections = LC_BUF_INIT;
	char *chunk = NULL, last = '\n';
	int ret = -1;
	if (lc_nodebug_init(&orig) < 0) {
		lc_buf_adds(err, "no memory for the original assembly");
		return -1;
	}
	chunk = lc_xmalloc(GENSRC_CHUNK);
	for (;;) {
		ssize_t n = read(fd, chunk, GENSRC_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			lc_buf_addf(err, "cannot read the original assembly: %s", strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (fwrite(chunk, 1, (size_t)n, out) != (size_t)n) {
			lc_buf_addf(err, "cannot write the assembly: %s", strerror(errno ? errno : EIO));
			goto out;
		}
		if (lc_nodebug_feed(&orig, chunk, (size_t)n) < 0) {
			lc_buf_adds(err, "no memory for the original assembly");
			goto out;
		}
		last = chunk[n - 1];
	}
	free(chunk);
	chunk = NULL;
	if (lc_nodebug_end(&orig) < 0) {
		lc_buf_adds(err, "no memory for the original assembly");
		goto out;
	}
	if (gensrc_sections(orig.text, orig.len, last, patched, patched_len, &sections, report,
			    err) < 0)
		goto out;
	if (fwrite(sections.data ? sections.data : "", 1, sections.len, out) != sections.len) {
		lc_buf_addf(err, "cannot write the assembly: %s", strerror(errno ? errno : EIO));
		goto out;
	}
	ret = 0;
out:
	free(chunk);
	lc_buf_free(&sections);
	lc_nodebug_free(&orig);
	return ret;
}
