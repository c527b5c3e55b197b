/*
 * strmap.c - a small open-addressing map from a (pointer, length) name to
 * an int, for symbol lookups in units with thousands of functions.  Keys
 * are not copied: they point into text that outlives the map.
 */
#include <stdlib.h>
#include <string.h>
#include "asm.h"

static size_t strmap_hash(const char *s, size_t len)
{
	size_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

static size_t strmap_slot(const struct lc_strmap *m, const char *key, size_t len)
{
	size_t i = strmap_hash(key, len) & (m->cap - 1);
	while (m->keys[i] && !(m->lens[i] == len && memcmp(m->keys[i], key, len) == 0))
		i = (i + 1) & (m->cap - 1);
	return i;
}

static void strmap_resize(struct lc_strmap *m)
{
	struct lc_strmap old = *m;
	m->cap = old.cap ? old.cap * 2 : 64;
	m->keys = lc_xcalloc(m->cap, sizeof(*m->keys));
	m->lens = lc_xcalloc(m->cap, sizeof(*m->lens));
	m->vals = lc_xcalloc(m->cap, sizeof(*m->vals));
	for (size_t i = 0; i < old.cap; i++) {
		if (!old.keys[i])
			continue;
		size_t j = strmap_slot(m, old.keys[i], old.lens[i]);
		m->keys[j] = old.keys[i];
		m->lens[j] = old.lens[i];
		m->vals[j] = old.vals[i];
	}
	free(old.keys);
	free(old.lens);
	free(old.vals);
}

void lc_strmap_put(struct lc_strmap *m, const char *key, size_t len, int val)
{
	if ((m->count + 1) * 2 > m->cap)
		strmap_resize(m);
	size_t i = strmap_slot(m, key, len);
	if (!m->keys[i]) {
		m->keys[i] = key;
		m->lens[i] = len;
		m->count++;
	}
	m->vals[i] = val;
}

int lc_strmap_get(const struct lc_strmap *m, const char *key, size_t len)
{
	if (!m->cap)
		return -1;
	size_t i = strmap_slot(m, key, len);
	return m->keys[i] ? m->vals[i] : -1;
}

void lc_strmap_free(struct lc_strmap *m)
{
	free(m->keys);
	free(m->lens);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}
