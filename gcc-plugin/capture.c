/*
 * capture.c - the stream GCC writes a unit's assembly to while the plugin
 * runs (asm_out_file is swapped for it at PLUGIN_START_UNIT).
 *
 * With -g the text is large (SQLite: 38 MB) and every copy of it shows in
 * cc1's peak memory, so neither stage copies it:
 *   tee  (stage original) hands each finished line on to GCC's own file
 *        and to the store's temporary file as it comes; only the line
 *        being written is kept.  A line that mentions -fplugin goes
 *        through lc_producer_clean_text first, as the whole text used to.
 *   mem  (stage patched) keeps the text for lc_gensrc, in one anonymous
 *        mapping reserved large and grown with mremap: pages are only paid
 *        for once written, and growing never copies.  Its DWARF sections
 *        are left out as they come (mem_keep): never compared, and the
 *        original's text is what is emitted.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include "asm.h"

#define CAPTURE_RESERVE ((size_t)256 << 20)

static void tee_out(struct lc_capture *c, const char *s, size_t n)
{
	if (!n)
		return;
	if (!c->real_err && fwrite(s, 1, n, c->real) != n)
		c->real_err = errno ? errno : EIO;
	if (!c->store_err && fwrite(s, 1, n, c->store) != n)
		c->store_err = errno ? errno : EIO;
}

/* Whole lines: straight through unless "-fplugin" is in them (or a line
 * began in an earlier write); the unfinished rest waits in pending. */
static ssize_t tee_write(void *cookie, const char *buf, size_t n)
{
	struct lc_capture *c = cookie;
	if (!n)
		return 0;
	const char *nl = memrchr(buf, '\n', n);
	if (!nl) {
		lc_buf_add(&c->pending, buf, n);
	} else {
		size_t head = (size_t)(nl + 1 - buf);
		if (!c->pending.len && !memmem(buf, head, "-fplugin", 8)) {
			tee_out(c, buf, head);
		} else {
			lc_buf_add(&c->pending, buf, head);
			size_t len = lc_producer_clean_text(c->pending.data, c->pending.len,
							    c->plugin_path, NULL);
			tee_out(c, c->pending.data, len);
			lc_buf_reset(&c->pending);
		}
		lc_buf_add(&c->pending, nl + 1, n - head);
	}
	c->last = buf[n - 1];
	if (c->real_err) {
		errno = c->real_err;
		return -1;
	}
	return (ssize_t)n;
}

static int tee_close(void *cookie)
{
	struct lc_capture *c = cookie;
	size_t len = lc_producer_clean_text(c->pending.data, c->pending.len, c->plugin_path, NULL);
	tee_out(c, c->pending.data, len);
	lc_buf_free(&c->pending);
	return c->real_err ? -1 : 0;
}

int lc_capture_tee(struct lc_capture *c, FILE *real, FILE *store, const char *plugin_path)
{
	static const cookie_io_functions_t io = { NULL, tee_write, NULL, tee_close };
	memset(c, 0, sizeof(*c));
	c->real = real;
	c->store = store;
	c->plugin_path = plugin_path;
	c->last = '\n';
	c->f = fopencookie(c, "w", io);
	return c->f ? 0 : -1;
}

static int mem_append(struct lc_capture *c, const char *buf, size_t n)
{
	if (c->len + n + 1 > c->reserved) {
		size_t size = c->reserved;
		while (c->len + n + 1 > size)
			size *= 2;
		void *p = mremap(c->text, c->reserved, size, MREMAP_MAYMOVE);
		if (p == MAP_FAILED)
			return -1;
		c->text = p;
		c->reserved = size;
	}
	memcpy(c->text + c->len, buf, n);
	c->len += n;
	c->text[c->len] = '\0';
	return 0;
}

/*
 * Whether a whole line of the patched text is kept.  DWARF lines are not
 * (with -g most of the text): lc_unit_parse drops them anyway, and only
 * the original text is emitted.  The sections are followed as
 * asm_unit.c's section_track does; an inline-asm line that could switch
 * sections in the middle (`.pushsection x; ...`) turns the filter off for
 * the rest of the unit rather than risk a different view.
 */
