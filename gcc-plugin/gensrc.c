/*
 * gensrc.c - the whole comparison of a unit: parse both builds, pair names,
 * decide what changed, and emit the original text followed by the .kpatch
 * sections.  Shared by the plugin's patched stage and libcare-gensrc.
 */
#include "asm.h"

int lc_gensrc_kpatch(const char *orig, size_t orig_len, const char *patched, size_t patched_len,
		     struct lc_buf *out, struct lc_buf *report, struct lc_buf *err)
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
	if (orig_len && orig[orig_len - 1] != '\n')
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
