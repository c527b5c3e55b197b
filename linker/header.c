/*
 * header.c - the fields of struct lc_patch_header that mkpatch decides:
 * target BuildID and name, level, id, description, creation time.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "header.h"

static int header_copy(char *dst, size_t cap, const char *src, const char *what,
		       struct lc_buf *why)
{
	size_t n = strlen(src);
	if (n >= cap) {
		lc_buf_addf(why, "%s '%.40s...' is too long (%zu bytes, at most %zu)", what, src,
			    n, cap - 1);
		return -1;
	}
	memcpy(dst, src, n);
	return 0;
}

int lc_header_fill(struct lc_patch_header *h, const struct lc_header_opts *o,
		   struct lc_buf *why)
{
	const char *base = strrchr(o->target_path, '/');
	base = base ? base + 1 : o->target_path;

	memset(h, 0, sizeof(*h));
	if (o->build_id_len == 0 || o->build_id_len > LC_BUILD_ID_MAX) {
		lc_buf_addf(why, "bad BuildID length %zu", o->build_id_len);
		return -1;
	}
	memcpy(h->build_id, o->build_id, o->build_id_len);
	h->build_id_len = (uint32_t)o->build_id_len;
	h->level = o->level;
	h->created = o->created;
	if (header_copy(h->target_name, sizeof(h->target_name), base, "target name", why) < 0 ||
	    header_copy(h->id, sizeof(h->id), o->id, "--id", why) < 0 ||
	    header_copy(h->description, sizeof(h->description), o->description ? o->description : "",
			"--desc", why) < 0)
		return -1;
	return 0;
}

int lc_header_created(uint64_t *created, struct lc_buf *why)
{
	const char *env = getenv("SOURCE_DATE_EPOCH");
	if (!env || !*env) {
		*created = (uint64_t)time(NULL);
		return 0;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(env, &end, 10);
	if (errno || *end || *env == '-') {
		lc_buf_addf(why, "SOURCE_DATE_EPOCH '%s' is not a number of seconds", env);
		return -1;
	}
	*created = v;
	return 0;
}