static int mem_keep(struct lc_capture *c, const char *s, size_t len)
{
	struct lc_line_info li;
	const char *p = s, *end = s + len;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p < end && *p == '#') {
		if (end - p >= 4 && !memcmp(p, "#APP", 4))
			c->in_app = 1;
		else if (end - p >= 7 && !memcmp(p, "#NO_APP", 7))
			c->in_app = 0;
		return 1;
	}
	if (c->in_app && memchr(s, ';', len) && (memmem(s, len, "section", 7) ||
	    memmem(s, len, ".previous", 9) || memmem(s, len, ".text", 5) ||
	    memmem(s, len, ".data", 5) || memmem(s, len, ".bss", 4)))
		c->no_filter = 1;
	if (c->no_filter)
		return 1;
	if (p + 1 < end && *p == '.' && strchr("stdbp", p[1])) {
		lc_line_classify(s, len, &li);
		int push = lc_line_is(&li, ".pushsection");
		if (push || lc_line_is(&li, ".section")) {
			if (push && c->depth < 16)
				c->stack[c->depth++] = c->debug;
			c->prev_debug = c->debug;
			c->debug = li.args_len >= 7 && !memcmp(li.args, ".debug_", 7);
		} else if (lc_line_is(&li, ".text") || lc_line_is(&li, ".data") ||
			   lc_line_is(&li, ".bss")) {
			c->prev_debug = c->debug;
			c->debug = 0;
		} else if (lc_line_is(&li, ".popsection")) {
			if (c->depth > 0) {
				c->prev_debug = c->debug;
				c->debug = c->stack[--c->depth];
			}
		} else if (lc_line_is(&li, ".previous")) {
			int t = c->debug;
			c->debug = c->prev_debug;
			c->prev_debug = t;
		}
	}
	return !c->debug;
}

static ssize_t mem_write(void *cookie, const char *buf, size_t n)
{
	struct lc_capture *c = cookie;
	const char *p = buf, *end = buf + n;
	if (!n)
		return 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl) {
			lc_buf_add(&c->pending, p, (size_t)(end - p));
			break;
		}
		const char *s = p;
		size_t len = (size_t)(nl + 1 - p);
		if (c->pending.len) {
			lc_buf_add(&c->pending, p, len);
			s = c->pending.data;
			len = c->pending.len;
		}
		if (mem_keep(c, s, len - 1) && mem_append(c, s, len) < 0)
			return -1;
		lc_buf_reset(&c->pending);
		p = nl + 1;
	}
	c->last = buf[n - 1];
	return (ssize_t)n;
}

static int mem_close(void *cookie)
{
	struct lc_capture *c = cookie;
	int ret = 0;
	if (c->pending.len && mem_keep(c, c->pending.data, c->pending.len))
		ret = mem_append(c, c->pending.data, c->pending.len);
	lc_buf_free(&c->pending);
	return ret;
}

int lc_capture_mem(struct lc_capture *c)
{
	static const cookie_io_functions_t io = { NULL, mem_write, NULL, mem_close };
	memset(c, 0, sizeof(*c));
	c->last = '\n';
	for (c->reserved = CAPTURE_RESERVE; c->reserved >= ((size_t)1 << 20); c->reserved /= 4) {
		c->text = mmap(NULL, c->reserved, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (c->text != MAP_FAILED)
			break;
	}
	if (c->text == MAP_FAILED) {
		c->text = NULL;
		return -1;
	}
	c->f = fopencookie(c, "w", io);
	return c->f ? 0 : -1;
}

int lc_capture_close(struct lc_capture *c)
{
	int ret = 0;
	if (c->f)
		ret = fclose(c->f) != 0 ? -1 : 0;
	c->f = NULL;
	return ret;
}

void lc_capture_free(struct lc_capture *c)
{
	if (c->f)
		lc_capture_close(c);
	if (c->text)
		munmap(c->text, c->reserved);
	lc_buf_free(&c->pending);
	memset(c, 0, sizeof(*c));
}
