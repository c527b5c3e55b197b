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

int lc_producer_clean(struct lc_buf *text, const char *plugin_path)
{
	struct lc_buf out = LC_BUF_INIT;
	int removed = 0;
	const char *p = text->data, *end = text->data + text->len;
	if (!text->len)
		return 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl + 1 : end;
		if (!line_is_producer(p, (size_t)(e - p))) {
			lc_buf_add(&out, p, (size_t)(e - p));
			p = e;
			continue;
		}
		while (p < e) {
			if (*p == ' ' && p + 1 < e && p[1] == '-') {
				const char *t = p + 1, *te = t;
				while (te < e && *te != ' ' && *te != '"' && *te != '\n')
					te++;
				if (token_is_ours(t, (size_t)(te - t), plugin_path)) {
					removed++;
					p = te;
					continue;
				}
			}
			lc_buf_add(&out, p, 1);
			p++;
		}
	}
	lc_buf_free(text);
	*text = out;
	return removed;
}
