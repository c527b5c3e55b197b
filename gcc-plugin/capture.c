/*
 * capture.c - the stream GCC writes a unit's assembly to while the plugin
 * runs (asm_out_file is swapped for it at PLUGIN_START_UNIT), and the text
 * of a unit without its DWARF lines, built as it comes (lc_nodebug).
 *
 * With -g the text is large (SQLite: 38 MB, three quarters of it DWARF)
 * and every copy of it shows in cc1's peak memory, so neither stage copies
 * it whole:
 *   tee  (stage original) hands each finished line on to GCC's own file
 *        and to the store's temporary file as it comes; only the line
 *        being written is kept.  A line that mentions -fplugin goes
 *        through lc_producer_clean_text first, as the whole text used to.
 *   mem  (stage patched) keeps the text for lc_gensrc without its DWARF
 *        lines (lc_nodebug); the stored original is read the same way
 *        (lc_gensrc_fd).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include "asm.h"

#define NODEBUG_RESERVE ((size_t)256 << 20)
/* GCC's writes reach us in pieces this large (stdio's default for a
 * cookie stream is 8 KiB): fewer calls, fewer writes to the files. */
#define CAPTURE_BUFSIZE ((size_t)64 << 10)

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
	if (c->f)
		setvbuf(c->f, NULL, _IOFBF, CAPTURE_BUFSIZE);
	return c->f ? 0 : -1;
}

/* ---- lc_nodebug ---------------------------------------------------------- */

/* The kept text lives in one anonymous mapping reserved large and grown
 * with mremap: pages are only paid for once written, growing never copies. */
int lc_nodebug_init(struct lc_nodebug *t)
{
	memset(t, 0, sizeof(*t));
	for (t->reserved = NODEBUG_RESERVE; t->reserved >= ((size_t)1 << 20); t->reserved /= 4) {
		t->text = mmap(NULL, t->reserved, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (t->text != MAP_FAILED)
			return 0;
	}
	t->text = NULL;
	t->reserved = 0;
	return -1;
}

static int nodebug_append(struct lc_nodebug *t, const char *buf, size_t n)
{
	if (t->len + n + 1 > t->reserved) {
		size_t size = t->reserved;
		while (t->len + n + 1 > size)
			size *= 2;
		void *p = mremap(t->text, t->reserved, size, MREMAP_MAYMOVE);
		if (p == MAP_FAILED)
			return -1;
		t->text = p;
		t->reserved = size;
	}
	memcpy(t->text + t->len, buf, n);
	t->len += n;
	t->text[t->len] = '\0';
	return 0;
}

/* Whether ".XY" may begin .section .text .data .bss .pushsection
 * .popsection or .previous. */
static inline int section_start(char x, char y)
{
	switch (x) {
	case 's': case 't': return y == 'e';
	case 'd': return y == 'a';
	case 'b': return y == 's';
	case 'p': return y == 'u' || y == 'o' || y == 'r';
	default: return 0;
	}
}

static inline int word_is(const char *p, size_t n, const char *word)
{
	return n == __builtin_strlen(word) && __builtin_memcmp(p, word, n) == 0;
}

/*
 * Whether a whole line (without its newline) is kept.  The rule is
 * lc_unit_parse's, so that a unit parsed from the kept text has the very
 * lines it would have from the whole text: the parser drops every line
 * but comments while a .debug_* section is in effect, and that state only
 * changes at section directives, which are therefore always kept (a
 * handful of lines) and followed here as asm_unit.c's section_track does.
 * An inline-asm line of several statements (#APP, ';') is kept whole and,
 * if one of them could switch sections, the filter is off for the rest
 * of the unit rather than risk another view than the parser's.
 */
static int nodebug_keep(struct lc_nodebug *t, const char *s, size_t len)
{
	struct lc_line_info li;
	const char *p = s, *end = s + len;
	/* the common case first: "\t.uleb128 0x3", "\t.byte 0x1", "\t.string ..." -
	 * a directive whose first two letters start no section directive */
	if (len >= 3 && s[0] == '\t' && s[1] == '.' && !t->in_app && !t->no_filter &&
	    (len < 4 || !section_start(s[2], s[3])))
		return !t->debug;
	if (len >= 4 && s[0] == '#' && !memcmp(s, "#APP", 4))
		t->in_app = 1;
	else if (len >= 7 && s[0] == '#' && !memcmp(s, "#NO_APP", 7))
		t->in_app = 0;
	if (t->no_filter)
		return 1;
	if (t->in_app && memchr(s, ';', len)) {
		if (memmem(s, len, "section", 7) || memmem(s, len, ".previous", 9) ||
		    memmem(s, len, ".text", 5) || memmem(s, len, ".data", 5) ||
		    memmem(s, len, ".bss", 4))
			t->no_filter = 1;
		return 1;
	}
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
		p++;
	if (p < end && *p == '#')
		return 1;   /* comments are kept (markers, var lines) */
	/* most lines are no section directive: told by their first word
	 * alone, as lc_line_classify would read it (a label if ':' follows) */
	if (end - p < 4 || p[0] != '.' ||
	    (p[1] != 's' && p[1] != 't' && p[1] != 'd' && p[1] != 'b' && p[1] != 'p'))
		return !t->debug;
	const char *w = p + 1;
	while (w < end && lc_is_ident_char(*w))
		w++;
	size_t n = (size_t)(w - p);
	if ((w < end && *w == ':') ||
	    !(word_is(p, n, ".text") || word_is(p, n, ".data") || word_is(p, n, ".bss") ||
	      word_is(p, n, ".section") || word_is(p, n, ".pushsection") ||
	      word_is(p, n, ".popsection") || word_is(p, n, ".previous")))
		return !t->debug;
	lc_line_classify(s, len, &li);
	if (li.kind != LC_LINE_DIRECTIVE)
		return !t->debug;
	int push = lc_line_is(&li, ".pushsection");
	if (push || lc_line_is(&li, ".section")) {
		if (push && t->depth < 16)
			t->stack[t->depth++] = t->debug;
		t->prev_debug = t->debug;
		t->debug = li.args_len >= 7 && !memcmp(li.args, ".debug_", 7);
	} else if (lc_line_is(&li, ".text") || lc_line_is(&li, ".data") ||
		   lc_line_is(&li, ".bss")) {
		t->prev_debug = t->debug;
		t->debug = 0;
	} else if (lc_line_is(&li, ".popsection")) {
		if (t->depth > 0) {
			t->prev_debug = t->debug;
			t->debug = t->stack[--t->depth];
		}
	} else if (lc_line_is(&li, ".previous")) {
		int d = t->debug;
		t->debug = t->prev_debug;
		t->prev_debug = d;
	} else {
		return !t->debug;
	}
	return 1;
}

int lc_nodebug_feed(struct lc_nodebug *t, const char *buf, size_t n)
{
	const char *p = buf, *end = buf + n;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl) {
			lc_buf_add(&t->pending, p, (size_t)(end - p));
			break;
		}
		const char *s = p;
		size_t len = (size_t)(nl + 1 - p);
		if (t->pending.len) {
			lc_buf_add(&t->pending, p, len);
			s = t->pending.data;
			len = t->pending.len;
		}
		if (nodebug_keep(t, s, len - 1) && nodebug_append(t, s, len) < 0)
			return -1;
		lc_buf_reset(&t->pending);
		p = nl + 1;
	}
	return 0;
}

