/* buf.c - the growable buffer of buf.h and allocation that dies on failure. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "libcare/buf.h"

void *lc_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		lc_die("out of memory allocating %zu bytes", n);
	return p;
}

void lc_pages_touch(void *p, size_t n)
{
	volatile unsigned char *c = p;
	for (size_t i = 0; i < n; i += 4096)
		c[i] = c[i];
	if (n)
		c[n - 1] = c[n - 1];
}

void *lc_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		lc_die("out of memory allocating %zu bytes", n * size);
	return p;
}

void *lc_xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		lc_die("out of memory allocating %zu bytes", n);
	return p;
}

char *lc_xstrdup(const char *s)
{
	return lc_xstrndup(s, strlen(s));
}

char *lc_xstrndup(const char *s, size_t n)
{
	char *p = lc_xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void lc_buf_grow(struct lc_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	b->data = lc_xrealloc(b->data, cap);
	b->cap = cap;
}

void lc_buf_add(struct lc_buf *b, const void *data, size_t len)
{
	lc_buf_grow(b, len);
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void lc_buf_adds(struct lc_buf *b, const char *s)
{
	lc_buf_add(b, s, strlen(s));
}

void lc_buf_addf(struct lc_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		lc_die("bad format string");
	lc_buf_grow(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void lc_buf_addz(struct lc_buf *b, size_t len)
{
	lc_buf_grow(b, len);
	memset(b->data + b->len, 0, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void lc_buf_reset(struct lc_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void lc_buf_free(struct lc_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int lc_buf_read_file(struct lc_buf *b, const char *path)
{
	/* read(2) straight into the buffer: /proc files (the doctor reads
	 * /proc/PID/maps of every process with -p all) are made as they are
	 * read, and no stdio copy or FILE is needed for any file */
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	for (;;) {
		lc_buf_grow(b, 65536);
		ssize_t n = read(fd, b->data + b->len, 65536);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;
			b->data[b->len] = '\0';
			close(fd);
			errno = err;
			return -1;
		}
		if (n == 0)
			break;
		b->len += (size_t)n;
	}
	b->data[b->len] = '\0';
	close(fd);
	return 0;
}
