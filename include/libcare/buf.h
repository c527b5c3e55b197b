/*
 * buf.h - one small growable byte buffer, instead of ad-hoc malloc/strcat.
 * Always NUL-terminated past `len`, so text can be used as a C string.
 * Allocation failure is fatal (lc_die): there is nothing sensible to undo.
 */
#ifndef LIBCARE_BUF_H
#define LIBCARE_BUF_H

#include <stddef.h>
#include "libcare/log.h"

struct lc_buf {
	char *data;
	size_t len;
	size_t cap;
};

#define LC_BUF_INIT { NULL, 0, 0 }

void lc_buf_grow(struct lc_buf *b, size_t extra);
void lc_buf_add(struct lc_buf *b, const void *data, size_t len);
void lc_buf_adds(struct lc_buf *b, const char *s);
void lc_buf_addf(struct lc_buf *b, const char *fmt, ...) LC_PRINTF(2, 3);
void lc_buf_addz(struct lc_buf *b, size_t len);       /* len zero bytes */
void lc_buf_reset(struct lc_buf *b);
void lc_buf_free(struct lc_buf *b);
/* Reads a whole file (read(2), to its end) after what b holds; returns -1
 * with errno set on failure. */
int lc_buf_read_file(struct lc_buf *b, const char *path);

/* Allocation that dies on failure. */
void *lc_xmalloc(size_t n);
void *lc_xcalloc(size_t n, size_t size);
void *lc_xrealloc(void *p, size_t n);
char *lc_xstrdup(const char *s);
char *lc_xstrndup(const char *s, size_t n);
/* Writes a byte of every page of [p, p + n) that is not in memory yet (a
 * fresh calloc or BSS): its page fault happens now, not later in a window
 * where each costs someone else's time (the doctor's stop-the-world). */
void lc_pages_touch(void *p, size_t n);

#endif
