/*
 * producer.c - keeps the plugin out of the object: with -g the DWARF
 * producer string (DW_AT_producer, in .debug_str or inline) lists the
 * command line, our options included.  They are removed so the original
 * stage's object is byte-identical to a plain build:
 *
 *   .string "GNU C17 12.2.0 -mtune=generic -O2 -fplugin=/x/libcare.so -fplugin-arg-libcare-stage=original"
 *   .string "GNU C17 12.2.0 -mtune=generic -O2"
 */
#include <string.h>
#include "asm.h"

/* -fplugin=<this plugin> or -fplugin-arg-libcare-<anything>. */
static int token_is_ours(const char *t, size_t len, const char *plugin_path)
{
	static const char arg[] = "-fplugin-arg-libcare-", plug[] = "-fplugin=";
	if (len > sizeof(arg) - 1 && memcmp(t, arg, sizeof(arg) - 1) == 0)
		return 1;
	if (len <= sizeof(plug) - 1 || memcmp(t, plug, sizeof(plug) - 1) != 0)
		return 0;
	const char *v = t + sizeof(plug) - 1;
	size_t vlen = len - (sizeof(plug) - 1);
	if (plugin_path && strlen(plugin_path) == vlen && memcmp(v, plugin_path, vlen) == 0)
		return 1;
	if (vlen == 7 && memcmp(v, "libcare", 7) == 0)
		return 1;
	return vlen >= 10 && memcmp(v + vlen - 10, "libcare.so", 10) == 0 &&
	       (vlen == 10 || v[vlen - 11] == '/');
}

static int line_is_producer(const char *s, size_t len)
{
	return memmem(s, len, "\"GNU ", 5) && memmem(s, len, "-fplugin", 8) &&
	       (memmem(s, len, ".string", 7) || memmem(s, len, ".ascii", 6));
}

/* Only lines with "-fplugin" can hold our options: they are found with
 * memmem over the text (fast, no copy) and edited in place, the rest of
 * the text moving down over what was removed. */
size_t lc_producer_clean_text(char *text, size_t len, const char *plugin_path, int *removed)
{
	size_t r = 0, w = 0;
	int n = 0;
	while (r < len) {
		const char *hit = memmem(text + r, len - r, "-fplugin", 8);
		if (!hit)
			break;
		size_t ls = (size_t)(hit - text), le;
		while (ls > r && text[ls - 1] != '\n')
			ls--;
		const char *nl = memchr(hit, '\n', len - (size_t)(hit - text));
		le = nl ? (size_t)(nl - text) + 1 : len;
		if (!line_is_producer(text + ls, le - ls)) {
			if (w != r)
				memmove(text + w, text + r, le - r);
			w += le - r;
			r = le;
			continue;
		}
		if (w != r)
			memmove(text + w, text + r, ls - r);
		w += ls - r;
		for (size_t p = ls; p < le;) {
			if (text[p] == ' ' && p + 1 < le && text[p + 1] == '-') {
				size_t t = p + 1, te = t;
				while (te < le && text[te] != ' ' && text[te] != '"' && text[te] != '\n')
					te++;
				if (token_is_ours(text + t, te - t, plugin_path)) {
					n++;
					p = te;
					continue;
				}
			}
			text[w++] = text[p++];
		}
		r = le;
	}
	if (w != r)
		memmove(text + w, text + r, len - r);
	w += len - r;
	if (removed)
		*removed += n;
	return w;
}

int lc_producer_clean(struct lc_buf *text, const char *plugin_path)
{
	int removed = 0;
	if (!text->len)
		return 0;
	text->len = lc_producer_clean_text(text->data, text->len, plugin_path, &removed);
	text->data[text->len] = '\0';
	return removed;
}