int lc_nodebug_end(struct lc_nodebug *t)
{
	int ret = 0;
	if (t->pending.len && nodebug_keep(t, t->pending.data, t->pending.len))
		ret = nodebug_append(t, t->pending.data, t->pending.len);
	lc_buf_free(&t->pending);
	return ret;
}

void lc_nodebug_free(struct lc_nodebug *t)
{
	if (t->text)
		munmap(t->text, t->reserved);
	lc_buf_free(&t->pending);
	memset(t, 0, sizeof(*t));
}

/* ---- mem (stage patched) ------------------------------------------------- */

static ssize_t mem_write(void *cookie, const char *buf, size_t n)
{
	struct lc_capture *c = cookie;
	if (!n)
		return 0;
	if (lc_nodebug_feed(&c->kept, buf, n) < 0)
		return -1;
	c->last = buf[n - 1];
	return (ssize_t)n;
}

static int mem_close(void *cookie)
{
	struct lc_capture *c = cookie;
	return lc_nodebug_end(&c->kept);
}

int lc_capture_mem(struct lc_capture *c)
{
	static const cookie_io_functions_t io = { NULL, mem_write, NULL, mem_close };
	memset(c, 0, sizeof(*c));
	c->last = '\n';
	if (lc_nodebug_init(&c->kept) < 0)
		return -1;
	c->f = fopencookie(c, "w", io);
	if (c->f)
		setvbuf(c->f, NULL, _IOFBF, CAPTURE_BUFSIZE);
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
	lc_nodebug_free(&c->kept);
	lc_buf_free(&c->pending);
	memset(c, 0, sizeof(*c));
}
